/**
 * The bound on the builds `/grpc` keeps (api/grpc/build-records.ts): only
 * a build that starts makes a record; finished builds make room for new
 * ones oldest first, and for their kept progress; when every record is a
 * running build a new one is refused with RESOURCE_EXHAUSTED, and nothing
 * is made. A call waiting for a Ref holds no record.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { BuildRecords, type BuildRecord } from '../../../src/api/grpc/build-records.js';
import { BuildProgress } from '../../../src/buildkit/progress.js';
import { errorKind } from '../../../src/errors.js';

const record = (ref: string): BuildRecord => ({ ref, progress: new BuildProgress(ref) });
const signal = () => new AbortController().signal;

// The waits' timers do not hold the event loop (a daemon's would not); this does while the tests run.
let hold: NodeJS.Timeout;
before(() => { hold = setInterval(() => undefined, 1000); });
after(() => clearInterval(hold));

test('past the limit a new build evicts the oldest finished one, and is refused when all are running', async () => {
  const b = new BuildRecords<BuildRecord>({ maxBuilds: 3, maxFinishedBytes: 1 << 20 });
  const r1 = b.create('r1', () => record('r1'));
  const r2 = b.create('r2', () => record('r2'));
  b.create('r3', () => record('r3'));
  let made = 0;
  assert.throws(() => b.create('r4', () => { made++; return record('r4'); }), (e) => errorKind(e) === 'PayloadTooLarge' && /too many builds: 3 are running/.test(String(e)));
  assert.equal(made, 0, 'nothing is made for a refused build');
  b.finish(r2);
  b.finish(r1);
  assert.ok(r1.progress.isEnded);
  // r2 finished first: it goes first.
  b.create('r4', () => record('r4'));
  assert.equal(b.size, 3);
  await assert.rejects(b.wait('r2', 10, signal()), /no such job r2/);
  assert.equal((await b.wait('r1', 10, signal())).ref, 'r1');
  b.create('r5', () => record('r5'));
  await assert.rejects(b.wait('r1', 10, signal()), /no such job r1/);
  assert.throws(() => b.create('r6', () => record('r6')), /too many builds/);
});

test('finished builds keep at most the given bytes of progress in all, the oldest going first', async () => {
  const b = new BuildRecords<BuildRecord>({ maxBuilds: 100, maxFinishedBytes: 2500 });
  for (const ref of ['a', 'b', 'c']) {
    const r = b.create(ref, () => record(ref));
    r.progress.publish({ logs: [{ vertex: 'v', stream: 1, msg: Buffer.alloc(1000) }] });
    b.finish(r);
  }
  await assert.rejects(b.wait('a', 10, signal()), /no such job a/);
  assert.equal((await b.wait('b', 10, signal())).ref, 'b');
  assert.equal((await b.wait('c', 10, signal())).ref, 'c');
});

test('a wait for a Ref makes no record; it gets the build once it starts, or the reason it was refused', async () => {
  const b = new BuildRecords<BuildRecord>({ maxBuilds: 1, maxFinishedBytes: 1 << 20 });
  const waiting = b.wait('x', 60_000, signal());
  const refused = b.wait('y', 60_000, signal());
  assert.equal(b.size, 0);
  const x = b.create('x', () => record('x'));
  assert.equal(await waiting, x);
  b.fail('y', new Error('refused for a reason'));
  await assert.rejects(refused, /refused for a reason/);
  const ac = new AbortController();
  const gone = b.wait('z', 60_000, ac.signal);
  ac.abort();
  await assert.rejects(gone, /context canceled/);
  // A finished build's Ref may start again: it is a new build.
  b.finish(x);
  const again = b.create('x', () => record('x'));
  assert.notEqual(again, x);
  assert.equal(b.running('x'), again);
});
