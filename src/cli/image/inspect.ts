/** `berth image inspect`: `GET /images/{name}/json` for each image. */
import { apiPath } from '../client.js';
import type { Command } from '../command.js';
import { inspectFormatFlag } from '../format/format-flag.js';
import { inspectAll } from '../format/inspect-output.js';

export const imageInspectCommand: Command = {
  name: 'inspect', usage: '[OPTIONS] IMAGE [IMAGE...]', short: 'Display detailed information on one or more images', args: { min: 1 },
  flags: [inspectFormatFlag(), { name: 'platform', kind: 'string', usage: 'Inspect a specific platform of the multi-platform image.' }],
  async run(ctx, f) {
    const client = await ctx.client();
    await inspectAll(ctx, f.args, f.string('format'), (ref) => client.json('GET', apiPath`/images/${ref}/json`, { query: { platform: f.string('platform') || undefined } }));
  },
};
