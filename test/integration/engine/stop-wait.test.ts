/**
 * A stop that waits out its timeout (`stop -t -1` of a process that ignores
 * SIGTERM: busybox's sleep as PID 1 has no handler, so the kernel drops it)
 * must not hold back other operations on the same container — `kill`,
 * `rm -f`, `rename`, a second `stop -t 0` — they act at once, and the
 * waiting stop then answers too, as on dockerd.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { startDaemon, skipUnlessRoot, type Daemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';
import { createContainer, inspect, start } from './api.js';

describe('a stop waiting for its timeout', { skip: skipUnlessRoot() }, () => {
  let d!: Daemon;
  before(async () => { d = await startDaemon(); await importBusybox(d); }, { timeout: 120_000 });
  after(async () => { await d?.stop(); });

  /** A running container and a `stop -t -1` under way against it (its answer, when it comes). */
  const stopping = async (): Promise<{ id: string; stop: Promise<number> }> => {
    const id = await createContainer(d, { Cmd: ['sleep', '100000'] });
    await start(d, id);
    const stop = d.request('POST', `/containers/${id}/stop?t=-1`, undefined, { timeoutMs: 60_000 }).then((r) => r.status);
    // The stop has sent its SIGTERM (ignored) and waits: the container is still running.
    await sleep(300);
    assert.equal((await inspect(d, id)).State.Running, true);
    return { id, stop };
  };

  test('rm -f removes the container at once, and the stop answers', async () => {
    const { id, stop } = await stopping();
    const rm = await d.request('DELETE', `/containers/${id}?force=1`, undefined, { timeoutMs: 20_000 });
    assert.equal(rm.status, 204, rm.text);
    assert.equal(await stop, 204);
    assert.equal((await d.request('GET', `/containers/${id}/json`)).status, 404);
  });

  test('kill acts at once, and the stop answers', async () => {
    const { id, stop } = await stopping();
    const kill = await d.request('POST', `/containers/${id}/kill`, undefined, { timeoutMs: 20_000 });
    assert.equal(kill.status, 204, kill.text);
    assert.equal(await stop, 204);
    assert.equal((await inspect(d, id)).State.Running, false);
  });

  test('rename answers at once, and a second stop -t 0 ends the first', async () => {
    const { id, stop } = await stopping();
    const rename = await d.request('POST', `/containers/${id}/rename?name=renamed-while-stopping`, undefined, { timeoutMs: 20_000 });
    assert.equal(rename.status, 204, rename.text);
    assert.equal((await inspect(d, id)).Name, '/renamed-while-stopping');
    const now = await d.request('POST', `/containers/${id}/stop?t=0`, undefined, { timeoutMs: 20_000 });
    assert.equal(now.status, 204, now.text);
    assert.equal(await stop, 204);
    assert.equal((await inspect(d, id)).State.Running, false);
  });

  test('many stops waiting at once all answer when the container goes', async () => {
    const { id, stop } = await stopping();
    const more = Array.from({ length: 20 }, () => d.request('POST', `/containers/${id}/stop?t=-1`, undefined, { timeoutMs: 60_000 }).then((r) => r.status));
    await sleep(300);
    const rm = await d.request('DELETE', `/containers/${id}?force=1`, undefined, { timeoutMs: 20_000 });
    assert.equal(rm.status, 204, rm.text);
    assert.equal(await stop, 204);
    for (const status of await Promise.all(more)) assert.ok(status === 204 || status === 304 || status === 404, `a waiting stop answered ${status}`);
  });
});
