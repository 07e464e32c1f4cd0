/**
 * The global, content-addressed blob store (`blobs/<algorithm>/<hex>`).
 *
 * A blob file appears only by an atomic rename of fully written, fsynced,
 * digest-verified data, so every visible file is complete and correct; blobs
 * are immutable afterwards, and only garbage collection removes them.
 * Repositories see blobs only through links (`repository-store.ts`); this
 * store knows nothing about names, which is what deduplicates a layer pushed
 * to many repositories.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { StorageLayout } from './layout.js';
import { DIGEST_ALGORITHMS, digestFromBlobName, type Digest } from './names.js';
import { listDir, renameDurable, unlinkIfExists, writeFileDurable } from './durable-fs.js';

export class BlobStore {
  constructor(private readonly layout: StorageLayout) {}

  /** Size in bytes, or undefined when the blob is not stored. */
  async size(d: Digest): Promise<number | undefined> {
    try {
      return (await fsp.stat(this.layout.blob(d))).size;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  /** Streams the blob, or the inclusive byte range `[start, end]` of it. */
  open(d: Digest, range?: { start: number; end: number }): Readable {
    return fs.createReadStream(this.layout.blob(d), range ? { start: range.start, end: range.end } : {});
  }

  async readAll(d: Digest): Promise<Buffer> {
    return fsp.readFile(this.layout.blob(d));
  }

  /**
   * Moves a verified, fsynced file into the store under `d`. When the blob is
   * already there (same digest = same bytes) the file is dropped instead.
   */
  async commitFile(d: Digest, file: string): Promise<void> {
    if ((await this.size(d)) !== undefined) {
      await fsp.rm(file, { force: true });
      return;
    }
    await renameDurable(file, this.layout.blob(d));
  }

  /** Stores small content already in memory (manifests), whose digest the caller computed. */
  async putBytes(d: Digest, bytes: Uint8Array): Promise<void> {
    if ((await this.size(d)) !== undefined) return;
    await writeFileDurable(this.layout.tmpDir, this.layout.blob(d), bytes);
  }

  /** Every stored blob, of every algorithm; files not named by a digest are not blobs and are left out. */
  async list(): Promise<Digest[]> {
    const out: Digest[] = [];
    for (const algorithm of DIGEST_ALGORITHMS) {
      for (const name of await listDir(this.layout.blobsDir(algorithm))) {
        const d = digestFromBlobName(algorithm, name);
        if (d) out.push(d);
      }
    }
    return out;
  }

  /**
   * Removes a blob (garbage collection only, `garbage-collect.ts`); false when
   * it was not there. Repositories' links to it must be gone first.
   */
  async delete(d: Digest): Promise<boolean> {
    return unlinkIfExists(this.layout.blob(d));
  }
}
