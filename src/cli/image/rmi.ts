/**
 * `berth rmi` / `image rm`: `DELETE /images/{name}` printing each
 * `Untagged:` / `Deleted:` line. With `-f`, images that do not exist are
 * reported without failing the command (Docker's rmi).
 */
import { ApiError, apiPath } from '../client.js';
import type { Command } from '../command.js';
import { StatusError } from '../errors.js';

export const rmiCommand: Command = {
  name: 'rm', aliases: ['rmi', 'remove'], usage: '[OPTIONS] IMAGE [IMAGE...]', short: 'Remove one or more images',
  aliasesHelp: 'berth image rm, berth image remove, berth rmi', args: { min: 1 },
  flags: [
    { name: 'force', short: 'f', kind: 'bool', usage: 'Force removal of the image' },
    { name: 'no-prune', kind: 'bool', usage: 'Do not delete untagged parents' },
    { name: 'platform', kind: 'list', varname: 'strings', usage: 'Remove only the given platform variant. Formatted as "os[/arch[/variant]]" (e.g., "linux/amd64")' },
  ],
  async run(ctx, f) {
    const client = await ctx.client();
    const errors: string[] = [];
    let fatal = false;
    for (const img of f.args) {
      try {
        const dels = await client.json<{ Untagged?: string; Deleted?: string }[]>('DELETE', apiPath`/images/${img}`, { query: { force: f.bool('force'), noprune: f.bool('no-prune'), platforms: f.list('platform').length ? f.list('platform') : undefined } });
        for (const d of dels ?? []) ctx.out.write(d.Deleted ? `Deleted: ${d.Deleted}\n` : `Untagged: ${d.Untagged}\n`);
      } catch (e) {
        if (!(e instanceof ApiError && e.statusCode === 404)) fatal = true;
        errors.push((e as Error).message);
      }
    }
    if (errors.length) {
      const msg = errors.join('\n');
      if (!f.bool('force') || fatal) throw new StatusError(1, msg);
      ctx.err.write(`${msg}\n`);
    }
  },
};

export const topLevelRmiCommand: Command = { ...rmiCommand, name: 'rmi', aliases: [] };
