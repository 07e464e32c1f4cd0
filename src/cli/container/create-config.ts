/**
 * From `run`/`create` flags to the body of `POST /containers/create` —
 * `Config` + `HostConfig` + `NetworkingConfig` — exactly as the Docker 28
 * CLI's `parse()` (cli/command/container/opts.go) builds it: same defaults,
 * same nulls and empty lists, same key order (Go struct order, map keys
 * sorted), so berthd receives byte-identical requests from both CLIs.
 * The unit tests compare against bodies captured from the real CLI.
 */
import type { ParsedFlags } from '../flags.js';
import type { DeviceMapping, ThrottleDevice, WeightDevice } from '../opts/devices.js';
import { kvToMap, readKvStrings, type LookupEnv } from '../opts/kvfile.js';
import { sortedRecord, splitVolumes, parseTmpfs, type Mount } from '../opts/mounts.js';
import { buildNetworking, type NetworkAttachment } from '../opts/network.js';
import { parsePorts, type PortBinding } from '../opts/ports.js';
import { isRestartNone, parseRestartPolicy } from '../opts/restart.js';
import { effectiveCaps, parseSecurityOpts } from '../opts/security.js';
import { ulimitList, type Ulimit } from '../opts/ulimit.js';

/** A mistake in the flags found while building the request: Docker exits 125 with the command's help hint. */
export class ContainerOptionsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ContainerOptionsError';
  }
}

export interface CreateRequest {
  /** `?name=` */
  name: string;
  /** `?platform=` */
  platform: string;
  /** The JSON body. */
  body: CreateBody;
  /** `--pull` */
  pull: 'always' | 'missing' | 'never';
  quiet: boolean;
  /** Warnings for flags that are accepted and have no effect. */
  warnings: string[];
}

export interface CreateBody {
  Hostname: string;
  Domainname: string;
  User: string;
  AttachStdin: boolean;
  AttachStdout: boolean;
  AttachStderr: boolean;
  ExposedPorts?: Record<string, Record<string, never>>;
  Tty: boolean;
  OpenStdin: boolean;
  StdinOnce: boolean;
  Env: string[] | null;
  Cmd: string[] | null;
  Healthcheck?: Record<string, unknown>;
  Image: string;
  Volumes: Record<string, Record<string, never>>;
  WorkingDir: string;
  Entrypoint: string[] | null;
  OnBuild: null;
  Labels: Record<string, string>;
  StopSignal?: string;
  StopTimeout?: number;
  HostConfig: Record<string, unknown> & { ConsoleSize: [number, number]; AutoRemove: boolean; RestartPolicy: { Name: string; MaximumRetryCount: number } };
  NetworkingConfig: { EndpointsConfig: Record<string, Record<string, unknown>> };
}

export interface BuildOptions {
  lookupEnv: LookupEnv;
  /** [rows, cols] of the client's terminal, [0, 0] without one. */
  consoleSize: [number, number];
  /** DOCKER_DEFAULT_PLATFORM */
  defaultPlatform?: string;
}

function fail(msg: string): never {
  throw new ContainerOptionsError(msg);
}

function wrap<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof ContainerOptionsError) throw e;
    throw new ContainerOptionsError((e as Error).message);
  }
}

function validPid(m: string): boolean {
  return m === '' || m === 'host' || (m.startsWith('container:') && m.length > 'container:'.length);
}

export function buildCreateRequest(flags: ParsedFlags, opts: BuildOptions): CreateRequest {
  const [image, ...cmd] = flags.args;
  const warnings: string[] = [];
  const attach = flags.list('attach');
  let attachStdin = attach.includes('stdin');
  let attachStdout = attach.includes('stdout');
  let attachStderr = attach.includes('stderr');
  const stdin = flags.bool('interactive');
  if (stdin) attachStdin = true;
  if (attach.length === 0) {
    attachStdout = true;
    attachStderr = true;
  }

  const swappiness = flags.number('memory-swappiness');
  if (swappiness !== -1 && (swappiness < 0 || swappiness > 100)) fail(`invalid value: ${swappiness}. Valid memory swappiness range is 0-100`);

  const { binds, volumes } = wrap(() => splitVolumes(flags.list('volume')));
  const tmpfs = parseTmpfs(flags.list('tmpfs'));

  let entrypoint: string[] | null = null;
  const ep = flags.string('entrypoint');
  if (ep !== '') entrypoint = [ep];
  else if (flags.changed('entrypoint')) entrypoint = [''];

  const { exposed, bindings } = wrap(() => parsePorts(flags.list('publish'), flags.list('expose')));

  const env = wrap(() => readKvStrings(flags.list('env-file'), flags.list('env'), opts.lookupEnv));
  const labels = wrap(() => readKvStrings(flags.list('label-file'), flags.list('label'), undefined));

  const pid = flags.string('pid');
  if (!validPid(pid)) fail('--pid: invalid PID mode');
  const uts = flags.string('uts');
  if (uts !== '' && uts !== 'host') fail('--uts: invalid UTS mode');
  const userns = flags.string('userns');
  if (userns !== '' && userns !== 'host' && userns !== 'private') fail('--userns: invalid USER mode');
  const cgroupns = flags.string('cgroupns');
  if (cgroupns !== '' && cgroupns !== 'host' && cgroupns !== 'private') fail('--cgroupns: invalid CGROUP mode');

  const restart = wrap(() => parseRestartPolicy(flags.string('restart')));

  const logDriver = flags.string('log-driver');
  const logOpts = flags.list('log-opt');
  if (logDriver === 'none' && logOpts.length > 0) fail(`invalid logging opts for driver ${logDriver}`);

  const security = wrap(() => parseSecurityOpts(flags.list('security-opt')));

  const storageOpt: Record<string, string> = {};
  for (const o of flags.list('storage-opt')) {
    const eq = o.indexOf('=');
    if (eq < 0) fail(`invalid storage option`);
    storageOpt[o.slice(0, eq)] = o.slice(eq + 1);
  }

  // Healthcheck
  let healthcheck: Record<string, unknown> | undefined;
  const hc = {
    cmd: flags.string('health-cmd'), interval: flags.number('health-interval'), timeout: flags.number('health-timeout'),
    startPeriod: flags.number('health-start-period'), retries: flags.number('health-retries'), startInterval: flags.number('health-start-interval'),
  };
  const haveHealth = hc.cmd !== '' || hc.interval !== 0 || hc.timeout !== 0 || hc.startPeriod !== 0 || hc.retries !== 0 || hc.startInterval !== 0;
  if (flags.bool('no-healthcheck')) {
    if (haveHealth) fail('--no-healthcheck conflicts with --health-* options');
    healthcheck = { Test: ['NONE'] };
  } else if (haveHealth) {
    if (hc.interval < 0) fail('--health-interval cannot be negative');
    if (hc.timeout < 0) fail('--health-timeout cannot be negative');
    if (hc.retries < 0) fail('--health-retries cannot be negative');
    if (hc.startPeriod < 0) fail('--health-start-period cannot be negative');
    if (hc.startInterval < 0) fail('--health-start-interval cannot be negative');
    healthcheck = {};
    if (hc.cmd !== '') healthcheck.Test = ['CMD-SHELL', hc.cmd];
    if (hc.interval) healthcheck.Interval = hc.interval;
    if (hc.timeout) healthcheck.Timeout = hc.timeout;
    if (hc.startPeriod) healthcheck.StartPeriod = hc.startPeriod;
    if (hc.startInterval) healthcheck.StartInterval = hc.startInterval;
    if (hc.retries) healthcheck.Retries = hc.retries;
  }

  if (flags.changed('kernel-memory')) warnings.push('--kernel-memory is deprecated and has no effect: kernel memory limits are not supported by the kernel');

  const [capAdd, capDrop] = effectiveCaps(flags.list('cap-add'), flags.list('cap-drop'));

  const networking = wrap(() => buildNetworking(flags.list<NetworkAttachment>('network'), {
    aliases: flags.list('network-alias'), links: flags.list('link'), ipv4: flags.string('ip'), ipv6: flags.string('ip6'),
    macAddress: flags.string('mac-address'), linkLocalIPs: flags.list('link-local-ip'),
  }));

  const autoRemove = flags.bool('rm');
  if (autoRemove && !isRestartNone(restart)) fail('conflicting options: cannot specify both --restart and --rm');

  const portBindings: Record<string, PortBinding[]> = {};
  for (const k of [...bindings.keys()].sort()) portBindings[k] = bindings.get(k)!;

  const hostConfig: CreateBody['HostConfig'] = {
    Binds: binds.length ? binds : null,
    ContainerIDFile: flags.string('cidfile'),
    LogConfig: { Type: logDriver, Config: sortedRecord(kvToMap(logOpts)) },
    NetworkMode: networking.networkMode,
    PortBindings: portBindings,
    RestartPolicy: restart,
    AutoRemove: autoRemove,
    VolumeDriver: flags.string('volume-driver'),
    VolumesFrom: flags.list('volumes-from').length ? flags.list('volumes-from') : null,
    ConsoleSize: opts.consoleSize,
  };
  const annotations = flags.list('annotation');
  if (annotations.length) hostConfig.Annotations = sortedRecord(kvToMap(annotations));
  Object.assign(hostConfig, {
    CapAdd: capAdd,
    CapDrop: capDrop,
    CgroupnsMode: cgroupns,
    Dns: flags.list('dns'),
    DnsOptions: flags.list('dns-option'),
    DnsSearch: flags.list('dns-search'),
    ExtraHosts: flags.list('add-host').length ? flags.list('add-host') : null,
    GroupAdd: flags.list('group-add').length ? flags.list('group-add') : null,
    IpcMode: flags.string('ipc'),
    Cgroup: '',
    Links: flags.list('link').length ? flags.list('link') : null,
    OomScoreAdj: flags.number('oom-score-adj'),
    PidMode: pid,
    Privileged: flags.bool('privileged'),
    PublishAllPorts: flags.bool('publish-all'),
    ReadonlyRootfs: flags.bool('read-only'),
    SecurityOpt: security.securityOpt,
  });
  if (Object.keys(storageOpt).length) hostConfig.StorageOpt = sortedRecord(storageOpt);
  if (Object.keys(tmpfs).length) hostConfig.Tmpfs = tmpfs;
  Object.assign(hostConfig, {
    UTSMode: uts,
    UsernsMode: userns,
    ShmSize: flags.number('shm-size'),
  });
  const sysctls = flags.list('sysctl');
  if (sysctls.length) hostConfig.Sysctls = sortedRecord(kvToMap(sysctls));
  if (flags.string('runtime')) hostConfig.Runtime = flags.string('runtime');
  Object.assign(hostConfig, {
    Isolation: flags.string('isolation'),
    CpuShares: flags.number('cpu-shares'),
    Memory: flags.number('memory'),
    NanoCpus: flags.number('cpus'),
    CgroupParent: flags.string('cgroup-parent'),
    BlkioWeight: flags.number('blkio-weight'),
    BlkioWeightDevice: flags.list<WeightDevice>('blkio-weight-device'),
    BlkioDeviceReadBps: flags.list<ThrottleDevice>('device-read-bps'),
    BlkioDeviceWriteBps: flags.list<ThrottleDevice>('device-write-bps'),
    BlkioDeviceReadIOps: flags.list<ThrottleDevice>('device-read-iops'),
    BlkioDeviceWriteIOps: flags.list<ThrottleDevice>('device-write-iops'),
    CpuPeriod: flags.number('cpu-period'),
    CpuQuota: flags.number('cpu-quota'),
    CpuRealtimePeriod: flags.number('cpu-rt-period'),
    CpuRealtimeRuntime: flags.number('cpu-rt-runtime'),
    CpusetCpus: flags.string('cpuset-cpus'),
    CpusetMems: flags.string('cpuset-mems'),
    Devices: flags.list<DeviceMapping>('device'),
    DeviceCgroupRules: flags.list('device-cgroup-rule').length ? flags.list('device-cgroup-rule') : null,
    DeviceRequests: null,
    MemoryReservation: flags.number('memory-reservation'),
    MemorySwap: flags.number('memory-swap'),
    MemorySwappiness: swappiness,
    OomKillDisable: flags.bool('oom-kill-disable'),
    PidsLimit: flags.number('pids-limit'),
    Ulimits: ulimitList(flags.list<Ulimit>('ulimit')),
    CpuCount: 0,
    CpuPercent: 0,
    IOMaximumIOps: 0,
    IOMaximumBandwidth: 0,
  });
  const mounts = flags.list<Mount>('mount');
  if (mounts.length) hostConfig.Mounts = mounts;
  hostConfig.MaskedPaths = security.maskedPaths;
  hostConfig.ReadonlyPaths = security.readonlyPaths;
  if (flags.changed('init')) hostConfig.Init = flags.bool('init');

  const tty = flags.bool('tty');
  const body: CreateBody = {
    Hostname: flags.string('hostname'),
    Domainname: flags.string('domainname'),
    User: flags.string('user'),
    AttachStdin: attachStdin,
    AttachStdout: attachStdout,
    AttachStderr: attachStderr,
    ...(exposed.size ? { ExposedPorts: Object.fromEntries([...exposed].sort().map((p) => [p, {}])) as Record<string, Record<string, never>> } : {}),
    Tty: tty,
    OpenStdin: stdin,
    // When stdin is open and attached, close it when the client disconnects.
    StdinOnce: stdin && attachStdin,
    Env: env.length ? env : null,
    Cmd: cmd.length ? cmd : null,
    ...(healthcheck ? { Healthcheck: healthcheck } : {}),
    Image: image,
    Volumes: volumes,
    WorkingDir: flags.string('workdir'),
    Entrypoint: entrypoint,
    OnBuild: null,
    Labels: sortedRecord(kvToMap(labels)),
    ...(flags.string('stop-signal') ? { StopSignal: flags.string('stop-signal') } : {}),
    ...(flags.changed('stop-timeout') ? { StopTimeout: flags.number('stop-timeout') } : {}),
    HostConfig: hostConfig,
    NetworkingConfig: { EndpointsConfig: networking.endpoints },
  };

  const pull = flags.string('pull');
  if (pull !== 'always' && pull !== 'missing' && pull !== 'never') {
    fail(`invalid pull option: '${pull}': must be one of "always", "missing" or "never"`);
  }
  return {
    name: flags.string('name'),
    platform: flags.string('platform') || opts.defaultPlatform || '',
    body,
    pull,
    quiet: flags.bool('quiet'),
    warnings,
  };
}
