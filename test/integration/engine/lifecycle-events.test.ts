/**
 * The events of a container's life in dockerd's order (daemon/kill.go,
 * stop.go, restart.go): every signal sent is a `kill` event with its
 * number, a finished stop a `stop` event after the `die`; `docker events`
 * users and compose watch for them.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startDaemon, skipUnlessRoot, type Daemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { createContainer, logs, remove, start } from './api.js';

describe('lifecycle events', { skip: skipUnlessRoot() }, () => {
  let d!: Daemon;
  before(async () => { d = await startDaemon(); await importBusybox(d); }, { timeout: 120_000 });
  after(async () => { await d?.stop(); });

  /** The container's events from `sinceS` until now, as `action` or `action:signal`. */
  async function eventsOf(id: string, sinceS: string): Promise<string[]> {
    // Each request below answers once its events are out: the past is enough.
    const until = (Date.now() / 1000 + 0.001).toFixed(3);
    const filters = encodeURIComponent(JSON.stringify({ container: [id] }));
    const r = await d.request('GET', `/events?since=${sinceS}&until=${until}&filters=${filters}`, undefined, { timeoutMs: 10_000 });
    assert.equal(r.status, 200, r.text);
    return r.text.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l))
      .map((e) => (e.Action === 'kill' ? `kill:${e.Actor.Attributes.signal}` : e.Action));
  }

  test('stop, kill, restart and rm -f', async () => {
    // `trap` so that SIGTERM ends it at once (a shell as pid 1 ignores it otherwise).
    const id = await createContainer(d, { Cmd: ['sh', '-c', 'trap "exit 0" TERM; echo ready; while :; do sleep 1; done'], HostConfig: { NetworkMode: 'none' } });
    /** Until the n-th run has its trap set (a signal before it would be ignored by pid 1). */
    const trapped = async (n: number) => {
      for (let i = 0; i < 300 && ((await logs(d, id)).match(/ready/g) ?? []).length < n; i++) await sleep(20);
    };
    try {
      await start(d, id);
      await trapped(1);
      const t0 = (Date.now() / 1000).toFixed(3);
      assert.equal((await d.request('POST', `/containers/${id}/stop`)).status, 204);
      assert.deepEqual(await eventsOf(id, t0), ['kill:15', 'die', 'stop']);

      await start(d, id);
      const t1 = (Date.now() / 1000).toFixed(3);
      assert.equal((await d.request('POST', `/containers/${id}/kill`)).status, 204);
      assert.deepEqual(await eventsOf(id, t1), ['kill:9', 'die']);

      await start(d, id);
      await trapped(3);
      const t2 = (Date.now() / 1000).toFixed(3);
      assert.equal((await d.request('POST', `/containers/${id}/restart`)).status, 204);
      assert.deepEqual(await eventsOf(id, t2), ['kill:15', 'die', 'stop', 'start', 'restart']);

      const t3 = (Date.now() / 1000).toFixed(3);
      assert.equal((await d.request('DELETE', `/containers/${id}?force=1`)).status, 204);
      assert.deepEqual(await eventsOf(id, t3), ['kill:9', 'die', 'destroy']);
    } finally {
      await remove(d, id);
    }
  });
});
