/**
 * `berth stats`: per-container CPU, memory, network, block I/O and PIDs from
 * `GET /containers/{id}/stats?stream=0`, computed the way Docker's stats
 * helpers do (CPU delta against the previous sample, page cache left out
 * of memory usage). `--no-stream` prints once; otherwise the table is
 * redrawn every second until interrupted.
 */
import type { ApiClient } from '../client.js';
import { apiPath } from '../client.js';
import type { Command } from '../command.js';
import type { CliContext } from '../context.js';
import { StatusError } from '../errors.js';
import type { ParsedFlags } from '../flags.js';
import { formatFlag } from '../format/format-flag.js';
import { formatRows, type RowContext } from '../format/formatter.js';
import { truncateId } from '../format/truncate.js';
import { bytesSize, humanSizeWithPrecision } from '../format/units.js';
import type { ContainerSummary } from './ps.js';

interface CpuStats {
  cpu_usage: { total_usage: number; percpu_usage?: number[] | null };
  system_cpu_usage?: number;
  online_cpus?: number;
}

export interface StatsResponse {
  id?: string;
  name?: string;
  cpu_stats: CpuStats;
  precpu_stats: CpuStats;
  memory_stats: { usage?: number; limit?: number; stats?: Record<string, number> };
  networks?: Record<string, { rx_bytes: number; tx_bytes: number }>;
  blkio_stats?: { io_service_bytes_recursive?: { op: string; value: number }[] | null };
  pids_stats?: { current?: number };
}

export interface StatsEntry {
  container: string;
  id: string;
  name: string;
  cpuPercent: number;
  memory: number;
  memoryLimit: number;
  memoryPercent: number;
  netRx: number;
  netTx: number;
  blockRead: number;
  blockWrite: number;
  pids: number;
}

/** calculateCPUPercentUnix */
export function cpuPercent(s: StatsResponse): number {
  const cpuDelta = s.cpu_stats.cpu_usage.total_usage - (s.precpu_stats?.cpu_usage?.total_usage ?? 0);
  const systemDelta = (s.cpu_stats.system_cpu_usage ?? 0) - (s.precpu_stats?.system_cpu_usage ?? 0);
  let online = s.cpu_stats.online_cpus ?? 0;
  if (!online) online = s.cpu_stats.cpu_usage.percpu_usage?.length ?? 0;
  return systemDelta > 0 && cpuDelta > 0 ? (cpuDelta / systemDelta) * online * 100 : 0;
}

/** calculateMemUsageUnixNoCache: usage minus inactive file pages. */
export function memoryUsage(m: StatsResponse['memory_stats']): number {
  const usage = m.usage ?? 0;
  const v1 = m.stats?.total_inactive_file;
  if (v1 !== undefined && v1 < usage) return usage - v1;
  const v2 = m.stats?.inactive_file;
  if (v2 !== undefined && v2 < usage) return usage - v2;
  return usage;
}

export function toEntry(container: string, s: StatsResponse): StatsEntry {
  const mem = memoryUsage(s.memory_stats ?? {});
  const limit = s.memory_stats?.limit ?? 0;
  let rx = 0;
  let tx = 0;
  for (const n of Object.values(s.networks ?? {})) {
    rx += n.rx_bytes;
    tx += n.tx_bytes;
  }
  let read = 0;
  let write = 0;
  for (const e of s.blkio_stats?.io_service_bytes_recursive ?? []) {
    const op = e.op.toLowerCase();
    if (op === 'read') read += e.value;
    if (op === 'write') write += e.value;
  }
  return {
    container, id: s.id ?? container, name: (s.name ?? '').replace(/^\//, ''), cpuPercent: cpuPercent(s),
    memory: mem, memoryLimit: limit, memoryPercent: limit ? (mem / limit) * 100 : 0,
    netRx: rx, netTx: tx, blockRead: read, blockWrite: write, pids: s.pids_stats?.current ?? 0,
  };
}

const HEADERS: Record<string, string> = {
  Container: 'CONTAINER', ID: 'CONTAINER ID', Name: 'NAME', CPUPerc: 'CPU %', MemUsage: 'MEM USAGE / LIMIT',
  MemPerc: 'MEM %', NetIO: 'NET I/O', BlockIO: 'BLOCK I/O', PIDs: 'PIDS',
};
const DEFAULT_FORMAT = 'table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}';

export function statsContext(e: StatsEntry, trunc: boolean): RowContext {
  return {
    Container: () => e.container,
    ID: () => (trunc ? truncateId(e.id) : e.id),
    Name: () => e.name || '--',
    CPUPerc: () => `${e.cpuPercent.toFixed(2)}%`,
    MemUsage: () => `${bytesSize(e.memory)} / ${bytesSize(e.memoryLimit)}`,
    MemPerc: () => `${e.memoryPercent.toFixed(2)}%`,
    NetIO: () => `${humanSizeWithPrecision(e.netRx, 3)} / ${humanSizeWithPrecision(e.netTx, 3)}`,
    BlockIO: () => `${humanSizeWithPrecision(e.blockRead, 3)} / ${humanSizeWithPrecision(e.blockWrite, 3)}`,
    PIDs: () => String(e.pids),
  };
}

async function sample(client: ApiClient, names: readonly string[]): Promise<[StatsEntry[], string[]]> {
  const results = await Promise.allSettled(names.map((n) => client.json<StatsResponse>('GET', apiPath`/containers/${n}/stats`, { query: { stream: '0' } })));
  const entries: StatsEntry[] = [];
  const errors: string[] = [];
  results.forEach((r, i) => {
    if (r.status === 'fulfilled') entries.push(toEntry(names[i], r.value));
    else errors.push((r.reason as Error).message);
  });
  return [entries, errors];
}

async function stats(ctx: CliContext, f: ParsedFlags): Promise<void> {
  const client = await ctx.client();
  const format = f.string('format') || ctx.config.data.statsFormat || DEFAULT_FORMAT;
  const trunc = !f.bool('no-trunc');
  const names = async () => f.args.length
    ? f.args
    : (await client.json<ContainerSummary[]>('GET', '/containers/json', { query: { all: f.bool('all') } })).map((c) => c.Id);
  if (f.bool('no-stream')) {
    const [entries, errors] = await sample(client, await names());
    if (entries.length || !errors.length) ctx.out.write(formatRows(format, entries.map((e) => statsContext(e, trunc)), HEADERS));
    if (errors.length) throw new StatusError(1, errors.join('\n'));
    return;
  }
  // Live view: redraw in place on a terminal, append otherwise (as Docker does off a terminal).
  for (;;) {
    const [entries, errors] = await sample(client, await names());
    if (errors.length && entries.length === 0) throw new StatusError(1, errors.join('\n'));
    if (ctx.out.isTTY) ctx.out.write('\x1b[2J\x1b[H');
    ctx.out.write(formatRows(format, entries.map((e) => statsContext(e, trunc)), HEADERS));
    await new Promise((r) => setTimeout(r, 1000));
  }
}

export const statsCommand: Command = {
  name: 'stats', usage: '[OPTIONS] [CONTAINER...]', short: 'Display a live stream of container(s) resource usage statistics',
  aliasesHelp: 'berth container stats, berth stats',
  flags: [
    { name: 'all', short: 'a', kind: 'bool', usage: 'Show all containers (default shows just running)' },
    formatFlag(),
    { name: 'no-stream', kind: 'bool', usage: 'Disable streaming stats and only pull the first result' },
    { name: 'no-trunc', kind: 'bool', usage: 'Do not truncate output' },
  ],
  run: stats,
};
