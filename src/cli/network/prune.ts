/** `berth network prune`: custom networks no container uses, after confirmation. */
import type { Command } from '../command.js';
import type { CliContext } from '../context.js';
import { filterFlag, filtersQuery } from '../opts/filters.js';
import { confirm } from '../prompt.js';

export async function pruneNetworks(ctx: CliContext, filters: readonly string[]): Promise<string> {
  const client = await ctx.client();
  const report = await client.json<{ NetworksDeleted?: string[] | null }>('POST', '/networks/prune', { query: { filters: filtersQuery(filters) } });
  const deleted = report?.NetworksDeleted ?? [];
  return deleted.length ? `Deleted Networks:\n${deleted.map((n) => `${n}\n`).join('')}` : '';
}

export const networkPruneCommand: Command = {
  name: 'prune', usage: '[OPTIONS]', short: 'Remove all unused networks', args: { max: 0 },
  flags: [
    filterFlag('Provide filter values (e.g. "until=<timestamp>")', false),
    { name: 'force', short: 'f', kind: 'bool', usage: 'Do not prompt for confirmation' },
  ],
  async run(ctx, f) {
    if (!f.bool('force') && !(await confirm(ctx, 'WARNING! This will remove all custom networks not used by at least one container.'))) return;
    const output = await pruneNetworks(ctx, f.list('filter'));
    if (output) ctx.out.write(`${output}\n`);
  },
};
