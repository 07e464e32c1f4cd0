/**
 * A readable's chunks as an async iterable that keeps the readable flowing:
 * up to `highWater` bytes are taken in ahead of the consumer before it is
 * paused. Iterating a Node stream directly reads it in paused mode, where
 * each 64 KiB socket read overruns the stream's 16 KiB mark and stops
 * reading the socket until the consumer catches up: a stop and a restart of
 * the socket per chunk, and the sender kept waiting between them (a 1 GiB
 * `cp` took a third longer just to receive). Counts the bytes received
 * (`cp`'s total), as ByteCounter does for a pipe.
 */
import type { Readable } from 'node:stream';

export class FlowingChunks implements AsyncIterable<Buffer> {
  /** Bytes received so far. */
  bytes = 0;
  private readonly queue: Buffer[] = [];
  private queued = 0;
  private ended = false;
  private failure: Error | null = null;
  private wake: (() => void) | null = null;

  constructor(private readonly src: Readable, private readonly highWater = 1 << 20) {
    src.on('data', (chunk: Buffer) => {
      this.queue.push(chunk);
      this.queued += chunk.length;
      this.bytes += chunk.length;
      if (this.queued >= this.highWater) src.pause();
      this.notify();
    });
    src.on('end', () => { this.ended = true; this.notify(); });
    src.on('error', (e: Error) => { this.failure ??= e; this.notify(); });
    src.on('close', () => {
      if (!this.ended) this.failure ??= new Error('the stream closed before its end');
      this.notify();
    });
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Buffer> {
    try {
      for (;;) {
        const chunk = this.queue.shift();
        if (chunk) {
          this.queued -= chunk.length;
          if (this.src.isPaused() && this.queued < this.highWater / 2) this.src.resume();
          yield chunk;
          continue;
        }
        if (this.failure) throw this.failure;
        if (this.ended) return;
        await new Promise<void>((resolve) => { this.wake = resolve; });
      }
    } finally {
      // Left before the end (an entry refused): nothing more is wanted from the source.
      if (!this.ended) this.src.destroy();
    }
  }
}
