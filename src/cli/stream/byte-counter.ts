/**
 * Counts the bytes flowing through a stream (build context size, `cp`
 * totals) without taking data from it: a pass-through Transform, so nothing
 * is lost before the consumer attaches.
 */
import { Transform, type Readable } from 'node:stream';

export class ByteCounter extends Transform {
  bytes = 0;

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null, data?: Buffer) => void): void {
    this.bytes += chunk.length;
    cb(null, chunk);
  }
}

/** `src` piped through a new counter (errors forwarded). */
export function countBytes(src: Readable): ByteCounter {
  const c = new ByteCounter();
  src.on('error', (e) => c.destroy(e));
  src.pipe(c);
  return c;
}
