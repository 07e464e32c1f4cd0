/** Start-up restarts: which containers (restartsAtDaemonStart), and in what order (startInDependencyOrder). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { restartsAtDaemonStart, startInDependencyOrder } from '../../../src/engine/start-order.js';

test('a container starts after the starts of its dependencies among those started, failed or not', async () => {
  const order: string[] = [];
  const deps: Record<string, string[]> = { parent: ['child', 'elsewhere'], child: ['grandchild'], grandchild: [], lone: [] };
  await startInDependencyOrder(['parent', 'lone', 'child', 'grandchild'], (id) => deps[id] ?? [], async (id) => {
    order.push(id);
    await new Promise((r) => setImmediate(r));
    if (id === 'child') throw new Error('child failed');
  });
  assert.ok(order.indexOf('grandchild') < order.indexOf('child'));
  assert.ok(order.indexOf('child') < order.indexOf('parent'));
  assert.deepEqual([...order].sort(), ['child', 'grandchild', 'lone', 'parent'], 'each once; a dependency not restarted is not waited for');
});

test('a dependency cycle does not keep anything from starting', async () => {
  const started: string[] = [];
  await startInDependencyOrder(['a', 'b'], (id) => (id === 'a' ? ['b'] : ['a']), async (id) => { started.push(id); });
  assert.deepEqual(started.sort(), ['a', 'b']);
});

test("which stopped containers berthd's start-up restarts (dockerd restore)", () => {
  const ran = '2026-01-01T00:00:00Z';
  const c = (name: string, o: { ManualStop?: boolean; ExitCode?: number; StartedAt?: string; RestartCount?: number; max?: number } = {}) => ({
    State: { StartedAt: o.StartedAt ?? ran, ExitCode: o.ExitCode ?? 0 }, RestartCount: o.RestartCount ?? 0, ManualStop: o.ManualStop,
    HostConfig: { RestartPolicy: { Name: name, MaximumRetryCount: o.max ?? 0 } },
  });
  assert.equal(restartsAtDaemonStart(c('always', { ManualStop: true })), true);
  assert.equal(restartsAtDaemonStart(c('always', { StartedAt: '0001-01-01T00:00:00Z' })), false);
  assert.equal(restartsAtDaemonStart(c('unless-stopped')), true);
  assert.equal(restartsAtDaemonStart(c('unless-stopped', { ManualStop: true })), false);
  assert.equal(restartsAtDaemonStart(c('on-failure', { ExitCode: 1 })), true);
  assert.equal(restartsAtDaemonStart(c('on-failure', { ExitCode: 0 })), false);
  assert.equal(restartsAtDaemonStart(c('on-failure', { ExitCode: 1, RestartCount: 3, max: 3 })), false);
  assert.equal(restartsAtDaemonStart(c('no')), false);
});
