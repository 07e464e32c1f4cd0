/**
 * CreateContainer, StartContainer, StopContainer, RemoveContainer,
 * ListContainers, ContainerStatus and ExecSync: a CRI ContainerConfig
 * becomes a Docker-shaped create request for berth's engine (the same
 * checks, spec and runtime as `docker run`), joined to its pod's network
 * namespace, with conmon writing the CRI log at log_path.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import grpc from '@grpc/grpc-js';
import { ConflictError, InvalidParameterError, NotFoundError, NotImplementedError, NotModifiedError, SystemError } from '../errors.js';
import type { Engine } from '../engine/engine.js';
import type { CreateRequest } from '../engine/create-request.js';
import type { ContainerRecord } from '../store/container-store.js';
import { criLabels, matchesSelector, nanos, type CriContainerInfo } from './records.js';
import { containerState, Pods, type CriContainer } from './pods.js';
import { absolutePath, envList, idArg, int64, logFile, nameArg, stringList } from './validate.js';
import { alreadyExists, CriError } from './errors.js';
import { namespaceMode } from './sandbox-service.js';
import { memberLabels } from '../engine/pods.js';
import type { PodShm } from './pod-shm.js';
import { isMounted } from '../store/mounts.js';
import { setLongTimeout, type LongTimer } from '../long-timer.js';

type Req = Record<string, any>;

const PROPAGATION: Record<string, string> = {
  PROPAGATION_PRIVATE: 'rprivate', PROPAGATION_HOST_TO_CONTAINER: 'rslave', PROPAGATION_BIDIRECTIONAL: 'rshared',
};

/** What ExecSync returns of each stream at most (containerd caps it too): a reply must fit a gRPC message. */
const EXEC_OUTPUT_MAX = 4 * 1024 * 1024;

/** A CRI SecurityProfile (or the deprecated string form) as berth's `--security-opt seccomp=…`, or undefined for the default. */
function seccompOpt(profile: Req | null | undefined, legacy: string): string | undefined {
  // The structured field wins over the deprecated string, as in containerd.
  if (profile) {
    if (profile.profileType === 'Unconfined') return 'seccomp=unconfined';
    if (profile.profileType === 'Localhost') return `seccomp=${absolutePath(profile.localhostRef, 'seccomp localhost_ref')}`;
    if (profile.profileType === 'RuntimeDefault') return undefined;
    throw new InvalidParameterError(`invalid seccomp profile type ${String(profile.profileType)}`);
  }
  // Kubernetes' default is no seccomp at all (kubelet asks for RuntimeDefault explicitly), unlike Docker's.
  if (!legacy || legacy === 'unconfined') return 'seccomp=unconfined';
  if (legacy === 'runtime/default' || legacy === 'docker/default') return undefined;
  if (legacy.startsWith('localhost/')) return `seccomp=${absolutePath(legacy.slice('localhost/'.length), 'seccomp_profile_path')}`;
  throw new InvalidParameterError(`invalid seccomp profile "${legacy.slice(0, 80)}"`);
}

/** AppArmor: this host has none, so only "unconfined" and the runtime's default (nothing) are honoured; a named profile is refused. */
function apparmorOpt(profile: Req | null | undefined, legacy: string): string | undefined {
  const type = profile?.profileType;
  if (type === 'Unconfined' || legacy === 'unconfined') return 'apparmor=unconfined';
  if (type === 'Localhost' && profile?.localhostRef) throw new NotImplementedError(`AppArmor profile "${String(profile.localhostRef).slice(0, 80)}": AppArmor is not supported by berth on this host`);
  if (legacy && legacy !== 'runtime/default') {
    if (legacy.startsWith('localhost/')) throw new NotImplementedError(`AppArmor profile "${legacy.slice(0, 80)}": AppArmor is not supported by berth on this host`);
    throw new InvalidParameterError(`invalid AppArmor profile "${legacy.slice(0, 80)}"`);
  }
  return undefined;
}

export class ContainerService {
  constructor(private readonly engine: Engine, private readonly pods: Pods, private readonly shm: PodShm) {}

  async create(req: Req): Promise<Req> {
    const sb = this.pods.sandbox(idArg(req.podSandboxId, 'pod sandbox'));
    const cfg = req.config;
    if (!cfg) throw new InvalidParameterError('config must be set');
    const name = nameArg(cfg.metadata?.name, 'metadata.name');
    const attempt = Number(cfg.metadata?.attempt ?? 0);
    const imageRef = cfg.image?.image;
    if (typeof imageRef !== 'string' || !imageRef) throw new InvalidParameterError('image must be set');
    const image = this.engine.images.tryResolve(imageRef);
    if (!image) throw new NotFoundError(`image "${imageRef.slice(0, 200)}" not found`);
    if (cfg.devices?.length) throw new NotImplementedError('devices are not supported by berth yet');
    if (cfg.cdiDevices?.length) throw new NotImplementedError('CDI devices are not supported by berth');
    const command = stringList(cfg.command, 'command');
    const args = stringList(cfg.args, 'args');
    const env = envList(cfg.envs);
    const workingDir = cfg.workingDir ? absolutePath(cfg.workingDir, 'working_dir') : '';
    const logPath = logFile(sb.info.logDirectory, cfg.logPath);

    const mounts: CriContainerInfo['mounts'] = [];
    for (const m of cfg.mounts ?? []) {
      if (m.uidMappings?.length || m.gidMappings?.length) throw new NotImplementedError('ID-mapped mounts are not supported by berth');
      const propagation = PROPAGATION[m.propagation];
      if (!propagation) throw new InvalidParameterError(`invalid mount propagation ${String(m.propagation)}`);
      mounts.push({
        containerPath: absolutePath(m.containerPath, 'mount container_path'), hostPath: absolutePath(m.hostPath, 'mount host_path'),
        readonly: !!m.readonly, propagation: m.propagation,
      });
    }

    const linux = cfg.linux ?? {};
    const sc = linux.securityContext ?? {};
    const hc: Record<string, any> = {
      // conmon writes the CRI's format either way; LogPath (create's logPath) only moves the file.
      LogConfig: { Type: 'json-file', Config: {} },
      Mounts: mounts.map((m) => ({
        Type: 'bind', Source: m.hostPath, Target: m.containerPath, ReadOnly: m.readonly, BindOptions: { Propagation: PROPAGATION[m.propagation] },
      })),
      Privileged: !!sc.privileged,
      ReadonlyRootfs: !!sc.readonlyRootfs,
      ...(sb.info.runtimeHandler ? { Runtime: sb.info.runtimeHandler } : {}),
      // A pod's containers share its cgroup parent (sandbox-service.ts), each in its own leaf below it.
      ...(sb.rec.HostConfig.CgroupParent ? { CgroupParent: sb.rec.HostConfig.CgroupParent } : {}),
    };
    // The pod's network namespace: its infra container's, or the host's for a host-network pod.
    if (sb.info.namespaces.network === 'NODE') Object.assign(hc, { NetworkMode: 'host', UTSMode: 'host' });
    else hc.NetworkMode = `container:${sb.rec.Id}`;
    const ns = sc.namespaceOptions ?? {};
    // POD: the infra container's namespace; CONTAINER (pid only): the container's own; NODE: the host's.
    const pidMode = namespaceMode(ns.pid, 'pid');
    if (pidMode === 'NODE') hc.PidMode = 'host';
    else if (pidMode === 'POD') hc.PidMode = `container:${sb.rec.Id}`;
    else if (pidMode === 'TARGET') throw new NotImplementedError('pid namespace mode TARGET is not supported by berth yet');
    const ipcMode = namespaceMode(ns.ipc, 'ipc');
    if (ipcMode === 'NODE') hc.IpcMode = 'host';
    else hc.IpcMode = sb.info.namespaces.ipc === 'NODE' ? 'host' : `container:${sb.rec.Id}`;
    // The pod's IPC namespace comes with the pod's /dev/shm (pod-shm.ts), unless the config mounts its own there.
    const podShm = this.shm.path(sb.rec.Id);
    if (hc.IpcMode === `container:${sb.rec.Id}` && !mounts.some((m) => m.containerPath === '/dev/shm') && await isMounted(podShm)) {
      hc.Mounts.push({ Type: 'bind', Source: podShm, Target: '/dev/shm', ReadOnly: false, BindOptions: { Propagation: 'rprivate' } });
    }
    if (namespaceMode(ns.network, 'network') === 'NODE' && sb.info.namespaces.network !== 'NODE') {
      throw new InvalidParameterError('a container cannot use the host network in a pod that does not');
    }
    const caps = sc.capabilities;
    if (caps?.addCapabilities?.length) hc.CapAdd = stringList(caps.addCapabilities, 'add_capabilities');
    if (caps?.dropCapabilities?.length) hc.CapDrop = stringList(caps.dropCapabilities, 'drop_capabilities');
    if (caps?.addAmbientCapabilities?.length) throw new NotImplementedError('ambient capabilities are not supported by berth');
    const securityOpt: string[] = [];
    if (sc.noNewPrivs) securityOpt.push('no-new-privileges');
    const seccomp = seccompOpt(sc.seccomp, sc.seccompProfilePath ?? '');
    if (seccomp) securityOpt.push(seccomp);
    const apparmor = apparmorOpt(sc.apparmor, sc.apparmorProfile ?? '');
    if (apparmor) securityOpt.push(apparmor);
    if (securityOpt.length) hc.SecurityOpt = securityOpt;
    if (sc.maskedPaths?.length) hc.MaskedPaths = sc.maskedPaths.map((p: unknown) => absolutePath(p, 'masked_paths'));
    if (sc.readonlyPaths?.length) hc.ReadonlyPaths = sc.readonlyPaths.map((p: unknown) => absolutePath(p, 'readonly_paths'));
    if (sc.supplementalGroups?.length) hc.GroupAdd = sc.supplementalGroups.map((g: unknown) => String(int64(g, 'supplemental_groups')));
    let user = '';
    if (sc.runAsUser) user = String(int64(sc.runAsUser.value, 'run_as_user'));
    else if (sc.runAsUsername) user = nameArg(sc.runAsUsername, 'run_as_username');
    if (sc.runAsGroup) {
      if (!user) throw new InvalidParameterError('run_as_group needs run_as_user or run_as_username');
      user += `:${int64(sc.runAsGroup.value, 'run_as_group')}`;
    }
    Object.assign(hc, resources(linux.resources));

    const info: CriContainerInfo = {
      kind: 'container', sandboxId: sb.rec.Id, metadata: { name, attempt }, labels: cfg.labels ?? {}, annotations: cfg.annotations ?? {},
      image: imageRef, logPath, mounts,
    };
    const create: CreateRequest = {
      Image: image.id,
      ...(command.length ? { Entrypoint: command } : {}),
      ...(args.length ? { Cmd: args } : command.length ? { Cmd: [] } : {}),
      Env: env, WorkingDir: workingDir, User: user,
      Tty: !!cfg.tty, OpenStdin: !!cfg.stdin, StdinOnce: !!cfg.stdinOnce,
      Labels: { ...criLabels(info), ...memberLabels(sb.info.metadata.name, name) },
      HostConfig: hc,
    };
    // kubelet makes the host side of its mounts; crictl's users expect the same of the runtime (containerd does it).
    for (const m of mounts) if (!existsSync(m.hostPath)) await mkdir(m.hostPath, { recursive: true, mode: 0o755 });
    if (logPath) await mkdir(dirname(logPath), { recursive: true, mode: 0o755 });
    const md = sb.info.metadata;
    const berthName = `k8s_${name}_${md.name}_${md.namespace}_${md.uid}_${attempt}`;
    try {
      return { containerId: (await this.engine.containers.create(create, berthName, { logPath: logPath || undefined })).Id };
    } catch (e) {
      if (e instanceof ConflictError) throw alreadyExists(`container name "${berthName}" is reserved: ${e.message}`);
      throw e;
    }
  }

  async start(req: Req): Promise<Req> {
    const c = this.pods.container(idArg(req.containerId, 'container'));
    const sb = this.pods.trySandbox(c.info.sandboxId);
    if (!sb?.rec.State.Running) throw new ConflictError(`pod sandbox ${c.info.sandboxId} of container ${c.rec.Id} is not running`);
    await this.engine.containers.start(c.rec.Id);
    return {};
  }

  async stop(req: Req): Promise<Req> {
    const c = this.pods.container(idArg(req.containerId, 'container'));
    const timeout = int64(req.timeout, 'timeout');
    try {
      await this.engine.containers.stop(c.rec.Id, Math.max(0, timeout));
    } catch (e) {
      if (!(e instanceof NotModifiedError)) throw e;
    }
    return {};
  }

  async remove(req: Req): Promise<Req> {
    const c = this.pods.tryContainer(idArg(req.containerId, 'container'));
    if (!c) return {};
    try {
      await this.engine.containers.remove(c.rec.Id, { force: true });
    } catch (e) {
      if (!(e instanceof NotFoundError)) throw e;
    }
    return {};
  }

  /** kubelet rotates a log by renaming it, then has the runtime reopen it at log_path. */
  async reopenLog(req: Req): Promise<Req> {
    const c = this.pods.container(idArg(req.containerId, 'container'));
    await this.engine.containers.reopenLog(c.rec.Id);
    // conmon reopens on its own turn; kubelet (and critest) look for the new file as soon as this returns.
    const deadline = Date.now() + 5000;
    while (c.info.logPath && !existsSync(c.info.logPath)) {
      if (Date.now() > deadline) throw new SystemError(`conmon did not reopen ${c.info.logPath}`);
      await sleep(20);
    }
    return {};
  }

  list(req: Req): Req {
    const f = req.filter ?? {};
    const found = this.pods.criContainers().filter((c) => {
      if (f.id && !c.rec.Id.startsWith(f.id)) return false;
      if (f.podSandboxId && !c.info.sandboxId.startsWith(f.podSandboxId)) return false;
      if (f.state && containerState(c.rec) !== f.state.state) return false;
      return matchesSelector(c.info.labels, f.labelSelector);
    });
    return {
      containers: found.map((c) => ({
        id: c.rec.Id, podSandboxId: c.info.sandboxId, metadata: c.info.metadata, image: { image: c.info.image }, imageRef: c.rec.Image,
        state: containerState(c.rec), createdAt: nanos(c.rec.Created), labels: c.info.labels, annotations: c.info.annotations,
      })),
    };
  }

  status(req: Req): Req {
    const c = this.pods.container(idArg(req.containerId, 'container'));
    const info: Record<string, string> = {};
    if (req.verbose) {
      info.info = JSON.stringify({
        sandboxID: c.info.sandboxId, pid: c.rec.State.Pid, berthContainer: c.rec.Name, runtime: c.rec.Runtime,
        config: { command: [c.rec.Path, ...c.rec.Args], env: c.rec.Config.Env, workingDir: c.rec.Config.WorkingDir, user: c.rec.Config.User },
      });
    }
    return { status: statusOf(c), info };
  }

  /**
   * Runs a command in the container and returns its output and exit code.
   * A timeout (seconds, 0 = none) kills the command and is DEADLINE_EXCEEDED.
   */
  async execSync(req: Req): Promise<Req> {
    const c = this.pods.container(idArg(req.containerId, 'container'));
    const cmd = stringList(req.cmd, 'cmd');
    if (cmd.length === 0) throw new InvalidParameterError('cmd must not be empty');
    const timeout = int64(req.timeout, 'timeout');
    const exec = this.engine.exec;
    const { Id } = await exec.create(c.rec.Id, { Cmd: cmd, AttachStdout: true, AttachStderr: true });
    const handle = await exec.start(Id, {});
    const out: Buffer[][] = [[], []];
    const size = [0, 0];
    handle?.on('output', (n: 1 | 2, chunk: Buffer) => {
      const i = n - 1;
      if (size[i] >= EXEC_OUTPUT_MAX) return;
      const part = chunk.subarray(0, EXEC_OUTPUT_MAX - size[i]);
      out[i].push(part);
      size[i] += part.length;
    });
    const ended = handle ? new Promise<void>((resolve) => handle.once('end', () => resolve())) : Promise.resolve();
    const finished = exec.get(Id).finished;
    let timer: LongTimer | undefined;
    const timedOut = timeout > 0 ? new Promise<'timeout'>((resolve) => { timer = setLongTimeout(() => resolve('timeout'), timeout * 1000); }) : null;
    try {
      const r = await Promise.race([finished.then(async (code) => { await ended; return code; }), ...(timedOut ? [timedOut] : [])]);
      if (r === 'timeout') {
        const pid = exec.get(Id).Pid;
        if (pid > 0) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone meanwhile */ } }
        handle?.detach();
        throw new CriError(grpc.status.DEADLINE_EXCEEDED, `command ${JSON.stringify(cmd).slice(0, 200)} timed out after ${timeout}s`);
      }
      return { stdout: Buffer.concat(out[0]), stderr: Buffer.concat(out[1]), exitCode: r };
    } finally {
      timer?.clear();
    }
  }
}

/** LinuxContainerResources as HostConfig's limits (the engine checks their ranges as for `docker run`). */
export function resources(r: Req | null | undefined): Record<string, unknown> {
  if (!r) return {};
  if (r.hugepageLimits?.length) throw new NotImplementedError('hugepage limits are not supported by berth yet');
  const out: Record<string, unknown> = {};
  const n = (k: string) => int64(r[k], k);
  if (n('cpuPeriod')) out.CpuPeriod = n('cpuPeriod');
  if (n('cpuQuota')) out.CpuQuota = n('cpuQuota');
  if (n('cpuShares')) out.CpuShares = n('cpuShares');
  if (n('memoryLimitInBytes')) out.Memory = n('memoryLimitInBytes');
  if (n('memorySwapLimitInBytes')) out.MemorySwap = n('memorySwapLimitInBytes');
  if (n('oomScoreAdj')) out.OomScoreAdj = n('oomScoreAdj');
  if (r.cpusetCpus) out.CpusetCpus = String(r.cpusetCpus);
  if (r.cpusetMems) out.CpusetMems = String(r.cpusetMems);
  return out;
}

function linuxResources(rec: ContainerRecord): Req {
  const hc = rec.HostConfig;
  return {
    cpuPeriod: String(hc.CpuPeriod ?? 0), cpuQuota: String(hc.CpuQuota ?? 0), cpuShares: String(hc.CpuShares ?? 0),
    memoryLimitInBytes: String(hc.Memory ?? 0), memorySwapLimitInBytes: String(hc.MemorySwap ?? 0), oomScoreAdj: String(hc.OomScoreAdj ?? 0),
    cpusetCpus: hc.CpusetCpus ?? '', cpusetMems: hc.CpusetMems ?? '',
  };
}

function statusOf(c: CriContainer): Req {
  const s = c.rec.State;
  const state = containerState(c.rec);
  let reason = '';
  if (state === 'CONTAINER_EXITED') reason = s.OOMKilled ? 'OOMKilled' : s.ExitCode === 0 ? 'Completed' : 'Error';
  return {
    id: c.rec.Id, metadata: c.info.metadata, state, createdAt: nanos(c.rec.Created),
    startedAt: state === 'CONTAINER_CREATED' ? '0' : nanos(s.StartedAt),
    finishedAt: state === 'CONTAINER_EXITED' ? nanos(s.FinishedAt) : '0',
    exitCode: state === 'CONTAINER_EXITED' ? s.ExitCode : 0,
    image: { image: c.info.image }, imageRef: c.rec.Image, reason, message: s.Error ?? '',
    labels: c.info.labels, annotations: c.info.annotations,
    mounts: c.info.mounts, logPath: c.info.logPath, resources: { linux: linuxResources(c.rec) },
  };
}
