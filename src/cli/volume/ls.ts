/** `berth volume ls`: `DRIVER   VOLUME NAME`, naturally sorted by name like Docker 28. */
import type { Command } from '../command.js';
import { formatFlag } from '../format/format-flag.js';
import { formatRows, type RowContext } from '../format/formatter.js';
import { naturalCompare } from '../format/natural-sort.js';
import { humanSize } from '../format/units.js';
import { filterFlag, filtersQuery } from '../opts/filters.js';

export interface Volume {
  Name: string;
  Driver: string;
  Mountpoint: string;
  CreatedAt?: string;
  Labels: Record<string, string> | null;
  Scope: string;
  Options?: Record<string, string> | null;
  UsageData?: { Size: number; RefCount: number } | null;
}

const HEADERS: Record<string, string> = {
  Name: 'VOLUME NAME', Driver: 'DRIVER', Scope: 'SCOPE', Mountpoint: 'MOUNTPOINT', Labels: 'LABELS', Label: 'LABEL', Links: 'LINKS', Size: 'SIZE',
};

export function volumeContext(v: Volume): RowContext {
  const labels = v.Labels ?? {};
  return {
    Name: () => v.Name,
    Driver: () => v.Driver,
    Scope: () => v.Scope,
    Mountpoint: () => v.Mountpoint,
    Labels: () => Object.entries(labels).map(([k, val]) => `${k}=${val}`).join(','),
    Label: (name: unknown) => labels[String(name)] ?? '',
    Links: () => (v.UsageData ? String(v.UsageData.RefCount) : 'N/A'),
    Size: () => (v.UsageData && v.UsageData.Size !== -1 ? humanSize(v.UsageData.Size) : 'N/A'),
  };
}

export const volumeLsCommand: Command = {
  name: 'ls', aliases: ['list'], usage: '[OPTIONS]', short: 'List volumes', aliasesHelp: 'berth volume ls, berth volume list', args: { max: 0 },
  flags: [
    { name: 'cluster', kind: 'bool', usage: 'Display only cluster volumes, and use cluster volume list formatting', unsupported: 'berth has no cluster volumes (swarm)' },
    filterFlag('Provide filter values (e.g. "dangling=true")'),
    formatFlag(),
    { name: 'quiet', short: 'q', kind: 'bool', usage: 'Only display volume names' },
  ],
  async run(ctx, f) {
    const client = await ctx.client();
    const res = await client.json<{ Volumes: Volume[] | null; Warnings: string[] | null }>('GET', '/volumes', { query: { filters: filtersQuery(f.list('filter')) } });
    const vols = [...(res.Volumes ?? [])].sort((a, b) => naturalCompare(a.Name, b.Name));
    let format = f.string('format') || ctx.config.data.volumesFormat || '';
    const quiet = f.bool('quiet');
    if (format === '' || format === 'table') format = quiet ? '{{.Name}}' : 'table {{.Driver}}\t{{.Name}}';
    else if (quiet) format = '{{.Name}}';
    ctx.out.write(formatRows(format, vols.map(volumeContext), HEADERS));
    for (const w of res.Warnings ?? []) ctx.err.write(`${w}\n`);
  },
};
