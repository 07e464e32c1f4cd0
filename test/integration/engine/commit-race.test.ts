/**
 * commit pauses only a container that is still running when its turn comes
 * (dockerd's commit pauses a running container and commits a stopped one
 * as it is). docker-py's CommitTest and RemoveImageTest commit a container
 * right after starting a `touch`, which may be exiting: that commit must
 * not fail with the pause's 409 ("is not running") or a 500.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startDaemon, skipUnlessRoot, type Daemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';
import { createContainer, inspect, remove, start, waitExit } from './api.js';

describe('commit of a container that is exiting', { skip: skipUnlessRoot() }, () => {
  let d!: Daemon;
  before(async () => { d = await startDaemon(); await importBusybox(d); }, { timeout: 120_000 });
  after(async () => { await d?.stop(); });

  async function removeImage(id: string | undefined): Promise<void> {
    if (id) await d.request('DELETE', `/images/${id}?force=1`);
  }

  test('docker-py\'s pattern: start `touch`, commit with pause at once', async () => {
    for (let i = 0; i < 5; i++) {
      const id = await createContainer(d, { Cmd: ['touch', '/test'], HostConfig: { NetworkMode: 'none' } });
      let img: string | undefined;
      try {
        await start(d, id);
        const r = await d.request('POST', `/commit?container=${id}&pause=1&changes=EXPOSE+8000`);
        assert.equal(r.status, 201, `round ${i}: ${r.text}`);
        img = r.json().Id;
        const image = (await d.request('GET', `/images/${img}/json`)).json();
        assert.ok('8000/tcp' in image.Config.ExposedPorts);
        assert.equal(await waitExit(d, id), 0);
        assert.equal((await inspect(d, id)).State.Paused, false);
      } finally {
        await remove(d, id);
        await removeImage(img);
      }
    }
  });

  test('a commit that queues behind a kill commits the stopped container, unpaused', async () => {
    for (let i = 0; i < 3; i++) {
      const id = await createContainer(d, { Cmd: ['sh', '-c', 'echo data > /kept; exec sleep 600'], HostConfig: { NetworkMode: 'none' } });
      let img: string | undefined;
      try {
        await start(d, id);
        // The kill holds the container's queue until the exit is handled; the commit, looked up
        // while the container still ran, gets its turn only after.
        const kill = d.request('POST', `/containers/${id}/kill`);
        const commit = d.request('POST', `/commit?container=${id}&pause=1`);
        const [k, r] = await Promise.all([kill, commit]);
        assert.equal(k.status, 204, k.text);
        assert.equal(r.status, 201, `round ${i}: ${r.text}`);
        img = r.json().Id;
        const s = (await inspect(d, id)).State;
        assert.equal(s.Status, 'exited');
        assert.equal(s.Paused, false);
      } finally {
        await remove(d, id);
        await removeImage(img);
      }
    }
  });

  test('a stopped container is committed; a paused one stays paused', async () => {
    const stopped = await createContainer(d, { Cmd: ['sh', '-c', 'echo hi > /made'], HostConfig: { NetworkMode: 'none' } });
    const paused = await createContainer(d, { Cmd: ['sleep', '600'], HostConfig: { NetworkMode: 'none' } });
    const imgs: string[] = [];
    try {
      await start(d, stopped);
      assert.equal(await waitExit(d, stopped), 0);
      const r = await d.request('POST', `/commit?container=${stopped}&pause=1&repo=committed-stopped`);
      assert.equal(r.status, 201, r.text);
      imgs.push(r.json().Id);
      const check = await createContainer(d, { Image: 'committed-stopped', Cmd: ['cat', '/made'], HostConfig: { NetworkMode: 'none' } });
      try {
        await start(d, check);
        assert.equal(await waitExit(d, check), 0);
      } finally {
        await remove(d, check);
      }

      await start(d, paused);
      assert.equal((await d.request('POST', `/containers/${paused}/pause`)).status, 204);
      const p = await d.request('POST', `/commit?container=${paused}&pause=1`);
      assert.equal(p.status, 201, p.text);
      imgs.push(p.json().Id);
      assert.equal((await inspect(d, paused)).State.Status, 'paused');
    } finally {
      await remove(d, stopped);
      await remove(d, paused);
      for (const i of imgs) await removeImage(i);
    }
  });
});
