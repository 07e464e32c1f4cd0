/** `berth container inspect`: `GET /containers/{id}/json[?size=1]` for each container. */
import type { Command } from '../command.js';
import { apiPath } from '../client.js';
import { inspectFormatFlag } from '../format/format-flag.js';
import { inspectAll } from '../format/inspect-output.js';

export const containerInspectCommand: Command = {
  name: 'inspect', usage: '[OPTIONS] CONTAINER [CONTAINER...]', short: 'Display detailed information on one or more containers',
  args: { min: 1 },
  flags: [inspectFormatFlag(), { name: 'size', short: 's', kind: 'bool', usage: 'Display total file sizes' }],
  async run(ctx, f) {
    const client = await ctx.client();
    await inspectAll(ctx, f.args, f.string('format'), (ref) => client.json('GET', apiPath`/containers/${ref}/json`, { query: { size: f.bool('size') } }));
  },
};
