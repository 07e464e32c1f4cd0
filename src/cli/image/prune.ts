/** `berth image prune`: dangling images (all unused ones with `-a`), after confirmation. */
import type { Command } from '../command.js';
import type { CliContext } from '../context.js';
import { humanSize } from '../format/units.js';
import { filtersJson, filterFlag, parseFilters } from '../opts/filters.js';
import { confirm } from '../prompt.js';

/**
 * Prunes images (`dryRun`: asks what a prune would delete and free — berth's
 * `GET /images/prune`, which changes nothing).
 */
export async function pruneImages(ctx: CliContext, all: boolean, filterArgs: readonly string[], dryRun = false): Promise<{ output: string; reclaimed: number }> {
  const filters = parseFilters(filterArgs);
  filters.dangling = { [all ? 'false' : 'true']: true };
  const client = await ctx.client();
  const report = await client.json<{ ImagesDeleted?: { Untagged?: string; Deleted?: string }[] | null; SpaceReclaimed?: number }>(dryRun ? 'GET' : 'POST', '/images/prune', { query: { filters: filtersJson(filters) } });
  const items = report?.ImagesDeleted ?? [];
  if (items.length === 0) return { output: '', reclaimed: report?.SpaceReclaimed ?? 0 };
  let output = dryRun ? 'Images that would be deleted:\n' : 'Deleted Images:\n';
  for (const i of items) output += i.Untagged ? `untagged: ${i.Untagged}\n` : `deleted: ${i.Deleted}\n`;
  return { output, reclaimed: report.SpaceReclaimed ?? 0 };
}

export const imagePruneCommand: Command = {
  name: 'prune', usage: '[OPTIONS]', short: 'Remove unused images', args: { max: 0 },
  flags: [
    { name: 'all', short: 'a', kind: 'bool', usage: 'Remove all unused images, not just dangling ones' },
    filterFlag('Provide filter values (e.g. "until=<timestamp>")', false),
    { name: 'force', short: 'f', kind: 'bool', usage: 'Do not prompt for confirmation' },
    { name: 'dry-run', kind: 'bool', usage: 'Show what would be removed and the space it would free, removing nothing' },
  ],
  async run(ctx, f) {
    const all = f.bool('all');
    if (f.bool('dry-run')) {
      const r = await pruneImages(ctx, all, f.list('filter'), true);
      if (r.output) ctx.out.write(`${r.output}\n`);
      ctx.out.write(`Total space that would be reclaimed: ${humanSize(r.reclaimed)}\n`);
      return;
    }
    const warning = all
      ? 'WARNING! This will remove all images without at least one container associated to them.'
      : 'WARNING! This will remove all dangling images.';
    if (!f.bool('force') && !(await confirm(ctx, warning))) return;
    const r = await pruneImages(ctx, all, f.list('filter'));
    if (r.output) ctx.out.write(`${r.output}\n`);
    ctx.out.write(`Total reclaimed space: ${humanSize(r.reclaimed)}\n`);
  },
};
