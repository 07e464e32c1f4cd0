/**
 * Lists that arrive together share one answer (api/shared-replies.ts); a
 * list sent after a change must still show it. Here lists run without pause
 * from other clients, so a batch is always open or being built when the
 * test's own list arrives: it must not get an answer built before it was
 * sent. Each change — create, rename, start and exit, remove — is followed
 * by a list that has to show it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { skipUnlessRoot, startDaemon, type Daemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';
import { createContainer, remove, start, waitExit } from './api.js';

interface Row { Id: string; Names: string[]; State: string }

describe('container lists shared between concurrent clients', { skip: skipUnlessRoot() }, () => {
  let d!: Daemon;
  before(async () => {
    d = await startDaemon();
    await importBusybox(d);
  }, { timeout: 120_000 });
  after(async () => { await d?.stop(); });

  test('a list sent after create, rename, exit and remove shows each change', { timeout: 300_000 }, async () => {
    const list = async () => {
      const r = await d.request('GET', '/containers/json?all=1');
      assert.equal(r.status, 200, r.text);
      return r.json<Row[]>();
    };
    let loading = true;
    const others = Array.from({ length: 16 }, async () => { while (loading) await list(); });
    const made: string[] = [];
    try {
      for (let i = 0; i < 8; i++) {
        const id = await createContainer(d, { Cmd: ['true'], HostConfig: { NetworkMode: 'none' } }, `shared-${i}`);
        made.push(id);
        assert.deepEqual((await list()).find((c) => c.Id === id)?.Names, [`/shared-${i}`], 'after create');

        const renamed = await d.request('POST', `/containers/${id}/rename?name=shared-${i}-renamed`);
        assert.equal(renamed.status, 204, renamed.text);
        assert.deepEqual((await list()).find((c) => c.Id === id)?.Names, [`/shared-${i}-renamed`], 'after rename');

        await start(d, id);
        assert.equal(await waitExit(d, id), 0);
        assert.equal((await list()).find((c) => c.Id === id)?.State, 'exited', 'after exit');

        await remove(d, id);
        assert.equal((await list()).some((c) => c.Id === id), false, 'after remove');
      }
    } finally {
      loading = false;
      await Promise.allSettled(others);
      for (const id of made) await remove(d, id).catch(() => undefined);
    }
    await Promise.all(others);
  });
});
