/**
 * A container's writable layer is its own making: a directory nested far
 * beyond PATH_MAX (4096 bytes of path from the layer's root) must neither
 * stop `container prune` (SpaceReclaimed is measured first) nor `rm` of the
 * container: a container must not make itself unremovable. (The size walk
 * stops 512 levels down, so the file at the bottom is not counted.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startDaemon, skipUnlessRoot } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';
import { createContainer, start, waitExit } from '../engine/api.js';

// Wrapped from the outside in (mv), so that no command ever names a long path itself.
const DEEP = 'echo hello > /top && cd /tmp && mkdir x && echo hi > x/f && i=0; while [ $i -lt 2200 ]; do mkdir y && mv x y/ && mv y x || exit 1; i=$((i+1)); done';

test('a layer nested past PATH_MAX is pruned (its size counted) and removed', { skip: skipUnlessRoot(), timeout: 180_000 }, async (t) => {
  const d = await startDaemon();
  t.after(() => d.stop());
  await importBusybox(d);

  const pruned = await createContainer(d, { Cmd: ['sh', '-c', DEEP], WorkingDir: '/' }, 'r2-deep-prune');
  await start(d, pruned);
  assert.equal(await waitExit(d, pruned), 0);
  const sized = await d.request('GET', `/containers/${pruned}/json?size=1`);
  assert.equal(sized.status, 200, sized.text);
  assert.ok(sized.json().SizeRw >= 6, sized.text.slice(0, 200));
  const prune = await d.request('POST', '/containers/prune', undefined, { timeoutMs: 120_000 });
  assert.equal(prune.status, 200, prune.text);
  assert.deepEqual(prune.json().ContainersDeleted, [pruned]);
  assert.ok(prune.json().SpaceReclaimed >= 6);

  const removed = await createContainer(d, { Cmd: ['sh', '-c', DEEP], WorkingDir: '/' }, 'r2-deep-rm');
  await start(d, removed);
  assert.equal(await waitExit(d, removed), 0);
  const rm = await d.request('DELETE', `/containers/${removed}`, undefined, { timeoutMs: 120_000 });
  assert.equal(rm.status, 204, rm.text);
  assert.equal((await d.request('GET', `/containers/${removed}/json`)).status, 404);
});
