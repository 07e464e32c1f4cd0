/**
 * A container waiting out its restart back-off is a run in dockerd's eyes
 * (its State says Running and Restarting, daemon/delete.go and stop.go):
 * `rm` without force refuses it with dockerd's wording, as docker-py's
 * test_create_with_restart_policy checks, `start` is a 304, and `stop`
 * ends the back-off (204, never 304) so that it restarts no more.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { startDaemon, skipUnlessRoot, type Daemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';
import { createContainer, inspect, remove, start } from './api.js';

describe('a container in restart back-off', { skip: skipUnlessRoot() }, () => {
  let d!: Daemon;
  before(async () => { d = await startDaemon(); await importBusybox(d); }, { timeout: 120_000 });
  after(async () => { await d?.stop(); });

  /**
   * A container that fails at once under `--restart always`, waited on until
   * it is in a back-off of at least 800 ms (the fourth: 100 ms doubling), so
   * the request that follows lands in it.
   */
  async function inLongBackOff(name: string): Promise<string> {
    const id = await createContainer(d, { Cmd: ['false'], HostConfig: { RestartPolicy: { Name: 'always' }, NetworkMode: 'none' } }, name);
    await start(d, id);
    for (let i = 0; i < 600; i++) {
      const c = await inspect(d, id);
      if (c.State.Restarting && c.RestartCount >= 4) return id;
      await sleep(20);
    }
    throw new Error(`container ${name} never reached a long restart back-off`);
  }

  test('rm without force is refused with dockerd\'s words; rm -f removes it', async () => {
    const id = await inLongBackOff('backoff-rm');
    try {
      const r = await d.request('DELETE', '/containers/backoff-rm');
      assert.equal(r.status, 409, r.text);
      assert.equal(r.json().message, 'cannot remove container "backoff-rm": container is restarting: stop the container before removing or force remove');
      assert.equal((await inspect(d, id)).Name, '/backoff-rm');
      const forced = await d.request('DELETE', '/containers/backoff-rm?force=1');
      assert.equal(forced.status, 204, forced.text);
      assert.equal((await d.request('GET', `/containers/${id}/json`)).status, 404);
    } finally {
      await remove(d, id);
    }
  });

  test('start in the back-off is a 304: the back-off goes on', async () => {
    const id = await inLongBackOff('backoff-start');
    try {
      const count = (await inspect(d, id)).RestartCount;
      const r = await d.request('POST', `/containers/${id}/start`);
      assert.equal(r.status, 304, r.text);
      // Its own timer starts it again.
      for (let i = 0; i < 600 && (await inspect(d, id)).RestartCount === count; i++) await sleep(20);
      assert.ok((await inspect(d, id)).RestartCount > count);
    } finally {
      await remove(d, id);
    }
  });

  test('stop ends the back-off: 204, exited, and no further restart', async () => {
    const id = await inLongBackOff('backoff-stop');
    try {
      const r = await d.request('POST', `/containers/${id}/stop`);
      assert.equal(r.status, 204, r.text);
      const s = (await inspect(d, id));
      assert.equal(s.State.Status, 'exited');
      assert.equal(s.State.Restarting, false);
      const count = s.RestartCount;
      // Longer than the back-off it was in: a timer left behind would have started it again.
      await sleep(2000);
      const later = await inspect(d, id);
      assert.equal(later.State.Status, 'exited');
      assert.equal(later.RestartCount, count);
      // Stopped for good, it goes without force.
      const rm = await d.request('DELETE', `/containers/${id}`);
      assert.equal(rm.status, 204, rm.text);
    } finally {
      await remove(d, id);
    }
  });

  test('rm of a running container quotes the name the client gave', async () => {
    const id = await createContainer(d, { Cmd: ['sleep', '600'], HostConfig: { NetworkMode: 'none' } }, 'rm-running');
    try {
      await start(d, id);
      const r = await d.request('DELETE', `/containers/${id.slice(0, 12)}`);
      assert.equal(r.status, 409, r.text);
      assert.equal(r.json().message, `cannot remove container "${id.slice(0, 12)}": container is running: stop the container before removing or force remove`);
      assert.equal((await d.request('POST', `/containers/${id}/pause`)).status, 204);
      const paused = await d.request('DELETE', '/containers/rm-running');
      assert.equal(paused.status, 409, paused.text);
      assert.equal(paused.json().message, 'cannot remove container "rm-running": container is paused and must be unpaused first');
    } finally {
      await remove(d, id);
    }
  });
});
