/** `berth volume rm`: `DELETE /volumes/{name}[?force=1]`, names printed as removed. */
import { apiPath } from '../client.js';
import type { Command } from '../command.js';
import { StatusError } from '../errors.js';

export const volumeRmCommand: Command = {
  name: 'rm', aliases: ['remove'], usage: '[OPTIONS] VOLUME [VOLUME...]', short: 'Remove one or more volumes',
  long: 'Remove one or more volumes. You cannot remove a volume that is in use by a container.',
  aliasesHelp: 'berth volume rm, berth volume remove', args: { min: 1 },
  flags: [{ name: 'force', short: 'f', kind: 'bool', usage: 'Force the removal of one or more volumes' }],
  async run(ctx, f) {
    const client = await ctx.client();
    const errors: string[] = [];
    for (const name of f.args) {
      try {
        await client.call('DELETE', apiPath`/volumes/${name}`, { query: { force: f.bool('force') } });
        ctx.out.write(`${name}\n`);
      } catch (e) {
        errors.push((e as Error).message);
      }
    }
    if (errors.length) throw new StatusError(1, errors.join('\n'));
  },
};
