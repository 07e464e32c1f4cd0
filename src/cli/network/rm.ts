/**
 * `berth network rm`: inspect then `DELETE /networks/{id}` for each,
 * printing removed names; failures are printed as they happen and the
 * command ends with Docker's `exit status 1`.
 */
import { ApiError, apiPath } from '../client.js';
import type { Command } from '../command.js';
import { StatusError } from '../errors.js';

export const networkRmCommand: Command = {
  name: 'rm', aliases: ['remove'], usage: 'NETWORK [NETWORK...]', short: 'Remove one or more networks',
  aliasesHelp: 'berth network rm, berth network remove', args: { min: 1 },
  flags: [{ name: 'force', short: 'f', kind: 'bool', usage: 'Do not error if the network does not exist' }],
  async run(ctx, f) {
    const client = await ctx.client();
    let failed = false;
    for (const name of f.args) {
      await client.json('GET', apiPath`/networks/${name}`).catch(() => undefined);
      try {
        await client.call('DELETE', apiPath`/networks/${name}`);
        ctx.out.write(`${name}\n`);
      } catch (e) {
        if (f.bool('force') && e instanceof ApiError && e.statusCode === 404) continue;
        ctx.err.write(`${(e as Error).message}\n`);
        failed = true;
      }
    }
    if (failed) throw new StatusError(1, 'exit status 1');
  },
};
