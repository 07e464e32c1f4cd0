import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Slots } from '../../../src/engine/slots.js';

test('slots: at most N holders, waiters served in the order they came', async () => {
  const slots = new Slots(2);
  const order: number[] = [];
  let holding = 0;
  let most = 0;
  const gates = Array.from({ length: 5 }, () => {
    let resolve!: () => void;
    const promise = new Promise<void>((r) => { resolve = r; });
    return { promise, resolve };
  });
  const tasks = gates.map(async (gate, i) => {
    await slots.take();
    holding++;
    most = Math.max(most, holding);
    order.push(i);
    await gate.promise;
    holding--;
    slots.give();
  });
  // Let the first two in, then free them in reverse: the next to enter is still the oldest waiter.
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(order, [0, 1]);
  gates[1].resolve();
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(order, [0, 1, 2]);
  for (const g of gates) g.resolve();
  await Promise.all(tasks);
  assert.deepEqual(order, [0, 1, 2, 3, 4]);
  assert.equal(most, 2);
});

test('slots: a cancelled wait rejects with the reason and takes no slot', async () => {
  const slots = new Slots(1);
  await slots.take();
  const cancel = new AbortController();
  const waiting = slots.take(cancel.signal);
  const reason = new Error('context canceled');
  cancel.abort(reason);
  await assert.rejects(waiting, (e) => e === reason);
  await assert.rejects(slots.take(cancel.signal), (e) => e === reason);
  // The one slot, given back, goes to the next live waiter.
  const next = slots.take();
  slots.give();
  await next;
});
