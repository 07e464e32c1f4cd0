/** `berth network ls`: `NETWORK ID   NAME   DRIVER   SCOPE`, naturally sorted by name. */
import type { Command } from '../command.js';
import { formatFlag } from '../format/format-flag.js';
import { formatRows, type RowContext } from '../format/formatter.js';
import { naturalCompare } from '../format/natural-sort.js';
import { goTimeString } from '../format/time.js';
import { truncateId } from '../format/truncate.js';
import { filterFlag, filtersQuery } from '../opts/filters.js';

export interface NetworkSummary {
  Name: string;
  Id: string;
  Created?: string;
  Scope: string;
  Driver: string;
  EnableIPv4?: boolean;
  EnableIPv6?: boolean;
  Internal?: boolean;
  Labels?: Record<string, string> | null;
}

const HEADERS: Record<string, string> = {
  ID: 'NETWORK ID', Name: 'NAME', Driver: 'DRIVER', Scope: 'SCOPE', IPv4: 'IPV4', IPv6: 'IPV6', Internal: 'INTERNAL',
  Labels: 'LABELS', Label: 'LABEL', CreatedAt: 'CREATED AT',
};

export function networkContext(n: NetworkSummary, trunc: boolean): RowContext {
  const labels = n.Labels ?? {};
  return {
    ID: () => (trunc ? truncateId(n.Id) : n.Id),
    Name: () => n.Name,
    Driver: () => n.Driver,
    Scope: () => n.Scope,
    IPv4: () => String(n.EnableIPv4 ?? true),
    IPv6: () => String(n.EnableIPv6 ?? false),
    Internal: () => String(n.Internal ?? false),
    Labels: () => Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(','),
    Label: (name: unknown) => labels[String(name)] ?? '',
    CreatedAt: () => (n.Created ? goTimeString(Date.parse(n.Created) / 1000) : ''),
  };
}

export const networkLsCommand: Command = {
  name: 'ls', aliases: ['list'], usage: '[OPTIONS]', short: 'List networks', aliasesHelp: 'berth network ls, berth network list', args: { max: 0 },
  flags: [
    filterFlag('Provide filter values (e.g. "driver=bridge")'),
    formatFlag(),
    { name: 'no-trunc', kind: 'bool', usage: 'Do not truncate the output' },
    { name: 'quiet', short: 'q', kind: 'bool', usage: 'Only display network IDs' },
  ],
  async run(ctx, f) {
    const client = await ctx.client();
    const list = await client.json<NetworkSummary[]>('GET', '/networks', { query: { filters: filtersQuery(f.list('filter')) } });
    const sorted = [...(list ?? [])].sort((a, b) => naturalCompare(a.Name, b.Name));
    let format = f.string('format') || ctx.config.data.networksFormat || '';
    const quiet = f.bool('quiet');
    if (format === '' || format === 'table') format = quiet ? '{{.ID}}' : 'table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}';
    else if (quiet) format = '{{.ID}}';
    ctx.out.write(formatRows(format, sorted.map((n) => networkContext(n, !f.bool('no-trunc'))), HEADERS));
  },
};
