/**
 * What the builder needs from the engine, and what it gets from a caller.
 * The builder (builder.ts) decides what each instruction does; the engine
 * (engine/build.ts) implements these with its stores and services: images
 * and layers to read and write, containers to RUN in, the cache table.
 */
import type { Readable } from 'node:stream';
import type { ImageRecord } from '../store/image-store.js';
import type { LayerRecord } from '../store/layer-store.js';
import type { CacheEntry, CacheEntryInput } from '../store/build-cache.js';
import type { HeldCacheDir } from './cache-mounts.js';
import type { CacheMountPlan, SshMountPlan } from './run-mounts.js';
import type { HeldAgentSocket, SshAgents } from './ssh-mounts.js';

/** RUN's network: `bridge` (the default, like the classic builder), `none`, `host`, or a user-defined network's name. */
export type RunNetwork = string;

/** One RUN, as the engine should execute it. */
export interface RunSpec {
  /** Image ID the container starts from. */
  image: string;
  argv: string[];
  env: string[];
  user: string;
  workdir: string;
  network: RunNetwork;
  /** Extra bind mounts, `-v` syntax (`/host/file:/dev/pipes/EOF:ro`). */
  binds: string[];
  /** `RUN --mount`s, as HostConfig.Mounts entries (bind of a cache directory, tmpfs). */
  mounts: RunContainerMount[];
  /**
   * `RUN --mount=type=secret,env=` variables (`NAME=value`): given to the
   * process only, never kept in the container's record (inspect, the
   * database) and never in the image.
   */
  secretEnv?: string[];
  /** HostConfig resource fields from the build request (Memory, CpuShares, ShmSize, Ulimits…). */
  resources: Record<string, unknown>;
  /** `--add-host` entries (`host:ip`): lines of the container's /etc/hosts. */
  extraHosts: string[];
  /** Chain ID of the image's top layer: the committed layer goes on top of it. */
  parentLayer: string | null;
  /**
   * Mount targets that did not exist in the image (each missing path, outermost first):
   * the runtime creates them as mount points, and they are removed from the
   * container's changes before the commit when still empty, as BuildKit does.
   */
  stubs: string[];
  /** Clamp the committed layer's mtimes (seconds). */
  sourceDateEpoch?: number;
  signal: AbortSignal;
}

/** One entry of HostConfig.Mounts for a RUN container. */
export interface RunContainerMount {
  Type: 'bind' | 'tmpfs';
  Source?: string;
  Target: string;
  ReadOnly?: boolean;
  TmpfsOptions?: { SizeBytes?: number };
}

export interface RunHooks {
  /** The container exists (before it starts): ` ---> Running in <id12>`. */
  created(containerId: string): void;
  /** Output of the command, stdout (1) or stderr (2). */
  output(stream: 1 | 2, chunk: Buffer): void;
}

export interface RunOutcome {
  containerId: string;
  exitCode: number;
  /** The committed layer (exit code 0 only). */
  layer?: LayerRecord;
}

export interface BuildBackend {
  /** Scratch space for this build (removed by the caller). */
  readonly tmpDir: string;
  /**
   * An image by reference or ID: the local one, else pulled (always pulled
   * with `pull`). Pull progress goes to `progress`. Throws NotFound.
   */
  resolveImage(ref: string, pull: boolean, progress: (msg: Record<string, unknown>) => void): Promise<ImageRecord>;
  image(id: string): ImageRecord | undefined;
  /** Layer directories of a layer chain, top-most first. */
  lowerDirs(topLayer: string | null): string[];
  /** Chain ID of the first `count` layers of the chain under `topLayer` (null when it is shorter). */
  layerAt(topLayer: string | null, count: number): string | null;
  /** Sum of the sizes of a layer chain. */
  chainSize(topLayer: string | null): number;
  importLayer(tar: Readable, parent: string | null): Promise<LayerRecord>;
  /** Stores an image; `existed` tells whether the ID was already there. */
  putImage(configBytes: Buffer, topLayer: string | null, parentImageId: string): { image: ImageRecord; existed: boolean };
  /** Creates a container, runs it to the end with its output streamed, commits its changes on success and removes it — always. */
  run(spec: RunSpec, hooks: RunHooks): Promise<RunOutcome>;
  /** The persistent directory of a `RUN --mount=type=cache`, held until released. */
  cacheMount(plan: CacheMountPlan): Promise<HeldCacheDir>;
  /**
   * A throw-away overlay of `lowerDirs` (top-most first) for a
   * `RUN --mount=type=bind`: writes go to a scratch upper dir that is
   * discarded on release, never to the layers or the context below.
   */
  overlayView(lowerDirs: string[]): Promise<HeldCacheDir>;
  /** A file holding a secret's bytes on tmpfs (owner, mode as given), removed on release. */
  secretFile(data: Buffer, uid: number, gid: number, mode: number): Promise<HeldCacheDir>;
  /** A socket forwarding to the client's ssh-agent for a `RUN --mount=type=ssh`, removed on release. */
  agentSocket(plan: SshMountPlan, agents: SshAgents): Promise<HeldAgentSocket>;
  tag(imageId: string, ref: string): void;
  /** Undoes a failed build: removes these images (newest first) unless something else uses them, and their cache entries. */
  discardImages(ids: readonly string[]): Promise<void>;
  cache: BuildCacheAccess;
}

/** The build cache table, as the builder uses it. */
export interface BuildCacheAccess {
  get(key: string): CacheEntry | undefined;
  put(e: CacheEntryInput): void;
  touch(key: string): void;
  /** The most recent entry on this parent with this kind, other than `key`. */
  latestOnParent(parent: string, kind: string, exceptKey: string): CacheEntry | undefined;
  /** The most recent entry for this instruction as written, other than `key`. */
  latestForInstruction(kind: string, original: string, exceptKey: string): CacheEntry | undefined;
  delete(key: string): void;
}

/** Where the builder writes the classic builder's JSON stream. */
export interface BuildOutput {
  /** Text for the user (`{"stream": …}`). */
  stream(text: string): void;
  /** Structured data (`{"aux": …}`). */
  aux(data: Record<string, unknown>): void;
  /** A progress message of a pull (`{"status": "Pulling fs layer", "id": …}`), passed through as is. */
  progress(msg: Record<string, unknown>): void;
}
