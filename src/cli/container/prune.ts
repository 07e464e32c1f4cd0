/** `berth container prune`: remove stopped containers after confirmation (`-f` skips it). */
import type { Command } from '../command.js';
import type { CliContext } from '../context.js';
import type { ParsedFlags } from '../flags.js';
import { humanSize } from '../format/units.js';
import { filterFlag, filtersQuery } from '../opts/filters.js';
import { confirm } from '../prompt.js';

export interface PruneResult {
  output: string;
  reclaimed: number;
}

/** Prunes and renders the "Deleted Containers:" block with the space it freed. */
export async function pruneContainers(ctx: CliContext, filters: readonly string[]): Promise<PruneResult> {
  const client = await ctx.client();
  const report = await client.json<{ ContainersDeleted?: string[] | null; SpaceReclaimed?: number }>('POST', '/containers/prune', { query: { filters: filtersQuery(filters) } });
  const deleted = report?.ContainersDeleted ?? [];
  return { output: deleted.length ? `Deleted Containers:\n${deleted.map((id) => `${id}\n`).join('')}` : '', reclaimed: deleted.length ? report.SpaceReclaimed ?? 0 : 0 };
}

export function printPrune(ctx: CliContext, r: PruneResult): void {
  if (r.output) ctx.out.write(`${r.output}\n`);
  ctx.out.write(`Total reclaimed space: ${humanSize(r.reclaimed)}\n`);
}

export const containerPruneCommand: Command = {
  name: 'prune', usage: '[OPTIONS]', short: 'Remove all stopped containers', args: { max: 0 },
  flags: [
    filterFlag('Provide filter values (e.g. "until=<timestamp>")', false),
    { name: 'force', short: 'f', kind: 'bool', usage: 'Do not prompt for confirmation' },
  ],
  async run(ctx: CliContext, f: ParsedFlags) {
    if (!f.bool('force') && !(await confirm(ctx, 'WARNING! This will remove all stopped containers.'))) return;
    printPrune(ctx, await pruneContainers(ctx, f.list("filter")));
  },
};
