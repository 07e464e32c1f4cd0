/**
 * A blob download that survives a dropped connection: when the body breaks
 * off with a transient network error (reset, idle timeout, early close), the
 * download asks again from the byte it got to (`Range: bytes=N-`, which
 * RegistryClient.getBlob sends, dropping skipped bytes itself when a
 * registry ignores the range), as dockerd's puller does, a few times with
 * growing pauses. The caller verifies the whole stream against its digest,
 * so a resumed blob is as safe as an unbroken one.
 */
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { isRetryableError } from './retry.js';

export interface ResumeOptions {
  /** How many times a broken download is taken up again. */
  resumes: number;
  /** Pause before resume number `n` (1-based). */
  delayMs: (n: number) => number;
  /** Told before each pause (progress: "Retrying in 2 seconds"). */
  onResume?: (n: number, delayMs: number, offset: number, err: unknown) => void;
  signal?: AbortSignal;
}

export const DEFAULT_RESUME: ResumeOptions = { resumes: 4, delayMs: (n) => 500 * 2 ** (n - 1) };

/**
 * The bytes of a blob: `first` (the body of the first request, made by the
 * caller so that its failure is the caller's error), then `reopen(offset)` at
 * the current offset after each transient break.
 */
export function resumableBlob(first: Readable, reopen: (offset: number) => Promise<Readable>, o: ResumeOptions = DEFAULT_RESUME): Readable {
  async function* bytes(): AsyncGenerator<Buffer> {
    let offset = 0;
    for (let resumed = 0; ; resumed++) {
      const body = resumed === 0 ? first : await reopen(offset);
      try {
        for await (const chunk of body as AsyncIterable<Buffer>) {
          offset += chunk.length;
          yield chunk;
        }
        return;
      } catch (err) {
        body.destroy();
        if (resumed >= o.resumes || !isRetryableError(err) || o.signal?.aborted) throw err;
        const delay = o.delayMs(resumed + 1);
        o.onResume?.(resumed + 1, delay, offset, err);
        await sleep(delay, undefined, o.signal ? { signal: o.signal } : {});
      }
    }
  }
  return Readable.from(bytes(), { objectMode: false });
}
