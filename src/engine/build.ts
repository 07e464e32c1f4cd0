/**
 * The build service: `POST /build` and `POST /build/prune`. It turns a
 * request into a prepared build (context unpacked under the data root's
 * tmp/, .dockerignore applied, Dockerfile parsed, options checked), runs
 * the classic builder (build/builder.ts) against the engine's stores and
 * containers, and owns the build cache table.
 *
 * What the builder gets from here (build/backend.ts):
 * - RUN: a container created through ContainerService from the step's
 *   image with the step's command, env, user and workdir, its stdout and
 *   stderr attached and streamed, started, waited for; on success its upper
 *   dir becomes a layer (`diffUpperDir` → `LayerStore.importLayer`); then it
 *   is removed with its anonymous volumes — on failure and cancellation too;
 * - images stored with their local parent (the previous step), tags, and
 *   the undo of a failed build.
 *
 * Options berth does not implement are refused (NotImplementedError), never
 * ignored: `squash`, `isolation`, `outputs`, BuildKit (`version=2`),
 * foreign platforms. `cgroupparent` is every RUN container's
 * HostConfig.CgroupParent (checked here, as a create would check it). `networkmode` `default` is the default
 * bridge, as in dockerd's classic builder; `none`, `host` and user-defined
 * networks are honoured. `extrahosts` go into every RUN container's
 * /etc/hosts (and are checked by its create, as dockerd's are); `cachefrom`
 * names the images whose chains give cache hits (build/cache-from.ts).
 */
import type { Trace } from '../trace.js';
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, rm, rmdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { setImmediate, setTimeout as sleep } from 'node:timers/promises';
import { InvalidParameterError, NotFoundError, NotImplementedError, errorMessage } from '../errors.js';
import { cgroupParentPath } from '../runtime/cgroup-path.js';
import { diffUpperDir } from '../image/layer-diff.js';
import { checkNameLength, familiarString, formatReference, looksLikeId, parseReference, withDefaultTag } from '../image/reference.js';
import type { Db } from '../store/db.js';
import { imageIdOf, type ImageRecord } from '../store/image-store.js';
import type { Lease, LayerStore } from '../store/layer-store.js';
import type { DataPaths } from '../store/paths.js';
import { CacheMountDirs } from '../build/cache-mounts.js';
import { BuildSecretsDir } from './build-secrets.js';
import { buildCacheUsage, cacheMountRecordId, cacheRecordId, type BuildCacheRecord } from './build-cache-usage.js';
import { isMounted, mountOverlay, syncFileSystem, unmount } from '../store/mounts.js';
import { UpperDirRemainder } from '../image/upper-remainder.js';
import { startTrace } from '../trace.js';
import { BuildCacheStore } from '../store/build-cache.js';
import { listenAgentSocket } from '../build/ssh-mounts.js';
import type { BuildBackend, BuildOutput, RunHooks, RunNetwork, RunOutcome, RunSpec } from '../build/backend.js';
import type { BuildRequest, BuildResult } from '../build/builder.js';
import type { ContextSource } from '../build/context.js';
import type { Dockerfile } from '../build/parser/index.js';
import type { ContainerService } from './containers.js';
import type { EventBus } from './events.js';
import type { ImageService } from './images.js';
import type { AuthConfig, Distribution } from './distribution.js';

/** The classic builder's modules, loaded by the first build (build/classic.ts says why). */
let classicBuilderModule: Promise<typeof import('../build/classic.js')> | undefined;
const classicBuilder = () => (classicBuilderModule ??= import('../build/classic.js'));

/** `POST /build` parameters, decoded from the query (api/build.ts). */
export interface BuildParams {
  dockerfile: string;
  tags: string[];
  /** `buildargs`: null values mean "not given". */
  buildArgs: Record<string, string | null>;
  labels: Record<string, string>;
  noCache: boolean;
  pull: boolean;
  target: string;
  quiet: boolean;
  /** `rm=0`: berth removes intermediate containers anyway (warned about). */
  rm: boolean;
  networkMode: string;
  platform: string;
  remote: string;
  /** `cachefrom`: images whose chains may give cache hits (an empty list: the local cache as usual). */
  cacheFrom: string[];
  /** `extrahosts` (repeated): `host:ip` lines for RUN containers' /etc/hosts. */
  extraHosts: string[];
  squash: boolean;
  cgroupParent: string;
  isolation: string;
  version: string;
  outputs: string;
  /** HostConfig fields for RUN containers: Memory, MemorySwap, CpuShares, CpusetCpus, CpusetMems, CpuPeriod, CpuQuota, ShmSize, Ulimits. */
  resources: Record<string, unknown>;
  /** `X-Registry-Config`: credentials by registry, for pulling base images. */
  authConfigs: Record<string, AuthConfig>;
  /** The Dockerfile's name in messages (`Dockerfile:3: …`) when `dockerfile` is a stand-in (the BuildKit frontend's copy). */
  dockerfileName?: string;
  /**
   * The Dockerfile itself when it does not travel in the context: a BuildKit
   * client sends it apart, and sends a context it has already filtered with
   * the ignore patterns, so none is read from the context or applied again.
   */
  dockerfileText?: string;
  /** Credentials for a registry `authConfigs` has none for (a BuildKit client's session: what `docker login` stored). */
  credentials?: (domain: string, signal: AbortSignal) => Promise<AuthConfig | undefined>;
}

/** A build whose context is on disk and whose Dockerfile parsed. */
export interface PreparedBuild {
  dir: string;
  contextDir: string;
  dockerfile: Dockerfile;
  params: BuildParams;
  tags: { ref: string; display: string }[];
  buildArgs: Map<string, string>;
  sourceDateEpoch?: number;
  network: RunNetwork;
  warnings: string[];
}

export interface PruneOptions {
  /** Only entries not used for this long (ms). */
  unusedForMs?: number;
}

/**
 * Label on RUN containers: the value names the berthd process that made
 * them, so a container a crashed daemon left behind is recognised (and
 * removed) by the next build.
 */
export const BUILD_CONTAINER_LABEL = 'io.berth.build.container';

export class BuildService {
  readonly cache: BuildCacheStore;
  /** Directories of `RUN --mount=type=cache`, kept across builds. */
  readonly cacheMounts: CacheMountDirs;
  /** RUN --mount=type=secret files, on a tmpfs of their own. */
  readonly secrets: BuildSecretsDir;
  /** This daemon's run: RUN containers are labelled with it. */
  private readonly session = randomBytes(8).toString('hex');

  constructor(
    db: Db,
    private readonly paths: DataPaths,
    private readonly layers: LayerStore,
    private readonly images: ImageService,
    private readonly containers: ContainerService,
    private readonly distribution: Distribution,
    private readonly events: EventBus,
  ) {
    this.cache = new BuildCacheStore(db);
    this.cacheMounts = new CacheMountDirs(join(paths.dataRoot, 'build-cache'));
    this.secrets = new BuildSecretsDir(join(paths.execRoot, 'build-secrets'));
  }

  /**
   * Checks the options, unpacks the context and parses the Dockerfile.
   * Everything that can be refused is refused here, before a byte of the
   * response stream is written (so it is an HTTP error). `dispose` removes
   * what this left on disk.
   */
  async prepare(params: BuildParams, body: ContextSource | null): Promise<PreparedBuild> {
    const { applyChecks, applyDockerignore, checkPlatform, checkSyntax, cloneGitContext, fetchRemoteContext, isGitUrl, parseDockerfile, readDockerfile, readIgnoreFile, unpackContext } = await classicBuilder();
    if (params.version === '2') throw new NotImplementedError('BuildKit (version=2) is not supported: berth implements the classic builder (DOCKER_BUILDKIT=0)');
    if (params.squash) throw new NotImplementedError('--squash is not supported');
    // Refused before the response stream starts, in the words a `run --cgroup-parent` gets.
    cgroupParentPath(params.cgroupParent);
    if (params.isolation && params.isolation !== 'default') throw new NotImplementedError(`--isolation=${params.isolation} is not supported on Linux`);
    if (params.outputs) throw new NotImplementedError('--output needs BuildKit; berth implements the classic builder');
    if (params.platform) checkPlatform(params.platform, '--platform');
    // Like the classic builder, RUN is on the default bridge unless told otherwise.
    let network: RunNetwork;
    switch (params.networkMode) {
      case '': case 'default': case 'bridge': network = 'bridge'; break;
      case 'none': network = 'none'; break;
      case 'host': network = 'host'; break;
      default:
        if (params.networkMode.startsWith('container:')) throw new NotImplementedError('--network container:<name> is not supported for builds');
        network = params.networkMode; // a user-defined network: RUN's container create checks that it exists
    }
    const tags = params.tags.filter((t) => t !== '').map((t) => {
      let ref;
      try {
        ref = withDefaultTag(checkNameLength(parseReference(t)));
      } catch (e) {
        throw new InvalidParameterError(`invalid tag ${JSON.stringify(t)}: ${errorMessage(e)}`);
      }
      if (ref.digest) throw new InvalidParameterError(`invalid tag ${JSON.stringify(t)}: a tag cannot contain a digest`);
      return { ref: formatReference(ref), display: familiarString(ref) };
    });
    const buildArgs = new Map<string, string>();
    for (const [k, v] of Object.entries(params.buildArgs)) if (v !== null && v !== undefined) buildArgs.set(k, String(v));
    const frontendArgs = takeFrontendArgs(buildArgs);
    let sourceDateEpoch: number | undefined;
    const sde = buildArgs.get('SOURCE_DATE_EPOCH');
    if (sde !== undefined && sde !== '') {
      if (!/^\d+$/.test(sde)) throw new InvalidParameterError(`invalid SOURCE_DATE_EPOCH ${JSON.stringify(sde)}: expected whole seconds since 1970`);
      sourceDateEpoch = Number(sde);
    }
    const warnings: string[] = [];
    if (!params.rm) warnings.push('[Warning] berth always removes intermediate containers: --rm=false is ignored\n');

    const dir = join(this.paths.tmp, `build-${randomBytes(8).toString('hex')}`);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    try {
      let contextDir = join(dir, 'context');
      await mkdir(contextDir, { mode: 0o755 });
      if (params.remote) {
        if (isGitUrl(params.remote)) {
          contextDir = await cloneGitContext(params.remote, join(dir, 'git'));
        } else if (/^https?:\/\//.test(params.remote)) {
          await fetchRemoteContext(params.remote, contextDir, params.dockerfile || 'Dockerfile');
        } else {
          throw new InvalidParameterError(`remote=${params.remote}: only Git URLs and http(s) URLs are supported`);
        }
      } else if (body) {
        await unpackContext(body, contextDir);
      }
      const given = params.dockerfileText;
      const df = given !== undefined ? { text: given, path: params.dockerfile || 'Dockerfile' } : await readDockerfile(contextDir, params.dockerfile || 'Dockerfile');
      const dockerfile = parseDockerfile(df.text, { file: params.dockerfileName ?? df.path });
      checkSyntax(dockerfile, frontendArgs.syntax);
      for (const w of applyChecks(dockerfile, frontendArgs.check)) warnings.push(`[Warning] ${w}\n`);
      if (given === undefined) await applyDockerignore(contextDir, await readIgnoreFile(contextDir, df.path));
      return { dir, contextDir, dockerfile, params, tags, buildArgs, ...(sourceDateEpoch !== undefined ? { sourceDateEpoch } : {}), network, warnings };
    } catch (e) {
      // Lets go of the upload: the rest of the body is dropped, so a refusal reaches a client still sending.
      if (body && 'destroy' in body) body.destroy();
      await rm(dir, { recursive: true, force: true });
      throw e;
    }
  }

  /** Runs a prepared build, writing the classic builder's stream to `out`. */
  async run(p: PreparedBuild, out: BuildOutput, signal: AbortSignal, trace?: Trace, extra: Pick<BuildRequest, 'secrets' | 'cacheImport' | 'ssh'> = {}): Promise<BuildResult> {
    if (!p.params.quiet) for (const w of p.warnings) out.stream(w);
    await this.removeLeftoverContainers();
    // Layers a build imported are not garbage until its images reference them.
    const lease = this.layers.lease();
    const backend = this.backend(p, lease, signal);
    const { Builder } = await classicBuilder();
    const builder = new Builder(backend, out, {
      ...(p.params.cacheFrom.length ? { cacheFrom: this.cacheSources(p.params.cacheFrom) } : {}),
      extraHosts: p.params.extraHosts,
      dockerfile: p.dockerfile, contextDir: p.contextDir, tags: p.tags, buildArgs: p.buildArgs, labels: p.params.labels,
      noCache: p.params.noCache, pull: p.params.pull, ...(p.params.target ? { target: p.params.target } : {}),
      quiet: p.params.quiet, network: p.network,
      resources: p.params.cgroupParent ? { ...p.params.resources, CgroupParent: p.params.cgroupParent } : p.params.resources,
      ...(p.sourceDateEpoch !== undefined ? { sourceDateEpoch: p.sourceDateEpoch } : {}), signal, trace,
      ...(extra.secrets ? { secrets: extra.secrets } : {}),
      ...(extra.cacheImport ? { cacheImport: extra.cacheImport } : {}),
      ...(extra.ssh ? { ssh: extra.ssh } : {}),
    });
    try {
      return await builder.run();
    } catch (e) {
      // The images of a failed build are gone; now their layers may go too.
      lease.release();
      await this.layers.collectGarbage().catch(() => undefined);
      throw e;
    } finally {
      lease.release();
    }
  }

  /**
   * The `cachefrom` images that exist here. Like dockerd (MakeImageCache), a
   * name that finds no image is skipped; one that is not a valid reference
   * fails the build.
   */
  private cacheSources(names: readonly string[]): ImageRecord[] {
    const out: ImageRecord[] = [];
    for (const name of names) {
      const img = this.images.tryResolve(name);
      if (img && !out.some((i) => i.id === img.id)) out.push(img);
    }
    return out;
  }

  async dispose(p: PreparedBuild): Promise<void> {
    await rm(p.dir, { recursive: true, force: true });
  }

  /** The build cache's records, as `system df`, `buildx du` and prune count them (build-cache-usage.ts). */
  usage(): Promise<BuildCacheRecord[]> {
    return buildCacheUsage({ cache: this.cache, cacheMounts: this.cacheMounts, images: this.images.store, containers: this.containers.store, layers: this.layers });
  }

  /**
   * `builder prune`: deletes cache entries, then the images only the cache
   * kept (no tag, no container, no child image), then their layers.
   */
  async prune(o: PruneOptions = {}): Promise<{ CachesDeleted: string[]; SpaceReclaimed: number }> {
    const now = Date.now();
    const all = this.cache.all();
    const doomed = all.filter((e) => o.unusedForMs === undefined || e.lastUsed < now - o.unusedForMs);
    this.cache.deleteMany(doomed.map((e) => e.key));
    const stillCached = new Set(this.cache.all().map((e) => e.imageId));
    const candidates = new Set(doomed.map((e) => e.imageId).filter((id) => !stillCached.has(id)));
    this.removeUnusedImages(candidates);
    const freed = await this.layers.collectGarbage({ measure: true });
    // RUN --mount=type=cache directories not in use go too, as BuildKit prunes its exec.cachemount records.
    const mounts = await this.cacheMounts.prune(o.unusedForMs);
    return {
      CachesDeleted: [...doomed.map((e) => cacheRecordId(e.key)), ...mounts.map((m) => cacheMountRecordId(m.hash))],
      SpaceReclaimed: freed + mounts.reduce((n, m) => n + m.size, 0),
    };
  }

  /** Deletes the images in `ids` that nothing references, children first, until nothing more goes. */
  private removeUnusedImages(ids: Set<string>): string[] {
    const gone: string[] = [];
    for (let progress = true; progress;) {
      progress = false;
      for (const id of ids) {
        if (!this.images.store.get(id)) { ids.delete(id); continue; }
        if (this.images.store.tagsOf(id).length) continue;
        if (this.containers.store.usesImage(id).length) continue;
        if (this.images.store.children(id).length) continue;
        this.images.store.delete(id);
        this.cache.deleteByImage(id);
        this.events.emit('image', 'delete', id, {});
        ids.delete(id);
        gone.push(id);
        progress = true;
      }
    }
    return gone;
  }

  private backend(p: PreparedBuild, lease: Lease, signal: AbortSignal): BuildBackend {
    const images = this.images;
    const layers = this.layers;
    return {
      tmpDir: p.dir,
      cache: this.cache,
      resolveImage: async (ref, pull, progress) => {
        const local = images.tryResolve(ref);
        if (local && !pull) return local;
        if (looksLikeId(ref) || ref.startsWith('sha256:')) {
          if (local) return local;
          throw new NotFoundError(`No such image: ${ref}`);
        }
        try {
          const auth = authFor(p.params.authConfigs, ref) ?? await p.params.credentials?.(parseReference(ref).domain, signal);
          await this.distribution.pull(ref, { auth, progress, signal });
        } catch (e) {
          throw new NotFoundError(`pull access denied or image not available for ${ref}: ${errorMessage(e)}`, { cause: e });
        }
        return images.resolve(ref);
      },
      image: (id) => images.store.get(id),
      lowerDirs: (top) => layers.lowerDirs(top),
      chainSize: (top) => layers.chain(top).reduce((n, l) => n + l.size, 0),
      layerAt: (top, count) => (count > 0 ? layers.chain(top)[count - 1]?.chainId ?? null : null),
      importLayer: (tar, parent) => layers.importLayer(tar, parent, { lease }),
      putImage: (bytes, topLayer, parent) => {
        const existed = images.store.get(imageIdOf(bytes)) !== undefined;
        const size = layers.chain(topLayer).reduce((n, l) => n + l.size, 0);
        return { image: images.store.put(bytes, topLayer, size, parent), existed };
      },
      tag: (id, ref) => images.tag(id, ref),
      run: (spec, hooks) => this.runContainer(spec, hooks, lease),
      cacheMount: (plan) => this.cacheMounts.acquire(plan, p.dir, signal),
      overlayView: (lowerDirs) => overlayView(lowerDirs, p.dir),
      secretFile: (data, uid, gid, mode) => this.secrets.file(data, uid, gid, mode),
      // In the build's directory (removed with it); in the exec root when a long data root makes that path too long for a socket.
      agentSocket: (plan, agents) => listenAgentSocket(plan, agents, [p.dir, this.paths.execRoot]),
      discardImages: async (ids) => {
        if (this.removeUnusedImages(new Set(ids)).length) await layers.collectGarbage();
      },
    };
  }

  /** RUN containers of an earlier berthd that died mid-build (this one removes its own). */
  private async removeLeftoverContainers(): Promise<void> {
    for (const c of this.containers.store.all()) {
      const mark = (c.Config.Labels as Record<string, string> | null | undefined)?.[BUILD_CONTAINER_LABEL];
      if (mark === undefined || mark === this.session) continue;
      await this.containers.remove(c.Id, { force: true, volumes: true }).catch(() => undefined);
    }
  }

  /** One RUN: create, attach, start, wait, commit on success, remove always. */
  private async runContainer(spec: RunSpec, hooks: RunHooks, lease: Lease): Promise<RunOutcome> {
    const trace = startTrace('build run');
    const { Id: id } = await this.containers.create({
      Image: spec.image, Cmd: spec.argv, Entrypoint: [''], Env: spec.env, User: spec.user, WorkingDir: spec.workdir,
      AttachStdout: true, AttachStderr: true, Healthcheck: { Test: ['NONE'] }, Labels: { [BUILD_CONTAINER_LABEL]: this.session },
      HostConfig: {
        ...spec.resources, NetworkMode: spec.network, LogConfig: { Type: 'none' }, Binds: spec.binds,
        ...(spec.mounts.length ? { Mounts: spec.mounts } : {}),
        ...(spec.extraHosts.length ? { ExtraHosts: spec.extraHosts } : {}),
      },
    }, undefined, { volatileRootfs: true, ...(spec.secretEnv?.length ? { hiddenEnv: spec.secretEnv } : {}) });
    try {
      hooks.created(id);
      const handle = await this.containers.attach(id, { stdin: false, stdout: true, stderr: true });
      const ended = new Promise<void>((resolve) => handle.once('end', () => resolve()));
      handle.on('output', (n: 1 | 2, chunk: Buffer) => hooks.output(n, chunk));
      const exited = this.containers.wait(id, 'next-exit').ready;
      const onAbort = () => { void this.containers.kill(id, 'SIGKILL').catch(() => undefined); };
      spec.signal.addEventListener('abort', onAbort);
      try {
        // A client that left while the container was made: it never starts (a listener added to an
        // aborted signal never hears of it, and a kill before the start finds nothing to kill).
        // Node hears of a closed connection only when its loop polls, and nothing since the last
        // instruction's check may have: let it, or the container runs for a client long gone.
        await setImmediate();
        if (spec.signal.aborted) return { containerId: id, exitCode: 137 };
        try {
          // Given the signal, a start the client leaves during stops at its next step (seconds
          // sooner than a start, a kill and a wait), so the container goes about when dockerd's does.
          await this.containers.start(id, { signal: spec.signal });
        } catch (e) {
          if (spec.signal.aborted) return { containerId: id, exitCode: 137 };
          throw e;
        }
        if (spec.signal.aborted) onAbort();
        trace.step('create+start');
        const { StatusCode } = await exited;
        trace.step('run');
        // Output nobody reads is not waited for. conmon closes the attach socket right after the exit; don't wait forever for it.
        if (spec.signal.aborted) return { containerId: id, exitCode: StatusCode || 137 };
        await Promise.race([ended, sleep(5000)]);
        if (spec.signal.aborted) return { containerId: id, exitCode: StatusCode || 137 };
        if (StatusCode !== 0) return { containerId: id, exitCode: StatusCode };
        const cdir = this.paths.containerDir(id);
        const upper = join(cdir, 'upper');
        // Held for the commit: nothing (a `docker cp`, a start) mounts the rootfs or writes the upper dir meanwhile.
        const layer = await this.containers.exclusive(id, async (c) => {
          await removeMountStubs(upper, spec.stubs);
          const idMap = this.containers.idMapOf(c);
          // The container goes right after: its upper dir becomes the layer (image/upper-remainder.ts), where that gives the same layer.
          const inPlace = !idMap && spec.sourceDateEpoch === undefined && !c.State.Running && !(await isMounted(join(cdir, 'merged')));
          const remainder = inPlace ? new UpperDirRemainder() : undefined;
          // The rootfs was volatile (no fsync reached the disk): one syncfs makes the upper dir durable.
          // It runs alongside the diff and must end before the layer is recorded.
          const commitTrace = startTrace(`build commit ${id.slice(0, 12)}`);
          const syncTrace = startTrace(`build syncfs ${id.slice(0, 12)}`);
          const durable = syncFileSystem(cdir).finally(() => { syncTrace.step('syncfs'); syncTrace.end(); });
          durable.catch(() => undefined); // awaited below; a diff that fails first must not leave it unhandled
          try {
            return await this.layers.importLayer(
              diffUpperDir(upper, { ...(spec.sourceDateEpoch !== undefined ? { sourceDateEpoch: spec.sourceDateEpoch } : {}), idMap, remainder }),
              spec.parentLayer,
              {
                lease,
                beforeCommit: async () => { commitTrace.step('diff'); await durable; commitTrace.step('syncfs-wait'); },
                ...(remainder ? { adopt: { dir: upper, remainder } } : {}),
              },
            );
          } finally {
            commitTrace.step('record');
            commitTrace.end();
          }
        });
        trace.step('commit');
        return { containerId: id, exitCode: 0, layer };
      } finally {
        spec.signal.removeEventListener('abort', onAbort);
        handle.detach();
      }
    } finally {
      await this.containers.remove(id, { force: true, volumes: true }).catch((e) => {
        console.error(`berthd: build: removing intermediate container ${id.slice(0, 12)}: ${errorMessage(e)}`);
      });
      trace.step('remove');
      trace.end();
    }
  }
}


/**
 * Removes the mount points the runtime made for RUN --mount targets from a
 * container's upper dir (innermost first), each only when it is still an
 * empty directory or empty file the RUN left alone; a path whose parents in
 * the upper dir are not plain directories is skipped (never followed).
 */
async function removeMountStubs(upper: string, stubs: readonly string[]): Promise<void> {
  for (const stub of [...stubs].reverse()) {
    const parts = stub.split('/').filter(Boolean);
    let host = upper;
    let ok = true;
    for (let i = 0; i < parts.length - 1 && ok; i++) {
      host = join(host, parts[i]);
      const st = await lstat(host).catch(() => undefined);
      ok = st?.isDirectory() === true;
    }
    if (!ok) continue;
    const path = join(host, parts[parts.length - 1]);
    const st = await lstat(path).catch(() => undefined);
    if (!st) continue;
    if (st.isDirectory()) await rmdir(path).catch(() => undefined); // fails (and stays) when not empty
    else if (st.isFile() && st.size === 0) await unlink(path).catch(() => undefined);
  }
}

/** A scratch overlay of `lowerDirs` under `scratch`; release unmounts it and removes its upper dir. */
async function overlayView(lowerDirs: string[], scratch: string): Promise<{ dir: string; release(): Promise<void> }> {
  const base = join(scratch, `bind-${randomBytes(6).toString('hex')}`);
  const [upper, work, merged, empty] = ['upper', 'work', 'merged', 'empty'].map((n) => join(base, n));
  for (const d of [upper, work, merged, empty]) await mkdir(d, { recursive: true });
  try {
    await mountOverlay(lowerDirs.length ? lowerDirs : [empty], upper, work, merged);
  } catch (e) {
    await rm(base, { recursive: true, force: true });
    throw e;
  }
  return {
    dir: merged,
    release: async () => {
      await unmount(merged);
      // Never walk into a view still mounted: rm would delete through it into the layers or the context.
      if (await isMounted(merged)) throw new Error(`build: ${merged} is still mounted`);
      await rm(base, { recursive: true, force: true });
    },
  };
}

/**
 * The build args that configure BuildKit's Dockerfile frontend rather than
 * the Dockerfile (BUILDKIT_SYNTAX, BUILDKIT_DOCKERFILE_CHECK): taken out of
 * the build args, so no stage sees them and none is "not consumed".
 */
function takeFrontendArgs(buildArgs: Map<string, string>): { syntax?: string; check?: string } {
  const out: { syntax?: string; check?: string } = {};
  const syntax = buildArgs.get('BUILDKIT_SYNTAX');
  const check = buildArgs.get('BUILDKIT_DOCKERFILE_CHECK');
  if (syntax !== undefined) out.syntax = syntax;
  if (check !== undefined) out.check = check;
  buildArgs.delete('BUILDKIT_SYNTAX');
  buildArgs.delete('BUILDKIT_DOCKERFILE_CHECK');
  return out;
}

/** The credentials `X-Registry-Config` holds for the registry of `ref` (keys are registry hosts or Docker Hub's index URL). */
function authFor(configs: Record<string, AuthConfig>, ref: string): AuthConfig | undefined {
  let domain: string;
  try { domain = parseReference(ref).domain; } catch { return undefined; }
  for (const [key, auth] of Object.entries(configs)) {
    const host = key.replace(/^https?:\/\//, '').replace(/\/v\d+\/?$/, '').replace(/\/$/, '');
    const norm = host === 'index.docker.io' || host === 'registry-1.docker.io' ? 'docker.io' : host;
    if (norm === domain) return auth;
  }
  return undefined;
}
