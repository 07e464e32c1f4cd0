/**
 * `berth system df`: disk usage from `GET /system/df` summarised per kind
 * (Docker's disk_usage formatter: totals, active, size, reclaimable with
 * percentage), or per object with `-v`.
 */
import type { Command } from '../command.js';
import type { CliContext } from '../context.js';
import type { ParsedFlags } from '../flags.js';
import { formatFlag } from '../format/format-flag.js';
import { formatRows, type RowContext } from '../format/formatter.js';
import { humanSize } from '../format/units.js';
import { containerContext, type ContainerSummary } from '../container/ps.js';
import { imageContext, imageRows, type ImageSummary } from '../image/images.js';
import { volumeContext, type Volume } from '../volume/ls.js';

interface BuildCacheRecord {
  ID: string;
  Type?: string;
  Size: number;
  CreatedAt?: string;
  LastUsedAt?: string | null;
  UsageCount?: number;
  InUse?: boolean;
  Shared?: boolean;
}

interface DiskUsage {
  LayersSize?: number;
  Images?: ImageSummary[] | null;
  Containers?: ContainerSummary[] | null;
  Volumes?: Volume[] | null;
  BuildCache?: BuildCacheRecord[] | null;
}

const HEADERS: Record<string, string> = { Type: 'TYPE', TotalCount: 'TOTAL', Active: 'ACTIVE', Size: 'SIZE', Reclaimable: 'RECLAIMABLE' };

function withPercent(reclaimable: number, total: number): string {
  return total > 0 ? `${humanSize(reclaimable)} (${Math.trunc((reclaimable * 100) / total)}%)` : humanSize(reclaimable);
}

function isActiveState(state: string): boolean {
  return state.includes('running') || state.includes('paused') || state.includes('restarting');
}

/**
 * `imagesReclaimable`: the bytes deleting every unused image would free, as
 * berthd computes it; without it (another daemon) the figure is Docker's
 * estimate from per-image sizes.
 */
export function diskUsageRows(du: DiskUsage, imagesReclaimable?: number): RowContext[] {
  const images = du.Images ?? [];
  const containers = du.Containers ?? [];
  const volumes = du.Volumes ?? [];
  const cache = du.BuildCache ?? [];
  const imagesTotal = du.LayersSize ?? 0;
  let imagesUsed = 0;
  for (const i of images) {
    if ((i.Containers ?? 0) !== 0 && i.Size !== -1 && (i.SharedSize ?? 0) !== -1) imagesUsed += i.Size - (i.SharedSize ?? 0);
  }
  const ctrSize = containers.reduce((n, c) => n + (c.SizeRw ?? 0), 0);
  const ctrReclaim = containers.filter((c) => !isActiveState(c.State)).reduce((n, c) => n + (c.SizeRw ?? 0), 0);
  const volSize = volumes.reduce((n, v) => n + ((v.UsageData?.Size ?? -1) > 0 ? v.UsageData!.Size : 0), 0);
  const volReclaim = volumes.filter((v) => (v.UsageData?.RefCount ?? 0) === 0).reduce((n, v) => n + ((v.UsageData?.Size ?? -1) > 0 ? v.UsageData!.Size : 0), 0);
  // Docker's CLI leaves out what the cache shares with images (it is counted there).
  const cacheSize = cache.filter((b) => !b.Shared).reduce((n, b) => n + b.Size, 0);
  const cacheReclaim = cache.filter((b) => !b.InUse && !b.Shared).reduce((n, b) => n + b.Size, 0);
  const row = (type: string, total: number, active: number, size: string, reclaimable: string): RowContext => ({
    Type: () => type, TotalCount: () => String(total), Active: () => String(active), Size: () => size, Reclaimable: () => reclaimable,
  });
  return [
    row('Images', images.length, images.filter((i) => (i.Containers ?? 0) > 0).length, humanSize(imagesTotal), withPercent(imagesReclaimable ?? imagesTotal - imagesUsed, imagesTotal)),
    row('Containers', containers.length, containers.filter((c) => isActiveState(c.State)).length, humanSize(ctrSize), withPercent(ctrReclaim, ctrSize)),
    row('Local Volumes', volumes.length, volumes.filter((v) => (v.UsageData?.RefCount ?? 0) > 0).length, humanSize(volSize), withPercent(volReclaim, volSize)),
    row('Build Cache', cache.length, cache.filter((b) => b.InUse).length, humanSize(cacheSize), humanSize(cacheReclaim)),
  ];
}

function verbose(du: DiskUsage): string {
  const now = Date.now();
  let s = 'Images space usage:\n\n';
  s += formatRows('table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}\t{{.SharedSize}}\t{{.UniqueSize}}\t{{.Containers}}',
    imageRows(du.Images ?? [], false).map((r) => imageContext(r, true, now)),
    { Repository: 'REPOSITORY', Tag: 'TAG', ID: 'IMAGE ID', CreatedSince: 'CREATED', Size: 'SIZE', SharedSize: 'SHARED SIZE', UniqueSize: 'UNIQUE SIZE', Containers: 'CONTAINERS' });
  s += '\nContainers space usage:\n\n';
  s += formatRows('table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.LocalVolumes}}\t{{.Size}}\t{{.RunningFor}}\t{{.Status}}\t{{.Names}}',
    (du.Containers ?? []).map((c) => ({ ...containerContext(c, true, now), Size: () => humanSize(c.SizeRw ?? 0) })),
    { ID: 'CONTAINER ID', Image: 'IMAGE', Command: 'COMMAND', LocalVolumes: 'LOCAL VOLUMES', Size: 'SIZE', RunningFor: 'CREATED', Status: 'STATUS', Names: 'NAMES' });
  s += '\nLocal Volumes space usage:\n\n';
  s += formatRows('table {{.Name}}\t{{.Links}}\t{{.Size}}', (du.Volumes ?? []).map(volumeContext), { Name: 'VOLUME NAME', Links: 'LINKS', Size: 'SIZE' });
  const cache = du.BuildCache ?? [];
  s += `\nBuild cache usage: ${humanSize(cache.reduce((n, b) => n + b.Size, 0))}\n\n`;
  s += formatRows('table {{.ID}}\t{{.Type}}\t{{.Size}}\t{{.CreatedSince}}\t{{.LastUsed}}\t{{.UsageCount}}\t{{.Shared}}',
    cache.map((b) => ({
      ID: () => b.ID.slice(0, 12), Type: () => b.Type ?? '', Size: () => humanSize(b.Size), CreatedSince: () => b.CreatedAt ?? '',
      LastUsed: () => b.LastUsedAt ?? '', UsageCount: () => String(b.UsageCount ?? 0), Shared: () => String(Boolean(b.Shared)),
    })),
    { ID: 'CACHE ID', Type: 'CACHE TYPE', Size: 'SIZE', CreatedSince: 'CREATED', LastUsed: 'LAST USED', UsageCount: 'USAGE', Shared: 'SHARED' });
  return s;
}

async function df(ctx: CliContext, f: ParsedFlags): Promise<void> {
  const client = await ctx.client();
  const du = await client.json<DiskUsage>('GET', '/system/df');
  const format = f.string('format');
  if (f.bool('verbose') && !format) {
    ctx.out.write(verbose(du));
    return;
  }
  // berthd answers exactly what `image prune -a` would free; another daemon 404s and gets Docker's estimate.
  const reclaimable = await client.json<{ SpaceReclaimed?: number }>('GET', '/images/prune', { query: { filters: '{"dangling":{"false":true}}' } })
    .then((r) => r.SpaceReclaimed, () => undefined);
  ctx.out.write(formatRows(format && format !== 'table' ? format : 'table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}', diskUsageRows(du, reclaimable), HEADERS));
}

export const dfCommand: Command = {
  name: 'df', usage: '[OPTIONS]', short: 'Show berth disk usage', args: { max: 0 },
  flags: [formatFlag(), { name: 'verbose', short: 'v', kind: 'bool', usage: 'Show detailed information on space usage' }],
  run: df,
};
