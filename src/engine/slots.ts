/**
 * A counting semaphore whose waiters are served in the order they came:
 * at most N of a pull's downloads or a push's uploads at a time, started in
 * layer order. A wait ends early, rejected with the signal's reason, when
 * the operation is cancelled.
 */
export class Slots {
  private waiters: (() => void)[] = [];

  constructor(private free: number) {}

  async take(signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    if (this.free > 0) {
      this.free--;
      return;
    }
    await new Promise<void>((resolve, reject) => {
      const ready = () => { signal?.removeEventListener('abort', stop); resolve(); };
      const stop = () => { this.waiters = this.waiters.filter((w) => w !== ready); reject(signal!.reason); };
      this.waiters.push(ready);
      signal?.addEventListener('abort', stop, { once: true });
    });
  }

  give(): void {
    const next = this.waiters.shift();
    if (next) next();
    else this.free++;
  }
}
