/** `berth volume create`: `POST /volumes/create` (`Driver` always, the rest only when set), prints the name. */
import type { Command } from '../command.js';
import { StatusError } from '../errors.js';
import { kvToMap } from '../opts/kvfile.js';
import { sortedRecord } from '../opts/mounts.js';

export const volumeCreateCommand: Command = {
  name: 'create', usage: '[OPTIONS] [VOLUME]', short: 'Create a volume', args: { max: 1 },
  flags: [
    { name: 'driver', short: 'd', kind: 'string', default: 'local', defaultText: '"local"', usage: 'Specify volume driver name' },
    { name: 'label', kind: 'list', usage: 'Set metadata for a volume' },
    { name: 'name', kind: 'string', usage: 'Specify volume name', hidden: true },
    { name: 'opt', short: 'o', kind: 'list', varname: 'map', defaultText: 'map[]', usage: 'Set driver specific options' },
  ],
  async run(ctx, f) {
    let name = f.string('name');
    if (f.args[0]) {
      if (name && name !== f.args[0]) throw new StatusError(1, `conflicting options: cannot specify a volume-name through both --name and as a positional arg`);
      name = f.args[0];
    }
    const body: Record<string, unknown> = { Driver: f.string('driver') };
    const opts = kvToMap(f.list('opt'));
    if (Object.keys(opts).length) body.DriverOpts = sortedRecord(opts);
    const labels = kvToMap(f.list('label'));
    if (Object.keys(labels).length) body.Labels = sortedRecord(labels);
    if (name) body.Name = name;
    const client = await ctx.client();
    const vol = await client.json<{ Name: string }>('POST', '/volumes/create', { body });
    ctx.out.write(`${vol.Name}\n`);
  },
};
