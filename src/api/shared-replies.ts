/**
 * Identical reads that arrive together share one answer.
 *
 * Building and encoding `GET /containers/json` costs about a millisecond
 * per hundred containers. Six hundred clients listing at once, each list
 * built alone, hold the event loop for that many milliseconds per round,
 * and every other request — a ping, a container's start — waits behind
 * them (bench: `/_ping` p99 under 600 lists + 50 runs).
 *
 * A request joins the batch of its key while that batch is still open. The
 * batch is built on a later turn of the event loop, after the requests of
 * this turn were read, so its answer shows the state at a moment between
 * each member's request and its reply: what the request would have shown
 * built alone. A request that arrives while its key's batch is being built
 * opens the next batch, which is built when that build has finished.
 * Members are then answered a slice at a time, one slice per turn (all
 * batches of all keys share one queue), so that writing hundreds of bodies
 * does not hold the loop either. While that queue holds more than a turn's
 * slice, a batch due to be built stays open instead (still taking members,
 * so still built after each of them arrived) until the queue is down to its
 * last slice: its answers could not go out sooner, and clients that list
 * without pause would otherwise get one build per turn, each for the
 * handful of requests the previous slice's answers brought back.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';

interface Member<T> {
  resolve(value: T): void;
  reject(error: unknown): void;
}

interface Batch<T> {
  members: Member<T>[];
  build: () => T | Promise<T>;
}

/** How many members of a batch get their answer per turn of the event loop. */
const MEMBERS_PER_TURN = 16;

export class SharedReplies<T> {
  /** The batch still taking members, per key. */
  private readonly open = new Map<string, Batch<T>>();
  /** The build under way, per key: the next batch starts after it. */
  private readonly building = new Map<string, Promise<void>>();

  /**
   * The answer for `key`: built by `build` (the first member's) once for
   * every request of the same key that joins before the batch starts.
   * Callers must give the same key only to requests whose answers are equal.
   */
  get(key: string, build: () => T | Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const batch = this.open.get(key);
      if (batch) {
        batch.members.push({ resolve, reject });
        return;
      }
      const fresh: Batch<T> = { members: [{ resolve, reject }], build };
      this.open.set(key, fresh);
      const previous = this.building.get(key);
      const start = () => this.startWhenAnswered(key, fresh);
      if (previous) void previous.then(() => setImmediate(start));
      else setImmediate(start);
    });
  }

  /** Builds that wait for the answer queue to be down to its last slice. */
  private readonly deferred: (() => void)[] = [];

  private startWhenAnswered(key: string, batch: Batch<T>): void {
    if (this.answering.length > MEMBERS_PER_TURN) this.deferred.push(() => this.run(key, batch));
    else this.run(key, batch);
  }

  private run(key: string, batch: Batch<T>): void {
    this.open.delete(key);
    const built = (async () => batch.build())();
    const done = built.then(() => undefined, () => undefined);
    this.building.set(key, done);
    void done.then(() => { if (this.building.get(key) === done) this.building.delete(key); });
    built.then((value) => this.release(batch.members, value), (e: unknown) => { for (const m of batch.members) m.reject(e); });
  }

  /** Members waiting for their answer, of every batch, in the order their batches were built. */
  private readonly answering: { member: Member<T>; value: T }[] = [];
  private pumping = false;

  /**
   * Queues the members' answers. One queue for all batches: while one
   * batch is being answered the next is built, and answering each a slice
   * per turn would still answer them all in the same turns.
   */
  private release(members: readonly Member<T>[], value: T): void {
    for (const member of members) this.answering.push({ member, value });
    if (!this.pumping) void this.pump();
  }

  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      for (let first = true; this.answering.length > 0; first = false) {
        if (!first) await nextTurn();
        for (const { member, value } of this.answering.splice(0, MEMBERS_PER_TURN)) member.resolve(value);
        // The pump runs while anything is queued, so a deferred build always gets here.
        if (this.answering.length <= MEMBERS_PER_TURN) for (const start of this.deferred.splice(0)) start();
      }
    } finally {
      this.pumping = false;
    }
  }
}
