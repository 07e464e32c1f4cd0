/**
 * `berth system prune`: stopped containers, unused networks, dangling (or
 * with `-a` all unused) images, optionally volumes, and build cache — the
 * same requests in the same order as Docker, then one report.
 */
import type { Command } from '../command.js';
import type { CliContext } from '../context.js';
import { StatusError } from '../errors.js';
import type { ParsedFlags } from '../flags.js';
import { humanSize } from '../format/units.js';
import { pruneContainers } from '../container/prune.js';
import { pruneImages } from '../image/prune.js';
import { pruneNetworks } from '../network/prune.js';
import { filterFlag, filtersQuery } from '../opts/filters.js';
import { confirm } from '../prompt.js';
import { pruneVolumes } from '../volume/prune.js';

function warning(all: boolean, volumes: boolean): string {
  let w = 'WARNING! This will remove:\n  - all stopped containers\n  - all networks not used by at least one container\n';
  if (volumes) w += '  - all anonymous volumes not used by at least one container\n';
  w += all ? '  - all images without at least one container associated to them\n' : '  - all dangling images\n';
  w += all ? '  - all build cache\n' : '  - unused build cache\n';
  return w;
}

async function prune(ctx: CliContext, f: ParsedFlags): Promise<void> {
  const filters = f.list('filter');
  const volumes = f.bool('volumes');
  const all = f.bool('all');
  if (volumes && filters.some((x) => x.startsWith('until='))) throw new StatusError(1, 'ERROR: The "until" filter is not supported with "--volumes"');
  if (!f.bool('force') && !(await confirm(ctx, warning(all, volumes)))) return;
  let reclaimed = 0;
  let output = '';
  const c = await pruneContainers(ctx, filters);
  reclaimed += c.reclaimed;
  output += c.output ? `${c.output}\n` : '';
  const n = await pruneNetworks(ctx, filters);
  output += n ? `${n}\n` : '';
  if (volumes) {
    const v = await pruneVolumes(ctx, false, filters);
    reclaimed += v.reclaimed;
    output += v.output ? `${v.output}\n` : '';
  }
  const i = await pruneImages(ctx, all, filters);
  reclaimed += i.reclaimed;
  output += i.output ? `${i.output}\n` : '';
  const client = await ctx.client();
  const cache = await client.json<{ CachesDeleted?: string[] | null; SpaceReclaimed?: number }>('POST', '/build/prune', { query: { all, filters: filtersQuery(filters) ?? '' } });
  if (cache?.CachesDeleted?.length) {
    output += `Deleted build cache objects:\n${cache.CachesDeleted.map((id) => `${id}\n`).join('')}\n`;
    reclaimed += cache.SpaceReclaimed ?? 0;
  }
  ctx.out.write(`${output}Total reclaimed space: ${humanSize(reclaimed)}\n`);
}

export const systemPruneCommand: Command = {
  name: 'prune', usage: '[OPTIONS]', short: 'Remove unused data', args: { max: 0 },
  flags: [
    { name: 'all', short: 'a', kind: 'bool', usage: 'Remove all unused images not just dangling ones' },
    filterFlag('Provide filter values (e.g. "label=<key>=<value>")', false),
    { name: 'force', short: 'f', kind: 'bool', usage: 'Do not prompt for confirmation' },
    { name: 'volumes', kind: 'bool', usage: 'Prune anonymous volumes' },
  ],
  run: prune,
};
