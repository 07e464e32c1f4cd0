/**
 * The container service: create, start, stop, kill, pause, restart, wait,
 * remove, rename, attach, resize, and the reactions to a container's exit
 * (state, restart policy, auto-remove). Each container's operations run one
 * at a time (a per-container queue), so a stop racing a start sees a settled
 * state.
 *
 * A container's files: containers/<id>/{upper,work,merged} (overlay on the
 * image's layers), hostname/hosts/resolv.conf, ctr.log (conmon's k8s-file);
 * its OCI bundle and conmon's sockets live in the exec root (bundleDir).
 */
import { prunable, type PruneFilters } from './prune-filters.js';
import { NAMESPACE_LABEL } from './container-views.js';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { chown, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  BerthError, ConflictError, InvalidParameterError, NotFoundError, NotModifiedError, SystemError, errorMessage,
} from '../errors.js';
import type { ContainerRecord, ContainerStore, ContainerState } from '../store/container-store.js';
import type { DataPaths } from '../store/paths.js';
import { mountOverlay, unmount, isMounted } from '../store/mounts.js';
import { copyTreeInRoot } from '../store/copy.js';
import type { ImageService } from './images.js';
import type { ImageRecord } from '../store/image-store.js';
import type { VolumeService } from './volumes.js';
import type { EventBus } from './events.js';
import { effectiveConfig, DEFAULT_PATH, type CreateRequest } from './container-config.js';
import { resolveMounts, ociMounts, type ResolvedMount } from './container-mounts.js';
import { rootfsPropagation } from './mount-propagation.js';
import { bindSubpaths, releaseSubpaths } from './volume-subpath.js';
import { generateName, normalizeName } from './names.js';
import { addMtab, etcFilePaths, removeHostsEntries, updateHostsEntries, writeEtcFiles } from './container-files.js';
import { containerLayerSizes } from './container-size.js';
import { removeContainerDir } from './container-dir-removal.js';
import { formatLink, isLegacyLinkMode, legacyLinks, linkEnv, linkHostNames, registerLinks, splitLinkName } from './legacy-links.js';
import { logFileMaxSize } from './log-config.js';
import { restartsAtDaemonStart, startInDependencyOrder } from './start-order.js';
import { forgetCommitPause, isCommitPause, pauseForCommit, unpauseAfterCommit } from './commit-pause.js';
import { AttachHandle, type AttachOptions } from './attach-handle.js';
import { buildSpec, mapResources } from '../runtime/spec.js';
import { resolveUser } from '../runtime/user.js';
import type { OciRuntime } from '../runtime/oci-runtime.js';
import { createContainer, reopenLog, resizeTerminal, type CreateOptions } from '../runtime/conmon.js';
import { attachContainer } from '../runtime/attach.js';
import { readExitCode } from '../runtime/exit-watcher.js';
import { signalNumber } from './signals.js';
import type { ContainerNetworking, EndpointService } from './endpoints.js';
import { configuredNetworks } from './network-views.js';
import { startTrace } from '../trace.js';
import { removeCgroup } from '../runtime/cgroup-setup.js';
import { cgroupOfContainer, inCgroup } from '../runtime/cgroup-path.js';
import { applyLive, checkUpdateRequest, mergeUpdate, updateWarnings, type UpdateRequest } from './container-update.js';
import { SECCOMP_BPF_ANNOTATION, SeccompCompiler } from '../runtime/seccomp-bpf.js';
import { remappedRoot, type IdMap } from '../runtime/id-map.js';
import { checkUsernsMode, type UsernsRemap } from './userns-remap.js';
import { createUserns, deleteUserns } from '../runtime/userns.js';
import { setLongTimeout, type LongTimer } from '../long-timer.js';

/** A checkpoint's images to start a container from (conmon `--restore`). */
export type RestoreSource = NonNullable<CreateOptions['restoreFrom']>;

export type WaitCondition = 'not-running' | 'next-exit' | 'removed';
export interface WaitResult { StatusCode: number; Error: { Message: string } | null }

const ZERO_TIME = '0001-01-01T00:00:00Z';

function freshState(): ContainerState {
  return {
    Status: 'created', Running: false, Paused: false, Restarting: false, OOMKilled: false, Dead: false,
    Pid: 0, ExitCode: 0, Error: '', StartedAt: ZERO_TIME, FinishedAt: ZERO_TIME,
  };
}

export interface RuntimeRegistry {
  get(name: string): OciRuntime;
  defaultName: string;
}

export class ContainerService {
  private readonly queues = new Map<string, Promise<unknown>>();
  /** One watch of a container's exit shared by every stop waiting out its grace period (graceWait). */
  private readonly exitWatches = new Map<string, Promise<void>>();
  /** Exits being handled, by container id (handleExit). */
  private readonly exiting = new Map<string, Promise<void>>();
  private readonly pendingAttach = new Map<string, Set<AttachHandle>>();
  private readonly exitWaiters = new Map<string, Set<(code: number) => void>>();
  private readonly removeWaiters = new Map<string, Set<(code: number) => void>>();
  private readonly restartTimers = new Map<string, NodeJS.Timeout>();
  /** Names taken by creates in flight, before their rows exist: name → the ID the create chose (a conflict names it, as dockerd's does). */
  private readonly reservedNames = new Map<string, string>();
  /**
   * Environment given to a container's process but kept out of its record
   * (a build's `RUN --mount=type=secret,env=`): in memory only, so inspect
   * and the database never see it; forgotten at removal.
   */
  private readonly hiddenEnv = new Map<string, string[]>();
  /**
   * Containers whose rootfs overlay is mounted `volatile` (store/mounts.ts):
   * a build's RUN containers, whose upper dir is made durable once, before
   * it becomes a layer, instead of at each fsync of the RUN. In memory only:
   * a restarted berthd removes an earlier one's RUN containers anyway, and
   * a forgotten entry only means an ordinary mount.
   */
  private readonly volatileRootfs = new Set<string>();
  private shuttingDown = false;
  /**
   * Refuses resource limits this daemon cannot apply (rootless berthd
   * without delegated cgroups: rootless/resource-limits.ts); create and
   * update both ask it.
   */
  refuseLimits: ((hc: Record<string, unknown>) => void) | undefined;

  constructor(
    readonly store: ContainerStore,
    private readonly images: ImageService,
    private readonly volumes: VolumeService,
    private readonly paths: DataPaths,
    private readonly events: EventBus,
    private readonly runtimes: RuntimeRegistry,
    /** Network namespaces, endpoints and published ports (engine/endpoints.ts); addresses for links. */
    private readonly networks: ContainerNetworking & Pick<EndpointService, 'settingsView'>,
    /** `--userns-remap`: containers not on the host's user namespace get one of their own (engine/userns-remap.ts). */
    private readonly remap?: UsernsRemap,
  ) {}

  /** The user namespace maps a container runs with; undefined: the host's. */
  idMapOf(c: Pick<ContainerRecord, 'HostConfig'>): IdMap | undefined {
    return this.remap?.mapFor(c.HostConfig);
  }

  /** During start-up's reconcile: the containers whose exit meanwhile their restart policy restarts. */
  private startUpRestarts?: string[];

  private seccompCompiler?: SeccompCompiler;
  private get seccomp(): SeccompCompiler {
    return (this.seccompCompiler ??= new SeccompCompiler(this.paths.seccompCache));
  }

  /** Runs `fn` after every earlier operation on the same container settled. */
  private serial<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.queues.get(id) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => undefined);
    this.queues.set(id, tail);
    void tail.then(() => { if (this.queues.get(id) === tail) this.queues.delete(id); });
    return next;
  }

  /** Finds a container by full ID, name, or unique ID prefix. */
  lookup(nameOrId: string): ContainerRecord {
    const key = nameOrId.startsWith('/') ? nameOrId.slice(1) : nameOrId;
    const byId = this.store.get(key);
    if (byId) return byId;
    const idByName = this.store.idByName(key);
    if (idByName) return this.store.get(idByName)!;
    // A link name, `<parent>/<alias>`, names the child, as in dockerd's name index.
    const child = key.includes('/') ? this.linkChild(key) : undefined;
    if (child) return child;
    if (/^[a-f0-9]+$/.test(key) && key.length > 0) {
      const matches = this.store.findByPrefix(key);
      if (matches.length === 1) return matches[0];
      if (matches.length > 1) throw new InvalidParameterError(`multiple IDs found with provided prefix: ${key}`);
    }
    throw new NotFoundError(`No such container: ${nameOrId}`);
  }

  /** The child a link name `<parent>/<alias>` stands for, if that parent has that link and the child exists. */
  private linkChild(linkName: string): ContainerRecord | undefined {
    const slash = linkName.lastIndexOf('/');
    const parentId = this.store.idByName(linkName.slice(0, slash).replace(/^\/+/, ''));
    const parent = parentId ? this.store.get(parentId) : undefined;
    if (!parent) return undefined;
    const link = legacyLinks(parent.Name, parent.HostConfig).find((l) => l.alias === linkName.slice(slash + 1));
    const childId = link ? this.store.idByName(link.child) : undefined;
    return childId ? this.store.get(childId) : undefined;
  }

  private attributes(c: ContainerRecord, extra: Record<string, string> = {}): Record<string, string> {
    return { ...(c.Config.Labels ?? {}), image: c.ImageRef, name: c.Name, ...extra };
  }

  // ---------------------------------------------------------------- create

  /**
   * `o.logPath`: where conmon writes the k8s-file log instead of ctr.log (the CRI's log_path; never from the Docker API).
   * `o.hiddenEnv`: `NAME=value` entries for the process that the record never holds (see hiddenEnv).
   * `o.volatileRootfs`: the rootfs overlay skips syncs (see volatileRootfs).
   */
  async create(req: CreateRequest, name?: string, o: { logPath?: string; hiddenEnv?: string[]; volatileRootfs?: boolean } = {}): Promise<{ Id: string; Warnings: string[] }> {
    if (!req.Image) throw new InvalidParameterError('config cannot be empty in order to create a container');
    const image = this.images.resolve(req.Image);
    const id = randomBytes(32).toString('hex');
    let cname: string;
    if (name) {
      cname = normalizeName(name);
      const other = this.store.idByName(cname);
      if (other) throw nameConflict(cname, other);
      const reserving = this.reservedNames.get(cname);
      if (reserving) throw nameConflict(cname, reserving);
    } else {
      cname = generateName((n) => this.store.idByName(n) !== undefined || this.reservedNames.has(n));
    }
    this.reservedNames.set(cname, id);
    if (o.hiddenEnv?.length) this.hiddenEnv.set(id, o.hiddenEnv);
    if (o.volatileRootfs) this.volatileRootfs.add(id);
    try {
      return await this.createNamed(req, req.Image, id, cname, image, o.logPath);
    } catch (e) {
      this.hiddenEnv.delete(id);
      this.volatileRootfs.delete(id);
      throw e;
    } finally {
      this.reservedNames.delete(cname);
    }
  }

  private async createNamed(req: CreateRequest, imageRef: string, id: string, cname: string, image: ImageRecord, logPath?: string): Promise<{ Id: string; Warnings: string[] }> {
    const eff = effectiveConfig(req, image.config.config ?? {}, imageRef, id);
    checkUsernsMode(eff.HostConfig, !!this.remap);
    // Resource values are checked now, so a bad --memory is a 400 at create, not a failed start.
    const { warnings } = mapResources(eff.HostConfig);
    this.refuseLimits?.(eff.HostConfig);
    const runtimeName = eff.HostConfig.Runtime || this.runtimes.defaultName;
    this.runtimes.get(runtimeName); // unknown runtime → error before anything is written
    eff.HostConfig.Runtime = runtimeName;
    const networking = this.networks.prepareCreate(eff, req);
    warnings.push(...networking.warnings);
    if (isLegacyLinkMode(eff.HostConfig.NetworkMode)) {
      eff.HostConfig.Links = registerLinks(cname, eff.HostConfig, (n) => this.lookup(n));
    }

    const createdVolumes: string[] = [];
    const dir = this.paths.containerDir(id);
    try {
      const mounts = await resolveMounts(eff.HostConfig, eff.Config, {
        ensureVolume: async (vname, anonymous, labels) => {
          const existed = vname ? this.volumes.list().some((v) => v.Name === vname) : false;
          const v = await this.volumes.create({ Name: vname, Labels: labels }, anonymous, id);
          if (!existed) createdVolumes.push(v.Name);
          return v;
        },
        lookupContainer: (n) => this.lookup(n),
      });
      await mkdir(join(dir, 'upper'), { recursive: true });
      await mkdir(join(dir, 'work'), { recursive: true });
      await mkdir(join(dir, 'merged'), { recursive: true });
      // The overlay's root directory is the upper dir's: container root owns it in its namespace.
      const idMap = this.idMapOf(eff);
      if (idMap) { const r = remappedRoot(idMap); await chown(join(dir, 'upper'), r.uid, r.gid); }
      const rec: ContainerRecord = {
        Id: id, Name: cname, Created: new Date().toISOString(), Image: image.id, ImageRef: imageRef,
        Path: eff.Path, Args: eff.Args, Config: eff.Config, HostConfig: eff.HostConfig,
        NetworkingConfig: networking.NetworkingConfig, State: freshState(), RestartCount: 0, Mounts: mounts, Runtime: runtimeName,
        ...(logPath ? { LogPath: logPath } : {}),
      };
      try {
        this.store.insert(rec);
      } catch (e) {
        if (/UNIQUE/.test(errorMessage(e))) throw nameConflict(cname, this.store.idByName(cname) ?? '');
        throw e;
      }
    } catch (e) {
      // Released first: a volume this create made is removed unless another create in flight holds it meanwhile.
      this.volumes.release(id);
      await rm(dir, { recursive: true, force: true });
      for (const v of createdVolumes) await this.volumes.remove(v, true).catch(() => undefined);
      throw e;
    }
    // The record now says which volumes this container uses.
    this.volumes.release(id);
    this.events.emit('container', 'create', id, this.attributes(this.store.get(id)!));
    return { Id: id, Warnings: warnings };
  }

  // ---------------------------------------------------------------- start

  /** `restoreFrom`: a checkpoint's images (checkpoints.ts resolved and checked them) the processes come back from. */
  /**
   * `signal`: whoever asked for the start has gone (a build whose client
   * left); the start stops at its next step and undoes what it did, as
   * dockerd's builder drops a RUN container at once when its build is
   * cancelled, instead of running it first.
   */
  start(nameOrId: string, o: { restoreFrom?: RestoreSource; signal?: AbortSignal } = {}): Promise<void> {
    const c = this.lookup(nameOrId);
    return this.serial(c.Id, () => this.startLocked(c.Id, o.restoreFrom, o.signal));
  }

  /**
   * The checkpoint hook (checkpoints.ts): runs `dump` in the container's
   * queue on a running container. With `exit`, CRIU kills the processes
   * after the dump; that exit is a manual stop (no restart policy) and is
   * handled before this resolves, so a start from the checkpoint may follow.
   */
  checkpoint(nameOrId: string, exit: boolean, dump: (c: ContainerRecord, runtime: OciRuntime) => Promise<void>): Promise<void> {
    const c = this.lookup(nameOrId);
    return this.serial(c.Id, async () => {
      const cur = this.store.get(c.Id);
      if (!cur || !cur.State.Running || cur.State.Restarting) throw new ConflictError(`Container ${c.Id} is not running`);
      if (cur.State.Paused) throw new ConflictError(`Container ${c.Id} is paused. Unpause the container before checkpointing`);
      const manual = cur.ManualStop;
      if (exit) cur.ManualStop = true;
      try {
        await dump(cur, this.runtimes.get(cur.Runtime));
      } catch (e) {
        cur.ManualStop = manual;
        throw e;
      }
      if (exit) await this.awaitExit(c.Id, 30_000);
    });
  }

  private async rootfsMount(c: ContainerRecord): Promise<string> {
    const dir = this.paths.containerDir(c.Id);
    const merged = join(dir, 'merged');
    if (await isMounted(merged)) return merged;
    const img = this.images.store.get(c.Image);
    if (!img) throw new SystemError(`image ${c.Image} of container ${c.Id} is missing`);
    const idMap = this.idMapOf(c);
    let lowers = idMap && this.remap?.layers === 'copies'
      ? await this.remap.copies.lowerDirs(img.topLayer, idMap)
      : this.images.layers.lowerDirs(img.topLayer);
    if (lowers.length === 0) {
      const empty = join(dir, 'empty');
      await mkdir(empty, { recursive: true });
      lowers = [empty];
    }
    const idmapped = idMap && this.remap?.layers === 'idmapped' ? { map: idMap, scratch: join(dir, 'idmapped') } : undefined;
    await mountOverlay(lowers, join(dir, 'upper'), join(dir, 'work'), merged, idmapped, this.volatileRootfs.has(c.Id));
    try {
      await addMtab(merged);
    } catch (e) {
      await unmount(merged).catch(() => undefined);
      throw e;
    }
    return merged;
  }

  /** `container:<x>` (PidMode, IpcMode): x's namespace, which x must be running to hold. */
  private joinedNamespace(mode: string | undefined, kind: 'pid' | 'ipc'): { path: string } | undefined {
    if (!mode?.startsWith('container:')) return undefined;
    const other = this.lookup(mode.slice('container:'.length));
    if (!other.State.Running || !other.State.Pid) throw new ConflictError(`cannot join ${kind} namespace of a non running container: ${other.Id}`);
    return { path: `/proc/${other.State.Pid}/ns/${kind}` };
  }

  /**
   * The user namespace a remapped container joins: its own, made now (its
   * network namespace is then made inside it), or, when it shares another
   * container's network, PID or IPC namespace, that container's (dockerd
   * joins it for the same reason: a namespace can only be joined from the
   * user namespace that owns it, or an ancestor).
   */
  private async containerUserns(c: ContainerRecord, map: IdMap): Promise<{ path: string; own: boolean }> {
    const hc = c.HostConfig;
    const shared = [hc.NetworkMode, hc.PidMode, hc.IpcMode].find((m): m is string => typeof m === 'string' && m.startsWith('container:'));
    if (shared) {
      const other = this.lookup(shared.slice('container:'.length));
      if (!other.State.Running || !other.State.Pid) throw new ConflictError(`cannot join the namespaces of a non running container: ${other.Id}`);
      if (!this.idMapOf(other)) {
        throw new ConflictError(`cannot share the namespaces of container ${other.Id}, which runs in the host's user namespace, from a container with user namespaces enabled: run it with --userns=host too`);
      }
      return { path: `/proc/${other.State.Pid}/ns/user`, own: false };
    }
    const path = this.paths.usernsFile(c.Id);
    await createUserns(path, map);
    return { path, own: true };
  }

  /** Copies the image's content at a fresh volume's destination into it, as Docker does. */
  private async populateVolumes(c: ContainerRecord, rootfs: string): Promise<void> {
    for (const m of c.Mounts as ResolvedMount[]) {
      if (m.Type !== 'volume' || m.NoCopy) continue;
      const marker = join(this.paths.volumeDir(m.Name!), '.populated');
      if (existsSync(marker)) continue;
      const entries = await readdir(m.Source).catch(() => ['?']);
      // review4: the destination is resolved inside the rootfs; joined to it on the host, an image's symlink named a host directory.
      if (entries.length === 0) await copyTreeInRoot(rootfs, m.Destination, m.Source);
      await writeFile(marker, '');
    }
  }

  private async startLocked(id: string, restoreFrom?: RestoreSource, signal?: AbortSignal): Promise<void> {
    const cancelled = () => { if (signal?.aborted) throw new SystemError('the start was cancelled'); };
    cancelled();
    const c = this.store.get(id);
    if (!c) throw new NotFoundError(`No such container: ${id}`);
    if (c.State.Paused) throw new ConflictError('cannot start a paused container, try unpause instead');
    // A restart back-off is a run in dockerd's eyes (its State says Running): its own timer starts it.
    if (c.State.Running || c.State.Restarting) throw new NotModifiedError('container already started');
    if (c.State.Status === 'removing' || c.State.Dead) throw new ConflictError(`container is marked for removal and cannot be started`);
    const runtime = this.runtimes.get(c.Runtime);
    const bundleDir = this.paths.bundleDir(c.Id);
    const cdir = this.paths.containerDir(c.Id);
    const undo: (() => Promise<unknown>)[] = [];
    const trace = startTrace(`start ${c.Id.slice(0, 12)}`);
    try {
      const linked = this.legacyLinksAtStart(c);
      const rootfs = await this.rootfsMount(c);
      trace.step('mount');
      undo.push(() => unmount(rootfs));
      cancelled();
      await this.populateVolumes(c, rootfs);
      const idMap = this.idMapOf(c);
      const userns = idMap ? await this.containerUserns(c, idMap) : undefined;
      if (userns?.own) undo.push(() => deleteUserns(userns.path));
      const net = await this.networks.setUp(c, { userns: userns?.path });
      // The interfaces may still be coming up (net.ready): their teardown waits for the setup to end.
      undo.push(() => net.ready.then(() => this.networks.tearDown(c), () => this.networks.tearDown(c)));
      // What the runtime does at create inside the namespace must find it set up as before: the
      // container's net.* sysctls, and a restore, whose process runs at once.
      if (restoreFrom || Object.keys(c.HostConfig.Sysctls ?? {}).some((k) => k.startsWith('net.'))) await net.ready;
      trace.step('network');
      cancelled();
      const etc = await writeEtcFiles(cdir, {
        hostname: c.Config.Hostname, domainname: c.Config.Domainname, networkMode: c.HostConfig.NetworkMode, ...await net.etc, links: linked.hosts,
      });
      if (idMap) {
        // The /etc files are container root's to change, as in dockerd's remapped containers.
        const r = remappedRoot(idMap);
        for (const f of [etc.hostname, etc.hosts, etc.resolvConf]) await chown(f, r.uid, r.gid);
      }
      const user = await resolveUser(rootfs, c.Config.User ?? '', c.HostConfig.GroupAdd ?? []);
      trace.step('files');
      const env = withLinkEnv(linked.env, c.Config.Env as string[]);
      if (!env.some((e) => e.startsWith('PATH='))) env.unshift(`PATH=${DEFAULT_PATH}`);
      if (!env.some((e) => e.startsWith('HOSTNAME='))) env.unshift(`HOSTNAME=${c.Config.Hostname}`);
      if (c.Config.Tty && !env.some((e) => e.startsWith('TERM='))) env.push('TERM=xterm');
      if (!env.some((e) => e.startsWith('HOME='))) env.push(`HOME=${user.home || '/'}`);
      for (const h of this.hiddenEnv.get(c.Id) ?? []) {
        const name = h.slice(0, h.indexOf('=') + 1);
        const at = env.findIndex((e) => e.startsWith(name));
        if (at >= 0) env[at] = h; else env.push(h);
      }
      // review1: each volume Subpath is bound from the descriptor its check opened, until the runtime has mounted it (engine/volume-subpath.ts).
      const subpaths = await bindSubpaths(c.Mounts as ResolvedMount[], join(this.paths.execRoot, 'subpaths', c.Id));
      undo.push(() => subpaths.release());
      const userMounts = ociMounts(c.Mounts as ResolvedMount[], subpaths.sources);
      const dests = new Set(userMounts.map((m) => m.destination));
      const etcMounts = [
        ['/etc/resolv.conf', etc.resolvConf], ['/etc/hostname', etc.hostname], ['/etc/hosts', etc.hosts],
      ].filter(([d]) => !dests.has(d)).map(([destination, source]) => ({ destination, type: 'bind', source, options: ['rbind', 'rprivate'] }));
      const hc = c.HostConfig;
      const spec = buildSpec({
        id: c.Id, rootfsPath: rootfs, readonlyRootfs: !!hc.ReadonlyRootfs,
        args: [c.Path, ...c.Args], env, cwd: c.Config.WorkingDir || '/', tty: !!c.Config.Tty,
        hostname: c.Config.Hostname, domainname: c.Config.Domainname || undefined,
        user: { uid: user.uid, gid: user.gid, additionalGids: user.additionalGids },
        mounts: [...etcMounts, ...userMounts], rootfsPropagation: rootfsPropagation(c.Mounts),
        capAdd: hc.CapAdd ?? [], capDrop: hc.CapDrop ?? [], privileged: !!hc.Privileged,
        network: net.namespace,
        pid: this.joinedNamespace(hc.PidMode, 'pid') ?? (hc.PidMode === 'host' ? 'host' : 'private'),
        ipc: this.joinedNamespace(hc.IpcMode, 'ipc') ?? (hc.IpcMode === 'host' ? 'host' : 'private'),
        uts: hc.UTSMode === 'host' ? 'host' : 'private',
        resources: hc, cgroupsPath: cgroupOfContainer(c), shmSize: hc.ShmSize, sysctls: hc.Sysctls,
        securityOpt: hc.SecurityOpt ?? [], ulimits: hc.Ulimits ?? undefined, oomScoreAdj: hc.OomScoreAdj || undefined,
        init: !!hc.Init,
        maskedPaths: hc.MaskedPaths, readonlyPaths: hc.ReadonlyPaths,
        ...(idMap && userns ? { userns: { ...idMap, path: userns.path } } : {}),
      });
      if (runtime.name === 'crun' && spec.linux?.seccomp) {
        // A filter compiled once, instead of by crun at every start (~12 ms).
        const bpf = await this.seccomp.bpf(spec.linux.seccomp);
        if (bpf) spec.annotations = { ...spec.annotations, [SECCOMP_BPF_ANNOTATION]: bpf };
      }
      await rm(bundleDir, { recursive: true, force: true });
      await mkdir(bundleDir, { recursive: true });
      undo.push(() => rm(bundleDir, { recursive: true, force: true }));
      await writeFile(join(bundleDir, 'config.json'), JSON.stringify(spec));
      await rm(join(this.paths.exitDir, c.Id), { force: true });
      // State left by a run whose exit berthd never handled (crash) would make `create` fail.
      if (runtime.hasState(c.Id)) await runtime.delete(c.Id, true).catch(() => undefined);
      trace.step('bundle');
      cancelled();
      const logType = hc.LogConfig?.Type;
      const created = await createContainer({
        id: c.Id, name: c.Name, bundleDir, runtime, exitDir: this.paths.exitDir,
        logPath: logType === 'none' ? '/dev/null' : c.LogPath ?? join(cdir, 'ctr.log'),
        tty: !!c.Config.Tty, stdin: !!c.Config.OpenStdin, leaveStdinOpen: !c.Config.StdinOnce,
        consoleSize: hc.ConsoleSize && hc.ConsoleSize[0] > 0 ? [hc.ConsoleSize[0], hc.ConsoleSize[1]] : undefined,
        logSizeMax: logFileMaxSize(hc.LogConfig),
        restoreFrom,
      }).catch(async (e: unknown) => {
        await net.ready; // a failed network setup is the error, as it would have been before the create
        throw e;
      });
      undo.push(() => runtime.delete(c.Id, true));
      await subpaths.release(); // review1: the container's mount namespace holds its own copies now
      trace.step('conmon+create');
      // The container's process runs nothing of its own before `start`: the interfaces are up by then.
      await net.ready;
      trace.step('network-wait');
      await this.connectPendingAttach(c.Id);
      // A restored container runs already (conmon's `restore --detach`).
      if (!restoreFrom) await runtime.start(c.Id);
      trace.step('start');
      c.State = {
        ...c.State, Status: 'running', Running: true, Paused: false, Restarting: false, OOMKilled: false, Dead: false,
        Pid: created.pid, ExitCode: 0, Error: '', StartedAt: new Date().toISOString(), FinishedAt: c.State.FinishedAt,
      };
      c.ManualStop = false;
      this.store.save(c);
      // An attach that came while the container was starting (after the one above) connects now.
      await this.connectPendingAttach(c.Id);
      this.events.emit('container', 'start', c.Id, this.attributes(c));
      // After the start is recorded: nothing here may undo it.
      await this.updateLinkParents(c).catch((e) => console.error(`berthd: links to ${c.Id.slice(0, 12)}: ${errorMessage(e)}`));
      trace.step('record');
      trace.end();
    } catch (e) {
      trace.end();
      for (const u of undo.reverse()) await u().catch(() => undefined);
      // A runtime that failed half way through create may have made the cgroup without a state to delete it by.
      await removeCgroup(cgroupOfContainer(c)).catch(() => undefined);
      const msg = errorMessage(e);
      const code = /not found|no such file or directory/i.test(msg) ? 127 : /permission denied/i.test(msg) ? 126 : 128;
      if (!(e instanceof BerthError && e.kind !== 'System')) {
        c.State = { ...c.State, Status: c.State.StartedAt === ZERO_TIME ? 'created' : 'exited', Running: false, Pid: 0, ExitCode: code, Error: msg };
        this.store.save(c);
        for (const h of this.pendingAttach.get(c.Id) ?? []) h.end();
        this.pendingAttach.delete(c.Id);
      }
      // A --rm container that could not start is removed, as dockerd does; `wait?condition=removed` then returns.
      if (c.HostConfig.AutoRemove) await this.removeLocked(c.Id, { force: true, volumes: true }).catch(() => undefined);
      throw e;
    }
  }

  /**
   * The parent's side of its legacy links at start (dockerd's
   * setupLinkedContainers and addLegacyLinks): on the default bridge, every
   * child must be running there; the environment and /etc/hosts lines its
   * links give. Nothing for a container off the default bridge.
   */
  private legacyLinksAtStart(c: ContainerRecord): { env: string[]; hosts: { ip: string; names: string }[] } {
    const links = legacyLinks(c.Name, c.HostConfig);
    const env: string[] = [];
    const hosts: { ip: string; names: string }[] = [];
    if (!links.length || !('bridge' in configuredNetworks(c))) return { env, hosts };
    for (const l of links) {
      const childId = this.store.idByName(l.child);
      const child = childId ? this.store.get(childId) : undefined;
      if (!child?.State.Running) throw new SystemError(`Cannot link to a non running container: /${l.child} AS ${l.name}`);
      if (!('bridge' in configuredNetworks(child))) throw new SystemError(`Cannot link to /${child.Name}, as it does not belong to the default network`);
      const ip = this.bridgeAddress(child);
      env.push(...linkEnv(l.name, ip, child.Config.Env ?? [], child.Config.ExposedPorts));
      if (ip) hosts.push({ ip, names: linkHostNames(l.alias, child.Config.Hostname, child.Name) });
    }
    return { env, hosts };
  }

  /** A running container's address on the default bridge ('' when it has none). */
  private bridgeAddress(c: ContainerRecord): string {
    const networks = this.networks.settingsView(c).Networks as Record<string, { IPAddress?: string }> | undefined;
    return networks?.bridge?.IPAddress ?? '';
  }

  /**
   * A child that (re)started has a new address: the /etc/hosts line of each
   * running parent's link to it says so (dockerd's UpdateHostsEntry), the
   * file rewritten in place, as it is bind-mounted. A parent's file that
   * cannot be rewritten costs that line, never the child's start.
   */
  private async updateLinkParents(child: ContainerRecord): Promise<void> {
    if (!('bridge' in configuredNetworks(child))) return;
    const ip = this.bridgeAddress(child);
    if (!ip) return;
    for (const parent of this.store.all()) {
      if (parent.Id === child.Id || !parent.State.Running) continue;
      try {
        if (!('bridge' in configuredNetworks(parent))) continue;
        const aliases = legacyLinks(parent.Name, parent.HostConfig).filter((l) => l.child === child.Name).map((l) => l.alias);
        if (aliases.length) await updateHostsEntries(etcFilePaths(this.paths.containerDir(parent.Id)).hosts, aliases, ip);
      } catch (e) {
        console.error(`berthd: updating /etc/hosts of ${parent.Id.slice(0, 12)} for its link to ${child.Name}: ${errorMessage(e)}`);
      }
    }
  }

  // ---------------------------------------------------------------- exit handling

  /** Called by the exit watcher (or start-up reconciliation) when conmon records an exit. */
  onExit(id: string, code: number, fromExitFile = true): void {
    void this.serial(id, async () => {
      // An exit file already handled (by stop's own polling) is gone; a late
      // watcher event for it must not end the container's next run.
      if (fromExitFile && readExitCode(this.paths.exitDir, id) === null) return;
      await this.handleExit(id, code);
    }).catch((e) => {
      console.error(`berthd: handling exit of ${id}: ${errorMessage(e)}`);
    });
  }

  /**
   * One exit is handled once: the watcher's queued onExit and a stop's grace
   * wait (out of the queue) may both see the exit file; the second caller
   * waits for the first instead of tearing the container down again.
   */
  private handleExit(id: string, code: number): Promise<void> {
    const running = this.exiting.get(id);
    if (running) return running;
    const p = this.applyExit(id, code).finally(() => this.exiting.delete(id));
    this.exiting.set(id, p);
    return p;
  }

  private async applyExit(id: string, code: number): Promise<void> {
    const c = this.store.get(id);
    if (!c || (!c.State.Running && !c.State.Restarting)) return;
    const bundleDir = this.paths.bundleDir(id);
    const oom = existsSync(join(bundleDir, 'oom'));
    // The exit file's mtime is when the process ended, even if berthd learns of it later.
    const finishedAt = await stat(join(this.paths.exitDir, id)).then((s) => s.mtime.toISOString(), () => new Date().toISOString());
    const trace = startTrace(`exit ${id.slice(0, 12)}`);
    // The network's teardown (netavark, under a host-wide lock) needs nothing of the runtime's
    // state, the bundle or the rootfs: it runs alongside their removal.
    const network = this.networks.tearDown(c).catch((e) => console.error(`berthd: network teardown of ${id}: ${errorMessage(e)}`));
    await this.runtimes.get(c.Runtime).delete(id, true).catch(() => undefined);
    trace.step('delete');
    await rm(bundleDir, { recursive: true, force: true });
    await rm(join(this.paths.exitDir, id), { force: true });
    await unmount(join(this.paths.containerDir(id), 'merged')).catch(() => undefined);
    trace.step('umount');
    await network;
    trace.step('network');
    await deleteUserns(this.paths.usernsFile(id)).catch((e) => console.error(`berthd: user namespace of ${id}: ${errorMessage(e)}`));
    c.State = {
      ...c.State, Status: 'exited', Running: false, Paused: false, Restarting: false, Pid: 0,
      ExitCode: code, OOMKilled: oom, FinishedAt: finishedAt,
    };
    if (c.State.Health) c.State.Health = { ...c.State.Health, Status: 'unhealthy' };
    this.store.save(c);
    if (oom) this.events.emit('container', 'oom', id, this.attributes(c));
    this.events.emit('container', 'die', id, this.attributes(c, { exitCode: String(code) }));
    for (const w of this.exitWaiters.get(id) ?? []) w(code);
    this.exitWaiters.delete(id);
    trace.step('record');
    trace.end();

    if (this.startUpRestarts) {
      // An exit berthd learns of at start-up: restarted without a back-off, as dockerd's restore does (reconcile).
      if (restartsAtDaemonStart(c)) { this.startUpRestarts.push(id); return; }
    } else if (!this.shuttingDown && this.shouldRestart(c, code)) {
      c.RestartCount += 1;
      c.State = { ...c.State, Status: 'restarting', Restarting: true };
      this.store.save(c);
      const delay = Math.min(100 * 2 ** Math.min(c.RestartCount - 1, 10), 60_000);
      const t = setTimeout(() => {
        this.restartTimers.delete(id);
        void this.serial(id, async () => {
          const cur = this.store.get(id);
          if (!cur || !cur.State.Restarting) return;
          cur.State = { ...cur.State, Restarting: false, Status: 'exited' };
          this.store.save(cur);
          await this.startLocked(id);
          this.events.emit('container', 'restart', id, this.attributes(cur));
        }).catch((e) => console.error(`berthd: restarting ${id}: ${errorMessage(e)}`));
      }, delay);
      this.restartTimers.set(id, t);
      return;
    }
    if (c.HostConfig.AutoRemove) {
      await this.removeLocked(id, { force: true, volumes: true });
    }
  }

  private shouldRestart(c: ContainerRecord, code: number): boolean {
    if (c.ManualStop) return false;
    const p = c.HostConfig.RestartPolicy ?? { Name: 'no' };
    switch (p.Name) {
      case 'always': case 'unless-stopped': return true;
      case 'on-failure': return code !== 0 && (!p.MaximumRetryCount || c.RestartCount < p.MaximumRetryCount);
      default: return false;
    }
  }

  // ---------------------------------------------------------------- stop / kill

  private waitForExit(id: string, ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const c = this.store.get(id);
      if (!c || !c.State.Running) return resolve(true);
      const set = this.exitWaiters.get(id) ?? new Set();
      let timer: NodeJS.Timeout | undefined;
      const done = () => { clearTimeout(timer); set.delete(done); resolve(true); };
      set.add(done);
      this.exitWaiters.set(id, set);
      timer = setTimeout(() => { set.delete(done); resolve(false); }, ms);
    });
  }

  /**
   * Waits for the exit while polling conmon's exit file: the fs.watch based
   * watcher can lag or miss events, and stop must not take longer than needed.
   */
  private async awaitExit(id: string, ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      const c = this.store.get(id);
      if (!c || !c.State.Running) return true;
      const code = readExitCode(this.paths.exitDir, id);
      if (code !== null) { await this.handleExit(id, code); return true; }
      if (await this.waitForExit(id, Math.min(100, deadline - Date.now()))) {
        const c2 = this.store.get(id);
        if (!c2 || !c2.State.Running) return true;
      }
    }
    return false;
  }

  /**
   * Stop: the stop signal, the grace period, then SIGKILL. The grace period
   * is waited out of the container's queue: a stop with a long timeout (or
   * -1) of a process that ignores its signal would otherwise hold every
   * other operation on the container (rename, pause, cp, start…) for as
   * long, where dockerd lets them go on.
   */
  async stop(nameOrId: string, timeout?: number, signal?: string): Promise<void> {
    const c = this.lookup(nameOrId);
    const graceMs = await this.serial(c.Id, () => this.signalStop(c.Id, timeout, signal));
    if (!(graceMs > 0 && await this.graceWait(c.Id, graceMs))) await this.serial(c.Id, () => this.killAfterGrace(c.Id));
    // dockerd's `stop` event, once the container is down (after its `kill` and `die`).
    this.events.emit('container', 'stop', c.Id, this.attributes(this.store.get(c.Id) ?? c));
  }

  /**
   * Whether the container exits within `ms`. All stops and restarts of one
   * container share one watch of its exit, so a client sending many
   * `stop -t -1` costs one poll, not one each.
   */
  private async graceWait(id: string, ms: number): Promise<boolean> {
    let exit = this.exitWatches.get(id);
    if (!exit) {
      exit = this.awaitExit(id, Number.MAX_SAFE_INTEGER).then(() => undefined).finally(() => this.exitWatches.delete(id));
      this.exitWatches.set(id, exit);
    }
    let timer: LongTimer | undefined;
    const timedOut = new Promise<false>((resolve) => { timer = setLongTimeout(() => resolve(false), ms); });
    try {
      return await Promise.race([exit.then(() => true as const), timedOut]);
    } finally {
      timer?.clear();
    }
  }

  /** The first half of a stop: the stop signal sent; the grace period's length in ms (0: kill at once). */
  private async signalStop(id: string, timeout?: number, signal?: string): Promise<number> {
    const c = this.store.get(id);
    if (!c) throw new NotFoundError(`No such container: ${id}`);
    const sigNum = signalNumber(signal || c.Config.StopSignal || 'SIGTERM');
    // A back-off is a run in dockerd's eyes: stopping it ends it, a 204 and no 304.
    if (this.cancelRestart(c)) return 0;
    if (!c.State.Running) throw new NotModifiedError('container already stopped');
    c.ManualStop = true;
    this.store.save(c);
    const t = timeout ?? c.Config.StopTimeout ?? 10;
    if (t === 0) return 0;
    await this.signal(c, sigNum).catch(() => undefined);
    if (c.State.Paused) await this.runtimes.get(c.Runtime).resume(id).catch(() => undefined);
    return t < 0 ? 365 * 86400_000 : t * 1000;
  }

  /** The second half: SIGKILL for a container still running after its grace period. */
  private async killAfterGrace(id: string): Promise<void> {
    const c = this.store.get(id);
    if (!c || !c.State.Running) return;
    await this.signal(c, 9, true).catch(() => undefined);
    if (c.State.Paused) await this.runtimes.get(c.Runtime).resume(id).catch(() => undefined);
    if (!(await this.awaitExit(id, 30_000))) throw new SystemError(`container ${id} did not exit after SIGKILL`);
  }

  /**
   * Sends `sig` to the container. Its init is signalled directly when it is
   * verifiably this container's process (its cgroup names the container) —
   * a runtime spawn saved on every stop and `rm -f`; with `all`, only for
   * SIGKILL in a private PID namespace, where the kernel takes every other
   * process down with init. Otherwise, and for paused containers, the
   * runtime's `kill` does it.
   */
  private async signal(c: ContainerRecord, sig: number, all = false): Promise<void> {
    const pid = c.State.Pid;
    const direct = pid > 0 && !c.State.Paused && (!all || (sig === 9 && c.HostConfig.PidMode !== 'host'));
    let sent = false;
    if (direct && inContainerCgroup(pid, c)) {
      try { process.kill(pid, sig); sent = true; } catch { /* gone meanwhile: let the runtime answer */ }
    }
    if (!sent) await this.runtimes.get(c.Runtime).kill(c.Id, sig, all);
    // dockerd's `kill` event for every signal sent (kill, stop, rm -f), with its number.
    this.events.emit('container', 'kill', c.Id, this.attributes(c, { signal: String(sig) }));
  }

  /** Ends a restart back-off (stop, restart, rm -f); whether there was one. */
  private cancelRestart(c: ContainerRecord): boolean {
    const t = this.restartTimers.get(c.Id);
    if (!t) return false;
    clearTimeout(t);
    this.restartTimers.delete(c.Id);
    c.State = { ...c.State, Restarting: false, Status: 'exited' };
    c.ManualStop = true;
    this.store.save(c);
    return true;
  }

  kill(nameOrId: string, signal: string | number = 'SIGKILL'): Promise<void> {
    const c = this.lookup(nameOrId);
    const sig = signalNumber(signal);
    // In the queue: a kill must come after a start under way, whose exit handling it would race.
    // A stop waiting out its grace period does not hold the queue (stop), so it never waits for one.
    return this.serial(c.Id, async () => {
      const cur = this.store.get(c.Id)!;
      // dockerd's errNotRunning (its router adds "cannot kill container: <name>: ", as api/containers.ts does).
      if (!cur.State.Running) throw new ConflictError(`container ${c.Id} is not running`);
      cur.ManualStop = true;
      this.store.save(cur);
      await this.signal(cur, sig, sig === 9);
      if (sig === 9) await this.awaitExit(c.Id, 10_000);
    });
  }

  /** A stop (its grace period waited out of the queue, as `stop`'s) and a start. */
  async restart(nameOrId: string, timeout?: number, signal?: string): Promise<void> {
    const c = this.lookup(nameOrId);
    const graceMs = await this.serial(c.Id, async () => {
      const cur = this.store.get(c.Id);
      if (!cur) throw new NotFoundError(`No such container: ${nameOrId}`);
      if (cur.State.Running) return this.signalStop(c.Id, timeout, signal);
      this.cancelRestart(cur);
      return -1;
    });
    if (graceMs > 0) await this.graceWait(c.Id, graceMs);
    await this.serial(c.Id, async () => {
      if (graceMs >= 0) await this.killAfterGrace(c.Id);
      const cur = this.store.get(c.Id);
      if (!cur) throw new NotFoundError(`No such container: ${nameOrId}`);
      if (graceMs >= 0) this.events.emit('container', 'stop', c.Id, this.attributes(cur));
      await this.startLocked(c.Id);
      this.events.emit('container', 'restart', c.Id, this.attributes(cur));
    });
  }

  pause(nameOrId: string): Promise<void> {
    const c = this.lookup(nameOrId);
    return this.serial(c.Id, async () => {
      const cur = this.store.get(c.Id)!;
      if (cur.State.Restarting) throw restartingError(c.Id);
      if (!cur.State.Running) throw new ConflictError(`container ${c.Id} is not running`);
      if (cur.State.Paused) throw new ConflictError(`Container ${c.Id} is already paused`);
      await this.pauseLocked(cur);
    });
  }

  private async pauseLocked(cur: ContainerRecord): Promise<void> {
    await this.runtimes.get(cur.Runtime).pause(cur.Id);
    cur.State = { ...cur.State, Paused: true, Status: 'paused' };
    this.store.save(cur);
    this.events.emit('container', 'pause', cur.Id, this.attributes(cur));
  }

  unpause(nameOrId: string): Promise<void> {
    const c = this.lookup(nameOrId);
    return this.serial(c.Id, async () => {
      const cur = this.store.get(c.Id)!;
      if (!cur.State.Paused) throw new ConflictError(`Container ${c.Id} is not paused`);
      await forgetCommitPause(this.paths, c.Id);
      await this.unpauseLocked(cur);
    });
  }

  private async unpauseLocked(cur: ContainerRecord): Promise<void> {
    await this.runtimes.get(cur.Runtime).resume(cur.Id);
    cur.State = { ...cur.State, Paused: false, Status: 'running' };
    this.store.save(cur);
    this.events.emit('container', 'unpause', cur.Id, this.attributes(cur));
  }

  /**
   * commit's pause (engine.commit), decided in the container's queue: only a
   * container running then is frozen. One that has ended since commit looked
   * it up — docker-py commits right after starting a `touch`, which may be
   * exiting — is committed as it is, as dockerd commits a stopped container
   * and pauses only a running one. Whether it froze the container.
   */
  pauseForCommit(id: string): Promise<boolean> {
    return this.serial(id, async () => {
      const cur = this.store.get(id);
      if (!cur || !cur.State.Running || cur.State.Paused) return false;
      try {
        await pauseForCommit(this.paths, id, () => this.pauseLocked(cur));
        return true;
      } catch (e) {
        // The process ended under the freeze (its exit not handled yet): nothing left to hold still.
        if (readExitCode(this.paths.exitDir, id) !== null) return false;
        const st = await this.runtimes.get(cur.Runtime).state(id).catch(() => null);
        if (!st || st.status === 'stopped') return false;
        throw e;
      }
    });
  }

  /**
   * Thaws what pauseForCommit froze, unless the user has unpaused it since
   * (their pause after that is theirs) or it was stopped meanwhile. A thaw
   * that fails is logged, not the commit's failure (its image exists), as
   * dockerd ignores it; the marker stays, so the next start-up resumes it.
   */
  resumeAfterCommit(id: string): Promise<void> {
    return this.serial(id, async () => {
      if (!(await isCommitPause(this.paths, id))) return;
      const cur = this.store.get(id);
      try {
        await unpauseAfterCommit(this.paths, id, async () => {
          if (cur?.State.Running && cur.State.Paused) await this.unpauseLocked(cur);
        });
      } catch (e) {
        console.error(`berthd: resuming container ${id.slice(0, 12)} after a commit: ${errorMessage(e)}`);
      }
    });
  }

  // ---------------------------------------------------------------- wait

  wait(nameOrId: string, condition: WaitCondition = 'not-running'): { ready: Promise<WaitResult> } {
    const c = this.lookup(nameOrId);
    const id = c.Id;
    const result = (code: number): WaitResult => ({ StatusCode: code, Error: null });
    if (condition === 'removed') {
      return {
        ready: new Promise((resolve) => {
          const set = this.removeWaiters.get(id) ?? new Set();
          set.add((code) => resolve(result(code)));
          this.removeWaiters.set(id, set);
        }),
      };
    }
    if (condition === 'not-running' && !c.State.Running && !c.State.Restarting) {
      return { ready: Promise.resolve(result(c.State.ExitCode)) };
    }
    return {
      ready: new Promise((resolve) => {
        const set = this.exitWaiters.get(id) ?? new Set();
        set.add((code) => resolve(result(code)));
        this.exitWaiters.set(id, set);
      }),
    };
  }

  // ---------------------------------------------------------------- remove

  remove(nameOrId: string, o: { force?: boolean; volumes?: boolean }): Promise<void> {
    const c = this.lookup(nameOrId);
    return this.serial(c.Id, () => this.removeLocked(c.Id, { ...o, as: nameOrId }));
  }

  /** `as`: the name the client gave, which dockerd's refusals quote. */
  private async removeLocked(id: string, o: { force?: boolean; volumes?: boolean; as?: string }): Promise<void> {
    const c = this.store.get(id);
    if (!c) return;
    // dockerd counts a container waiting out its restart back-off as running
    // (daemon/delete.go: "container is restarting: stop the container…").
    if ((c.State.Running || c.State.Restarting) && !o.force) {
      const why = c.State.Paused ? 'container is paused and must be unpaused first'
        : `container is ${c.State.Restarting ? 'restarting' : 'running'}: stop the container before removing or force remove`;
      throw new ConflictError(`cannot remove container "${o.as ?? c.Name}": ${why}`);
    }
    this.cancelRestart(c);
    if (c.State.Running) {
      c.ManualStop = true;
      const runtime = this.runtimes.get(c.Runtime);
      await this.signal(c, 9, true).catch(() => undefined);
      if (c.State.Paused) await runtime.resume(id).catch(() => undefined);
      await this.awaitExit(id, 30_000);
    }
    const trace = startTrace(`remove ${id.slice(0, 12)}`);
    c.State = { ...c.State, Status: 'removing' };
    // The intent outlives a crash: start-up redoes the removal, volumes included.
    if (o.volumes) c.RemoveVolumes = true;
    this.store.save(c);
    const runtime = this.runtimes.get(c.Runtime);
    // Usually the exit handler deleted it already; spawning the runtime again costs ~10 ms.
    if (runtime.hasState(id)) await runtime.delete(id, true).catch(() => undefined);
    await this.networks.tearDown(c).catch(() => undefined); // normally done at its exit already
    const cdir = this.paths.containerDir(id);
    await unmount(join(cdir, 'merged'));
    await releaseSubpaths(this.paths.execRoot, id); // a start or cp killed half way may have left a Subpath bound
    await rm(this.paths.bundleDir(id), { recursive: true, force: true });
    await removeContainerDir(cdir); // a layer nested past PATH_MAX too
    trace.step('files');
    // Volumes before the record: a crash in between leaves a 'removing' record that start-up finishes.
    if (c.RemoveVolumes) {
      for (const m of c.Mounts) {
        if (m.Type !== 'volume' || !m.Name) continue;
        const v = this.volumes.list().find((x) => x.Name === m.Name);
        if (v?.Anonymous) await this.volumes.remove(m.Name, true, id).catch(() => undefined);
      }
    }
    this.store.delete(id);
    this.hiddenEnv.delete(id);
    this.volatileRootfs.delete(id);
    this.events.emit('container', 'destroy', id, this.attributes(c));
    for (const w of this.removeWaiters.get(id) ?? []) w(c.State.ExitCode);
    this.removeWaiters.delete(id);
    for (const w of this.exitWaiters.get(id) ?? []) w(c.State.ExitCode);
    this.exitWaiters.delete(id);
    for (const h of this.pendingAttach.get(id) ?? []) h.end();
    this.pendingAttach.delete(id);
    trace.step('record');
    trace.end();
  }

  /**
   * `container prune`: removes every stopped container the filters let go;
   * what it reclaims is the size of their writable layers, measured before
   * each removal (daemon/prune.go). One that cannot be removed (started
   * meanwhile) is left and the rest still go, as dockerd does.
   */
  async prune(f: PruneFilters = { label: [], notLabel: [] }): Promise<{ ContainersDeleted: string[]; SpaceReclaimed: number }> {
    const deleted: string[] = [];
    let reclaimed = 0;
    for (const c of this.store.all()) {
      if (c.State.Running || c.State.Restarting || c.State.Paused) continue;
      // Another namespace's containers (the CRI's: kubelet keeps exited ones for their logs and restart counts) are not Docker's to prune.
      if (c.Config.Labels?.[NAMESPACE_LABEL] !== undefined) continue;
      if (!prunable(f, Date.parse(c.Created), c.Config.Labels)) continue;
      try {
        // As dockerd: a size that cannot be measured is no reason to keep the container.
        const size = await containerLayerSizes(this.paths, c, () => undefined).then((sz) => sz.SizeRw, (e) => {
          console.error(`berthd: measuring the writable layer of ${c.Id.slice(0, 12)}: ${errorMessage(e)}`);
          return 0;
        });
        await this.remove(c.Id, {});
        reclaimed += size;
        deleted.push(c.Id);
      } catch (e) {
        console.error(`berthd: pruning container ${c.Id.slice(0, 12)}: ${errorMessage(e)}`);
      }
    }
    this.events.emit('container', 'prune', '', { reclaimed: String(reclaimed) });
    return { ContainersDeleted: deleted, SpaceReclaimed: reclaimed };
  }

  // ---------------------------------------------------------------- update

  /**
   * `docker update` (engine/container-update.ts has the rules): merges new
   * limits and restart policy into the stored HostConfig, which the next
   * start uses; a running or paused container gets them at once. Nothing is
   * stored when the runtime refuses them.
   */
  update(nameOrId: string, req: UpdateRequest): Promise<{ Warnings: string[] }> {
    const c = this.lookup(nameOrId);
    checkUpdateRequest(req);
    return this.serial(c.Id, async () => {
      const cur = this.store.get(c.Id);
      if (!cur) throw new NotFoundError(`No such container: ${nameOrId}`);
      if (cur.State.Status === 'removing' || cur.State.Dead) {
        throw new ConflictError(`Cannot update container ${cur.Id}: container is marked for removal and cannot be "update"`);
      }
      const hostConfig = mergeUpdate(cur.Id, cur.HostConfig, req);
      const warnings = updateWarnings(cur.HostConfig, hostConfig);
      this.refuseLimits?.(hostConfig);
      if (cur.State.Running && !cur.State.Restarting) {
        await applyLive(this.runtimes.get(cur.Runtime), cur.Id, cur.HostConfig, hostConfig, join(this.paths.bundleDir(cur.Id), 'resources.json'));
      }
      cur.HostConfig = hostConfig;
      this.store.save(cur);
      this.events.emit('container', 'update', cur.Id, this.attributes(cur));
      return { Warnings: warnings };
    });
  }

  // ---------------------------------------------------------------- rename / resize / attach

  rename(nameOrId: string, newName: string): Promise<void> {
    const c = this.lookup(nameOrId);
    const name = normalizeName(newName);
    return this.serial(c.Id, async () => {
      const cur = this.store.get(c.Id)!;
      if (cur.Name === name) throw new InvalidParameterError(`Renaming a container with the same name as its current name`);
      const other = this.store.idByName(name) ?? this.reservedNames.get(name);
      // dockerd's rename wraps the name reservation's conflict.
      if (other) throw new ConflictError(`Error when allocating new name: ${nameConflict(name, other).message}`);
      const old = cur.Name;
      cur.Name = name;
      this.store.save(cur);
      this.renameInLinks(old, name);
      this.events.emit('container', 'rename', c.Id, this.attributes(cur, { oldName: `/${old}` }));
    });
  }

  /**
   * Links name both their ends (`/<child>:/<parent>/<alias>`); a rename
   * carries them along, as dockerd's link index follows the container.
   */
  private renameInLinks(oldName: string, newName: string): void {
    for (const c of this.store.all()) {
      let links;
      try { links = legacyLinks(c.Name, c.HostConfig); } catch { continue; } // a record's unreadable links are not this rename's
      if (!links.some((l) => l.child === oldName || c.Name === newName)) continue;
      c.HostConfig.Links = links.map((l) => formatLink(l.child === oldName ? newName : l.child, c.Name, l.alias));
      this.store.save(c);
    }
  }

  /**
   * `DELETE /containers/<parent>/<alias>?link=1` (dockerd's rmLink): the
   * parent forgets the link, and a running parent's /etc/hosts loses its
   * line (its environment keeps the variables until its next start). The
   * link name must name a container, as any name given to DELETE must.
   */
  removeLink(linkName: string): Promise<void> {
    this.lookup(linkName);
    const { parent: parentName, alias } = splitLinkName(linkName);
    const parentId = this.store.idByName(parentName);
    if (!parentId) throw new NotFoundError(`Cannot get parent /${parentName} for link name /${parentName}/${alias}`);
    return this.serial(parentId, async () => {
      const parent = this.store.get(parentId);
      if (!parent) return;
      const links = legacyLinks(parent.Name, parent.HostConfig);
      const kept = links.filter((l) => l.alias !== alias);
      if (kept.length === links.length) return;
      parent.HostConfig.Links = kept.length ? kept.map((l) => formatLink(l.child, parent.Name, l.alias)) : null;
      this.store.save(parent);
      if (!parent.State.Running) return;
      await removeHostsEntries(etcFilePaths(this.paths.containerDir(parent.Id)).hosts, [alias]).catch((e) => {
        console.error(`berthd: removing link ${alias} from /etc/hosts of ${parent.Id.slice(0, 12)}: ${errorMessage(e)}`);
      });
    });
  }

  async resize(nameOrId: string, rows: number, cols: number): Promise<void> {
    const c = this.lookup(nameOrId);
    if (!c.State.Running) throw new ConflictError(`container ${c.Id} is not running`);
    await resizeTerminal(this.paths.bundleDir(c.Id), rows, cols);
  }

  /** Has conmon reopen the container's log file, after a rotation by rename (the CRI's ReopenContainerLog). */
  async reopenLog(nameOrId: string): Promise<void> {
    const c = this.lookup(nameOrId);
    if (!c.State.Running || !(await reopenLog(this.paths.bundleDir(c.Id)))) throw new ConflictError(`Container ${c.Id} is not running`);
  }

  /**
   * Attaches to the container's stdio, as dockerd's attach to its stream
   * config: before start the handle waits for the start; once connected it
   * ends when the container's output does (its exit).
   */
  async attach(nameOrId: string, o: AttachOptions): Promise<AttachHandle> {
    const c = this.attachWithoutStream(nameOrId);
    const h = new AttachHandle({ ...o, stdin: o.stdin && !!c.Config.OpenStdin });
    if (!c.State.Running) {
      const set = this.pendingAttach.get(c.Id) ?? new Set();
      set.add(h);
      this.pendingAttach.set(c.Id, set);
      h.once('end', () => this.pendingAttach.get(c.Id)?.delete(h));
      return h;
    }
    try {
      h.connect(await attachContainer(this.paths.bundleDir(c.Id)));
    } catch (e) {
      // The container ended between the state check and the connect (its
      // attach socket went with conmon), its exit not yet handled: its output
      // is over, and the attach ends as dockerd's does when it handles that exit.
      if (this.store.get(c.Id)?.State.Running && readExitCode(this.paths.exitDir, c.Id) === null) throw e;
      h.end();
    }
    return h;
  }

  /** An attach without `stream` (logs only, or nothing): dockerd's checks and its event. */
  attachWithoutStream(nameOrId: string): ContainerRecord {
    const c = this.lookup(nameOrId);
    if (c.State.Paused) throw new ConflictError(`container ${nameOrId} is paused, unpause the container before attach`);
    if (c.State.Restarting) throw new ConflictError(`container ${nameOrId} is restarting, wait until the container is running`);
    this.events.emit('container', 'attach', c.Id, this.attributes(c));
    return c;
  }

  /** Connects the attaches waiting for this container's start; one whose connect fails has nothing to show and ends. */
  private async connectPendingAttach(id: string): Promise<void> {
    const waiting = this.pendingAttach.get(id);
    if (!waiting) return;
    this.pendingAttach.delete(id);
    for (const h of waiting) {
      try {
        h.connect(await attachContainer(this.paths.bundleDir(id)));
      } catch {
        h.end();
      }
    }
  }

  // ---------------------------------------------------------------- daemon life

  /**
   * Start-up reconciliation: conmon kept containers alive while berthd was
   * away. Exit files that appeared meanwhile become exits; a container whose
   * conmon is gone without an exit file is marked dead-exited (255). Those
   * its restart policy restarts — and the ones that were in a back-off, or
   * that ran before and stayed down though their policy restarts them — are
   * started at once, as dockerd's restore does (no back-off), children of
   * legacy links and containers whose network others share first
   * (start-order.ts).
   */
  async reconcile(): Promise<void> {
    const restarts: string[] = [];
    this.startUpRestarts = restarts;
    try {
      for (const c of this.store.all()) {
        if (c.State.Status === 'removing') { await this.removeLocked(c.Id, { force: true }).catch(() => undefined); continue; }
        if (c.State.Restarting) {
          c.State = { ...c.State, Restarting: false, Status: 'exited' };
          this.store.save(c);
          if (!c.ManualStop) restarts.push(c.Id);
          continue;
        }
        if (!c.State.Running) {
          if (restartsAtDaemonStart(c)) restarts.push(c.Id);
          continue;
        }
        const code = readExitCode(this.paths.exitDir, c.Id);
        if (code !== null) { await this.serial(c.Id, () => this.handleExit(c.Id, code)); continue; }
        const conmonPid = await readFile(join(this.paths.bundleDir(c.Id), 'conmon.pid'), 'utf8').then(Number).catch(() => 0);
        if (conmonPid > 0 && pidAlive(conmonPid)) continue;
        await this.serial(c.Id, () => this.handleExit(c.Id, 255));
      }
    } finally {
      this.startUpRestarts = undefined;
    }
    void startInDependencyOrder(restarts, (id) => this.startDependencies(id), (id) => this.serial(id, () => this.startLocked(id))
      .catch((e) => console.error(`berthd: restarting ${id}: ${errorMessage(e)}`)));
  }

  /** The containers that must run before `id` can start: its legacy links' children, the owner of a shared network. */
  private startDependencies(id: string): string[] {
    const c = this.store.get(id);
    if (!c) return [];
    const out: string[] = [];
    try {
      for (const l of legacyLinks(c.Name, c.HostConfig)) {
        const child = this.store.idByName(l.child);
        if (child) out.push(child);
      }
    } catch { /* a record's unreadable links start nothing first */ }
    const mode = c.HostConfig.NetworkMode;
    if (typeof mode === 'string' && mode.startsWith('container:')) {
      try { out.push(this.lookup(mode.slice('container:'.length)).Id); } catch { /* its start will say so */ }
    }
    return out;
  }

  /** Daemon shutdown: containers keep running under conmon; only timers stop. */
  shutdown(): void {
    this.shuttingDown = true;
    for (const t of this.restartTimers.values()) clearTimeout(t);
    this.restartTimers.clear();
  }

  /** Runs `fn` on the container's record with its operation queue held (network connect/disconnect). */
  exclusive<T>(nameOrId: string, fn: (c: ContainerRecord) => Promise<T>): Promise<T> {
    const c = this.lookup(nameOrId);
    return this.serial(c.Id, async () => {
      const cur = this.store.get(c.Id);
      if (!cur) throw new NotFoundError(`No such container: ${nameOrId}`);
      return fn(cur);
    });
  }

  /** Mounts the rootfs for a file operation on a container that is not running; returns a release function. */
  async withRootfs<T>(nameOrId: string, fn: (rootfs: string, c: ContainerRecord) => Promise<T>): Promise<T> {
    const c = this.lookup(nameOrId);
    return this.serial(c.Id, async () => {
      const wasMounted = await isMounted(join(this.paths.containerDir(c.Id), 'merged'));
      const rootfs = await this.rootfsMount(c);
      try {
        return await fn(rootfs, c);
      } finally {
        const cur = this.store.get(c.Id);
        if (!wasMounted && !(cur?.State.Running)) await unmount(rootfs).catch(() => undefined);
      }
    });
  }
}

/** Whether process `pid` lives in container `c`'s own cgroup (runtime/cgroup-path.ts), v1 or v2. */
function inContainerCgroup(pid: number, c: ContainerRecord): boolean {
  try {
    return inCgroup(readFileSync(`/proc/${pid}/cgroup`, 'utf8'), cgroupOfContainer(c));
  } catch {
    return false;
  }
}

/** dockerd's refusal of what needs a live process (pause, top, exec) during a restart back-off. */
export function restartingError(id: string): ConflictError {
  return new ConflictError(`Container ${id} is restarting, wait until the container is running`);
}

function nameConflict(name: string, id: string): ConflictError {
  return new ConflictError(`Conflict. The container name "/${name}" is already in use by container "${id}". You have to remove (or rename) that container to be able to reuse that name.`);
}

function pidAlive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch (e) { return (e as NodeJS.ErrnoException).code === 'EPERM'; }
}

/**
 * The process environment of a container with legacy links: the links'
 * variables, then the container's own Env, which overrides any of them by
 * name (dockerd's ReplaceOrAppendEnvValues over CreateDaemonEnvironment).
 */
function withLinkEnv(linkVars: string[], own: string[]): string[] {
  if (!linkVars.length) return [...own];
  const ownKeys = new Set(own.map((e) => e.split('=')[0]));
  return [...linkVars.filter((e) => !ownKeys.has(e.split('=')[0])), ...own];
}
