/**
 * `POST /containers/{id}/update` (`docker update`): which fields may change,
 * how they merge into the stored `HostConfig`, and how the result reaches a
 * live container — after dockerd (`moby/moby@v28.2.2`
 * `api/server/router/container/container_routes.go` `postContainerUpdate`,
 * `daemon/update.go`, `container/container_unix.go` `UpdateContainer`):
 *
 * - a zero, empty or null field means "unchanged"; `PidsLimit` ≤ 0 means
 *   unlimited (stored as 0); a `RestartPolicy` with an empty name is no change;
 * - `NanoCpus` and `CpuPeriod`/`CpuQuota` exclude each other across updates
 *   too (409, Docker's words);
 * - the merged configuration passes the checks `create` makes (400 with
 *   Docker's messages: `Minimum memory limit allowed is 6MB`, …);
 * - a running or paused container gets the new limits at once through the
 *   runtime's `update`; a stopped one at its next start; the record changes
 *   only once the runtime took them.
 *
 * Where berth differs, on purpose: dockerd refuses a new `Memory` above the
 * stored `MemorySwap` even when that is 0 (never set) or -1 (unlimited)
 * (moby#39541, moby#47874); berth refuses only above an explicit swap limit.
 * Fields dockerd's update silently drops (devices, ulimits, swappiness,
 * kernel memory, Windows-only options) are refused here with a 501 instead.
 */
import { ConflictError, InvalidParameterError, NotImplementedError, SystemError, errorMessage } from '../errors.js';
import { mapResources } from '../runtime/spec.js';
import { canLimitSwap, readCgroupUsage } from '../runtime/cgroup-stats.js';
import type { LinuxResources } from '../runtime/oci-types.js';
import type { OciRuntime } from '../runtime/oci-runtime.js';
import { containerCgroupPath } from '../runtime/cgroup-path.js';
import { checkCpuShares, checkRestartPolicy } from './create-checks.js';

/** The body: Docker's `Resources` plus `RestartPolicy`. */
export interface UpdateRequest {
  CpuShares?: number | null;
  Memory?: number | null;
  NanoCpus?: number | null;
  CpuPeriod?: number | null;
  CpuQuota?: number | null;
  CpusetCpus?: string | null;
  CpusetMems?: string | null;
  MemoryReservation?: number | null;
  MemorySwap?: number | null;
  BlkioWeight?: number | null;
  PidsLimit?: number | null;
  RestartPolicy?: { Name?: string; MaximumRetryCount?: number } | null;
  [field: string]: unknown;
}

/** Resource fields berth cannot change on a container, and why. */
const NOT_UPDATABLE: Record<string, string> = {
  KernelMemoryTCP: 'kernel TCP memory limits are not supported',
  CpuRealtimePeriod: '--cpu-rt-period is not supported by berth',
  CpuRealtimeRuntime: '--cpu-rt-runtime is not supported by berth',
  // dockerd drops it without a word (container_unix.go `UpdateContainer` copies only the limits); berth says so.
  CgroupParent: 'the cgroup parent of a container cannot be updated',
  Devices: 'devices cannot be updated: create the container with them',
  DeviceCgroupRules: 'device cgroup rules cannot be updated: create the container with them',
  DeviceRequests: 'device requests (--gpus) cannot be updated',
  BlkioWeightDevice: '--blkio-weight-device is not supported yet',
  BlkioDeviceReadBps: '--device-read-bps is not supported yet',
  BlkioDeviceWriteBps: '--device-write-bps is not supported yet',
  BlkioDeviceReadIOps: '--device-read-iops is not supported yet',
  BlkioDeviceWriteIOps: '--device-write-iops is not supported yet',
  Ulimits: 'ulimits cannot be updated: they apply when a process starts',
  MemorySwappiness: 'memory swappiness cannot be updated',
  OomKillDisable: 'the OOM killer setting cannot be updated',
  CpuCount: 'CpuCount is a Windows option',
  CpuPercent: 'CpuPercent is a Windows option',
  IOMaximumIOps: 'IOMaximumIOps is a Windows option',
  IOMaximumBandwidth: 'IOMaximumBandwidth is a Windows option',
};

function isSet(field: string, v: unknown): boolean {
  if (v === undefined || v === null || v === '' || v === false || v === 0) return false;
  if (field === 'MemorySwappiness' && v === -1) return false; // -1: "not set"
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object') return Object.keys(v as object).length > 0;
  return true;
}

/**
 * Refuses what an update cannot do before anything changes: fields berth
 * does not update (501), an invalid restart policy (400, moby's
 * `validateRestartPolicy` wording) and negative CPU shares (400, create's words).
 */
export function checkUpdateRequest(u: UpdateRequest): void {
  for (const [field, why] of Object.entries(NOT_UPDATABLE)) {
    if (isSet(field, u[field])) throw new NotImplementedError(why);
  }
  checkRestartPolicy(u.RestartPolicy);
  // A negative value would be stored as given (the runtime gets the minimum), where create refuses it.
  checkCpuShares(u.CpuShares);
}

/**
 * The container's `HostConfig` with the update applied (a new object; the
 * stored one is untouched). Conflicts with what is stored are
 * ConflictErrors, as dockerd's `conflictingUpdateOptions` are.
 */
export function mergeUpdate(id: string, hc: Record<string, any>, u: UpdateRequest): Record<string, any> {
  const n = (v: number | null | undefined) => v ?? 0;
  const conflict = (why: string) => new ConflictError(`Cannot update container ${id}: ${why}`);
  if (n(u.NanoCpus) > 0 && n(hc.CpuPeriod) > 0) throw conflict('Conflicting options: Nano CPUs cannot be updated as CPU Period has already been set');
  if (n(u.NanoCpus) > 0 && n(hc.CpuQuota) > 0) throw conflict('Conflicting options: Nano CPUs cannot be updated as CPU Quota has already been set');
  if (n(u.CpuPeriod) > 0 && n(hc.NanoCpus) > 0) throw conflict('Conflicting options: CPU Period cannot be updated as NanoCPUs has already been set');
  if (n(u.CpuQuota) > 0 && n(hc.NanoCpus) > 0) throw conflict('Conflicting options: CPU Quota cannot be updated as NanoCPUs has already been set');

  const next: Record<string, any> = { ...hc };
  for (const k of ['BlkioWeight', 'CpuShares', 'NanoCpus', 'CpuPeriod', 'CpuQuota', 'MemorySwap', 'MemoryReservation'] as const) {
    if (n(u[k]) !== 0) next[k] = u[k];
  }
  for (const k of ['CpusetCpus', 'CpusetMems'] as const) {
    if (u[k]) next[k] = u[k];
  }
  if (n(u.Memory) !== 0) {
    if (n(u.MemorySwap) === 0 && n(hc.MemorySwap) > 0 && n(u.Memory) > hc.MemorySwap) {
      throw conflict('Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time');
    }
    next.Memory = u.Memory;
  }
  if (u.PidsLimit !== undefined && u.PidsLimit !== null) next.PidsLimit = u.PidsLimit <= 0 ? 0 : u.PidsLimit;
  const policy = u.RestartPolicy;
  if (policy?.Name) {
    if (hc.AutoRemove && policy.Name !== 'no') {
      throw conflict('Restart policy cannot be updated because AutoRemove is enabled for the container');
    }
    next.RestartPolicy = { Name: policy.Name, MaximumRetryCount: policy.MaximumRetryCount ?? 0 };
  }
  return next;
}

/**
 * Validates the merged configuration as `create` would (throws 400s) and
 * returns the warnings this update brings: those of the new configuration
 * that the old one did not already have.
 */
export function updateWarnings(oldHc: Record<string, any>, newHc: Record<string, any>): string[] {
  const { warnings } = mapResources(newHc);
  let before: string[] = [];
  try {
    before = mapResources(oldHc).warnings;
  } catch {
    // a record from an older berth that today's checks refuse: everything is new
  }
  return warnings.filter((w) => !before.includes(w));
}

/**
 * The OCI resources to hand a live container's runtime for `hc`. At create
 * an absent value means "the cgroup's default"; on a live cgroup it means
 * "leave as is", so lifted limits must be spelled out: unlimited swap as -1
 * (where the cgroup can limit swap at all) and unlimited pids as -1.
 */
export function liveResources(hc: Record<string, any>, swapLimitable: boolean): LinuxResources {
  const { resources } = mapResources(hc);
  if (resources.memory?.limit && hc.MemorySwap === -1 && swapLimitable) resources.memory.swap = -1;
  if (hc.PidsLimit !== undefined && hc.PidsLimit !== null && hc.PidsLimit <= 0) resources.pids = { limit: -1 };
  return resources;
}

/**
 * The resources that put `old` back after a failed attempt at `attempted`:
 * a limit the attempt set where the old configuration had none is lifted
 * explicitly (-1), since leaving it out would leave it as the attempt left it.
 */
export function restoringResources(old: LinuxResources, attempted: LinuxResources, swapLimitable: boolean): LinuxResources {
  const r: LinuxResources = structuredClone(old);
  if (attempted.memory?.limit !== undefined && r.memory?.limit === undefined) {
    r.memory = { ...r.memory, limit: -1, ...(swapLimitable ? { swap: -1 } : {}) };
  }
  if (attempted.memory?.reservation !== undefined && r.memory?.reservation === undefined) r.memory = { ...r.memory, reservation: -1 };
  if (attempted.pids && !r.pids) r.pids = { limit: -1 };
  if (attempted.cpu?.quota !== undefined && r.cpu?.quota === undefined) r.cpu = { ...r.cpu, quota: -1 };
  return r;
}

/**
 * Gives a running (or paused) container the limits of `newHc`. On failure
 * the old limits are put back as far as the runtime allows (crun stops at
 * the first file it cannot write), and the error says why: a memory limit
 * below what the container uses now is the caller's mistake (400; dockerd
 * passes the runtime's 500 on), anything else a system error.
 */
export async function applyLive(
  runtime: OciRuntime, id: string, oldHc: Record<string, any>, newHc: Record<string, any>, resourcesFile: string,
): Promise<void> {
  // The parent cannot change (NOT_UPDATABLE), so the old HostConfig's names the live cgroup.
  const cgroupsPath = containerCgroupPath(id, oldHc.CgroupParent);
  const swap = await canLimitSwap(cgroupsPath);
  const resources = liveResources(newHc, swap);
  try {
    await runtime.updateResources(id, resources, { file: resourcesFile, cgroupsPath });
  } catch (e) {
    await runtime.updateResources(id, restoringResources(liveResources(oldHc, swap), resources, swap), { file: resourcesFile, cgroupsPath })
      .catch(() => undefined);
    const limit = resources.memory?.limit;
    const usage = limit ? (await readCgroupUsage(cgroupsPath).catch(() => null))?.memory.usage : undefined;
    if (limit && usage !== undefined && usage > limit) {
      throw new InvalidParameterError(
        `Cannot update container ${id}: unable to set memory limit to ${limit} (current usage: ${usage}): the container uses more memory than the new limit`,
        { cause: e },
      );
    }
    throw new SystemError(`Cannot update container ${id}: ${errorMessage(e)}`, { cause: e });
  }
}
