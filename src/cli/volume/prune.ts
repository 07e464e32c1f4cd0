/** `berth volume prune`: unused anonymous volumes (all unused with `-a`), after confirmation. */
import type { Command } from '../command.js';
import type { CliContext } from '../context.js';
import { humanSize } from '../format/units.js';
import { filterFlag, filtersJson, parseFilters } from '../opts/filters.js';
import { confirm } from '../prompt.js';

export async function pruneVolumes(ctx: CliContext, all: boolean, filterArgs: readonly string[]): Promise<{ output: string; reclaimed: number }> {
  const filters = parseFilters(filterArgs);
  if (all) filters.all = { true: true };
  const client = await ctx.client();
  const report = await client.json<{ VolumesDeleted?: string[] | null; SpaceReclaimed?: number }>('POST', '/volumes/prune', { query: { filters: filtersJson(filters) } });
  const deleted = report?.VolumesDeleted ?? [];
  if (!deleted.length) return { output: '', reclaimed: 0 };
  return { output: `Deleted Volumes:\n${deleted.map((v) => `${v}\n`).join('')}`, reclaimed: report.SpaceReclaimed ?? 0 };
}

export const volumePruneCommand: Command = {
  name: 'prune', usage: '[OPTIONS]', short: 'Remove unused local volumes', args: { max: 0 },
  flags: [
    { name: 'all', short: 'a', kind: 'bool', usage: 'Remove all unused volumes, not just anonymous ones' },
    filterFlag('Provide filter values (e.g. "label=<label>")', false),
    { name: 'force', short: 'f', kind: 'bool', usage: 'Do not prompt for confirmation' },
  ],
  async run(ctx, f) {
    const all = f.bool('all');
    const warning = all
      ? 'WARNING! This will remove all local volumes not used by at least one container.'
      : 'WARNING! This will remove anonymous local volumes not used by at least one container.';
    if (!f.bool('force') && !(await confirm(ctx, warning))) return;
    const r = await pruneVolumes(ctx, all, f.list('filter'));
    if (r.output) ctx.out.write(`${r.output}\n`);
    ctx.out.write(`Total reclaimed space: ${humanSize(r.reclaimed)}\n`);
  },
};
