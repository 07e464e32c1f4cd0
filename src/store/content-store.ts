/**
 * The content store: blobs (compressed layers, manifests, configs) addressed
 * by digest under blobs/sha256/<hex>. A blob is written into tmp/, hashed
 * while it streams, checked against the expected digest and size, and only
 * then renamed into place — a blob that is visible is always whole and
 * correct (containerd's content.Writer contract).
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { InvalidParameterError, NotFoundError } from '../errors.js';
import { hex, type DataPaths } from './paths.js';

export interface BlobInfo { digest: string; size: number }

export class DigestMismatchError extends InvalidParameterError {}

/** A blob being written; invisible until `commit` verified it. */
export class BlobWriter extends Writable {
  private readonly hash = createHash('sha256');
  private readonly file;
  private written = 0;
  private finished: Promise<void>;
  private info?: BlobInfo;

  constructor(private readonly tmpPath: string, private readonly blobsDir: string) {
    super();
    this.file = createWriteStream(tmpPath, { mode: 0o644 });
    this.finished = new Promise((resolve, reject) => {
      this.file.once('close', resolve);
      this.file.on('error', reject);
    });
    // Only commit awaits this. An aborted writer's file fails late (a write still in flight when
    // abort destroyed it): that concerns no one, and must not become an unhandled rejection.
    this.finished.catch(() => undefined);
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    this.hash.update(chunk);
    this.written += chunk.length;
    if (this.file.write(chunk)) cb(); else this.file.once('drain', () => cb());
  }

  override _final(cb: (e?: Error | null) => void): void {
    this.file.end(() => cb());
  }

  /**
   * Checks digest (and size, when known) and moves the blob into place.
   * Call after the stream finished. On a mismatch nothing is committed.
   */
  async commit(expected?: { digest?: string; size?: number }): Promise<BlobInfo> {
    const { digest } = await this.digest();
    try {
      if (expected?.digest && expected.digest !== digest) {
        throw new DigestMismatchError(`digest mismatch: expected ${expected.digest}, got ${digest}`);
      }
      if (expected?.size !== undefined && expected.size !== this.written) {
        throw new DigestMismatchError(`size mismatch for ${digest}: expected ${expected.size} bytes, got ${this.written}`);
      }
      await rename(this.tmpPath, join(this.blobsDir, hex(digest)));
    } catch (e) {
      await rm(this.tmpPath, { force: true });
      throw e;
    }
    return { digest, size: this.written };
  }

  /** The digest and size of what was written, once the stream finished; before any commit. */
  async digest(): Promise<BlobInfo> {
    await this.finished;
    this.info ??= { digest: `sha256:${this.hash.digest('hex')}`, size: this.written };
    return this.info;
  }

  async abort(): Promise<void> {
    this.destroy();
    this.file.destroy();
    await rm(this.tmpPath, { force: true });
  }
}

export class ContentStore {
  constructor(private readonly paths: DataPaths) {}

  path(digest: string): string { return join(this.paths.blobs, hex(digest)); }

  async info(digest: string): Promise<BlobInfo | undefined> {
    try {
      const s = await stat(this.path(digest));
      return { digest, size: s.size };
    } catch { return undefined; }
  }

  async has(digest: string): Promise<boolean> { return (await this.info(digest)) !== undefined; }

  open(digest: string): Readable {
    // Big reads: a layer blob is read once, start to end, and each chunk costs a trip through the stream machinery.
    const s = createReadStream(this.path(digest), { highWaterMark: 1 << 20 });
    s.once('error', () => undefined);
    return s;
  }

  async read(digest: string): Promise<Buffer> {
    const chunks: Buffer[] = [];
    try {
      for await (const c of createReadStream(this.path(digest))) chunks.push(c as Buffer);
    } catch {
      throw new NotFoundError(`blob ${digest} not found`);
    }
    return Buffer.concat(chunks);
  }

  async writer(): Promise<BlobWriter> {
    await mkdir(this.paths.blobs, { recursive: true });
    await mkdir(this.paths.tmp, { recursive: true });
    return new BlobWriter(join(this.paths.tmp, `blob-${randomBytes(8).toString('hex')}`), this.paths.blobs);
  }

  /** Writes a whole stream as a blob, verified against `expected`. */
  async put(src: Readable, expected?: { digest?: string; size?: number }): Promise<BlobInfo> {
    const w = await this.writer();
    try {
      await pipeline(src, w);
    } catch (e) {
      await w.abort();
      throw e;
    }
    return w.commit(expected);
  }

  async putBytes(bytes: Buffer): Promise<BlobInfo> {
    const { Readable: R } = await import('node:stream');
    return this.put(R.from([bytes]));
  }

  async delete(digest: string): Promise<void> { await rm(this.path(digest), { force: true }); }
}
