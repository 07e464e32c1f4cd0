/** `berth network inspect`: `GET /networks/{id}[?verbose=true]`. */
import { apiPath } from '../client.js';
import type { Command } from '../command.js';
import { inspectFormatFlag } from '../format/format-flag.js';
import { inspectAll } from '../format/inspect-output.js';

export const networkInspectCommand: Command = {
  name: 'inspect', usage: '[OPTIONS] NETWORK [NETWORK...]', short: 'Display detailed information on one or more networks', args: { min: 1 },
  flags: [inspectFormatFlag(), { name: 'verbose', short: 'v', kind: 'bool', usage: 'Verbose output for diagnostics' }],
  async run(ctx, f) {
    const client = await ctx.client();
    await inspectAll(ctx, f.args, f.string('format'), (ref) => client.json('GET', apiPath`/networks/${ref}`, { query: { verbose: f.bool('verbose') ? 'true' : undefined } }));
  },
};
