/**
 * `berth stats`: per-container CPU, memory, network, block I/O and PIDs, the
 * way Docker's CLI collects and shows them (`docker/cli`
 * `cli/command/container/stats.go`, `stats_helpers.go`, `formatter_stats.go`):
 *
 * - one `GET /containers/{id}/stats` per container — `stream=0` with
 *   `--no-stream` (the daemon waits for a second sample, so CPU % is real),
 *   a stream of one sample a second otherwise;
 * - CPU % from each sample and its `precpu_stats`; memory without the
 *   inactive page cache; NET I/O summed over interfaces;
 * - without container arguments: the running containers (`--all`: every
 *   one), and while streaming the list follows `start`/`die` (and with
 *   `--all` `create`) events;
 * - named containers that fail (no such container) end the command with
 *   their errors before anything is printed.
 *
 * The live view is redrawn in place twice a second on a terminal; off a
 * terminal each refresh appends a table.
 */
import type { IncomingMessage } from 'node:http';
import { createInterface } from 'node:readline';
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

/** The fields of the daemon's stats sample the table needs. */
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

/** One row: Docker's StatsEntry. `invalid` rows (errors, timeouts) show `--`. */
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
  invalid?: boolean;
}

/** calculateCPUPercentUnix: the container's share of the host's CPU time between two samples, × CPUs. */
export function cpuPercent(s: StatsResponse): number {
  const cpuDelta = s.cpu_stats.cpu_usage.total_usage - (s.precpu_stats?.cpu_usage?.total_usage ?? 0);
  const systemDelta = (s.cpu_stats.system_cpu_usage ?? 0) - (s.precpu_stats?.system_cpu_usage ?? 0);
  let online = s.cpu_stats.online_cpus ?? 0;
  if (!online) online = s.cpu_stats.cpu_usage.percpu_usage?.length ?? 0;
  return systemDelta > 0 && cpuDelta > 0 ? (cpuDelta / systemDelta) * online * 100 : 0;
}

/** calculateMemUsageUnixNoCache: usage minus inactive file pages (v1 `total_inactive_file`, v2 `inactive_file`). */
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
    container, id: s.id ?? '', name: s.name ?? '', cpuPercent: cpuPercent(s),
    memory: mem, memoryLimit: limit, memoryPercent: limit ? (mem / limit) * 100 : 0,
    netRx: rx, netTx: tx, blockRead: read, blockWrite: write, pids: s.pids_stats?.current ?? 0,
  };
}

/** A row before its first sample, or after an error: Docker's NewStats / SetErrorAndReset. */
export function invalidEntry(container: string, id = '', name = ''): StatsEntry {
  return {
    container, id, name, cpuPercent: 0, memory: 0, memoryLimit: 0, memoryPercent: 0,
    netRx: 0, netTx: 0, blockRead: 0, blockWrite: 0, pids: 0, invalid: true,
  };
}

const HEADERS: Record<string, string> = {
  Container: 'CONTAINER', ID: 'CONTAINER ID', Name: 'NAME', CPUPerc: 'CPU %', MemUsage: 'MEM USAGE / LIMIT',
  MemPerc: 'MEM %', NetIO: 'NET I/O', BlockIO: 'BLOCK I/O', PIDs: 'PIDS',
};
export const DEFAULT_STATS_FORMAT = 'table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}';

/** NewStatsFormat: `table` (or nothing) is the default table, anything else a format of its own. */
export function statsFormat(source: string): string {
  return source === '' || source === 'table' ? DEFAULT_STATS_FORMAT : source;
}

/** formatter_stats.go's statsContext. */
export function statsContext(e: StatsEntry, trunc: boolean): RowContext {
  const dashes = (v: () => string) => () => (e.invalid ? '--' : v());
  return {
    Container: () => e.container,
    ID: () => (trunc ? truncateId(e.id) : e.id),
    Name: () => (e.name.length > 1 ? e.name.slice(1) : '--'),
    CPUPerc: dashes(() => `${e.cpuPercent.toFixed(2)}%`),
    MemUsage: () => (e.invalid ? '-- / --' : `${bytesSize(e.memory)} / ${bytesSize(e.memoryLimit)}`),
    MemPerc: dashes(() => `${e.memoryPercent.toFixed(2)}%`),
    NetIO: dashes(() => `${humanSizeWithPrecision(e.netRx, 3)} / ${humanSizeWithPrecision(e.netTx, 3)}`),
    BlockIO: dashes(() => `${humanSizeWithPrecision(e.blockRead, 3)} / ${humanSizeWithPrecision(e.blockWrite, 3)}`),
    PIDs: dashes(() => String(e.pids)),
  };
}

/**
 * One container's samples (Docker's `collect`): `entry` always holds the
 * latest row, `error` the last failure; `first` settles at the first sample
 * or failure.
 */
class Collector {
  entry: StatsEntry;
  error?: Error;
  readonly first: Promise<void>;
  private settleFirst!: () => void;
  private readonly abort = new AbortController();

  constructor(readonly container: string) {
    this.entry = invalidEntry(container);
    this.first = new Promise((resolve) => { this.settleFirst = resolve; });
  }

  async run(client: ApiClient, stream: boolean): Promise<void> {
    let res: IncomingMessage | undefined;
    try {
      res = await client.request('GET', apiPath`/containers/${this.container}/stats`, {
        query: { stream: stream ? '1' : '0' }, signal: this.abort.signal,
      });
      for await (const line of createInterface({ input: res, crlfDelay: Infinity })) {
        if (!line.trim()) continue;
        this.entry = toEntry(this.container, JSON.parse(line) as StatsResponse);
        this.error = undefined;
        this.settleFirst();
        if (!stream) break;
      }
    } catch (e) {
      if (!this.abort.signal.aborted) {
        this.error = e as Error;
        this.entry = invalidEntry(this.container, this.entry.id, this.entry.name);
      }
    } finally {
      res?.destroy();
      this.settleFirst();
    }
  }

  stop(): void {
    this.abort.abort();
  }
}

class Collectors {
  readonly list: Collector[] = [];

  add(client: ApiClient, container: string, stream: boolean): void {
    if (this.list.some((c) => c.container === container || c.entry.id === container)) return;
    const c = new Collector(container);
    this.list.push(c);
    void c.run(client, stream);
  }

  remove(id: string): void {
    const i = this.list.findIndex((c) => c.container === id || c.entry.id === id);
    if (i >= 0) this.list.splice(i, 1)[0].stop();
  }

  stopAll(): void {
    for (const c of this.list) c.stop();
  }

  entries(): StatsEntry[] {
    return this.list.map((c) => c.entry);
  }
}

interface ContainerEvent { Type?: string; Action?: string; Actor?: { ID?: string } }

/** Follows container events for the list of containers to show (no container arguments, streaming). */
async function followEvents(client: ApiClient, signal: AbortSignal, onEvent: (e: ContainerEvent) => void): Promise<void> {
  const res = await client.request('GET', '/events', { query: { filters: JSON.stringify({ type: ['container'] }) }, signal });
  void (async () => {
    try {
      for await (const line of createInterface({ input: res, crlfDelay: Infinity })) {
        if (line.trim()) onEvent(JSON.parse(line) as ContainerEvent);
      }
    } catch {
      // the stream ended with the command
    }
  })();
}

async function stats(ctx: CliContext, f: ParsedFlags): Promise<void> {
  const client = await ctx.client();
  const format = statsFormat(f.string('format') || ctx.config.data.statsFormat || '');
  const trunc = !f.bool('no-trunc');
  const stream = !f.bool('no-stream');
  const all = f.bool('all');
  const named = f.args.length > 0;
  const collectors = new Collectors();
  const events = new AbortController();
  try {
    if (named) {
      for (const name of f.args) collectors.add(client, name, stream);
      await Promise.all(collectors.list.map((c) => c.first));
      const errors = collectors.list.flatMap((c) => (c.error ? [c.error.message] : []));
      if (errors.length) throw new StatusError(1, errors.join('\n'));
    } else {
      // Subscribed before listing, so a container started in between is not missed.
      if (stream) {
        await followEvents(client, events.signal, (e) => {
          const id = e.Actor?.ID;
          if (!id) return;
          if (e.Action === 'start' || (all && e.Action === 'create')) collectors.add(client, id, stream);
          else if (e.Action === 'die' && !all) collectors.remove(id);
          else if (e.Action === 'destroy') collectors.remove(id);
        });
      }
      const list = await client.json<ContainerSummary[]>('GET', '/containers/json', { query: { all } });
      for (const c of list) collectors.add(client, c.Id, stream);
      await Promise.all(collectors.list.map((c) => c.first));
    }

    const render = () => formatRows(format, collectors.entries().map((e) => statsContext(e, trunc)), HEADERS);
    if (!stream) {
      if (collectors.list.length) ctx.out.write(render());
      return;
    }
    const tty = !!ctx.out.isTTY;
    if (tty) ctx.out.write('\x1b[2J');
    for (;;) {
      const text = render();
      // In place on a terminal: home, each line with erase-to-end, then erase below (as Docker redraws).
      ctx.out.write(tty ? `\x1b[H${text.split('\n').slice(0, -1).map((l) => `${l}\x1b[K\n`).join('')}\x1b[J` : text);
      await new Promise((r) => setTimeout(r, 500));
    }
  } finally {
    events.abort();
    collectors.stopAll();
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
