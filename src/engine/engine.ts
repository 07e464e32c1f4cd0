/**
 * The engine: one object that owns the stores and the services the API
 * serves. The daemon builds it here, explicitly, in one place.
 */
import type { HostPortForwarder } from '../network/ports.js';
import { refuseUndelegatedLimits } from '../rootless/resource-limits.js';
import { mkdir, rm } from 'node:fs/promises';
import { openDb, type Db } from '../store/db.js';
import { DataPaths } from '../store/paths.js';
import { LayerStore } from '../store/layer-store.js';
import { ContentStore } from '../store/content-store.js';
import { ImageStore } from '../store/image-store.js';
import { ContainerStore } from '../store/container-store.js';
import { VolumeStore } from '../store/volume-store.js';
import { EventBus } from './events.js';
import { ImageService } from './images.js';
import { VolumeService } from './volumes.js';
import { ContainerService, type RuntimeRegistry } from './containers.js';
import { ContainerArchive } from './container-archive.js';
import { LogRotations } from './log-rotation.js';
import { ExecService } from './exec.js';
import { HealthMonitor } from './health.js';
import { BuildService, BUILD_CONTAINER_LABEL } from './build.js';
import { clearSubpathBinds, deleteIdleNetns, removeBuildContainers, removeOrphanContainerDirs, stopUnrecordedRuns, unmountIdleRootfs } from './reconcile.js';
import { Distribution } from './distribution.js';
import { findRuntime, OciRuntime } from '../runtime/oci-runtime.js';

function runtimeInstalled(name: string): boolean {
  try { findRuntime(name); return true; } catch { return false; }
}
import { prepareCgroupsForCrun } from '../runtime/cgroup-setup.js';
import { watchExits } from '../runtime/exit-watcher.js';
import { InvalidParameterError } from '../errors.js';
import { commitContainer, defaultsFromContainer } from './commit.js';
import { undoCommitPauses } from './commit-pause.js';
import type { ImageRecord } from '../store/image-store.js';
import type { ContainerRecord } from '../store/container-store.js';
import type { ContainerDefaults } from '../image/config.js';
import { NetworkStore } from '../store/network-store.js';
import { Netavark, sweepReleaseNetns } from '../network/netavark.js';
import { Sandboxes } from '../network/sandbox.js';
import { DEFAULT_NETWORK_SETTINGS, NetworkService, type NetworkDefaults } from './networks.js';
import { FaultService } from './faults.js';
import { faultTarget } from './pods.js';
import { EndpointService } from './endpoints.js';
import { UsernsRemap, sweepUsernsFiles, unremapRoots } from './userns-remap.js';
import { RemappedLayers } from '../store/remapped-layers.js';
import type { RemapIdentity } from '../runtime/remap-user.js';

export interface EngineOptions {
  dataRoot: string;
  execRoot: string;
  /** runc or crun; empty: crun where it works, else runc. */
  defaultRuntime: string;
  /** Registries reached over plain HTTP or unverified TLS (`--insecure-registry`). */
  insecureRegistries?: string[];
  /** The default bridge and the address pools (`--bridge`, `--bip`, `--default-address-pool`). */
  network?: Partial<NetworkDefaults>;
  /** `--userns-remap`, resolved (runtime/remap-user.ts): containers get a user namespace of these maps. */
  usernsRemap?: RemapIdentity;
  /**
   * Rootless berthd (src/rootless/): host ports are forwarded into this
   * daemon's network namespace by `hostPorts`; without `cgroupsDelegated`
   * containers get no cgroups, and resource limits are refused.
   */
  rootless?: { hostPorts: HostPortForwarder; cgroupsDelegated: boolean };
}

export class Engine {
  readonly paths: DataPaths;
  readonly db: Db;
  readonly events = new EventBus();
  readonly layers: LayerStore;
  readonly content: ContentStore;
  readonly images: ImageService;
  readonly volumes: VolumeService;
  readonly containers: ContainerService;
  /** cp and export: a container's files through its own view. */
  readonly containerArchive: ContainerArchive;
  readonly networks: NetworkService;
  readonly endpoints: EndpointService;
  readonly faults: FaultService;
  readonly exec: ExecService;
  readonly health: HealthMonitor;
  readonly builds: BuildService;
  readonly distribution: Distribution;
  readonly runtimes: RuntimeRegistry;
  /** `max-file` log rotation of running containers. */
  readonly logRotations: LogRotations;
  readonly startedAt = new Date();
  private exitWatch: { close(): void } | null = null;

  /** `--userns-remap` in effect, or undefined. */
  readonly remap: UsernsRemap | undefined;

  private constructor(readonly options: EngineOptions, remap?: UsernsRemap) {
    this.remap = remap;
    this.paths = new DataPaths(options.dataRoot, options.execRoot);
    this.db = openDb(this.paths.db);
    this.content = new ContentStore(this.paths);
    this.layers = new LayerStore(this.db, this.paths, this.content);
    const imageStore = new ImageStore(this.db);
    const containerStore = new ContainerStore(this.db);
    const volumeStore = new VolumeStore(this.db);
    const cache = new Map<string, OciRuntime>();
    const paths = this.paths;
    this.runtimes = {
      defaultName: options.defaultRuntime,
      get(name: string): OciRuntime {
        let r = cache.get(name);
        if (!r) {
          if (name !== 'runc' && name !== 'crun') throw new InvalidParameterError(`unknown or invalid runtime name: ${name}`);
          r = new OciRuntime(name, findRuntime(name).path, paths.runtimeState(name), { noCgroups: options.rootless && !options.rootless.cgroupsDelegated });
          cache.set(name, r);
        }
        return r;
      },
    };
    this.images = new ImageService(imageStore, this.layers, containerStore, this.paths, this.events);
    this.volumes = new VolumeService(volumeStore, containerStore, this.paths, this.events);
    if (remap) {
      this.volumes.dataOwner = remap.root;
      remap.copies = new RemappedLayers(this.layers, this.paths);
    }
    const sandboxes = new Sandboxes(this.paths.sandboxes);
    this.networks = new NetworkService(new NetworkStore(this.db), containerStore, sandboxes, this.events, { ...DEFAULT_NETWORK_SETTINGS, ...options.network });
    this.endpoints = new EndpointService(
      this.networks, sandboxes, new Netavark(this.paths.netavarkConfig), containerStore, this.paths, this.events, () => this.containers,
    );
    this.containers = new ContainerService(containerStore, this.images, this.volumes, this.paths, this.events, this.runtimes, this.endpoints, remap);
    this.containerArchive = new ContainerArchive(this.containers, this.images, this.paths);
    // Faults act on network namespaces: a pod, or a pod's member, names its infra container (pods.ts).
    const podRecords = { lookup: (ref: string) => this.containers.lookup(ref), all: () => containerStore.all() };
    this.faults = new FaultService(() => ({
      lookup: (ref) => faultTarget(ref, podRecords), exclusive: (ref, fn) => this.containers.exclusive(faultTarget(ref, podRecords).Id, fn), all: () => containerStore.all(),
    }), sandboxes, this.paths.faults);
    this.exec = new ExecService(this.containers, this.paths, this.runtimes, this.events);
    this.logRotations = new LogRotations((id) => containerStore.get(id), this.paths);
    this.health = new HealthMonitor(this.containers, this.exec, this.events);
    this.distribution = new Distribution(this.images, this.content, options.insecureRegistries ?? []);
    this.builds = new BuildService(this.db, this.paths, this.layers, this.images, this.containers, this.distribution, this.events);
  }

  /** Opens the data root, cleans what a crash left half-done, and reconciles containers. */
  static async open(options: EngineOptions): Promise<Engine> {
    const paths = new DataPaths(options.dataRoot, options.execRoot);
    for (const d of [paths.dataRoot, paths.layers, paths.containers, paths.volumes, paths.execRoot, paths.exitDir]) {
      await mkdir(d, { recursive: true, mode: 0o710 });
    }
    await rm(paths.tmp, { recursive: true, force: true });
    await mkdir(paths.tmp, { recursive: true });
    // crun 1.8 refuses a hybrid cgroup layout with controllers on v2; fix it once for any
    // container that may ask for --runtime crun (harmless for runc).
    const crunUsable = await prepareCgroupsForCrun().then(() => true, (e) => {
      if (options.defaultRuntime === 'crun') throw e;
      return false;
    });
    // crun starts a container in about half runc's time; it is the default wherever it works.
    options = { ...options, defaultRuntime: options.defaultRuntime || (crunUsable && runtimeInstalled('crun') ? 'crun' : 'runc') };
    // Before anything mounts: the roots' ownership, and whether layers can be idmapped.
    const remap = options.usernsRemap ? await UsernsRemap.open(options.usernsRemap, paths) : undefined;
    if (!remap) await unremapRoots(paths);
    const engine = new Engine(options, remap);
    if (options.rootless) {
      engine.endpoints.ports.forwardFromHost(options.rootless.hostPorts);
      if (!options.rootless.cgroupsDelegated) engine.containers.refuseLimits = refuseUndelegatedLimits;
    }
    engine.runtimes.get(options.defaultRuntime);
    await engine.layers.sweepOrphans();
    await clearSubpathBinds(paths); // before containers.reconcile() can queue a start that binds there
    engine.networks.ensurePredefined();
    await sweepReleaseNetns();
    await engine.endpoints.init();
    engine.exitWatch = watchExits(paths.exitDir, (id, code) => engine.containers.onExit(id, code));
    await engine.containers.reconcile();
    await undoCommitPauses(paths, {
      all: () => engine.containers.store.all(), unpause: (id) => engine.containers.unpause(id), runtime: (c) => engine.runtimes.get(c.Runtime),
    });
    await engine.reconcileLeftovers();
    await engine.builds.secrets.sweep();
    engine.faults.sweep();
    for (const c of engine.containers.store.all()) if (c.State.Running) engine.health.begin(c.Id);
    engine.logRotations.follow(engine.events);
    for (const c of engine.containers.store.all()) if (c.State.Running) await engine.logRotations.arm(c.Id);
    engine.events.subscribe((e) => {
      if (e.Type === 'container' && (e.Action === 'die' || e.Action === 'destroy')) {
        engine.exec.forgetContainer(e.Actor.ID);
        engine.faults.forget(e.Actor.ID);
      }
    });
    return engine;
  }

  /**
   * What a crash cut off half way (engine/reconcile.ts), once the records
   * agree with conmon's exit files; namespaces go after the sandboxes'
   * teardown, which still needs them.
   */
  private async reconcileLeftovers(): Promise<void> {
    const ctx = {
      store: this.containers.store, paths: this.paths, runtimes: this.runtimes,
      exclusive: (id: string, fn: (c: ContainerRecord) => Promise<void>) => this.containers.exclusive(id, fn),
    };
    await stopUnrecordedRuns(ctx);
    await unmountIdleRootfs(ctx);
    await removeOrphanContainerDirs(ctx);
    await removeBuildContainers(this.containers.store, BUILD_CONTAINER_LABEL, (id) => this.containers.remove(id, { force: true, volumes: true }));
    await this.endpoints.reconcile();
    await deleteIdleNetns(ctx);
    await sweepUsernsFiles(this.paths, (id) => !!this.containers.store.get(id)?.State.Running);
  }

  /**
   * POST /commit: pauses a running container (unless told not to) while its
   * upper dir is read, so the layer is a consistent snapshot.
   */
  async commit(nameOrId: string, o: { repo?: string; tag?: string; author?: string; comment?: string; changes?: string[]; pause?: boolean; config?: ContainerDefaults }): Promise<ImageRecord> {
    const c = this.containers.lookup(nameOrId);
    const target = o.repo ? this.images.tagTarget(o.repo, o.tag) : undefined;
    // Only a container still running when its turn comes is paused; the pause is marked as
    // commit's own, so a berthd that dies meanwhile undoes it at its next start (commit-pause.ts).
    const paused = o.pause !== false && c.State.Running && !c.State.Paused && await this.containers.pauseForCommit(c.Id);
    let img: ImageRecord;
    try {
      img = await commitContainer(this.images, this.paths, c, {
        config: o.config ? { ...defaultsFromContainer(c), ...o.config } : undefined,
        changes: o.changes, author: o.author, comment: o.comment, tag: target, idMap: this.containers.idMapOf(c),
      });
    } finally {
      if (paused) await this.containers.resumeAfterCommit(c.Id);
    }
    this.events.emit('container', 'commit', c.Id, { name: c.Name, image: c.ImageRef, imageID: img.id });
    return img;
  }

  async close(): Promise<void> {
    this.containers.shutdown();
    this.health.close();
    await this.logRotations.closeAll();
    this.exitWatch?.close();
    await this.endpoints.close();
    // Builds are over (the API is closed): their secrets tmpfs goes.
    await this.builds.secrets.sweep().catch(() => undefined);
    this.db.close();
  }
}
