/**
 * The builds `/grpc` knows by Ref (control.ts): one record per
 * Control.Solve, kept while the build runs and for a while after it
 * finished, for a Status call that comes late.
 *
 * Only a Solve makes a record. A Status or gateway call that names a Ref
 * no Solve has named yet (buildx makes them at the same time, in no fixed
 * order) waits for one, holding nothing but its own call meanwhile, then
 * fails NOT_FOUND `no such job <ref>`: BuildKit's solver waits 6 s for the
 * job a Status names (solver/jobs.go), and its gateway forwarder waits for
 * the build its calls name. Before, any such call made a record that was
 * kept a minute, so records were bounded only by how fast a client asked.
 *
 * Records are bounded in number and in the progress they keep:
 *
 * - at most MAX_BUILDS. A new build first evicts finished ones, oldest
 *   first; when every record is a running build the Solve is refused with
 *   RESOURCE_EXHAUSTED and nothing is made. A running build is an open
 *   Control.Solve call, so one connection holds at most as many as it may
 *   have concurrent streams (grpc-server.ts: 128);
 * - the progress finished builds keep (BuildProgress keeps up to 32 MiB
 *   of log each) is at most MAX_FINISHED_PROGRESS_BYTES in all, evicting
 *   the oldest first.
 */
import { NotFoundError, PayloadTooLargeError } from '../../errors.js';
import { GrpcCode } from '../../buildkit/grpc-frames.js';
import { GrpcStatusError } from '../../buildkit/grpc-server.js';
import type { BuildProgress } from '../../buildkit/progress.js';

/** Builds known at once, running or finished. */
export const MAX_BUILDS = 1024;
/** What the finished builds' kept progress may hold in all. */
export const MAX_FINISHED_PROGRESS_BYTES = 256 << 20;
/** How long a finished build stays for a late Status call. */
const KEEP_FINISHED_MS = 60_000;

export interface BuildRecord {
  ref: string;
  progress: BuildProgress;
}

interface Waiter<T> { resolve(r: T): void; reject(e: unknown): void }

export class BuildRecords<T extends BuildRecord> {
  private readonly records = new Map<string, T>();
  /** Finished records, oldest first (a Map keeps insertion order). */
  private readonly finished = new Map<string, T>();
  private finishedBytes = 0;
  private readonly waiters = new Map<string, Set<Waiter<T>>>();

  constructor(private readonly limits: { maxBuilds: number; maxFinishedBytes: number } = { maxBuilds: MAX_BUILDS, maxFinishedBytes: MAX_FINISHED_PROGRESS_BYTES }) {}

  get size(): number { return this.records.size; }

  /** The running build `ref`, or undefined; a finished one is replaced by the new build. */
  running(ref: string): T | undefined {
    const r = this.records.get(ref);
    return r && !this.finished.has(ref) ? r : undefined;
  }

  /**
   * Makes the record of a build that starts now (`make` is only called
   * once there is room) and hands it to the calls waiting for it. Throws
   * PayloadTooLargeError (RESOURCE_EXHAUSTED) when MAX_BUILDS builds are
   * running; the caller checks `running(ref)` first.
   */
  create(ref: string, make: () => T): T {
    if (this.finished.has(ref)) this.drop(ref);
    if (this.records.size >= this.limits.maxBuilds) {
      const oldest = this.finished.keys().next();
      if (oldest.done) throw new PayloadTooLargeError(`too many builds: ${this.limits.maxBuilds} are running`);
      this.drop(oldest.value);
    }
    const r = make();
    this.records.set(ref, r);
    const w = this.waiters.get(ref);
    if (w) { this.waiters.delete(ref); for (const x of w) x.resolve(r); }
    return r;
  }

  /** The build is over: its record stays a while for late Status calls, unless newer ones need the room. */
  finish(r: T): void {
    if (this.records.get(r.ref) !== r || this.finished.has(r.ref)) return;
    r.progress.end();
    this.finished.set(r.ref, r);
    this.finishedBytes += r.progress.bytes;
    setTimeout(() => { if (this.records.get(r.ref) === r) this.drop(r.ref); }, KEEP_FINISHED_MS).unref();
    while (this.finishedBytes > this.limits.maxFinishedBytes) {
      const oldest = this.finished.keys().next();
      if (oldest.done) break;
      this.drop(oldest.value);
    }
  }

  /** A Solve that made no record failed: the calls waiting for its Ref hear why. */
  fail(ref: string, e: unknown): void {
    const w = this.waiters.get(ref);
    if (w) { this.waiters.delete(ref); for (const x of w) x.reject(e); }
  }

  /**
   * The build `ref`, waiting up to `timeoutMs` for its Solve to arrive;
   * NOT_FOUND `no such job` after that. The wait ends with the call
   * (`signal`).
   */
  wait(ref: string, timeoutMs: number, signal: AbortSignal): Promise<T> {
    const r = this.records.get(ref);
    if (r) return Promise.resolve(r);
    if (signal.aborted) return Promise.reject(new GrpcStatusError(GrpcCode.CANCELLED, 'context canceled'));
    return new Promise<T>((resolve, reject) => {
      let set = this.waiters.get(ref);
      if (!set) { set = new Set(); this.waiters.set(ref, set); }
      const stop = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        set!.delete(w);
        if (set!.size === 0 && this.waiters.get(ref) === set) this.waiters.delete(ref);
      };
      const w: Waiter<T> = { resolve: (x) => { stop(); resolve(x); }, reject: (e) => { stop(); reject(e); } };
      const onAbort = () => w.reject(new GrpcStatusError(GrpcCode.CANCELLED, 'context canceled'));
      const timer = setTimeout(() => w.reject(new NotFoundError(`no such job ${ref}`)), timeoutMs);
      timer.unref();
      signal.addEventListener('abort', onAbort, { once: true });
      set.add(w);
    });
  }

  private drop(ref: string): void {
    const r = this.records.get(ref);
    if (!r) return;
    this.records.delete(ref);
    if (this.finished.delete(ref)) this.finishedBytes -= r.progress.bytes;
    r.progress.end();
  }
}
