/**
 * Splits one stream into two with shared backpressure: the source pauses
 * until both consumers took the chunk. Used to unpack a layer while its
 * compressed blob is written to the content store.
 *
 * The three streams fail together. An error of the source destroys both
 * branches with it; a branch that stops before its end (its consumer gave
 * up, e.g. on a bad tar, and destroyed it) destroys the source and the
 * other branch — otherwise the source would wait for that branch's 'drain'
 * for ever, and the other consumer with it. Each branch's errors go to its
 * consumer (pipeline, for await). A consumer that has already failed and
 * stopped listening (a gzip stream cut short fails the unpacking before the
 * client's disconnect fails the source) has nobody left to tell: the
 * source's later error is dropped on that branch rather than thrown at the
 * process.
 */
import { PassThrough, type Readable } from 'node:stream';

export function tee(src: Readable): [PassThrough, PassThrough] {
  const a = new PassThrough();
  const b = new PassThrough();
  a.on('error', () => undefined);
  b.on('error', () => undefined);
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
  // A source already at its end (an empty upload whose first bytes were peeked at) emits 'end' no more.
  if (src.readableEnded) { a.end(); b.end(); } else src.once('end', () => { a.end(); b.end(); });
  src.once('error', (e) => { a.destroy(e); b.destroy(e); });
  const stopped = (branch: PassThrough, other: PassThrough) => () => {
    if (branch.writableFinished) return;
    const e = branch.errored ?? new Error('layer stream closed before its end');
    other.destroy(e);
    src.destroy(e);
  };
  a.once('close', stopped(a, b));
  b.once('close', stopped(b, a));
  return [a, b];
}
