/**
 * Splits one stream into two with shared backpressure: the source pauses
 * until both consumers took the chunk. Used to unpack a layer while its
 * compressed blob is written to the content store.
 */
import { PassThrough, type Readable } from 'node:stream';

export function tee(src: Readable): [PassThrough, PassThrough] {
  const a = new PassThrough();
  const b = new PassThrough();
  src.on('data', (chunk: Buffer) => {
    const okA = a.write(chunk);
    const okB = b.write(chunk);
    if (!okA || !okB) {
      src.pause();
      let waiting = (okA ? 0 : 1) + (okB ? 0 : 1);
      const resume = () => { if (--waiting === 0) src.resume(); };
      if (!okA) a.once('drain', resume);
      if (!okB) b.once('drain', resume);
    }
  });
  src.once('end', () => { a.end(); b.end(); });
  src.once('error', (e) => { a.destroy(e); b.destroy(e); });
  return [a, b];
}
