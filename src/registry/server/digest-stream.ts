/**
 * Hash and count bytes as they stream past, so a blob is verified while it
 * is written and never has to be held in memory or read twice.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { DigestAlgorithm } from './names.js';

export class DigestingStream extends Transform {
  bytes = 0;
  constructor(readonly hash: crypto.Hash) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    cb(null, chunk);
  }
}

/**
 * Hash state (sha256 unless told otherwise) over the first `length` bytes
 * of a file. Used when the in-memory hash of an upload is gone (a restart
 * between chunks), and to check an upload against a digest of another
 * registered algorithm.
 */
export async function hashFilePrefix(file: string, length: number, algorithm: DigestAlgorithm = 'sha256'): Promise<crypto.Hash> {
  const hash = crypto.createHash(algorithm);
  if (length === 0) return hash;
  const sink = new DigestingStream(hash);
  sink.resume();
  await pipeline(fs.createReadStream(file, { start: 0, end: length - 1 }), sink);
  return hash;
}
