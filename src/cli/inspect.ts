/**
 * Top-level `berth inspect`: any object by name or ID. Without `--type` it
 * tries, in Docker's order, container → image → network → volume, and
 * reports `Error: No such object: X` when none matches.
 */
import { ApiError, apiPath } from './client.js';
import type { ApiClient } from './client.js';
import type { Command } from './command.js';
import { StatusError } from './errors.js';
import { inspectFormatFlag } from './format/format-flag.js';
import { inspectAll } from './format/inspect-output.js';

const TYPES = ['container', 'image', 'network', 'volume', 'config', 'node', 'plugin', 'secret', 'service', 'task'];

function getter(client: ApiClient, type: string, size: boolean): (ref: string) => Promise<unknown> {
  switch (type) {
    case 'container': return (ref) => client.json('GET', apiPath`/containers/${ref}/json`, { query: { size } });
    case 'image': return (ref) => client.json('GET', apiPath`/images/${ref}/json`);
    case 'network': return (ref) => client.json('GET', apiPath`/networks/${ref}`);
    case 'volume': return (ref) => client.json('GET', apiPath`/volumes/${ref}`);
    default: return async () => { throw new StatusError(1, `berth has no ${type} objects (swarm and plugins are not supported)`); };
  }
}

export const inspectCommand: Command = {
  name: 'inspect', usage: '[OPTIONS] NAME|ID [NAME|ID...]', short: 'Return low-level information on berth objects',
  args: { min: 1 },
  flags: [
    inspectFormatFlag(),
    { name: 'size', short: 's', kind: 'bool', usage: 'Display total file sizes if the type is container' },
    { name: 'type', kind: 'string', usage: 'Only inspect objects of the given type' },
  ],
  async run(ctx, f) {
    const type = f.string('type');
    if (type && !TYPES.includes(type)) throw new StatusError(1, `"${type}" is not a valid value for --type`);
    const client = await ctx.client();
    const size = f.bool('size');
    if (type) {
      await inspectAll(ctx, f.args, f.string('format'), getter(client, type, size));
      return;
    }
    await inspectAll(ctx, f.args, f.string('format'), async (ref) => {
      for (const t of ['container', 'image', 'network', 'volume']) {
        try {
          return await getter(client, t, size)(ref);
        } catch (e) {
          if (!(e instanceof ApiError && e.statusCode === 404)) throw e;
        }
      }
      throw new Error(`Error: No such object: ${ref}`);
    });
  },
};
