/**
 * Build progress as BuildKit's Status stream carries it: vertexes (one per
 * step, with BuildKit's names: `[2/3] RUN …`, `[build 1/2] FROM
 * docker.io/library/busybox:latest`, `[internal] load build context`,
 * `exporting to image`), their `cached` flag, start and completion times,
 * errors, logs and sub-statuses. buildx renders them (`--progress=plain`:
 * `#5 [2/3] RUN echo hi`, `#5 CACHED`, `#5 DONE 0.3s`).
 *
 * `BuildProgress` collects a build's events: one subscriber per
 * `Control.Status` call, and the history for a subscriber that comes late
 * (buildx calls Status and Solve at the same time, in no fixed order).
 */
import { createHash } from 'node:crypto';
import { encode, timestamp } from './messages.js';

type StatusMessage = Record<string, unknown>;

/** How much of a build's status history is kept for late subscribers; logs past it are only sent live. */
const MAX_HISTORY_BYTES = 32 << 20;

export class BuildProgress {
  private readonly history: Buffer[] = [];
  private historyBytes = 0;
  private readonly listeners = new Set<(m: Buffer | null) => void>();
  private ended = false;
  private count = 0;

  constructor(readonly ref: string) {}

  /** Sends one StatusResponse to every subscriber. */
  publish(msg: StatusMessage, keep = true): void {
    if (this.ended) return;
    const bytes = encode('StatusResponse', msg);
    if (keep || this.historyBytes + bytes.length <= MAX_HISTORY_BYTES) {
      this.history.push(bytes);
      this.historyBytes += bytes.length;
    }
    for (const l of this.listeners) l(bytes);
  }

  /** Ends every subscriber's stream: the build is over. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    for (const l of this.listeners) l(null);
    this.listeners.clear();
  }

  get isEnded(): boolean { return this.ended; }

  /** Bytes of status history kept for late subscribers. */
  get bytes(): number { return this.historyBytes; }

  /** Replays what happened so far, then follows; `listener(null)` is the end. Returns the unsubscribe. */
  subscribe(listener: (m: Buffer | null) => void): () => void {
    for (const m of this.history) listener(m);
    if (this.ended) { listener(null); return () => undefined; }
    this.listeners.add(listener);
    return () => { this.listeners.delete(listener); };
  }

  /** Starts a vertex named `name` now. */
  vertex(name: string, inputs: string[] = []): Vertex {
    return new Vertex(this, vertexDigest(this.ref, this.count++, name), name, inputs);
  }
}

function vertexDigest(ref: string, n: number, name: string): string {
  return `sha256:${createHash('sha256').update(`${ref}\0${n}\0${name}`).digest('hex')}`;
}

export class Vertex {
  private readonly started = Date.now();
  private completed?: number;
  private cached = false;
  private error = '';

  constructor(private readonly progress: BuildProgress, readonly digest: string, readonly name: string, private readonly inputs: string[]) {
    this.send();
  }

  get done(): boolean { return this.completed !== undefined; }

  private send(): void {
    this.progress.publish({
      vertexes: [{
        digest: this.digest, inputs: this.inputs, name: this.name, cached: this.cached,
        started: timestamp(this.started),
        ...(this.completed !== undefined ? { completed: timestamp(this.completed) } : {}),
        ...(this.error ? { error: this.error } : {}),
      }],
    });
  }

  /** Output of the step (stream 1 stdout, 2 stderr). */
  log(data: Buffer | string, stream: 1 | 2 = 1): void {
    if (this.done || data.length === 0) return;
    this.progress.publish({
      logs: [{ vertex: this.digest, timestamp: timestamp(Date.now()), stream, msg: Buffer.isBuffer(data) ? data : Buffer.from(data) }],
    }, false);
  }

  /** A named sub-task (`writing image sha256:…`, `naming to …`), started now and finished when `finish` is called. */
  status(id: string): { finish(): void } {
    const start = Date.now();
    const send = (completed?: number) => this.progress.publish({
      statuses: [{
        ID: id, vertex: this.digest, timestamp: timestamp(Date.now()), started: timestamp(start),
        ...(completed !== undefined ? { completed: timestamp(completed) } : {}),
      }],
    });
    send();
    return { finish: () => send(Date.now()) };
  }

  markCached(): void {
    if (this.done || this.cached) return;
    this.cached = true;
    this.send();
  }

  complete(error?: string): void {
    if (this.done) return;
    this.completed = Date.now();
    if (error) this.error = error;
    this.send();
  }
}
