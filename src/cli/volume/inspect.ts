/** `berth volume inspect`: `GET /volumes/{name}` for each volume. */
import { apiPath } from '../client.js';
import type { Command } from '../command.js';
import { inspectFormatFlag } from '../format/format-flag.js';
import { inspectAll } from '../format/inspect-output.js';

export const volumeInspectCommand: Command = {
  name: 'inspect', usage: '[OPTIONS] VOLUME [VOLUME...]', short: 'Display detailed information on one or more volumes', args: { min: 1 },
  flags: [inspectFormatFlag()],
  async run(ctx, f) {
    const client = await ctx.client();
    await inspectAll(ctx, f.args, f.string('format'), (ref) => client.json('GET', apiPath`/volumes/${ref}`));
  },
};
