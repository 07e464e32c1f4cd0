/**
 * The BuildKit services berthd serves on `/grpc`, as dockerd serves them to
 * buildx's `docker` driver (moby builder/builder-next/controller.go):
 *
 * - `moby.buildkit.v1.Control`: ListWorkers, Info, Solve, Status,
 *   DiskUsage, Prune;
 * - `moby.buildkit.v1.frontend.LLBBridge`, the gateway that buildkit's
 *   client `Build` drives (buildx always builds this way): Ping, Solve with
 *   the `dockerfile.v0` frontend, Return.
 *
 * One build is one `Ref` (the Solve's, and the `buildkit-controlapi-buildid`
 * metadata of its gateway calls). Control.Solve with no frontend waits
 * for the client's gateway to Return a result, then exports it: the
 * `moby` exporter (what `--load` and `docker build` ask of a docker
 * driver) tags the image in berth's store. Status streams the build's
 * vertexes to whoever asks for that Ref, from the start.
 *
 * Only the Solve makes a build's record (build-records.ts, which bounds
 * them): a Status or gateway call naming a Ref waits for its Solve, as
 * BuildKit's do, and fails NOT_FOUND `no such job` if none comes.
 *
 * Every request message is decoded and checked here before use; a client
 * that disconnects cancels its build (the Solve's and the gateway's calls
 * abort the build's signal).
 */
import os from 'node:os';
import { InvalidParameterError, NotImplementedError, errorMessage } from '../../errors.js';
import type { Engine } from '../../engine/engine.js';
import { formatReference, parseReference, withDefaultTag } from '../../image/reference.js';
import { hostArchitecture } from '../../image/config.js';
import { GrpcCode } from '../../buildkit/grpc-frames.js';
import { GrpcStatusError, type GrpcCall, type GrpcHandler } from '../../buildkit/grpc-server.js';
import { decode, encode, timestamp, type MessageName } from '../../buildkit/messages.js';
import { BuildProgress } from '../../buildkit/progress.js';
import { imageWithInlineCache } from '../../engine/build-cache-export.js';
import type { SessionManager } from '../../buildkit/sessions.js';
import { runDockerfileFrontend, type FrontendResult } from './dockerfile-frontend.js';
import { checkExporters, runExporters, type ExporterEntry } from './exporters.js';
import { sourceDetails } from '../../buildkit/error-source.js';
import type { BuildCacheRecord } from '../../engine/build-cache-usage.js';
import { BuildRecords, type BuildRecord } from './build-records.js';
import { traceAt } from '../../trace.js';
import { exportCaches, loadCacheImports, planCache, type CacheOptionsEntry, type CachePlan } from './build-cache-options.js';

const BUILD_REF = /^[A-Za-z0-9._/-]{1,256}$/;
/** How long a Solve waits for the client's session to connect (buildkit waits as long as the Solve's context allows). */
const SESSION_WAIT_MS = 30_000;
/** How long a Status call waits for the Solve of the Ref it names (BuildKit's solver waits 6 s for the job). */
const STATUS_WAIT_MS = 6_000;
/** How long a gateway call waits for the Solve of its build ID (the client dials both at once). */
const GATEWAY_WAIT_MS = SESSION_WAIT_MS;

const WORKER_ID = 'berth';

/** Frontend API capabilities berth's gateway has (buildkit frontend/gateway/pb/caps.go names). */
const FRONTEND_CAPS = ['solve.base', 'solve.inlinereturn', 'return', 'proto.refarray', 'frontend.inputs'];

interface Deferred<T> { promise: Promise<T>; resolve(v: T): void; reject(e: unknown): void }
function deferred<T>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => { resolve = res; reject = rej; });
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

interface BuildState extends BuildRecord {
  /** The Control.Solve's session ID, once it arrived. */
  session: Deferred<string>;
  /** The gateway's Return: a result ref ID, or the client's error. */
  returned: Deferred<string>;
  /** Results of gateway solves by ref ID. */
  results: Map<string, FrontendResult>;
  cancel: AbortController;
  /** The Solve's --cache-from and --cache-to, set before its session is known to the frontend. */
  cache?: CachePlan;
}

function checkRef(ref: string, what: string): string {
  if (!BUILD_REF.test(ref)) throw new InvalidParameterError(`invalid ${what} ${JSON.stringify(ref.slice(0, 100))}`);
  return ref;
}

/** The one request message of a unary or server-streaming call (read to the stream's end: leaving the loop early would reset the stream). */
async function oneMessage<T>(call: GrpcCall, type: MessageName): Promise<T> {
  let msg: Buffer | undefined;
  for await (const m of call.messages()) {
    if (msg) throw new InvalidParameterError(`${call.path}: more than one request message`);
    msg = m;
  }
  if (!msg) throw new InvalidParameterError(`${call.path}: no request message`);
  return decode<T>(type, msg);
}

function workerRecord(version: string): Record<string, unknown> {
  return {
    ID: WORKER_ID,
    Labels: {
      'org.mobyproject.buildkit.worker.executor': 'oci', 'org.mobyproject.buildkit.worker.hostname': os.hostname(), 'org.mobyproject.buildkit.worker.network': 'host',
      // buildx's docker driver offers the docker and oci exporters (and cache export) only on a worker with a snapshotter, as on a containerd-store dockerd.
      'org.mobyproject.buildkit.worker.snapshotter': 'overlayfs',
    },
    platforms: [{ Architecture: hostArchitecture(), OS: 'linux' }],
    BuildkitVersion: buildkitVersion(version),
  };
}

function buildkitVersion(version: string): Record<string, string> {
  return { package: 'github.com/berth/berth', version, revision: '' };
}

interface SolveRequestMsg {
  Ref: string; Definition: Buffer; ExporterDeprecated: string; ExporterAttrsDeprecated: Record<string, string>; Session: string; Frontend: string;
  FrontendAttrs: Record<string, string>; Cache: { Exports: CacheOptionsEntry[]; Imports: CacheOptionsEntry[] } | null; Entitlements: string[];
  Exporters: { Type: string; Attrs: Record<string, string> }[];
}

/** What a Solve asks for that berth refuses, refused before anything starts; its exporters and cache options. */
function checkSolve(r: SolveRequestMsg): { exporters: ExporterEntry[]; cache: CachePlan } {
  // An LLB definition (buildctl, a client's own graph) would wait for a gateway that never comes.
  if (r.Definition.length) throw new NotImplementedError('solving LLB definitions is not supported: berth builds Dockerfiles (the dockerfile.v0 frontend)');
  if (!/^[A-Za-z0-9_-]{1,128}$/.test(r.Session)) throw new InvalidParameterError('a Solve needs the ID of the client\'s session');
  const exporters = r.Exporters.length ? r.Exporters : r.ExporterDeprecated ? [{ Type: r.ExporterDeprecated, Attrs: r.ExporterAttrsDeprecated }] : [];
  checkExporters(exporters);
  const cache = planCache(r.Cache);
  // `--network host` (the builder runs RUN on the host's network, as the classic builder's networkmode=host does); nothing else.
  for (const ent of r.Entitlements) if (ent !== 'network.host') throw new NotImplementedError(`entitlement ${JSON.stringify(ent)} is not supported`);
  return { exporters, cache };
}

export class BuildkitControl {
  private readonly builds = new BuildRecords<BuildState>();

  /** `version`: berth's, reported as the BuildKit version (buildx ls, inspect). */
  constructor(private readonly engine: Engine, private readonly sessions: SessionManager, private readonly version: string) {}

  /** The record of a build a Solve starts now (refused when it runs already, or when there is no room: build-records.ts). */
  private start(ref: string, sessionId: string | undefined): BuildState {
    if (this.builds.running(ref)) throw new InvalidParameterError(`build ${ref} is already running`);
    return this.builds.create(ref, () => {
      const s: BuildState = { ref, progress: new BuildProgress(ref), session: deferred(), returned: deferred(), results: new Map(), cancel: new AbortController() };
      if (sessionId !== undefined) s.session.resolve(sessionId);
      return s;
    });
  }

  lookup(path: string): GrpcHandler | undefined {
    const unary = <Req>(req: MessageName, res: MessageName, fn: (r: Req, call: GrpcCall) => Promise<Record<string, unknown>>): GrpcHandler =>
      async (call) => { const r = await oneMessage<Req>(call, req); call.send(encode(res, await fn(r, call))); };
    switch (path) {
      case '/moby.buildkit.v1.Control/ListWorkers':
        return unary('ListWorkersRequest', 'ListWorkersResponse', async () => ({ record: [workerRecord(this.version)] }));
      case '/moby.buildkit.v1.Control/Info':
        return unary('InfoRequest', 'InfoResponse', async () => ({ buildkitVersion: buildkitVersion(this.version) }));
      case '/moby.buildkit.v1.Control/Solve':
        return unary('SolveRequest', 'SolveResponse', (r: SolveRequestMsg, call) => this.solve(r, call));
      case '/moby.buildkit.v1.Control/Status':
        return (call) => this.status(call);
      case '/moby.buildkit.v1.Control/DiskUsage':
        return unary('DiskUsageRequest', 'DiskUsageResponse', async (r: { filter: string[] }) => {
          // buildx sends its filters joined into one string: [""] when there are none.
          if (r.filter.some((f) => f !== '')) throw new NotImplementedError('build cache filters are not supported yet');
          return { record: (await this.engine.builds.usage()).map(usageRecord) };
        });
      case '/moby.buildkit.v1.Control/Prune':
        return (call) => this.prune(call);
      case '/moby.buildkit.v1.frontend.LLBBridge/Ping':
        return unary('PingRequest', 'PongResponse', async (_r, call) => {
          await this.gatewayBuild(call);
          return {
            FrontendAPICaps: FRONTEND_CAPS.map((ID) => ({ ID, Enabled: true })),
            LLBCaps: [], Workers: [workerRecord(this.version)],
          };
        });
      case '/moby.buildkit.v1.frontend.LLBBridge/Solve':
        return unary('GatewaySolveRequest', 'GatewaySolveResponse', (r: { Frontend: string; FrontendOpt: Record<string, string>; Definition: Buffer }, call) => this.gatewaySolve(r, call));
      case '/moby.buildkit.v1.frontend.LLBBridge/Return':
        return unary('ReturnRequest', 'Empty', async (r: { result: { ref: { id: string } | null; refDeprecated: string } | null; error: { code: number; message: string; details: GrpcStatusError['details'] } | null }, call) => {
          const s = await this.gatewayBuild(call);
          // The client's error goes back to it with its details (a Dockerfile range among them).
          if (r.error && r.error.code !== 0) s.returned.reject(new GrpcStatusError(r.error.code, r.error.message, r.error.details.slice(0, 16)));
          else s.returned.resolve(r.result?.ref?.id ?? r.result?.refDeprecated ?? '');
          return {};
        });
      default:
        return undefined;
    }
  }

  /** The build a gateway call belongs to (its `buildkit-controlapi-buildid` metadata), once its Solve came. */
  private gatewayBuild(call: GrpcCall): Promise<BuildState> {
    const id = call.headers['buildkit-controlapi-buildid'];
    if (typeof id !== 'string') throw new InvalidParameterError('no buildid found in context');
    return this.builds.wait(checkRef(id, 'build ID'), GATEWAY_WAIT_MS, call.signal);
  }

  private async status(call: GrpcCall): Promise<void> {
    const r = await oneMessage<{ Ref: string }>(call, 'StatusRequest');
    const s = await this.builds.wait(checkRef(r.Ref, 'ref'), STATUS_WAIT_MS, call.signal);
    await new Promise<void>((resolve) => {
      let unsubscribe = () => undefined as void;
      const onAbort = () => { unsubscribe(); resolve(); };
      unsubscribe = s.progress.subscribe((m) => {
        if (m === null) { traceAt('status end'); call.signal.removeEventListener('abort', onAbort); resolve(); return; }
        call.send(m);
      });
      call.signal.addEventListener('abort', onAbort);
    });
  }

  private async gatewaySolve(r: { Frontend: string; FrontendOpt: Record<string, string>; Definition: Buffer }, call: GrpcCall): Promise<Record<string, unknown>> {
    const s = await this.gatewayBuild(call);
    if (r.Definition.length) throw new NotImplementedError('solving LLB definitions is not supported: berth builds Dockerfiles (the dockerfile.v0 frontend)');
    if (r.Frontend !== 'dockerfile.v0') throw new NotImplementedError(`frontend ${JSON.stringify(r.Frontend)} is not supported: berth builds Dockerfiles (dockerfile.v0)`);
    let result;
    try {
      result = await this.runFrontend(s, r.FrontendOpt, call.signal);
    } catch (e) {
      // buildx prints a status code's name before its message; BuildKit's solve errors carry none (Unknown).
      throw new GrpcStatusError(call.signal.aborted ? GrpcCode.CANCELLED : GrpcCode.UNKNOWN, errorMessage(e), sourceDetails(e));
    }
    const id = `berth-result-${s.results.size}`;
    s.results.set(id, result);
    return { result: { ref: { id }, metadata: { 'containerimage.config': result.config } } };
  }

  private async runFrontend(s: BuildState, opts: Record<string, string>, signal: AbortSignal): Promise<FrontendResult> {
    const onAbort = () => s.cancel.abort();
    signal.addEventListener('abort', onAbort);
    try {
      const sessionId = await Promise.race([s.session.promise, aborted(s.cancel.signal)]);
      const session = await this.sessions.get(sessionId, SESSION_WAIT_MS, s.cancel.signal);
      const importer = s.cache ? await loadCacheImports(this.engine, s.cache, session, s.progress, s.cancel.signal) : undefined;
      try {
        return await runDockerfileFrontend(this.engine, session, opts, s.progress, s.cancel.signal, importer);
      } finally {
        importer?.close();
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  /**
   * A Solve refused before its build began: the client's Status and
   * gateway calls for the Ref (made alongside) hear the same error now,
   * rather than waiting for a build that will never run. The refused build
   * is kept as a finished one when there is room, for such calls that come
   * late.
   */
  private refuse(ref: string, e: unknown): void {
    if (this.builds.running(ref)) return;
    let s: BuildState;
    try {
      s = this.start(ref, undefined);
    } catch {
      this.builds.fail(ref, e);
      return;
    }
    s.session.reject(e);
    s.cancel.abort();
    this.builds.finish(s);
  }

  private async solve(r: SolveRequestMsg, call: GrpcCall): Promise<Record<string, unknown>> {
    const ref = checkRef(r.Ref, 'ref');
    let checked: ReturnType<typeof checkSolve>;
    try {
      checked = checkSolve(r);
    } catch (e) {
      this.refuse(ref, e);
      throw e;
    }
    const { exporters, cache } = checked;
    let s: BuildState;
    try {
      s = this.start(ref, r.Session);
    } catch (e) {
      // Another Solve runs this Ref (its calls are its own), or there is no room: the calls waiting for this Ref hear why.
      if (!this.builds.running(ref)) this.builds.fail(ref, e);
      throw e;
    }
    s.cache = cache;
    const onAbort = () => s.cancel.abort();
    call.signal.addEventListener('abort', onAbort);
    try {
      let result: FrontendResult | undefined;
      if (r.Frontend) {
        if (r.Frontend !== 'dockerfile.v0') throw new NotImplementedError(`frontend ${JSON.stringify(r.Frontend)} is not supported: berth builds Dockerfiles (dockerfile.v0)`);
        result = await this.runFrontend(s, r.FrontendAttrs, call.signal);
      } else {
        const id = await Promise.race([s.returned.promise, aborted(s.cancel.signal)]);
        // buildx's probe for the gateway's options returns nothing, with nothing to export.
        if (id === '' && exporters.length === 0) return { ExporterResponse: {} };
        result = s.results.get(id);
        if (!result) throw new InvalidParameterError(id ? `no result ${JSON.stringify(id)} in build ${ref}` : 'the build returned no result');
      }
      traceAt('solve export begin');
      const res = await this.export(s, result, exporters, r.Session, call.signal);
      traceAt('solve export end');
      const cacheRes = await exportCaches(
        this.engine, cache, result.steps, result.finalStage, () => this.sessions.get(r.Session, SESSION_WAIT_MS, call.signal), s.progress, call.signal,
      );
      return { ExporterResponse: { ...(res.ExporterResponse as Record<string, string>), ...cacheRes } };
    } catch (e) {
      if (e instanceof GrpcStatusError) throw e;
      throw new GrpcStatusError(call.signal.aborted ? GrpcCode.CANCELLED : GrpcCode.UNKNOWN, errorMessage(e), sourceDetails(e));
    } finally {
      call.signal.removeEventListener('abort', onAbort);
      s.cancel.abort();
      this.builds.finish(s);
    }
  }

  /**
   * `buildx prune`: berth's `builder prune` (the same cache rows, the same
   * images and layers freed), answered with one UsageRecord per row it
   * deleted. `--keep-storage` and filters other than age are refused.
   */
  private async prune(call: GrpcCall): Promise<void> {
    const r = await oneMessage<{ filter: string[]; all: boolean; keepDuration: number; keepBytes: number }>(call, 'PruneRequest');
    if (r.keepBytes) throw new NotImplementedError('prune --keep-storage is not supported yet');
    if (r.filter.some((f) => f !== '')) throw new NotImplementedError('build cache filters other than until are not supported yet');
    const before = new Map((await this.engine.builds.usage()).map((u) => [u.id, usageRecord(u)]));
    const res = await this.engine.builds.prune(r.keepDuration > 0 ? { unusedForMs: Math.floor(r.keepDuration / 1e6) } : {});
    for (const id of res.CachesDeleted) {
      const rec = before.get(id);
      if (rec) call.send(encode('UsageRecord', rec));
    }
  }

  /** The exporters (exporters.ts) for the build's result. */
  private async export(
    s: BuildState, result: FrontendResult, exporters: ExporterEntry[], sessionId: string, signal: AbortSignal,
  ): Promise<Record<string, unknown>> {
    // --cache-to type=inline: the image that is exported carries its cache in its config.
    const imageId = s.cache?.exports.some((e) => e.type === 'inline')
      ? imageWithInlineCache(
        { cache: this.engine.builds.cache, images: this.engine.images.store, layers: this.engine.layers, content: this.engine.content },
        result.imageId, result.steps, result.finalStage,
      ).id
      : result.imageId;
    const response = await runExporters({
      engine: this.engine, progress: s.progress, signal,
      session: () => this.sessions.get(sessionId, SESSION_WAIT_MS, signal),
    }, imageId, exporters);
    return { ExporterResponse: response };
  }
}

/** A build cache record (build-cache-usage.ts) as BuildKit's disk usage record (what `buildx du` and `prune` print). */
function usageRecord(u: BuildCacheRecord): Record<string, unknown> {
  return {
    ID: u.id, Mutable: u.mutable, InUse: u.inUse, Size: u.size, CreatedAt: timestamp(u.createdAt), LastUsedAt: timestamp(u.lastUsedAt),
    UsageCount: u.usageCount, Description: u.description, RecordType: u.type, Shared: u.shared, Parents: u.parents,
  };
}

function aborted(signal: AbortSignal): Promise<never> {
  return new Promise((_res, rej) => {
    const fail = () => rej(new GrpcStatusError(GrpcCode.CANCELLED, 'context canceled'));
    if (signal.aborted) fail();
    else signal.addEventListener('abort', fail, { once: true });
  });
}
