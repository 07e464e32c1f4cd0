/**
 * `berth builder prune`: the build cache (step results only the cache keeps
 * and `RUN --mount=type=cache` directories), as `docker builder prune`
 * does it through `POST /build/prune`, with its report: the IDs `system df
 * -v` and `docker buildx du` list, then the space freed.
 */
import type { Command } from '../command.js';
import type { CliContext } from '../context.js';
import type { ParsedFlags } from '../flags.js';
import { humanSize } from '../format/units.js';
import { filterFlag, filtersQuery } from '../opts/filters.js';
import { confirm } from '../prompt.js';

async function prune(ctx: CliContext, f: ParsedFlags): Promise<void> {
  const all = f.bool('all');
  const warning = all ? 'WARNING! This will remove all build cache.' : 'WARNING! This will remove all dangling build cache.';
  if (!f.bool('force') && !(await confirm(ctx, warning))) return;
  const keep = f.string('keep-storage');
  const client = await ctx.client();
  const report = await client.json<{ CachesDeleted?: string[] | null; SpaceReclaimed?: number }>('POST', '/build/prune', {
    query: { all, filters: filtersQuery(f.list('filter')) ?? '', ...(keep ? { 'keep-storage': keep } : {}) },
  });
  const ids = report?.CachesDeleted ?? [];
  if (ids.length) ctx.out.write(`Deleted build cache objects:\n${ids.map((id) => `${id}\n`).join('')}\n`);
  ctx.out.write(`Total reclaimed space: ${humanSize(report?.SpaceReclaimed ?? 0)}\n`);
}

export const builderPruneCommand: Command = {
  name: 'prune', usage: '[OPTIONS]', short: 'Remove build cache', args: { max: 0 },
  flags: [
    { name: 'all', short: 'a', kind: 'bool', usage: 'Remove all unused build cache, not just dangling ones' },
    filterFlag('Provide filter values (e.g. "until=24h")', false),
    { name: 'force', short: 'f', kind: 'bool', usage: 'Do not prompt for confirmation' },
    { name: 'keep-storage', kind: 'string', usage: 'Amount of disk space to keep for cache' },
  ],
  run: prune,
};
