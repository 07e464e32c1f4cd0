/**
 * The checks dockerd makes on a create request once it has decoded it, with
 * its words (400s). After moby `daemon/container.go` `verifyContainerSettings`
 * (`validateContainerConfig`, `validateHealthCheck`, `validateHostConfig`),
 * `daemon/daemon_unix.go` `verifyPlatformContainerSettings`,
 * `daemon/internal/runconfig` (`validateNetMode`, `validateIsolation`,
 * `validateQoS`, `validateResources`), `opts.ValidateEnv` and
 * `container.ValidateRestartPolicy`.
 *
 * The types are already right (api/validate.ts decoded the body against the
 * spec); these are the values dockerd refuses. Resource limits (memory,
 * swap, CPU, cpuset, blkio, ulimits) are checked by runtime/spec.ts
 * `mapResources`, which create and update both call; published ports by
 * network/ports.ts; mounts by engine/container-mounts.ts.
 */
import { InvalidParameterError } from '../errors.js';
import { parseDeviceCgroupRule } from '../runtime/device-cgroup-rules.js';
import { cgroupParentPath } from '../runtime/cgroup-path.js';
import { signalNumber } from './signals.js';
import type { CreateRequest } from './create-request.js';

/** containertypes.MinimumDuration: 1 ms, in the nanoseconds Healthcheck durations are given in. */
const MIN_HEALTH_DURATION_NS = 1_000_000;
/** daemon_unix.go maxHostnameLen. */
const MAX_HOSTNAME_LEN = 64;

const RESTART_NAMES = ['no', 'always', 'on-failure', 'unless-stopped'];

/** Throws the first thing dockerd would refuse in `req`. */
export function checkCreateRequest(req: CreateRequest): void {
  checkContainerConfig(req);
  checkHostConfig(req, req.HostConfig ?? {});
}

function invalid(msg: string): InvalidParameterError {
  return new InvalidParameterError(msg);
}

/** Go's %q for the strings these messages quote (close enough: JSON's escapes). */
function q(s: string): string {
  return JSON.stringify(s);
}

function checkContainerConfig(req: CreateRequest): void {
  if (req.Hostname && Buffer.byteLength(req.Hostname) > MAX_HOSTNAME_LEN) {
    throw invalid(`hostname ${q(req.Hostname)} is too long (maximum ${MAX_HOSTNAME_LEN} bytes)`);
  }
  if (req.StopSignal) signalNumber(req.StopSignal);
  // opts.ValidateEnv: a variable needs a name (``, `=`, `=foo` have none).
  for (const e of req.Env ?? []) {
    if (e.split('=')[0] === '') throw invalid(`invalid environment variable: ${e}`);
  }
  const hc = req.Healthcheck;
  if (hc) {
    const atLeast1ms = (k: 'Interval' | 'Timeout' | 'StartPeriod' | 'StartInterval') => {
      const v = hc[k] ?? 0;
      if (v !== 0 && v < MIN_HEALTH_DURATION_NS) throw invalid(`${k} in Healthcheck cannot be less than 1ms`);
    };
    atLeast1ms('Interval');
    atLeast1ms('Timeout');
    if ((hc.Retries ?? 0) < 0) throw invalid('Retries in Healthcheck cannot be negative');
    atLeast1ms('StartPeriod');
    atLeast1ms('StartInterval');
  }
}

/** runconfig's validateResources on CPU shares; update checks its value the same way. */
export function checkCpuShares(shares: number | null | undefined): void {
  if ((shares ?? 0) < 0) throw invalid(`invalid CPU shares (${shares}): value must be a positive integer`);
}

/** container.ValidateRestartPolicy, word for word. */
export function checkRestartPolicy(p: { Name?: string; MaximumRetryCount?: number } | null | undefined): void {
  const name = p?.Name ?? '';
  const retries = p?.MaximumRetryCount ?? 0;
  if (name === '') return; // before v25 an empty name was the default; any count is allowed with it
  if (!RESTART_NAMES.includes(name)) {
    throw invalid(`invalid restart policy: unknown policy '${name}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'`);
  }
  if (name === 'on-failure') {
    if (retries < 0) throw invalid('invalid restart policy: maximum retry count cannot be negative');
  } else if (retries !== 0) {
    throw invalid(`invalid restart policy: maximum retry count can only be used with 'on-failure'${retries < 0 ? ' and cannot be negative' : ''}`);
  }
}

function checkHostConfig(req: CreateRequest, hc: Record<string, any>): void {
  // runconfig: validateNetMode, validateIsolation, validateQoS, validateResources
  if (hc.UTSMode === 'host' && req.Hostname) throw invalid('conflicting options: hostname and the UTS mode');
  if (hc.NetworkMode === 'host' && (hc.Links ?? []).length > 0) {
    throw invalid("conflicting options: host type networking can't be used with links. This would result in undefined behavior");
  }
  // Isolation.IsDefault: "" or "default" in any letter case (Linux has no other).
  if (hc.Isolation && String(hc.Isolation).toLowerCase() !== 'default') throw invalid(`invalid isolation (${hc.Isolation}): linux only supports 'default'`);
  if (hc.IOMaximumBandwidth) throw invalid('invalid option: QoS maximum bandwidth configuration is not supported on linux');
  if (hc.IOMaximumIOps) throw invalid('invalid option: QoS maximum IOPs configuration is not supported on linux');
  if (hc.CpuRealtimePeriod && hc.CpuRealtimeRuntime && hc.CpuRealtimeRuntime > hc.CpuRealtimePeriod) {
    throw invalid('cpu real-time runtime cannot be higher than cpu real-time period');
  }
  checkCpuShares(hc.CpuShares);

  // dockerd parses these when it writes the spec and fails the start with a
  // 500 (moby `oci.AppendDevicePermissionsFromCgroupRules`); a rule is part
  // of the config, so berth refuses it at create, in the same words.
  for (const rule of hc.DeviceCgroupRules ?? []) parseDeviceCgroupRule(rule);

  // validateHostConfig
  const restart = hc.RestartPolicy?.Name ?? '';
  if (hc.AutoRemove && restart !== '' && restart !== 'no') throw invalid("can't create 'AutoRemove' container with restart policy");
  checkRestartPolicy(hc.RestartPolicy);
  for (const k of Object.keys(hc.Annotations ?? {})) {
    if (k === '') throw invalid('invalid Annotations: the empty string is not permitted as an annotation key');
  }

  // verifyPlatformContainerSettings
  if (!validIpcMode(hc.IpcMode ?? '')) throw invalid(`invalid IPC mode: ${hc.IpcMode}`);
  if (!validContainerOrHost(hc.PidMode ?? '')) throw invalid(`invalid PID mode: ${hc.PidMode}`);
  if ((hc.ShmSize ?? 0) < 0) throw invalid('SHM size can not be less than 0');
  if (!['', 'host'].includes(hc.UTSMode ?? '')) throw invalid(`invalid UTS mode: ${hc.UTSMode}`);
  const oom = hc.OomScoreAdj ?? 0;
  if (oom < -1000 || oom > 1000) throw invalid(`Invalid value ${oom}, range for oom score adj is [-1000, 1000]`);
  if (!['', 'private', 'host'].includes(hc.CgroupnsMode ?? '')) throw invalid(`invalid cgroup namespace mode: ${hc.CgroupnsMode}`);
  // dockerd checks only the systemd driver's slice name here; berth also refuses what would name a cgroup
  // outside the hierarchy or inside its own containers' (runtime/cgroup-path.ts says why).
  cgroupParentPath(hc.CgroupParent);
}

/** container.IpcMode.Valid. */
function validIpcMode(m: string): boolean {
  return ['', 'none', 'private', 'shareable', 'host'].includes(m) || /^container:.+/.test(m);
}

/** container.PidMode.Valid. */
function validContainerOrHost(m: string): boolean {
  return m === '' || m === 'host' || /^container:.+/.test(m);
}
