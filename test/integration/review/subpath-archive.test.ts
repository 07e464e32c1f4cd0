/**
 * review1: a stopped container's view (docker cp, archive HEAD/GET/PUT) must
 * apply a volume mount's Subpath as the runtime does: /data is the
 * subpath's directory, not the volume's root. Known wrong (fix belongs in
 * engine/container-archive.ts stoppedMounts, which mounts m.Source and
 * ignores m.Subpath): marked todo until then.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startDaemon, skipUnlessRoot, type Daemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';
import { createContainer, remove, start, waitExit } from '../engine/api.js';

describe('review1: Subpath in a stopped container\'s view', { skip: skipUnlessRoot() }, () => {
  let d!: Daemon;
  before(async () => { d = await startDaemon(); await importBusybox(d); }, { timeout: 120_000 });
  after(async () => { await d?.stop(); });

  test('archive of /data shows the subpath, not the whole volume', { todo: 'engine/container-archive.ts stoppedMounts ignores Subpath' }, async () => {
    const ids: string[] = [];
    try {
      const fill = await createContainer(d, { Image: 'busybox', Cmd: ['sh', '-c', 'mkdir -p /v/sub && touch /v/sub/inside /v/rootfile'], HostConfig: { Binds: ['spvol:/v'] } });
      ids.push(fill);
      await start(d, fill);
      assert.equal(await waitExit(d, fill), 0);
      const c = await createContainer(d, {
        Image: 'busybox', Cmd: ['true'],
        HostConfig: { Mounts: [{ Type: 'volume', Source: 'spvol', Target: '/data', VolumeOptions: { Subpath: 'sub' } }] },
      });
      ids.push(c);
      assert.equal((await d.request('HEAD', `/containers/${c}/archive?path=/data/inside`)).status, 200);
      assert.equal((await d.request('HEAD', `/containers/${c}/archive?path=/data/rootfile`)).status, 404);
    } finally {
      for (const id of ids) await remove(d, id).catch(() => undefined);
      await d.request('DELETE', '/volumes/spvol');
    }
  });
});
