/**
 * Blob upload sessions (OCI distribution spec v1.1 §"Pushing blobs", end-4a,
 * end-5, end-6, end-13) kept on disk under `_uploads/<uuid>/`:
 *
 * - `data`: the bytes received so far, appended chunk by chunk;
 * - `state`: JSON `{uuid, repository, size, startedAt, updatedAt}`, replaced
 *   atomically after each chunk's data is fsynced. `size` is the committed
 *   length: a crash in the middle of a chunk leaves `data` longer than `size`,
 *   and the startup sweep truncates it back.
 *
 * Chunks are all-or-nothing: a chunk whose stream fails, or whose length
 * disagrees with its `Content-Range`, is truncated away and the session stays
 * where it was. The sha256 state lives in memory alongside (`Hash.copy()` keeps
 * the pre-chunk state for rollback) so completing an upload does not read the
 * data again; after a restart it is rebuilt from `data` once.
 *
 * Completion verifies the digest before anything becomes visible: on a
 * mismatch the session is discarded and no blob is committed.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import { once } from 'node:events';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { StorageLayout } from './layout.js';
import type { BlobStore } from './blob-store.js';
import { DistributionError } from './errors.js';
import type { Digest } from './names.js';
import { uploadRangeHeader, type ChunkRange } from './ranges.js';
import { DigestingStream, hashFilePrefix } from './digest-stream.js';
import { fsyncFile, listDir, writeFileDurable } from './durable-fs.js';

export interface UploadState {
  uuid: string;
  repository: string;
  /** Bytes committed so far. */
  size: number;
  startedAt: string;
  updatedAt: string;
}

/** Upload ids are server-made UUIDs; anything else is unknown (and never touches the filesystem). */
const uuidRe = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export class UploadStore {
  /** In-memory hash state per session, valid for exactly `size` bytes. */
  private readonly hashes = new Map<string, { hash: crypto.Hash; size: number }>();
  /** Serialises work on one session: chunks must land in order. */
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(private readonly layout: StorageLayout, private readonly blobs: BlobStore) {}

  async create(repository: string): Promise<UploadState> {
    const uuid = crypto.randomUUID();
    const now = new Date().toISOString();
    const state: UploadState = { uuid, repository, size: 0, startedAt: now, updatedAt: now };
    await fsp.mkdir(this.layout.upload(uuid), { recursive: true });
    await (await fsp.open(this.layout.uploadData(uuid), 'wx', 0o600)).close();
    await this.saveState(state);
    this.hashes.set(uuid, { hash: crypto.createHash('sha256'), size: 0 });
    return state;
  }

  /** The session, or `BLOB_UPLOAD_UNKNOWN` (404) — also when it belongs to another repository. */
  async get(repository: string, uuid: string): Promise<UploadState> {
    const state = uuidRe.test(uuid) ? await this.loadState(uuid) : undefined;
    if (!state || state.repository !== repository) {
      throw new DistributionError('BLOB_UPLOAD_UNKNOWN', { detail: { uuid } });
    }
    return state;
  }

  /**
   * Appends one chunk (PATCH, end-5). With a `Content-Range` the chunk must
   * start at the current size, else 416 (spec: "If a chunk is uploaded out of
   * order, the registry MUST respond with a 416"), and its length must match,
   * else `SIZE_INVALID`. Without one (Docker and containers/image stream the
   * whole blob in one PATCH) the chunk is appended.
   */
  async append(repository: string, uuid: string, body: Readable, range: ChunkRange | null): Promise<UploadState> {
    return this.locked(uuid, async () => this.appendLocked(await this.get(repository, uuid), body, range));
  }

  /**
   * Closes the session (PUT, end-6): appends the optional final chunk, checks
   * the whole blob against `digest`, and commits it to the blob store. On a
   * digest mismatch the session is removed and nothing is committed.
   */
  async complete(repository: string, uuid: string, digest: Digest, body: Readable | null, range: ChunkRange | null): Promise<UploadState> {
    return this.locked(uuid, async () => {
      let state = await this.get(repository, uuid);
      if (body) state = await this.appendLocked(state, body, range);
      // On a copy: the live state must stay usable if committing fails below and the client retries.
      // The live hash is sha256 (what nearly every client names); another algorithm is computed
      // over the received bytes now, once.
      const hex = digest.algorithm === 'sha256'
        ? (await this.hashOf(state)).copy().digest('hex')
        : (await hashFilePrefix(this.layout.uploadData(uuid), state.size, digest.algorithm)).digest('hex');
      if (hex !== digest.hex) {
        await this.remove(uuid);
        throw new DistributionError('DIGEST_INVALID', {
          detail: { expected: digest.value, actual: `${digest.algorithm}:${hex}`, size: state.size },
        });
      }
      // Only the committed prefix becomes the blob, whatever a failed chunk left behind.
      await fsp.truncate(this.layout.uploadData(uuid), state.size);
      await fsyncFile(this.layout.uploadData(uuid));
      await this.blobs.commitFile(digest, this.layout.uploadData(uuid));
      await this.remove(uuid);
      return state;
    });
  }

  /** Cancels a session (DELETE on the upload URL). */
  async cancel(repository: string, uuid: string): Promise<void> {
    await this.locked(uuid, async () => {
      await this.get(repository, uuid);
      await this.remove(uuid);
    });
  }

  /**
   * Drops sessions with no readable state or idle longer than `maxAgeMs`.
   * With `repair` (at startup, before requests are taken) it also truncates
   * the data of survivors to their committed size, undoing a crash mid-chunk;
   * later sweeps skip sessions that are in use.
   */
  async sweep(maxAgeMs: number, opts: { repair: boolean }): Promise<{ removed: number; kept: number }> {
    let removed = 0;
    let kept = 0;
    const now = Date.now();
    for (const uuid of await listDir(this.layout.uploadsDir)) {
      if (this.locks.has(uuid)) {
        kept++;
        continue;
      }
      const state = uuidRe.test(uuid) ? await this.loadState(uuid).catch(() => undefined) : undefined;
      let dataSize = -1;
      try {
        dataSize = (await fsp.stat(this.layout.uploadData(uuid))).size;
      } catch { /* missing data: broken session */ }
      const broken = !state || dataSize < 0;
      // While serving, a session being created has no state for a moment: judge it by its age.
      const since = state ? Date.parse(state.updatedAt) : await this.mtime(uuid);
      if ((broken && opts.repair) || now - since > maxAgeMs) {
        await this.remove(uuid);
        removed++;
        continue;
      }
      if (broken || !opts.repair) {
        kept++;
        continue;
      }
      if (dataSize > state.size) {
        await fsp.truncate(this.layout.uploadData(uuid), state.size);
      } else if (dataSize < state.size) {
        await this.saveState({ ...state, size: dataSize });
      }
      kept++;
    }
    return { removed, kept };
  }

  private async mtime(uuid: string): Promise<number> {
    try {
      return (await fsp.stat(this.layout.upload(uuid))).mtimeMs;
    } catch {
      return 0;
    }
  }

  /** Idle sessions are removed by `sweep`; this just forgets in-memory state on close. */
  forgetAll(): void {
    this.hashes.clear();
  }

  // ---- internals

  private async appendLocked(state: UploadState, body: Readable, range: ChunkRange | null): Promise<UploadState> {
    if (range && range.start !== state.size) {
      body.resume();
      throw new DistributionError('BLOB_UPLOAD_INVALID', {
        status: 416,
        message: `chunk starts at ${range.start}, but the upload holds ${state.size} bytes`,
        detail: { uuid: state.uuid, offset: state.size, start: range.start },
        headers: { Range: uploadRangeHeader(state.size), 'Docker-Upload-UUID': state.uuid },
      });
    }
    const hash = await this.hashOf(state);
    const before = hash.copy();
    const file = this.layout.uploadData(state.uuid);
    const sink = new DigestingStream(hash);
    const out = fs.createWriteStream(file, { flags: 'r+', start: state.size });
    const rollback = async () => {
      this.hashes.set(state.uuid, { hash: before, size: state.size });
      // A write still in flight would land after the truncate: wait for the fd to close first.
      if (!out.closed) await once(out, 'close').catch(() => undefined);
      await fsp.truncate(file, state.size).catch(() => undefined);
    };
    try {
      await pipeline(body, sink, out);
    } catch (err) {
      await rollback();
      throw err;
    }
    if (range && sink.bytes !== range.end - range.start + 1) {
      await rollback();
      throw new DistributionError('SIZE_INVALID', {
        message: `Content-Range ${range.start}-${range.end} announced ${range.end - range.start + 1} bytes, got ${sink.bytes}`,
        detail: { uuid: state.uuid, expected: range.end - range.start + 1, received: sink.bytes },
      });
    }
    if (sink.bytes === 0) {
      this.hashes.set(state.uuid, { hash, size: state.size });
      return state;
    }
    // Data durable before the state that claims it.
    await fsyncFile(file);
    const next: UploadState = { ...state, size: state.size + sink.bytes, updatedAt: new Date().toISOString() };
    await this.saveState(next);
    this.hashes.set(state.uuid, { hash, size: next.size });
    return next;
  }

  /** The live hash for `state.size` bytes; rebuilt from `data` after a restart. */
  private async hashOf(state: UploadState): Promise<crypto.Hash> {
    const live = this.hashes.get(state.uuid);
    if (live && live.size === state.size) return live.hash;
    const hash = await hashFilePrefix(this.layout.uploadData(state.uuid), state.size);
    this.hashes.set(state.uuid, { hash, size: state.size });
    return hash;
  }

  private async loadState(uuid: string): Promise<UploadState | undefined> {
    try {
      return JSON.parse(await fsp.readFile(this.layout.uploadState(uuid), 'utf8')) as UploadState;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  private async saveState(state: UploadState): Promise<void> {
    await writeFileDurable(this.layout.tmpDir, this.layout.uploadState(state.uuid), JSON.stringify(state));
  }

  private async remove(uuid: string): Promise<void> {
    this.hashes.delete(uuid);
    await fsp.rm(this.layout.upload(uuid), { recursive: true, force: true });
  }

  private async locked<T>(uuid: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(uuid) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => undefined);
    this.locks.set(uuid, tail);
    try {
      return await run;
    } finally {
      if (this.locks.get(uuid) === tail) this.locks.delete(uuid);
    }
  }
}
