import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { SharedReplies } from '../../../src/api/shared-replies.js';
import { encodeJsonArray } from '../../../src/api/json-array.js';

test('requests of one key that arrive together share one build', async () => {
  const shared = new SharedReplies<number>();
  let builds = 0;
  const answers = await Promise.all(Array.from({ length: 40 }, () => shared.get('k', () => ++builds)));
  assert.equal(builds, 1);
  assert.deepEqual(answers, new Array(40).fill(1));
});

test('different keys are built apart', async () => {
  const shared = new SharedReplies<string>();
  const [a, b] = await Promise.all([shared.get('a', () => 'A'), shared.get('b', () => 'B')]);
  assert.deepEqual([a, b], ['A', 'B']);
});

test('a request that arrives while its key is being built gets a build that starts after it arrived', async () => {
  const shared = new SharedReplies<number>();
  let state = 0;
  let releaseFirst!: () => void;
  const firstStarted = new Promise<void>((started) => {
    void shared.get('k', async () => {
      const seen = state;
      started();
      await new Promise<void>((r) => { releaseFirst = r; });
      return seen;
    });
  });
  await firstStarted;
  // The first build has read the state; this change and the request after it must not get its answer.
  state = 1;
  const second = shared.get('k', () => state);
  const third = shared.get('k', () => -1);
  releaseFirst();
  assert.equal(await second, 1);
  assert.equal(await third, 1, 'the third request joined the second batch, built once');
});

test('a failed build fails every member of its batch, and the next batch builds again', async () => {
  const shared = new SharedReplies<number>();
  const failed = await Promise.allSettled([shared.get('k', () => { throw new Error('boom'); }), shared.get('k', () => 2)]);
  assert.deepEqual(failed.map((r) => r.status), ['rejected', 'rejected']);
  assert.equal(await shared.get('k', () => 3), 3);
});

test('members are answered a slice per turn, so other work runs between slices', async () => {
  const shared = new SharedReplies<number>();
  const order: string[] = [];
  const members = Array.from({ length: 64 }, (_, i) => shared.get('k', () => 0).then(() => { order.push(`m${i}`); }));
  // Work queued for the turn after the build: it must run before the last members are answered.
  setImmediate(() => setImmediate(() => order.push('other')));
  await Promise.all(members);
  await nextTurn();
  const other = order.indexOf('other');
  assert.ok(other > 0 && other < 64, `other work ran between slices (at ${other})`);
  assert.deepEqual(order.filter((x) => x !== 'other'), members.map((_, i) => `m${i}`));
});

test('while more than a slice of answers is queued, requests of the following turns wait in one open batch', async () => {
  const shared = new SharedReplies<number>();
  let builds = 0;
  const first = Array.from({ length: 160 }, () => shared.get('k', () => ++builds));
  // Clients that list without pause: one request comes back on each of the next turns, while the first answers still go out.
  const later: Promise<number>[] = [];
  for (let turn = 0; turn < 3; turn++) {
    await nextTurn();
    later.push(shared.get('k', () => ++builds));
  }
  assert.deepEqual(await Promise.all(first), new Array(160).fill(1));
  assert.deepEqual(await Promise.all(later), [2, 2, 2], 'the three later requests share the second build');
  assert.equal(builds, 2);
});

test('encodeJsonArray writes what JSON.stringify writes, for any length', async () => {
  for (const n of [0, 1, 249, 250, 251, 1000]) {
    const rows = Array.from({ length: n }, (_, i) => (i % 7 === 3 ? undefined : { i, s: `r"ow\n${i}`, nested: { a: [i, null] } }));
    assert.equal((await encodeJsonArray(rows)).toString('utf8'), `${JSON.stringify(rows)}\n`, `${n} rows`);
  }
});
