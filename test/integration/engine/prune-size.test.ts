/**
 * `container prune` reports what it reclaimed: the size of the removed
 * containers' writable layers (dockerd's SpaceReclaimed, which docker-py's
 * test_prune_containers checks is above 0), the same size that inspect
 * `?size=1` shows as SizeRw — files only, a hard link counted once.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startDaemon, skipUnlessRoot, type Daemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';
import { createContainer, remove, start, waitExit } from './api.js';

describe('container prune', { skip: skipUnlessRoot() }, () => {
  let d!: Daemon;
  before(async () => { d = await startDaemon(); await importBusybox(d); }, { timeout: 120_000 });
  after(async () => { await d?.stop(); });

  test('SpaceReclaimed is the removed writable layers\' size, as SizeRw shows it', async () => {
    const writer = await createContainer(d, {
      Cmd: ['sh', '-c', 'head -c 100000 /dev/zero > /data.bin && ln /data.bin /again.bin && mkdir -p /d/e && echo hello > /d/e/f'],
      HostConfig: { NetworkMode: 'none' },
    });
    const idle = await createContainer(d, { Cmd: ['true'], HostConfig: { NetworkMode: 'none' } });
    const running = await createContainer(d, { Cmd: ['sleep', '600'], HostConfig: { NetworkMode: 'none' } });
    try {
      await start(d, writer);
      await start(d, idle);
      await start(d, running);
      assert.equal(await waitExit(d, writer), 0);
      assert.equal(await waitExit(d, idle), 0);

      const sized = (id: string) => d.request('GET', `/containers/${id}/json?size=1`).then((r) => r.json());
      const w = await sized(writer);
      // 100000 bytes once (the hard link is the same inode), "hello\n", and no directory sizes.
      assert.ok(w.SizeRw >= 100_006 && w.SizeRw < 100_006 + 1024, `SizeRw ${w.SizeRw}`);
      const image = (await d.request('GET', '/images/busybox/json')).json();
      assert.equal(w.SizeRootFs, w.SizeRw + image.Size);
      const i = await sized(idle);

      const since = Math.floor(Date.now() / 1000) - 1;
      const r = await d.request('POST', '/containers/prune');
      assert.equal(r.status, 200, r.text);
      const report = r.json();
      assert.deepEqual([...report.ContainersDeleted].sort(), [writer, idle].sort());
      assert.equal(report.SpaceReclaimed, w.SizeRw + i.SizeRw);
      assert.equal((await d.request('GET', `/containers/${running}/json`)).status, 200);

      // dockerd's prune event carries the same figure.
      const until = Math.floor(Date.now() / 1000) + 1;
      const ev = await d.request('GET', `/events?since=${since}&until=${until}&filters=${encodeURIComponent(JSON.stringify({ event: ['prune'] }))}`);
      const events = ev.text.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
      assert.equal(events.length, 1, ev.text);
      assert.equal(events[0].Type, 'container');
      assert.equal(events[0].Actor.Attributes.reclaimed, String(report.SpaceReclaimed));
    } finally {
      for (const id of [writer, idle, running]) await remove(d, id);
    }
  });
});
