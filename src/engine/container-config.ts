/**
 * Turns a `POST /containers/create` body plus the image's defaults into the
 * container's effective Config and HostConfig, the way dockerd merges them,
 * and refuses loudly what berth does not do yet (a value that differs from
 * the default for a feature not implemented is a NotImplementedError, never
 * silently dropped).
 */
import { isIP } from 'node:net';
import { InvalidParameterError, NotImplementedError } from '../errors.js';
import type { ContainerDefaults } from '../image/config.js';
import { checkCreateRequest } from './create-checks.js';
import { checkLogConfig } from './log-config.js';
import { checkExtraHost } from '../network/extra-hosts.js';
import type { CreateRequest } from './create-request.js';

export type { CreateRequest } from './create-request.js';

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

function asList(v: string[] | string | null | undefined): string[] | null {
  if (v === undefined || v === null) return null;
  return typeof v === 'string' ? [v] : v;
}

/**
 * The container's Env from the request's and the image's, as dockerd merges
 * them (moby `daemon/commit.go` `merge`): the request's entries as given and
 * in their order, even `KEY` without `=` (which unsets the image's `KEY` in
 * the process, runtime/spec.ts `containerEnv`), then the image's entries
 * whose key the request does not name.
 */
export function mergeImageEnv(image: string[], request: string[]): string[] {
  if (request.length === 0) return [...image];
  const keys = new Set(request.map((e) => e.split('=')[0]));
  return [...request, ...image.filter((e) => !keys.has(e.split('=')[0]))];
}

/** Merges KEY=VALUE lists: later entries override earlier ones with the same key. */
export function mergeEnv(base: string[], over: string[]): string[] {
  const out = [...base];
  for (const e of over) {
    const k = e.split('=')[0];
    const i = out.findIndex((x) => x.split('=')[0] === k);
    if (!e.includes('=')) continue; // a bare KEY with no value in the environment is dropped, as Docker does
    if (i >= 0) out[i] = e; else out.push(e);
  }
  return out;
}

export interface EffectiveConfig {
  Config: Record<string, any>;
  HostConfig: Record<string, any>;
  Path: string;
  Args: string[];
}

/** Fields of HostConfig berth has not built yet; a non-empty value is refused. */
const NOT_YET: Record<string, string> = {
  Devices: '--device is not supported yet',
  DeviceRequests: '--gpus is not supported',
  BlkioWeightDevice: '--blkio-weight-device is not supported yet',
  BlkioDeviceReadBps: '--device-read-bps is not supported yet',
  BlkioDeviceWriteBps: '--device-write-bps is not supported yet',
  BlkioDeviceReadIOps: '--device-read-iops is not supported yet',
  BlkioDeviceWriteIOps: '--device-write-iops is not supported yet',
  CgroupnsMode: '--cgroupns is not supported yet',
  Runtime: '',
};

function isSet(v: unknown): boolean {
  if (v === undefined || v === null || v === '' || v === false || v === 0) return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object') return Object.keys(v as object).length > 0;
  return true;
}

export function effectiveConfig(req: CreateRequest, image: ContainerDefaults, imageRef: string, id: string): EffectiveConfig {
  // What dockerd refuses (400) comes before what berth does not do yet (501).
  checkCreateRequest(req);
  const hc: Record<string, any> = { ...(req.HostConfig ?? {}) };
  for (const [k, why] of Object.entries(NOT_YET)) {
    if (!why) continue;
    if (k === 'CgroupnsMode' && (hc[k] === 'private' || hc[k] === 'host' || !hc[k])) continue;
    if (isSet(hc[k])) throw new NotImplementedError(why);
  }
  // Legacy links (`--link`, docker-py's `links=`, which docker-compose sets on
  // every container) act on the default bridge only (engine/legacy-links.ts).
  // On a user-defined network dockerd keeps HostConfig.Links without acting on
  // them (`registerLinks` returns early); names resolve through the network's
  // DNS instead, and the docker CLI itself copies them into the endpoint's Links.
  for (const h of hc.ExtraHosts ?? []) checkExtraHost(String(h));
  for (const d of hc.Dns ?? []) if (isIP(String(d)) === 0) throw new InvalidParameterError(`IP address is not correctly formatted: ${d}`);

  const restart = hc.RestartPolicy?.Name ?? '';
  const logConfig = checkLogConfig(hc.LogConfig);

  // `default` is the bridge network, as in dockerd; engine/networks.ts checks that the network exists.
  const netMode: string = !hc.NetworkMode || hc.NetworkMode === 'default' ? 'bridge' : hc.NetworkMode;
  for (const k of ['PidMode', 'IpcMode', 'UTSMode']) {
    const v = hc[k] ?? '';
    const ok = k === 'IpcMode' ? ['', 'private', 'host', 'shareable'] : ['', 'host'];
    // container:<x> joins x's namespace (for IPC without sharing x's /dev/shm yet).
    if (!ok.includes(v) && !(k !== 'UTSMode' && /^container:.+/.test(v))) throw new NotImplementedError(`${k} "${v}" is not supported yet`);
  }

  // Entrypoint/Cmd: a request Entrypoint replaces the image's and drops its Cmd (dockerd's merge).
  let entrypoint = asList(req.Entrypoint);
  let cmd = asList(req.Cmd);
  if (entrypoint && entrypoint.length === 1 && entrypoint[0] === '') entrypoint = [];
  if (entrypoint === null) {
    entrypoint = image.Entrypoint ?? null;
    if (!cmd || cmd.length === 0) cmd = image.Cmd ?? null;
  }
  const argv = [...(entrypoint ?? []), ...(cmd ?? [])];
  if (argv.length === 0) throw new InvalidParameterError('No command specified');

  const env = mergeImageEnv(image.Env ?? [], req.Env ?? []);
  const labels = { ...(image.Labels ?? {}), ...(req.Labels ?? {}) };
  const volumes = { ...(image.Volumes ?? {}), ...(req.Volumes ?? {}) };
  const exposed = { ...(image.ExposedPorts ?? {}), ...(req.ExposedPorts ?? {}) };
  const config: Record<string, any> = {
    Hostname: req.Hostname || (netMode === 'host' ? '' : id.slice(0, 12)),
    Domainname: req.Domainname ?? '',
    User: req.User || image.User || '',
    AttachStdin: !!req.AttachStdin, AttachStdout: !!req.AttachStdout, AttachStderr: !!req.AttachStderr,
    ...(Object.keys(exposed).length ? { ExposedPorts: exposed } : {}),
    Tty: !!req.Tty, OpenStdin: !!req.OpenStdin, StdinOnce: !!req.StdinOnce,
    Env: env,
    Cmd: cmd,
    ...(req.Healthcheck || image.Healthcheck ? { Healthcheck: req.Healthcheck ?? image.Healthcheck } : {}),
    Image: imageRef,
    Volumes: Object.keys(volumes).length ? volumes : null,
    WorkingDir: req.WorkingDir || image.WorkingDir || '',
    Entrypoint: entrypoint && entrypoint.length ? entrypoint : null,
    OnBuild: image.OnBuild ?? null,
    Labels: labels,
    ...(req.StopSignal || image.StopSignal ? { StopSignal: req.StopSignal || image.StopSignal } : {}),
    ...(req.StopTimeout !== undefined && req.StopTimeout !== null ? { StopTimeout: req.StopTimeout } : {}),
  };
  if (config.WorkingDir && !config.WorkingDir.startsWith('/')) {
    throw new InvalidParameterError(`the working directory '${config.WorkingDir}' is invalid, it needs to be an absolute path`);
  }
  const hostConfig: Record<string, any> = {
    Binds: null, ContainerIDFile: '', NetworkMode: netMode, PortBindings: {}, RestartPolicy: { Name: restart || 'no', MaximumRetryCount: hc.RestartPolicy?.MaximumRetryCount ?? 0 },
    AutoRemove: !!hc.AutoRemove, VolumeDriver: '', VolumesFrom: null, ConsoleSize: hc.ConsoleSize ?? [0, 0],
    CapAdd: null, CapDrop: null, CgroupnsMode: 'private', Dns: [], DnsOptions: [], DnsSearch: [], ExtraHosts: null, GroupAdd: null,
    IpcMode: hc.IpcMode || 'private', Cgroup: '', Links: null, OomScoreAdj: 0, PidMode: '', Privileged: false, PublishAllPorts: false,
    ReadonlyRootfs: false, SecurityOpt: null, UTSMode: '', UsernsMode: '', ShmSize: 67108864, Runtime: hc.Runtime || '',
    Isolation: '', CpuShares: 0, Memory: 0, NanoCpus: 0, CgroupParent: '', BlkioWeight: 0, CpuPeriod: 0, CpuQuota: 0,
    CpuRealtimePeriod: 0, CpuRealtimeRuntime: 0, CpusetCpus: '', CpusetMems: '', Devices: [], DeviceCgroupRules: null,
    DeviceRequests: null, MemoryReservation: 0, MemorySwap: 0, MemorySwappiness: null, OomKillDisable: null, PidsLimit: null,
    Ulimits: null, Init: null, Mounts: undefined, Tmpfs: undefined, Sysctls: undefined,
    MaskedPaths: undefined, ReadonlyPaths: undefined,
    ...stripUndefined(hc),
    LogConfig: logConfig,
  };
  hostConfig.NetworkMode = netMode;
  if (!hostConfig.ShmSize) hostConfig.ShmSize = 67108864;
  return { Config: config, HostConfig: hostConfig, Path: argv[0], Args: argv.slice(1) };
}

function stripUndefined(o: Record<string, any>): Record<string, any> {
  const out: Record<string, any> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return out;
}
