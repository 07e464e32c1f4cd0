/**
 * A container's resource usage, read from its cgroup files — what containerd
 * collects for dockerd's `docker stats` (`containerd/cgroups/v3`
 * `cgroup1/{cpuacct,cpu,memory,pids,blkio}.go`, `cgroup2/manager.go`), here
 * without a shim in between.
 *
 * Where the files are: a container's `linux.cgroupsPath` (cgroupfs form,
 * `/berth/<id>`) lies under every v1 controller's hierarchy,
 * `/sys/fs/cgroup/<controller>/berth/<id>/`, or once under the v2 unified
 * hierarchy, `/sys/fs/cgroup/berth/<id>/`. Units are normalised here: CPU
 * times in nanoseconds (v1 `cpuacct.stat` counts USER_HZ ticks, v2 counts
 * microseconds), memory in bytes; "no limit" is `null`.
 *
 * The parsers are pure and exported for tests; `readCgroupUsage` takes the
 * hierarchy root and version as options for the same reason.
 */
import { readFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { InvalidParameterError } from '../errors.js';
import { cgroupVersion } from './cgroup-version.js';

/** One line of a blkio/io statistics file: a device, an operation, a count. */
export interface BlkioEntry { major: number; minor: number; op: string; value: number }

/**
 * v1 blkio's per-device tables (CFQ's, or the throttle policy's two where
 * CFQ is absent, as on every kernel since 5.0); v2 fills `serviceBytes` only.
 */
export interface BlkioUsage {
  serviceBytes: BlkioEntry[] | null;
  serviced: BlkioEntry[] | null;
  queued: BlkioEntry[] | null;
  serviceTime: BlkioEntry[] | null;
  waitTime: BlkioEntry[] | null;
  merged: BlkioEntry[] | null;
  time: BlkioEntry[] | null;
  sectors: BlkioEntry[] | null;
}

export interface CgroupUsage {
  version: 1 | 2;
  cpu: {
    totalNs: number;
    userNs: number;
    systemNs: number;
    /** v1 only (`cpuacct.usage_percpu`): one entry per possible CPU. */
    perCpuNs?: number[];
    periods: number;
    throttledPeriods: number;
    throttledNs: number;
  };
  memory: {
    usage: number;
    /** v1 only. */
    maxUsage?: number;
    /** v1: `memory.failcnt`; v2: the `oom` count of `memory.events`. */
    failcnt?: number;
    /** null: unlimited. */
    limit: number | null;
    /** `memory.stat` as the kernel writes it. */
    stats: Record<string, number>;
  };
  pids: { current: number; limit: number | null };
  blkio: BlkioUsage;
}

export interface CgroupOptions {
  /** Where the hierarchies are mounted (default `/sys/fs/cgroup`). */
  root?: string;
  /** Default: the host's (`cgroup-version.ts`). */
  version?: 1 | 2;
}

/** USER_HZ: `cpuacct.stat` counts in these (a kernel constant on Linux, as containerd assumes). */
const CLOCK_TICKS = 100;

/**
 * Directory of `cgroupsPath` for a v1 `controller` (ignored on v2, where one
 * directory holds every controller's files).
 */
export function cgroupDir(cgroupsPath: string, controller: string, o: CgroupOptions = {}): string {
  const rel = posix.normalize('/' + cgroupsPath);
  if (rel === '/' || rel.split('/').includes('..')) throw new InvalidParameterError(`invalid cgroups path: ${cgroupsPath}`);
  const root = o.root ?? '/sys/fs/cgroup';
  return (o.version ?? cgroupVersion()) === 2 ? join(root, rel) : join(root, controller, rel);
}

/**
 * The container's usage now, or null when its cgroup is gone (the container
 * stopped, or never ran). Files a kernel lacks (no swap accounting, no
 * `pids` controller) read as zero.
 */
export async function readCgroupUsage(cgroupsPath: string, o: CgroupOptions = {}): Promise<CgroupUsage | null> {
  const version = o.version ?? cgroupVersion();
  const dir = (controller: string) => cgroupDir(cgroupsPath, controller, { ...o, version });
  try {
    return version === 2 ? await readV2(dir('')) : await readV1(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENODEV') return null;
    throw e;
  }
}

/** A file that must be there: its absence means the cgroup is gone. */
async function must(path: string): Promise<string> {
  return readFile(path, 'utf8');
}

/** A file some kernels do not have. */
async function may(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EOPNOTSUPP' || code === 'ENODEV') return undefined;
    throw e;
  }
}

async function readV1(dir: (controller: string) => string): Promise<CgroupUsage> {
  const cpuacct = dir('cpuacct');
  const mem = dir('memory');
  const [usage, percpu, acctStat, cpuStat, memUsage, memMax, failcnt, memLimit, memStat, pidsCur, pidsMax] = await Promise.all([
    must(join(cpuacct, 'cpuacct.usage')), may(join(cpuacct, 'cpuacct.usage_percpu')), may(join(cpuacct, 'cpuacct.stat')),
    may(join(dir('cpu'), 'cpu.stat')),
    must(join(mem, 'memory.usage_in_bytes')), may(join(mem, 'memory.max_usage_in_bytes')), may(join(mem, 'memory.failcnt')),
    may(join(mem, 'memory.limit_in_bytes')), may(join(mem, 'memory.stat')),
    may(join(dir('pids'), 'pids.current')), may(join(dir('pids'), 'pids.max')),
  ]);
  const ticks = parseKeyedValues(acctStat ?? '');
  const throttling = parseKeyedValues(cpuStat ?? '');
  return {
    version: 1,
    cpu: {
      totalNs: parseNumber(usage),
      userNs: ((ticks.user ?? 0) * 1e9) / CLOCK_TICKS,
      systemNs: ((ticks.system ?? 0) * 1e9) / CLOCK_TICKS,
      perCpuNs: percpu === undefined ? undefined : parseNumberList(percpu),
      periods: throttling.nr_periods ?? 0,
      throttledPeriods: throttling.nr_throttled ?? 0,
      throttledNs: throttling.throttled_time ?? 0,
    },
    memory: {
      usage: parseNumber(memUsage),
      maxUsage: memMax === undefined ? undefined : parseNumber(memMax),
      failcnt: failcnt === undefined ? undefined : parseNumber(failcnt),
      limit: memLimit === undefined ? null : parseLimit(memLimit),
      stats: parseKeyedValues(memStat ?? ''),
    },
    pids: { current: pidsCur === undefined ? 0 : parseNumber(pidsCur), limit: pidsMax === undefined ? null : parseLimit(pidsMax) },
    blkio: await readBlkioV1(dir('blkio')),
  };
}

/**
 * containerd reads CFQ's tables where the kernel has them and the throttle
 * policy's otherwise (`cgroup1/blkio.go`); BFQ's own files are not read.
 */
async function readBlkioV1(dir: string): Promise<BlkioUsage> {
  const table = async (file: string) => {
    const text = await may(join(dir, file));
    return text === undefined ? null : parseBlkioV1(text);
  };
  if ((await may(join(dir, 'blkio.io_serviced_recursive'))) !== undefined) {
    const [serviceBytes, serviced, queued, serviceTime, waitTime, merged, time, sectors] = await Promise.all([
      'blkio.io_service_bytes_recursive', 'blkio.io_serviced_recursive', 'blkio.io_queued_recursive',
      'blkio.io_service_time_recursive', 'blkio.io_wait_time_recursive', 'blkio.io_merged_recursive',
      'blkio.time_recursive', 'blkio.sectors_recursive',
    ].map(table));
    return { serviceBytes, serviced, queued, serviceTime, waitTime, merged, time, sectors };
  }
  const [serviceBytes, serviced] = await Promise.all([
    table('blkio.throttle.io_service_bytes_recursive'), table('blkio.throttle.io_serviced_recursive'),
  ]);
  return { serviceBytes, serviced, queued: null, serviceTime: null, waitTime: null, merged: null, time: null, sectors: null };
}

async function readV2(dir: string): Promise<CgroupUsage> {
  const [cpuStat, current, max, memStat, events, pidsCur, pidsMax, ioStat] = await Promise.all([
    must(join(dir, 'cpu.stat')), must(join(dir, 'memory.current')), may(join(dir, 'memory.max')), may(join(dir, 'memory.stat')),
    may(join(dir, 'memory.events')), may(join(dir, 'pids.current')), may(join(dir, 'pids.max')), may(join(dir, 'io.stat')),
  ]);
  const cpu = parseKeyedValues(cpuStat);
  const serviceBytes = ioStat === undefined ? null : parseIoStat(ioStat);
  return {
    version: 2,
    cpu: {
      totalNs: (cpu.usage_usec ?? 0) * 1000,
      userNs: (cpu.user_usec ?? 0) * 1000,
      systemNs: (cpu.system_usec ?? 0) * 1000,
      periods: cpu.nr_periods ?? 0,
      throttledPeriods: cpu.nr_throttled ?? 0,
      throttledNs: (cpu.throttled_usec ?? 0) * 1000,
    },
    memory: {
      usage: parseNumber(current),
      failcnt: events === undefined ? undefined : parseKeyedValues(events).oom ?? 0,
      limit: max === undefined ? null : parseLimit(max),
      stats: parseKeyedValues(memStat ?? ''),
    },
    pids: { current: pidsCur === undefined ? 0 : parseNumber(pidsCur), limit: pidsMax === undefined ? null : parseLimit(pidsMax) },
    blkio: { serviceBytes, serviced: null, queued: null, serviceTime: null, waitTime: null, merged: null, time: null, sectors: null },
  };
}

/**
 * Whether the container's cgroup can limit swap (v1 `memory.memsw.*` needs
 * swap accounting, v2 `memory.swap.max`), so an update may lift a swap limit.
 */
export async function canLimitSwap(cgroupsPath: string, o: CgroupOptions = {}): Promise<boolean> {
  const version = o.version ?? cgroupVersion();
  const file = version === 2 ? 'memory.swap.max' : 'memory.memsw.limit_in_bytes';
  return (await may(join(cgroupDir(cgroupsPath, 'memory', { ...o, version }), file))) !== undefined;
}

// ------------------------------------------------------------------ host

export interface HostCpu {
  /** Time all CPUs spent busy or idle since boot (user … steal), in ns: `system_cpu_usage`. */
  systemNs: number;
  /** `cpuN` lines: the CPUs online now. */
  onlineCpus: number;
}

/** The host's CPU time from /proc/stat, as dockerd's `getSystemCPUUsage` reads it. */
export async function readHostCpu(procStat = '/proc/stat'): Promise<HostCpu> {
  return parseProcStat(await readFile(procStat, 'utf8'));
}

/**
 * /proc/stat: the aggregate `cpu` line's first seven fields (user nice
 * system idle iowait irq softirq) in USER_HZ ticks, and the number of `cpuN`
 * lines — moby `daemon/stats_unix.go` `getSystemCPUUsage`.
 */
export function parseProcStat(text: string): HostCpu {
  let ticks = 0;
  let online = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith('cpu')) break; // the cpu lines come first
    const fields = line.trim().split(/\s+/);
    if (fields[0] === 'cpu') {
      if (fields.length < 8) throw new Error('invalid number of cpu fields in /proc/stat');
      for (const f of fields.slice(1, 8)) ticks += Number(f);
    } else if (/^cpu\d+$/.test(fields[0])) {
      online++;
    }
  }
  return { systemNs: (ticks * 1e9) / CLOCK_TICKS, onlineCpus: online };
}

// ------------------------------------------------------------------ parsers

/** `key value` lines (`memory.stat`, `cpu.stat`, `cpuacct.stat`, `memory.events`). */
export function parseKeyedValues(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (!k || v === undefined) continue;
    const n = Number(v);
    if (Number.isFinite(n)) out[k] = n;
  }
  return out;
}

/** A single number; the kernel's files end with a newline. */
export function parseNumber(text: string): number {
  const n = Number(text.trim());
  if (!Number.isFinite(n)) throw new Error(`not a number: ${JSON.stringify(text.trim())}`);
  return n;
}

/** A limit: `max` (v2, `pids.max`) is no limit; so is v1's "unlimited" (2^63 rounded down to a page). */
export function parseLimit(text: string): number | null {
  const t = text.trim();
  if (t === 'max' || t === '') return null;
  const n = parseNumber(t);
  return n >= 2 ** 62 ? null : n;
}

export function parseNumberList(text: string): number[] {
  return text.trim().split(/\s+/).filter(Boolean).map(Number);
}

/**
 * v1 blkio tables: `MAJ:MIN Op value` per device and operation (Read, Write,
 * Sync, Async, Discard, Total), closed by a device-less `Total N` line that
 * containerd skips.
 */
export function parseBlkioV1(text: string): BlkioEntry[] {
  const out: BlkioEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    const dev = /^(\d+):(\d+)$/.exec(f[0] ?? '');
    if (!dev) continue;
    // blkio.time_recursive and sectors_recursive have no operation column.
    const [op, value] = f.length >= 3 ? [f[1], f[2]] : ['', f[1]];
    out.push({ major: Number(dev[1]), minor: Number(dev[2]), op, value: Number(value) });
  }
  return out;
}

/** v2 `io.stat`: `MAJ:MIN rbytes=… wbytes=… rios=…` → bytes read and written, as dockerd reports them. */
export function parseIoStat(text: string): BlkioEntry[] {
  const out: BlkioEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    const dev = /^(\d+):(\d+)$/.exec(f[0] ?? '');
    if (!dev) continue;
    const kv = Object.fromEntries(f.slice(1).map((p) => p.split('=') as [string, string]));
    const major = Number(dev[1]);
    const minor = Number(dev[2]);
    out.push({ major, minor, op: 'read', value: Number(kv.rbytes ?? 0) }, { major, minor, op: 'write', value: Number(kv.wbytes ?? 0) });
  }
  return out;
}
