/**
 * Sinks for filesync (filesync.ts): the build context's entries, handed to
 * berth's build service as they arrive and written by the same checked
 * extraction as `POST /build`'s tar (image/archive.ts `extractEntriesInto`)
 * with no tar in between; and a small in-memory directory for the
 * Dockerfile and its ignore file.
 *
 * Entries are what the docker CLI's context tar would say: owned by root,
 * with the client's permission bits and modification times in whole
 * seconds (so both paths give a COPY the same files, and the same cache).
 */
import { InvalidParameterError } from '../errors.js';
import { newHeader, type TarEntry, type TarHeader } from '../image/tar-format.js';
import type { SyncEntry, SyncSink } from './filesync.js';

const TAR_TYPES = { dir: 'dir', file: 'file', symlink: 'symlink', hardlink: 'link' } as const;

function headerOf(e: SyncEntry): TarHeader {
  return newHeader({
    name: e.path, type: TAR_TYPES[e.kind], mode: e.mode, uid: 0, gid: 0, size: e.kind === 'file' ? e.size : 0,
    mtime: Math.floor(e.mtimeMs / 1000), linkname: e.linkname,
  });
}

async function* noBytes(): AsyncGenerator<Buffer> {
  // An entry without content.
}

/**
 * Turns filesync's pushes into the entries an extraction pulls. An entry
 * without bytes is queued and the transfer goes on (up to MAX_QUEUED
 * entries ahead of the extraction); one with bytes waits
 * until the extraction has read them (they come straight off the session's
 * stream, so nothing of a large file is held here). The extraction stopping
 * early (its error, or its end) fails every later push; the transfer
 * failing (`fail`) ends the entries with its error.
 */
/** Entries without bytes queued ahead of the extraction, at most: a walk of 500,000 directories must not become as many queued entries. */
export const MAX_QUEUED = 256;

export class ContextEntriesSink implements SyncSink {
  private readonly queue: (TarEntry | { end: true } | { error: unknown })[] = [];
  private wake: (() => void) | undefined;
  /** The transfer, waiting for the queue to shrink. */
  private room: (() => void) | undefined;
  private stopped: Error | undefined;
  private readonly stopListeners = new Set<(e: Error) => void>();
  /** Bytes of files received. */
  bytes = 0;

  /** The extraction's side; read it once. */
  readonly entries: AsyncIterable<TarEntry> = { [Symbol.asyncIterator]: () => this.iterator() };

  async entry(e: SyncEntry, data?: AsyncIterable<Buffer>): Promise<void> {
    this.bytes += e.kind === 'file' ? e.size : 0;
    if (!data) {
      if (this.queue.length >= MAX_QUEUED) await this.waitForRoom();
      this.push({ header: headerOf(e), body: noBytes() });
      return;
    }
    await this.pushAndWait(headerOf(e), data);
  }

  /** No more entries. */
  end(): void {
    this.push({ end: true });
  }

  /** The transfer failed: the extraction gets `error` after what it has. */
  fail(error: unknown): void {
    this.push({ error });
  }

  private push(item: TarEntry | { end: true } | { error: unknown }): void {
    if (this.stopped) throw this.stopped;
    this.queue.push(item);
    this.wake?.();
  }

  private waitForRoom(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const onStop = (err: Error) => reject(err);
      this.stopListeners.add(onStop);
      this.room = () => { this.stopListeners.delete(onStop); resolve(); };
    });
  }

  /** Queues a file whose bytes come from `data`; resolves when the extraction has read them all. */
  private pushAndWait(header: TarHeader, data: AsyncIterable<Buffer>): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const onStop = (err: Error) => reject(err);
      const settle = (err?: unknown) => {
        this.stopListeners.delete(onStop);
        if (err) reject(err); else resolve();
      };
      this.stopListeners.add(onStop);
      const body = async function* (): AsyncGenerator<Buffer> {
        try {
          for await (const chunk of data) yield chunk;
        } catch (err) {
          settle(err);
          throw err;
        }
        settle();
      };
      try {
        this.push({ header, body: body() });
      } catch (err) {
        settle(err);
      }
    });
  }

  private async *iterator(): AsyncGenerator<TarEntry> {
    try {
      for (;;) {
        const item = this.queue.shift();
        if (!item) { await new Promise<void>((r) => { this.wake = r; }); this.wake = undefined; continue; }
        if (this.room && this.queue.length < MAX_QUEUED / 2) { const room = this.room; this.room = undefined; room(); }
        if ('end' in item) return;
        if ('error' in item) throw item.error;
        yield item;
      }
    } finally {
      // The extraction is done with the entries, at their end or on its error.
      this.stop();
    }
  }

  /**
   * Nothing reads the entries from now on (the extraction ended, or never
   * started because the build failed before it): a file still waiting to be
   * read never will be, and later pushes have no one to read them, so they
   * fail and the transfer ends instead of waiting forever.
   */
  stop(): void {
    if (this.stopped) return;
    this.stopped = new InvalidParameterError('the build context was not read to its end');
    for (const l of this.stopListeners) l(this.stopped);
    this.stopListeners.clear();
  }

  /** Whether `e` is this sink's own refusal after stop(), not an error of the transfer. */
  isStopError(e: unknown): boolean {
    return this.stopped !== undefined && e === this.stopped;
  }
}

/** Keeps regular files (at most `maxBytes` in all) in memory; other entries are noted by kind only. */
export class MemorySink implements SyncSink {
  readonly files = new Map<string, Buffer>();
  private total = 0;

  constructor(private readonly maxBytes: number) {}

  async entry(e: SyncEntry, data?: AsyncIterable<Buffer>): Promise<void> {
    if (e.kind !== 'file') return;
    if (this.total + e.size > this.maxBytes) throw new InvalidParameterError(`${e.path} is too large (over ${this.maxBytes} bytes)`);
    const chunks: Buffer[] = [];
    if (data) for await (const c of data) chunks.push(c);
    const buf = Buffer.concat(chunks);
    this.total += buf.length;
    this.files.set(e.path, buf);
  }
}
