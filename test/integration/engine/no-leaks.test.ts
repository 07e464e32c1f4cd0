/**
 * Issue 2, acceptance 6: 50 containers created, started, listed and removed
 * leave no mounts, processes, cgroups or files behind.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { startDaemon, skipUnlessRoot, isClean, formatLeftovers, type Daemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';
import { createContainer, remove, start } from './api.js';

describe('container lifecycle hygiene', { skip: skipUnlessRoot() }, () => {
  let d!: Daemon;
  before(async () => { d = await startDaemon(); await importBusybox(d); }, { timeout: 120_000 });
  after(async () => { await d?.stop(); });

  test('50 containers created, started, listed and removed leave nothing behind', { timeout: 180_000 }, async () => {
    const ids: string[] = [];
    try {
      for (let i = 0; i < 50; i += 10) {
        const batch = await Promise.all(Array.from({ length: 10 }, (_, j) =>
          createContainer(d, { Cmd: ['sleep', '300'], Labels: { batch: String(i), n: String(i + j) } })));
        ids.push(...batch);
        await Promise.all(batch.map((id) => start(d, id)));
      }
      const ps = await d.request('GET', '/containers/json?filters=' + encodeURIComponent(JSON.stringify({ label: ['batch'] })));
      assert.equal((ps.json() as unknown[]).length, 50);
      const during = await d.leftovers();
      assert.ok(during.processes.length >= 50, 'the containers should be running');
    } finally {
      for (let i = 0; i < ids.length; i += 10) await Promise.all(ids.slice(i, i + 10).map((id) => remove(d, id)));
    }
    const all = await d.request('GET', '/containers/json?all=1');
    assert.deepEqual(all.json(), []);
    const left = await d.leftovers();
    assert.ok(isClean(left), `left behind:\n${formatLeftovers(left)}`);
    assert.deepEqual(await readdir(join(d.dataRoot, 'containers')), []);
    assert.deepEqual(await readdir(join(d.execRoot, 'c')).catch(() => []), []);
  });
});
