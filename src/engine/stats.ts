/**
 * `GET /containers/{id}/stats`: samples of a container's resource usage in
 * Docker's `StatsResponse` shape, timed the way dockerd times them
 * (`moby/moby@v28.2.2 daemon/stats.go` `ContainerStats`, its 1 s collector in
 * `daemon/stats/collector.go`, the mapping in `daemon/stats_unix.go`):
 *
 * - `stream` (the default): a sample every second, each carrying the
 *   previous one's `cpu_stats` as `precpu_stats` (and its `read` as
 *   `preread`) — clients compute CPU % from the pair;
 * - `stream=false`: two samples a second apart, only the second sent, so its
 *   `precpu_stats` are real (what `docker stats --no-stream` asks for);
 * - `one-shot` (with `stream=false`): one sample at once, `precpu_stats` zero;
 * - a container that is not running (or is waiting to restart) gives
 *   Docker's empty sample — zero counters, the zero time, only `name` and
 *   `id` set: once without `stream`, every second with it, until it starts
 *   again or is removed (which ends the stream).
 *
 * Memory's `limit` is the host's memory when the container has none (or a
 * larger one), as in dockerd. `networks` lists the interfaces of the
 * container's network namespace, absent for `--network none` and `host`.
 */
import { totalmem } from 'node:os';
import type { ContainerRecord } from '../store/container-store.js';
import { readCgroupUsage, readHostCpu, type BlkioEntry, type CgroupUsage } from '../runtime/cgroup-stats.js';
import { readInterfaceStats, type InterfaceStats } from '../network/interface-stats.js';
import { cgroupOfContainer } from '../runtime/cgroup-path.js';

/** The zero `time.Time` as Go's encoder writes it. */
const ZERO_TIME = '0001-01-01T00:00:00Z';


export interface CpuStats {
  cpu_usage: { total_usage: number; percpu_usage?: number[]; usage_in_kernelmode: number; usage_in_usermode: number };
  system_cpu_usage?: number;
  online_cpus?: number;
  throttling_data: { periods: number; throttled_periods: number; throttled_time: number };
}

export interface BlkioStats {
  io_service_bytes_recursive: BlkioEntry[] | null;
  io_serviced_recursive: BlkioEntry[] | null;
  io_queue_recursive: BlkioEntry[] | null;
  io_service_time_recursive: BlkioEntry[] | null;
  io_wait_time_recursive: BlkioEntry[] | null;
  io_merged_recursive: BlkioEntry[] | null;
  io_time_recursive: BlkioEntry[] | null;
  sectors_recursive: BlkioEntry[] | null;
}

/** Docker's `ContainerStatsResponse` (API field names; Go's `omitempty` fields are optional). */
export interface StatsResponse {
  name?: string;
  id?: string;
  read: string;
  preread: string;
  pids_stats: { current?: number; limit?: number };
  blkio_stats: BlkioStats;
  num_procs: number;
  storage_stats: Record<string, never>;
  cpu_stats: CpuStats;
  precpu_stats: CpuStats;
  memory_stats: { usage?: number; max_usage?: number; stats?: Record<string, number>; failcnt?: number; limit?: number };
  networks?: Record<string, InterfaceStats>;
}

/** The keys of `memory_stats.stats` dockerd reports on cgroup v1 (`statsV1`). */
const V1_MEMORY_KEYS = [
  'cache', 'rss', 'rss_huge', 'mapped_file', 'dirty', 'writeback', 'pgpgin', 'pgpgout', 'pgfault', 'pgmajfault',
  'inactive_anon', 'active_anon', 'inactive_file', 'active_file', 'unevictable', 'hierarchical_memory_limit',
  'hierarchical_memsw_limit', 'total_cache', 'total_rss', 'total_rss_huge', 'total_mapped_file', 'total_dirty',
  'total_writeback', 'total_pgpgin', 'total_pgpgout', 'total_pgfault', 'total_pgmajfault', 'total_inactive_anon',
  'total_active_anon', 'total_inactive_file', 'total_active_file', 'total_unevictable',
];

/** … and on cgroup v2 (`statsV2`). */
const V2_MEMORY_KEYS = [
  'anon', 'file', 'kernel_stack', 'slab', 'sock', 'shmem', 'file_mapped', 'file_dirty', 'file_writeback', 'anon_thp',
  'inactive_anon', 'active_anon', 'inactive_file', 'active_file', 'unevictable', 'slab_reclaimable', 'slab_unreclaimable',
  'pgfault', 'pgmajfault', 'workingset_refault', 'workingset_activate', 'workingset_nodereclaim', 'pgrefill', 'pgscan',
  'pgsteal', 'pgactivate', 'pgdeactivate', 'pglazyfree', 'pglazyfreed', 'thp_fault_alloc', 'thp_collapse_alloc',
];

function zeroCpu(): CpuStats {
  return {
    cpu_usage: { total_usage: 0, usage_in_kernelmode: 0, usage_in_usermode: 0 },
    throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 },
  };
}

function nullBlkio(): BlkioStats {
  return {
    io_service_bytes_recursive: null, io_serviced_recursive: null, io_queue_recursive: null, io_service_time_recursive: null,
    io_wait_time_recursive: null, io_merged_recursive: null, io_time_recursive: null, sectors_recursive: null,
  };
}

/** What dockerd sends for a container that is not running: its name and id, everything else zero. */
export function emptyStats(c: Pick<ContainerRecord, 'Id' | 'Name'>): StatsResponse {
  return {
    name: `/${c.Name}`, id: c.Id, read: ZERO_TIME, preread: ZERO_TIME, pids_stats: {}, blkio_stats: nullBlkio(),
    num_procs: 0, storage_stats: {}, cpu_stats: zeroCpu(), precpu_stats: zeroCpu(), memory_stats: {},
  };
}

/** Go's `omitempty` for numbers. */
function nz(v: number | undefined): number | undefined {
  return v ? v : undefined;
}

/**
 * Docker's sample from what the cgroup, /proc/stat and the network
 * namespace said (pure: `readSample` does the reading).
 */
export function toStatsResponse(
  c: Pick<ContainerRecord, 'Id' | 'Name'>, read: Date, usage: CgroupUsage,
  host: { systemNs: number; onlineCpus: number }, machineMemory: number, networks: Record<string, InterfaceStats> | null,
): StatsResponse {
  const v1 = usage.version === 1;
  const b = usage.blkio;
  // v1: containerd hands over every table as a list, empty where the kernel has none.
  const table = (t: BlkioEntry[] | null) => (v1 ? t ?? [] : t);
  const memKeys = v1 ? V1_MEMORY_KEYS : V2_MEMORY_KEYS;
  const limit = usage.memory.limit === null || (machineMemory > 0 && usage.memory.limit > machineMemory) ? machineMemory : usage.memory.limit;
  return {
    name: `/${c.Name}`,
    id: c.Id,
    read: read.toISOString(),
    preread: ZERO_TIME,
    pids_stats: { current: nz(usage.pids.current), limit: nz(usage.pids.limit ?? 0) },
    blkio_stats: {
      io_service_bytes_recursive: table(b.serviceBytes), io_serviced_recursive: table(b.serviced),
      io_queue_recursive: table(b.queued), io_service_time_recursive: table(b.serviceTime),
      io_wait_time_recursive: table(b.waitTime), io_merged_recursive: table(b.merged),
      io_time_recursive: table(b.time), sectors_recursive: table(b.sectors),
    },
    num_procs: 0,
    storage_stats: {},
    cpu_stats: {
      cpu_usage: {
        total_usage: usage.cpu.totalNs,
        ...(usage.cpu.perCpuNs?.length ? { percpu_usage: usage.cpu.perCpuNs } : {}),
        usage_in_kernelmode: usage.cpu.systemNs,
        usage_in_usermode: usage.cpu.userNs,
      },
      system_cpu_usage: nz(host.systemNs),
      online_cpus: nz(host.onlineCpus),
      throttling_data: { periods: usage.cpu.periods, throttled_periods: usage.cpu.throttledPeriods, throttled_time: usage.cpu.throttledNs },
    },
    precpu_stats: zeroCpu(),
    memory_stats: {
      usage: nz(usage.memory.usage),
      max_usage: nz(usage.memory.maxUsage),
      stats: Object.fromEntries(memKeys.map((k) => [k, usage.memory.stats[k] ?? 0])),
      failcnt: nz(usage.memory.failcnt),
      limit: nz(limit),
    },
    ...(networks && Object.keys(networks).length ? { networks } : {}),
  };
}

/** The slice of the container service stats need. */
export interface StatsContainers {
  /** The current record of a container, by full id; undefined once removed. */
  get(id: string): ContainerRecord | undefined;
  /** By name or id, for `--network container:<name>`; throws when missing. */
  lookup(nameOrId: string): ContainerRecord;
}

function isRunning(c: ContainerRecord): boolean {
  return c.State.Running && !c.State.Restarting;
}

/**
 * The network mode that decides which interfaces a container has:
 * `container:<x>` chains are followed to the container that owns the
 * namespace, as dockerd's `getNetworkSandboxID` does.
 */
function effectiveNetworkMode(containers: StatsContainers, c: ContainerRecord): string {
  let mode = String(c.HostConfig.NetworkMode ?? '');
  for (let hops = 0; mode.startsWith('container:') && hops < 10; hops++) {
    try {
      mode = String(containers.lookup(mode.slice('container:'.length)).HostConfig.NetworkMode ?? '');
    } catch {
      return 'none';
    }
  }
  return mode;
}

/** One sample of a running container, or null when it stopped meanwhile. */
export async function readSample(containers: StatsContainers, c: ContainerRecord): Promise<StatsResponse | null> {
  const mode = effectiveNetworkMode(containers, c);
  const withNetwork = mode !== 'none' && mode !== 'host' && c.State.Pid > 0;
  const read = new Date();
  // The host's CPU time is read next to the container's, so the two deltas cover the same interval.
  const [usage, host, networks] = await Promise.all([
    readCgroupUsage(cgroupOfContainer(c)), readHostCpu(), withNetwork ? readInterfaceStats(c.State.Pid) : null,
  ]);
  if (!usage) return null;
  return toStatsResponse(c, read, usage, host, totalmem(), networks);
}

export interface StatsOptions {
  stream: boolean;
  oneShot: boolean;
  /** Aborted when the client goes away. */
  signal: AbortSignal;
  /** Time between samples (dockerd's collector: 1 s). */
  intervalMs?: number;
}

/** Resolves true after `ms`, false at once when `signal` aborts. */
function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const done = (ok: boolean) => { clearTimeout(t); signal.removeEventListener('abort', onAbort); resolve(ok); };
    const onAbort = () => done(false);
    const t = setTimeout(() => done(true), ms);
    signal.addEventListener('abort', onAbort);
  });
}

/** The samples `GET /containers/{id}/stats` sends, for the container with full id `id`. */
export async function* containerStats(containers: StatsContainers, id: string, o: StatsOptions): AsyncGenerator<StatsResponse> {
  const interval = o.intervalMs ?? 1000;
  const first = containers.get(id);
  if (!first) return;
  if (!o.stream && !isRunning(first)) {
    yield emptyStats(first);
    return;
  }
  if (o.oneShot) {
    yield (await readSample(containers, first)) ?? emptyStats(first);
    return;
  }
  let previous: StatsResponse | undefined;
  for (;;) {
    const c = containers.get(id);
    if (!c) return;
    const s = (isRunning(c) ? await readSample(containers, c) : null) ?? emptyStats(c);
    if (previous) {
      s.precpu_stats = previous.cpu_stats;
      s.preread = previous.read;
    }
    // Without `stream` the first sample only primes precpu_stats.
    if (o.stream || previous) {
      yield s;
      if (!o.stream) return;
    }
    previous = s;
    if (!(await pause(interval, o.signal))) return;
  }
}
