/**
 * Resource limits of a rootless berthd. Limits are cgroup settings, and an
 * ordinary user may only set them in a cgroup v2 subtree delegated to it
 * (systemd's `Delegate=yes` for user@.service). Without that — a cgroup v1
 * host, or v2 without delegated controllers — the runtime cannot apply
 * them, and a rootless runtime skips cgroups silently; so berthd refuses a
 * container that asks for one, naming the flag, instead of running it
 * unlimited. With delegation, berthd does not use it yet: refused too.
 */
import { accessSync, constants, readFileSync } from 'node:fs';
import { InvalidParameterError } from '../errors.js';
import { cgroupVersion } from '../runtime/cgroup-version.js';

/** HostConfig fields that are cgroup limits, and the docker flag that sets each. */
const LIMIT_FLAGS: [field: string, flag: string][] = [
  ['Memory', '--memory'], ['MemoryReservation', '--memory-reservation'], ['MemorySwap', '--memory-swap'],
  ['MemorySwappiness', '--memory-swappiness'], ['KernelMemory', '--kernel-memory'], ['OomKillDisable', '--oom-kill-disable'],
  ['NanoCpus', '--cpus'], ['CpuShares', '--cpu-shares'], ['CpuPeriod', '--cpu-period'], ['CpuQuota', '--cpu-quota'],
  ['CpuRealtimePeriod', '--cpu-rt-period'], ['CpuRealtimeRuntime', '--cpu-rt-runtime'],
  ['CpusetCpus', '--cpuset-cpus'], ['CpusetMems', '--cpuset-mems'], ['PidsLimit', '--pids-limit'],
  ['BlkioWeight', '--blkio-weight'], ['BlkioWeightDevice', '--blkio-weight-device'],
  ['BlkioDeviceReadBps', '--device-read-bps'], ['BlkioDeviceWriteBps', '--device-write-bps'],
  ['BlkioDeviceReadIOps', '--device-read-iops'], ['BlkioDeviceWriteIOps', '--device-write-iops'],
  ['DeviceCgroupRules', '--device-cgroup-rule'],
];

/** Whether `hc[field]` asks for a limit (Docker's "unset" spellings are 0, -1 for swappiness and pids, false, null and empty). */
function asks(hc: Record<string, unknown>, field: string): boolean {
  const v = hc[field];
  if (v === undefined || v === null || v === false || v === '' || v === 0) return false;
  if (Array.isArray(v)) return v.length > 0;
  if ((field === 'MemorySwappiness' || field === 'PidsLimit' || field === 'MemorySwap') && typeof v === 'number' && v < 0) return false;
  return true;
}

/** The docker flags of the limits `hc` asks for. */
export function requestedLimitFlags(hc: Record<string, unknown>): string[] {
  return LIMIT_FLAGS.filter(([field]) => asks(hc, field)).map(([, flag]) => flag);
}

/**
 * Whether this user's cgroup has the controllers delegated: cgroup v2, the
 * process's own cgroup writable, and memory, cpu and pids enabled for its
 * children.
 */
export function cgroupsDelegated(): boolean {
  if (cgroupVersion() !== 2) return false;
  try {
    const own = /^0::(.*)$/m.exec(readFileSync('/proc/self/cgroup', 'utf8'))?.[1];
    if (!own) return false;
    const dir = `/sys/fs/cgroup${own}`;
    accessSync(dir, constants.W_OK);
    const controllers = readFileSync(`${dir}/cgroup.controllers`, 'utf8').split(/\s+/);
    return ['memory', 'cpu', 'pids'].every((c) => controllers.includes(c));
  } catch {
    return false;
  }
}

/**
 * Throws, naming the flags, when `hc` asks for limits: a rootless berthd
 * applies none yet. Where the user's cgroup v2 subtree is delegated the
 * kernel would allow them, but berthd does not place containers in that
 * subtree (a rootless runtime would then skip the cgroup it may not make,
 * and the limit with it), so it says that instead of running unlimited.
 */
export function refuseUndelegatedLimits(hc: Record<string, unknown>): void {
  const flags = requestedLimitFlags(hc);
  if (!flags.length) return;
  if (cgroupVersion() === 2 && cgroupsDelegated()) {
    throw new InvalidParameterError(`resource limits are not supported in rootless mode yet (${flags.join(', ')}): berthd does not place containers in the user's delegated cgroup v2 subtree`);
  }
  const why = cgroupVersion() === 1 ? 'this host has cgroup v1' : 'the user\'s cgroup v2 subtree has no delegated memory, cpu and pids controllers';
  throw new InvalidParameterError(
    `resource limits are not supported in rootless mode on this host (${flags.join(', ')}): they need cgroup v2 with controllers delegated to the user, and ${why}`);
}
