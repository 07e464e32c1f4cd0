/**
 * Builds a container's OCI `config.json` the way dockerd does
 * (`moby/moby@v28.2.2` `oci/defaults.go` `DefaultLinuxSpec` plus the
 * `daemon/oci_linux.go` `With…` options), so a container under berth sees the
 * same mounts, namespaces, capabilities, seccomp filter, masked paths, device
 * rules, sysctls and cgroup limits it would see under Docker. The reference is
 * the bundle dockerd 20.10 wrote on these machines
 * (`shared/notes/interfaces/reference/dockerd-20.10-config.json`), updated to
 * v28's lists where they grew.
 *
 * `buildSpec` is pure apart from host facts it reads once and caches (kernel
 * version, capabilities, rlimits, thermal paths, cgroup layout), a seccomp
 * profile file named in `--security-opt`, and the host's `/dev` for a
 * privileged container. Inputs the runtime would refuse are refused here
 * first, as InvalidParameterErrors with Docker's wording; options berth does
 * not implement are NotImplementedErrors, never silently dropped.
 *
 * Who adds what to `process.env`: the engine passes the image's and the
 * user's variables (it may already have added `PATH`, `HOSTNAME`, `TERM` and
 * `HOME`); `buildSpec` applies Docker's `CreateDaemonEnvironment` rule on top,
 * which is idempotent: defaults `PATH=<default>`, `HOSTNAME=<hostname>` and,
 * with a tty, `TERM=xterm`, each replaced in place by a variable of the same
 * name from the input, the rest appended; a bare `KEY` removes a default.
 * `HOME` is not added here: runc and crun set it from the container's
 * passwd entry when it is missing.
 */
import { runningInUserNamespace } from './host-userns.js';
import { existsSync, lstatSync, readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { isAbsolute, join, posix, resolve } from 'node:path';
import { InvalidParameterError, NotImplementedError } from '../errors.js';
import { hostHasCapability, resolveCapabilities } from './capabilities.js';
import { cgroupVersion } from './cgroup-version.js';
import { deviceCgroupEntries } from './device-cgroup-rules.js';
import type {
  Device, DeviceCgroup, LinuxResources, Mount, Namespace, Process, Rlimit, Spec,
} from './oci-types.js';
import { resolveSeccomp } from './seccomp.js';
import type { IdMap } from './id-map.js';

// ------------------------------------------------------------------ inputs

/** The resource fields of Docker's `HostConfig` (API names; `null` = unset). */
export interface DockerResources {
  Memory?: number | null;
  MemorySwap?: number | null;
  MemoryReservation?: number | null;
  MemorySwappiness?: number | null;
  KernelMemory?: number | null;
  NanoCpus?: number | null;
  CpuShares?: number | null;
  CpuQuota?: number | null;
  CpuPeriod?: number | null;
  CpusetCpus?: string | null;
  CpusetMems?: string | null;
  PidsLimit?: number | null;
  BlkioWeight?: number | null;
  OomKillDisable?: boolean | null;
  /** `--device-cgroup-rule`s, appended to the default allow list (runtime/device-cgroup-rules.ts). */
  DeviceCgroupRules?: string[] | null;
}

/** `HostConfig.Ulimits` entry; a negative value means unlimited. */
export interface Ulimit { Name: string; Soft: number; Hard: number }

export type NetworkNamespace = { mode: 'new' } | { mode: 'host' } | { mode: 'path'; path: string };

export interface SpecInput {
  id: string;
  /** The container's root filesystem (overlay `merged`); made absolute. */
  rootfsPath: string;
  readonlyRootfs: boolean;
  /** Entrypoint + Cmd. */
  args: string[];
  env: string[];
  /** Absolute. */
  cwd: string;
  tty: boolean;
  hostname: string;
  domainname?: string;
  user: { uid: number; gid: number; additionalGids: number[]; umask?: number };
  /**
   * Everything the engine mounts (binds, volumes, tmpfs, the
   * `/etc/{resolv.conf,hostname,hosts}` binds), as OCI mounts in the order to
   * apply (parents before children). A mount at a default's destination
   * replaces that default; a mount at `/dev` replaces everything below it.
   */
  mounts: Mount[];
  /** The root's propagation when a bind mount is shared or a slave (engine/mount-propagation.ts). */
  rootfsPropagation?: 'rshared' | 'rslave';
  capAdd?: string[] | null;
  capDrop?: string[] | null;
  privileged?: boolean;
  network: NetworkNamespace;
  /** `{ path }`: join that namespace (`/proc/<pid>/ns/pid` of the container whose namespace it is). */
  pid?: 'private' | 'host' | { path: string };
  /**
   * `shareable` gets a private namespace like `private`; sharing its
   * `/dev/shm` with other containers is the engine's job (pass a `/dev/shm`
   * mount). `host` joins the host's and binds the host's `/dev/shm`.
   */
  ipc?: 'private' | 'host' | 'shareable' | { path: string };
  uts?: 'private' | 'host';
  /** Docker's default: private on cgroup v2, host on v1 (`default-cgroupns-mode`). */
  cgroupns?: 'private' | 'host';
  resources?: DockerResources | null;
  /** e.g. `/berth/<id>`. */
  cgroupsPath: string;
  /** Bytes; 0 or absent means Docker's 64 MiB. */
  shmSize?: number | null;
  sysctls?: Record<string, string> | null;
  /** `seccomp=unconfined|builtin|<json>|<path>`, `no-new-privileges[=bool]`, `apparmor=unconfined`, `label=disable`. */
  securityOpt?: string[] | null;
  ulimits?: Ulimit[] | null;
  oomScoreAdj?: number | null;
  /** Run the command under tini at `/sbin/docker-init`, like `docker run --init`. */
  init?: boolean;
  /** `HostConfig.MaskedPaths` / `ReadonlyPaths`: replace the defaults when given. */
  maskedPaths?: string[] | null;
  readonlyPaths?: string[] | null;
  /**
   * A user namespace with these maps (`--userns-remap`): container root is
   * the remapped root on the host. `path`: join that one (made by the engine
   * with these maps, so the namespaces berth makes for the container can be
   * owned by it); else the runtime makes one. Absent: the host's.
   */
  userns?: IdMap & { path?: string };
}

// ------------------------------------------------------------------ Docker's defaults

/** dockerd 20.10 wrote this; runc 1.1.5 and crun 1.8.1 both accept it. */
export const OCI_VERSION = '1.0.2-dev';
export const DEFAULT_PATH_ENV = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
/** `HostConfig.ShmSize` default (moby `config.DefaultShmSize`). */
export const DEFAULT_SHM_SIZE = 64 * 1024 * 1024;
/** Where Docker puts the init binary for `--init` (moby `inithelper.DefaultPath`). */
export const INIT_PATH = '/sbin/docker-init';
/** Host binaries usable as that init: tini, static first (it runs in any image). */
const INIT_CANDIDATES = ['/usr/bin/tini-static', '/usr/bin/tini'];

/** Docker's seven default mounts, in order, with its options. */
export function defaultMounts(shmSize: number = DEFAULT_SHM_SIZE): Mount[] {
  return [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['ro', 'nosuid', 'noexec', 'nodev'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', `size=${shmSize}`] },
  ];
}

/** Default mounts that stay writable with `--read-only` (moby `WithMounts`). */
const WRITABLE_WITH_READONLY_ROOTFS = new Set(['/proc', '/dev', '/dev/pts', '/dev/shm', '/dev/mqueue']);

export const DEFAULT_READONLY_PATHS: readonly string[] = Object.freeze([
  '/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger',
]);

const MASKED_PATHS: readonly string[] = [
  '/proc/asound', '/proc/acpi', '/proc/interrupts', '/proc/kcore', '/proc/keys', '/proc/latency_stats',
  '/proc/timer_list', '/proc/timer_stats', '/proc/sched_debug', '/proc/scsi', '/sys/firmware',
  '/sys/devices/virtual/powercap',
];

let thermalPaths: string[] | undefined;
/** `/sys/devices/system/cpu/cpu<N>/thermal_throttle` that exist here, read once. */
function cpuThermalThrottlePaths(): string[] {
  if (thermalPaths) return thermalPaths;
  const base = '/sys/devices/system/cpu';
  let cpus: number[] = [];
  try {
    cpus = readdirSync(base).filter((d) => /^cpu\d+$/.test(d)).map((d) => Number(d.slice(3))).sort((a, b) => a - b);
  } catch { /* no sysfs */ }
  thermalPaths = cpus.map((n) => `${base}/cpu${n}/thermal_throttle`).filter((p) => existsSync(p));
  return thermalPaths;
}

/** Docker v28's masked paths plus the per-CPU thermal_throttle directories present. */
export function defaultMaskedPaths(): string[] {
  return [...MASKED_PATHS, ...cpuThermalThrottlePaths()];
}

/**
 * The device cgroup (`oci/defaults.go`): deny everything, allow zero, null,
 * urandom, random, tty and console, deny fuse explicitly. runc and crun add
 * their own allow rules for the other default nodes they create (full, ptmx,
 * /dev/pts/*).
 */
export function defaultDeviceRules(): DeviceCgroup[] {
  const rule = (allow: boolean, major: number, minor: number): DeviceCgroup => ({ allow, type: 'c', major, minor, access: 'rwm' });
  return [
    { allow: false, access: 'rwm' },
    rule(true, 1, 5), rule(true, 1, 3), rule(true, 1, 9), rule(true, 1, 8), rule(true, 5, 0), rule(true, 5, 1),
    rule(false, 10, 229),
  ];
}

// ------------------------------------------------------------------ environment

/** `KEY=VALUE` list with Docker's defaults applied (see the module comment). */
export function containerEnv(env: readonly string[], hostname: string, tty: boolean): string[] {
  const out: (string | null)[] = [`PATH=${DEFAULT_PATH_ENV}`, `HOSTNAME=${hostname}`];
  if (tty) out.push('TERM=xterm');
  const index = new Map<string, number>();
  out.forEach((e, i) => index.set(e!.slice(0, e!.indexOf('=')), i));
  for (const e of env) {
    const eq = e.indexOf('=');
    const key = eq < 0 ? e : e.slice(0, eq);
    const i = index.get(key);
    if (eq < 0) {
      if (i !== undefined) { out[i] = null; index.delete(key); }
      continue;
    }
    if (i !== undefined) out[i] = e;
    else { index.set(key, out.length); out.push(e); }
  }
  return out.filter((e): e is string => e !== null);
}

// ------------------------------------------------------------------ security options

export interface SecurityOptions {
  /** The value of `seccomp=…`, if given. */
  seccomp?: string;
  noNewPrivileges: boolean;
}

/** Go's `strconv.ParseBool`, which dockerd uses for `no-new-privileges=…`. */
function parseGoBool(v: string): boolean | undefined {
  if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(v)) return false;
  return undefined;
}

/**
 * `HostConfig.SecurityOpt` with dockerd's grammar and error messages (moby
 * `daemon/create.go` `parseSecurityOpt`): `key=value` (or the deprecated
 * `key:value`), bare `no-new-privileges` and `disable`. There is no AppArmor
 * or SELinux here, so only the options that ask for neither are accepted.
 */
export function parseSecurityOpts(opts: readonly string[] | null | undefined): SecurityOptions {
  const out: SecurityOptions = { noNewPrivileges: false };
  for (const opt of opts ?? []) {
    if (opt === 'no-new-privileges') { out.noNewPrivileges = true; continue; }
    if (opt === 'disable') continue; // label disabling: no SELinux labels are applied anyway
    const sep = opt.includes('=') ? '=' : opt.includes(':') ? ':' : '';
    if (!sep) throw new InvalidParameterError(`invalid --security-opt 1: "${opt}"`);
    const key = opt.slice(0, opt.indexOf(sep));
    const value = opt.slice(opt.indexOf(sep) + 1);
    switch (key) {
      case 'seccomp':
        out.seccomp = value;
        break;
      case 'no-new-privileges': {
        const b = parseGoBool(value);
        if (b === undefined) throw new InvalidParameterError(`invalid --security-opt 2: "${opt}"`);
        out.noNewPrivileges = b;
        break;
      }
      case 'apparmor':
        if (value !== 'unconfined') throw new NotImplementedError(`--security-opt apparmor=${value}: AppArmor profiles are not supported by berth (only apparmor=unconfined)`);
        break;
      case 'label':
        if (value !== 'disable') throw new NotImplementedError(`--security-opt label=${value}: SELinux labels are not supported by berth (only label=disable)`);
        break;
      default:
        throw new InvalidParameterError(`invalid --security-opt 2: "${opt}"`);
    }
  }
  return out;
}

// ------------------------------------------------------------------ resources

interface CgroupFacts {
  version: 1 | 2;
  swap: boolean;
  blkioWeight: boolean;
  cpus: string;
  mems: string;
}

let cgroupFacts: CgroupFacts | undefined;

function readTrim(p: string): string | undefined {
  try { return readFileSync(p, 'utf8').trim(); } catch { return undefined; }
}

/** What the host's cgroups can do, read once (Docker's `sysinfo`). */
function hostCgroups(): CgroupFacts {
  if (cgroupFacts) return cgroupFacts;
  const version = cgroupVersion();
  let swap: boolean;
  let blkioWeight: boolean;
  let cpus: string | undefined;
  let mems: string | undefined;
  if (version === 1) {
    swap = existsSync('/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes');
    // Docker's test (`sysinfo`): `blkio.weight` at the hierarchy's root. With
    // BFQ only (no CFQ since Linux 5.0) child cgroups have `blkio.bfq.weight`
    // instead, which runc 1.1 writes but crun 1.8 does not (it fails on the
    // missing `blkio.weight`), so like Docker the weight is dropped then.
    blkioWeight = existsSync('/sys/fs/cgroup/blkio/blkio.weight');
    cpus = readTrim('/sys/fs/cgroup/cpuset/cpuset.cpus');
    mems = readTrim('/sys/fs/cgroup/cpuset/cpuset.mems');
  } else {
    const controllers = (readTrim('/sys/fs/cgroup/cgroup.controllers') ?? '').split(/\s+/);
    swap = controllers.includes('memory');
    blkioWeight = controllers.includes('io');
    cpus = readTrim('/sys/fs/cgroup/cpuset.cpus.effective');
    mems = readTrim('/sys/fs/cgroup/cpuset.mems.effective');
  }
  cgroupFacts = {
    version, swap, blkioWeight,
    cpus: cpus || readTrim('/sys/devices/system/cpu/online') || '0',
    mems: mems || readTrim('/sys/devices/system/node/online') || '0',
  };
  return cgroupFacts;
}

/** `0-3,7` → {0,1,2,3,7}; undefined when malformed (Docker's `parsers.ParseUintList`). */
function parseCpuList(s: string): Set<number> | undefined {
  const out = new Set<number>();
  if (s.trim() === '') return out;
  for (const part of s.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) return undefined;
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (b < a) return undefined;
    for (let i = a; i <= b; i++) out.add(i);
  }
  return out;
}

/** Docker's smallest memory limit (moby `linuxMinMemory`, v25+). */
const MIN_MEMORY = 6 * 1024 * 1024;
const MIN_CPU_SHARES = 2;
const MAX_CPU_SHARES = 262144;

/**
 * Docker's resource fields as OCI `linux.resources` (without the device
 * rules), after dockerd's checks (`daemon/daemon_unix.go`
 * `verifyPlatformContainerResources`, `adaptContainerSettings`; mapping
 * `daemon/oci_linux.go` `getMemoryResources`, `getCPUResources`,
 * `getPidsLimit`):
 *
 * - `MemorySwap` is memory plus swap; 0 with a `Memory` limit means twice
 *   `Memory`, -1 unlimited (left out, so the runtime leaves it unlimited);
 * - `NanoCpus` becomes quota/period with a 100 ms period;
 * - `PidsLimit` ≤ 0 means unlimited (-1, which `runc update` needs to lift a limit);
 * - what the host's cgroups cannot do is dropped with Docker's warning
 *   (swap limit without memsw, blkio weight without the file, swappiness and
 *   OomKillDisable on cgroup v2); `KernelMemory` is ignored, as in Docker ≥ 25.
 *
 * Invalid values throw InvalidParameterErrors. The warnings are what
 * `POST /containers/create` returns in `Warnings`. Also usable for
 * `docker update` (`runc update --resources`).
 */
export function mapResources(r: DockerResources | null | undefined): { resources: LinuxResources; warnings: string[] } {
  const resources: LinuxResources = {};
  const warnings: string[] = [];
  if (!r) return { resources, warnings };
  const host = hostCgroups();
  const n = (v: number | null | undefined) => v ?? 0;

  // memory
  const memory = n(r.Memory);
  let swap = n(r.MemorySwap);
  const reservation = n(r.MemoryReservation);
  if (memory !== 0 && memory < MIN_MEMORY) throw new InvalidParameterError('Minimum memory limit allowed is 6MB');
  if (memory === 0 && swap > 0) throw new InvalidParameterError('You should always set the Memory limit when using Memoryswap limit, see usage');
  if (memory > 0 && swap > 0 && swap < memory) throw new InvalidParameterError('Minimum memoryswap limit should be larger than memory limit, see usage');
  if (reservation !== 0 && reservation < MIN_MEMORY) throw new InvalidParameterError('Minimum memory reservation allowed is 6MB');
  if (memory > 0 && reservation > 0 && memory < reservation) {
    throw new InvalidParameterError('Minimum memory limit can not be less than memory reservation limit, see usage');
  }
  if (memory > 0 && swap === 0) swap = 2 * memory;
  if (memory > 0 && swap !== -1 && !host.swap) {
    warnings.push('Your kernel does not support swap limit capabilities or the cgroup is not mounted. Memory limited without swap.');
    swap = -1;
  }
  const swappiness = r.MemorySwappiness ?? -1;
  if (swappiness !== -1 && (swappiness < 0 || swappiness > 100)) {
    throw new InvalidParameterError(`Invalid value: ${swappiness}, valid memory swappiness range is 0-100`);
  }
  const mem: NonNullable<LinuxResources['memory']> = {};
  if (memory > 0) mem.limit = memory;
  if (reservation > 0) mem.reservation = reservation;
  if (swap > 0) mem.swap = swap;
  if (swappiness !== -1) {
    if (host.version === 1) mem.swappiness = swappiness;
    else warnings.push('Your kernel does not support memory swappiness capabilities or the cgroup is not mounted. Memory swappiness discarded.');
  }
  if (r.OomKillDisable != null) {
    if (host.version === 1) mem.disableOOMKiller = r.OomKillDisable;
    else if (r.OomKillDisable) warnings.push('Your kernel does not support OomKillDisable. OomKillDisable discarded.');
    if (r.OomKillDisable && memory === 0 && host.version === 1) {
      warnings.push('OOM killer is disabled for the container, but no memory limit is set, this can result in the system running out of resources.');
    }
  }
  if (Object.keys(mem).length) resources.memory = mem;

  // cpu
  const nano = n(r.NanoCpus);
  const period = n(r.CpuPeriod);
  const quota = n(r.CpuQuota);
  if (nano > 0 && period > 0) throw new InvalidParameterError('Conflicting options: Nano CPUs and CPU Period cannot both be set');
  if (nano > 0 && quota > 0) throw new InvalidParameterError('Conflicting options: Nano CPUs and CPU Quota cannot both be set');
  const ncpu = availableParallelism();
  if (nano < 0 || nano > ncpu * 1e9) {
    throw new InvalidParameterError(`Range of CPUs is from 0.01 to ${ncpu}.00, as there are only ${ncpu} CPUs available`);
  }
  if (period !== 0 && (period < 1000 || period > 1000000)) {
    throw new InvalidParameterError('CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)');
  }
  if (quota > 0 && quota < 1000) throw new InvalidParameterError('CPU cfs quota can not be less than 1ms (i.e. 1000)');
  const cpu: NonNullable<LinuxResources['cpu']> = {};
  let shares = n(r.CpuShares);
  if (shares < 0) shares = MIN_CPU_SHARES;
  if (shares > MAX_CPU_SHARES) shares = MAX_CPU_SHARES;
  if (shares > 0) cpu.shares = shares;
  if (nano > 0) {
    cpu.period = 100000;
    cpu.quota = Math.floor((nano * 100000) / 1e9);
  }
  if (period !== 0) cpu.period = period;
  if (quota !== 0) cpu.quota = quota;
  for (const [field, value, avail, what, label] of [
    ['cpus', r.CpusetCpus, host.cpus, 'cpus', 'CPUs'],
    ['mems', r.CpusetMems, host.mems, 'mems', 'memory nodes'],
  ] as const) {
    if (!value) continue;
    const want = parseCpuList(value);
    if (!want) throw new InvalidParameterError(`Invalid value ${value} for cpuset ${what}`);
    const have = parseCpuList(avail) ?? new Set<number>();
    if ([...want].some((c) => !have.has(c))) {
      throw new InvalidParameterError(`Requested ${label} are not available - requested ${value}, available: ${avail}`);
    }
    cpu[field] = value;
  }
  if (Object.keys(cpu).length) resources.cpu = cpu;

  // pids
  if (r.PidsLimit != null) resources.pids = { limit: r.PidsLimit <= 0 ? -1 : r.PidsLimit };

  // block I/O
  const weight = n(r.BlkioWeight);
  if (weight > 0 && (weight < 10 || weight > 1000)) throw new InvalidParameterError('Range of blkio weight is from 10 to 1000');
  if (weight > 0) {
    if (host.blkioWeight) resources.blockIO = { weight };
    else warnings.push('Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded.');
  }
  return { resources, warnings };
}

// ------------------------------------------------------------------ rlimits

/** `--ulimit` names Docker accepts (`docker/go-units` `ulimit.go`). */
const ULIMIT_NAMES = new Set([
  'core', 'cpu', 'data', 'fsize', 'locks', 'memlock', 'msgqueue', 'nice', 'nofile', 'nproc', 'rss',
  'rtprio', 'rttime', 'sigpending', 'stack',
]);

/** `/proc/self/limits` row titles → ulimit names. */
const LIMITS_ROWS: Record<string, string> = {
  'Max cpu time': 'cpu', 'Max file size': 'fsize', 'Max data size': 'data', 'Max stack size': 'stack',
  'Max core file size': 'core', 'Max resident set': 'rss', 'Max processes': 'nproc', 'Max open files': 'nofile',
  'Max locked memory': 'memlock', 'Max address space': 'as', 'Max file locks': 'locks',
  'Max pending signals': 'sigpending', 'Max msgqueue size': 'msgqueue', 'Max nice priority': 'nice',
  'Max realtime priority': 'rtprio', 'Max realtime timeout': 'rttime',
};

let hostHard: Map<string, number> | undefined;
/** berthd's hard limits (inherited by conmon and the runtime), `Infinity` for unlimited; read once. */
function hostHardLimits(): Map<string, number> {
  if (hostHard) return hostHard;
  hostHard = new Map();
  for (const line of (readTrim('/proc/self/limits') ?? '').split('\n')) {
    const m = /^(Max [a-z ]+?)\s{2,}(\S+)\s+(\S+)/.exec(line);
    const name = m && LIMITS_ROWS[m[1]];
    if (name) hostHard.set(name, m[3] === 'unlimited' ? Infinity : Number(m[3]));
  }
  return hostHard;
}

/**
 * RLIM_INFINITY is 2^64-1, which a JavaScript number cannot carry into JSON
 * exactly (and Go's decoder rejects the rounded 2^64); 2^53-1 is the largest
 * exact value and, as a limit, is unlimited in practice.
 */
const RLIMIT_UNLIMITED = Number.MAX_SAFE_INTEGER;

/**
 * `--ulimit` as `process.rlimits` (`RLIMIT_` + upper-case name, as dockerd).
 * Without CAP_SYS_RESOURCE the runtime cannot raise a hard limit above
 * berthd's own (EPERM in runc and crun), so such a request is refused here
 * with the reason.
 */
export function rlimitsFor(ulimits: readonly Ulimit[]): Rlimit[] {
  const byName = new Map<string, Ulimit>();
  for (const u of ulimits) {
    if (!ULIMIT_NAMES.has(u.Name)) throw new InvalidParameterError(`invalid ulimit type: ${u.Name}`);
    byName.set(u.Name, u);
  }
  const canRaise = hostHasCapability('CAP_SYS_RESOURCE');
  const out: Rlimit[] = [];
  for (const u of byName.values()) {
    const soft = u.Soft < 0 ? Infinity : u.Soft;
    const hard = u.Hard < 0 ? Infinity : u.Hard;
    if (soft > hard) throw new InvalidParameterError(`ulimit soft limit must be less than or equal to hard limit: ${u.Soft} > ${u.Hard}`);
    const limit = hostHardLimits().get(u.Name) ?? Infinity;
    if (hard > limit && !canRaise) {
      throw new InvalidParameterError(
        `ulimit ${u.Name}: hard limit ${hard === Infinity ? 'unlimited' : hard} is above the host's hard limit ${limit}, ` +
        'and berthd lacks CAP_SYS_RESOURCE to raise it',
      );
    }
    const val = (v: number) => (v === Infinity ? RLIMIT_UNLIMITED : v);
    out.push({ type: `RLIMIT_${u.Name.toUpperCase()}`, soft: val(soft), hard: val(hard) });
  }
  return out;
}

// ------------------------------------------------------------------ sysctls, oom score, devices, init

const IPC_SYSCTLS = new Set([
  'kernel.msgmax', 'kernel.msgmnb', 'kernel.msgmni', 'kernel.sem', 'kernel.shmall', 'kernel.shmmax',
  'kernel.shmmni', 'kernel.shm_rmid_forced',
]);

/**
 * Only namespaced sysctls can be set, and only in a namespace of the
 * container's own; checked here so the error is a 400 rather than a runtime
 * failure at start (the same rules runc validates).
 */
function checkSysctl(key: string, ns: { net: boolean; ipc: boolean; uts: boolean }): void {
  const kind = key.startsWith('net.') ? 'network'
    : IPC_SYSCTLS.has(key) || key.startsWith('fs.mqueue.') ? 'IPC'
      : key === 'kernel.domainname' ? 'UTS' : undefined;
  if (!kind) throw new InvalidParameterError(`sysctl "${key}" is not in a separate kernel namespace`);
  const own = kind === 'network' ? ns.net : kind === 'IPC' ? ns.ipc : ns.uts;
  if (!own) throw new InvalidParameterError(`sysctl "${key}" is not allowed in the host ${kind} namespace`);
}

let ownOomScoreAdj: number | undefined;
function hostOomScoreAdj(): number {
  return (ownOomScoreAdj ??= Number(readTrim('/proc/self/oom_score_adj') ?? 0));
}

/**
 * `process.oomScoreAdj`. Docker always writes it (0 by default). Going below
 * berthd's own score needs CAP_SYS_RESOURCE: asked for explicitly, that is
 * refused; for the default, the field is left out so the container inherits.
 */
function oomScoreAdj(requested: number | null | undefined): number | undefined {
  const v = requested ?? 0;
  if (v < -1000 || v > 1000) throw new InvalidParameterError(`Invalid value ${v}, range for oom score adj is [-1000, 1000]`);
  if (v < hostOomScoreAdj() && !hostHasCapability('CAP_SYS_RESOURCE')) {
    if (requested == null) return undefined;
    throw new InvalidParameterError(`oom score adj ${v} is below berthd's own (${hostOomScoreAdj()}), and berthd lacks CAP_SYS_RESOURCE to lower it`);
  }
  return v;
}

/** Linux's `dev_t` split (`major()` / `minor()` in glibc). */
function majorMinor(rdev: bigint): [number, number] {
  const major = Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn));
  const minor = Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn));
  return [major, minor];
}

/**
 * The host's device nodes, for a privileged container's `/dev` (as dockerd
 * does through containerd's `HostDevices`): every char and block device under
 * `/dev`, skipping the runtime's own mounts (`pts`, `shm`, `mqueue`), `fd`,
 * the console and symlinks. Read per call: devices come and go.
 */
function hostDevices(dir = '/dev'): Device[] {
  const out: Device[] = [];
  let names: string[];
  try { names = readdirSync(dir); } catch { return out; }
  for (const name of names) {
    const p = join(dir, name);
    let st;
    try { st = lstatSync(p, { bigint: true }); } catch { continue; }
    if (st.isDirectory()) {
      if (dir === '/dev' && ['pts', 'shm', 'mqueue', 'fd', '.lxc', '.lxd-mounts', '.udev'].includes(name)) continue;
      out.push(...hostDevices(p));
      continue;
    }
    if (name === 'console' || !(st.isCharacterDevice() || st.isBlockDevice())) continue;
    const [major, minor] = majorMinor(st.rdev);
    out.push({
      type: st.isCharacterDevice() ? 'c' : 'b', path: p, major, minor,
      fileMode: Number(st.mode & 0o7777n), uid: Number(st.uid), gid: Number(st.gid),
    });
  }
  return out;
}

let initBinaryPath: string | null | undefined;
/** The host's tini for `--init`, or undefined; looked up once. */
export function initBinary(): string | undefined {
  if (initBinaryPath === undefined) initBinaryPath = INIT_CANDIDATES.find((p) => existsSync(p)) ?? null;
  return initBinaryPath ?? undefined;
}

// ------------------------------------------------------------------ the spec

function normalizeDest(d: string): string {
  return posix.normalize(d).replace(/(.)\/+$/, '$1');
}

function withoutRo(m: Mount): Mount {
  return { ...m, options: (m.options ?? []).filter((o) => o !== 'ro') };
}

/** The default mounts that survive the user's, adjusted as `WithMounts` does. */
function systemMounts(input: SpecInput, shmSize: number): Mount[] {
  const userDests = new Set(input.mounts.map((m) => normalizeDest(m.destination)));
  let mounts = defaultMounts(shmSize);
  if (input.ipc === 'host') {
    // moby `setupIpcDirs` + `IpcMounts`: the host's /dev/shm, bound in.
    mounts = mounts.map((m) => (m.destination === '/dev/shm' ? { destination: '/dev/shm', type: 'bind', source: '/dev/shm', options: ['rbind', 'rprivate'] } : m));
  }
  if (input.init) {
    const tini = initBinary();
    if (!tini) throw new NotImplementedError('--init requires tini: install tini-static (or tini) on the host');
    mounts.push({ destination: INIT_PATH, type: 'bind', source: tini, options: ['bind', 'ro'] });
  }
  const userDev = userDests.has('/dev');
  mounts = mounts.filter((m) => !userDests.has(m.destination) && !(userDev && m.destination.startsWith('/dev/')));
  if (input.readonlyRootfs) {
    mounts = mounts.map((m) => (WRITABLE_WITH_READONLY_ROOTFS.has(m.destination) || m.options?.includes('ro')
      ? m : { ...m, options: [...(m.options ?? []), 'ro'] }));
  }
  if (input.privileged) {
    mounts = mounts.map((m) => (m.destination === '/sys' || m.type === 'cgroup' ? withoutRo(m) : m));
  }
  if (input.userns) {
    // moby: a read-only remount of the cgroup file system fails in a user namespace; dockerd drops the flag.
    mounts = mounts.map((m) => (m.type === 'cgroup' ? withoutRo(m) : m));
  }
  return mounts;
}

function namespaces(input: SpecInput): Namespace[] {
  const ns: Namespace[] = [{ type: 'mount' }];
  if (input.userns) ns.push(input.userns.path ? { type: 'user', path: input.userns.path } : { type: 'user' });
  if (input.network.mode === 'new') ns.push({ type: 'network' });
  else if (input.network.mode === 'path') ns.push({ type: 'network', path: input.network.path });
  if (input.uts !== 'host') ns.push({ type: 'uts' });
  if (typeof input.pid === 'object') ns.push({ type: 'pid', path: input.pid.path });
  else if (input.pid !== 'host') ns.push({ type: 'pid' });
  if (typeof input.ipc === 'object') ns.push({ type: 'ipc', path: input.ipc.path });
  else if (input.ipc !== 'host') ns.push({ type: 'ipc' });
  if ((input.cgroupns ?? (cgroupVersion() === 2 ? 'private' : 'host')) === 'private') ns.push({ type: 'cgroup' });
  return ns;
}

function sysctls(input: SpecInput): Record<string, string> {
  const own = { net: input.network.mode !== 'host', ipc: input.ipc !== 'host', uts: input.uts !== 'host' };
  const out: Record<string, string> = {};
  if (own.net) {
    // Docker ≥ 20.10 in every container network namespace: bind low ports
    // and ping without privileges.
    out['net.ipv4.ip_unprivileged_port_start'] = '0';
    // Not in a user namespace, the container's or berthd's own (moby too): the range must be of IDs the namespace maps.
    if (!input.userns && !runningInUserNamespace()) out['net.ipv4.ping_group_range'] = '0 2147483647';
  }
  for (const [k, v] of Object.entries(input.sysctls ?? {})) {
    checkSysctl(k, own);
    out[k] = v;
  }
  return out;
}

/** The container's `config.json`. */
export function buildSpec(input: SpecInput): Spec {
  if (input.args.length === 0) throw new InvalidParameterError('No command specified');
  if (!isAbsolute(input.cwd)) throw new InvalidParameterError(`the working directory '${input.cwd}' is invalid, it needs to be an absolute path`);
  const shm = input.shmSize ?? 0;
  if (shm < 0) throw new InvalidParameterError('SHM size can not be less than 0');
  const privileged = !!input.privileged;
  const security = parseSecurityOpts(input.securityOpt);

  const caps = resolveCapabilities(input.capAdd, input.capDrop, privileged);
  const { uid, gid, additionalGids, umask } = input.user;
  const process: Process = {
    terminal: input.tty,
    user: { uid, gid, ...(umask !== undefined ? { umask } : {}), ...(additionalGids.length ? { additionalGids: [...additionalGids] } : {}) },
    args: input.init ? [INIT_PATH, '--', ...input.args] : [...input.args],
    env: containerEnv(input.env, input.hostname, input.tty),
    cwd: input.cwd,
    // moby `oci.SetCapabilities`: a non-root user gets only the bounding
    // set, as execve would leave it.
    capabilities: uid === 0 ? { bounding: caps, effective: [...caps], permitted: [...caps] } : { bounding: caps },
  };
  if (input.ulimits?.length) process.rlimits = rlimitsFor(input.ulimits);
  if (security.noNewPrivileges) process.noNewPrivileges = true;
  const oom = oomScoreAdj(input.oomScoreAdj);
  if (oom !== undefined) process.oomScoreAdj = oom;

  const resources: LinuxResources = {
    // A privileged container may use every device already; the rules only add to the defaults (moby `WithDevices`).
    devices: privileged ? [{ allow: true, access: 'rwm' }] : [...defaultDeviceRules(), ...deviceCgroupEntries(input.resources?.DeviceCgroupRules)],
    ...mapResources(input.resources).resources,
  };
  // "Unlimited" is what a new cgroup already is; crun 1.8 writes -1 into pids.max and fails (runc writes "max"),
  // and fails on a -1 CFS quota (`--cpu-quota -1`, also stored by `docker update`) with ERANGE.
  if (resources.pids?.limit === -1) delete resources.pids;
  if (resources.cpu?.quota !== undefined && resources.cpu.quota < 0) delete resources.cpu.quota;
  const sysctl = sysctls(input);
  const seccomp = privileged ? undefined : resolveSeccomp(security.seccomp, caps);

  const spec: Spec = {
    ociVersion: OCI_VERSION,
    process,
    root: { path: resolve(input.rootfsPath), ...(input.readonlyRootfs ? { readonly: true } : {}) },
    ...(input.uts !== 'host' && input.hostname ? { hostname: input.hostname } : {}),
    ...(input.uts !== 'host' && input.domainname ? { domainname: input.domainname } : {}),
    mounts: [...systemMounts(input, shm || DEFAULT_SHM_SIZE), ...input.mounts.map((m) => ({ ...m, options: m.options && [...m.options] }))],
    linux: {
      ...(Object.keys(sysctl).length ? { sysctl } : {}),
      resources,
      cgroupsPath: input.cgroupsPath,
      ...(input.rootfsPropagation ? { rootfsPropagation: input.rootfsPropagation } : {}),
      namespaces: namespaces(input),
      ...(input.userns ? { uidMappings: input.userns.uidMappings.map((m) => ({ ...m })), gidMappings: input.userns.gidMappings.map((m) => ({ ...m })) } : {}),
      ...(privileged ? { devices: hostDevices() } : {}),
      ...(seccomp ? { seccomp } : {}),
      ...(privileged ? {} : {
        maskedPaths: [...(input.maskedPaths ?? defaultMaskedPaths())],
        readonlyPaths: [...(input.readonlyPaths ?? DEFAULT_READONLY_PATHS)],
      }),
    },
  };
  return spec;
}
