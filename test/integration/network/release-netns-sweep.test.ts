/**
 * A berthd killed while it releases a bridge (netavark.ts's throwaway
 * `berth-release-<pid>-<hex>` namespace) left that namespace behind for
 * good. The next berthd removes those of daemons that are gone, and leaves
 * those of a daemon still running, which may be in the middle of its own
 * release.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { skipUnlessRoot, startDaemon } from '../../helpers/daemon.js';

function addNetns(name: string): void {
  const r = spawnSync('ip', ['netns', 'add', name]);
  assert.equal(r.status, 0, r.stderr.toString());
}

test('berthd removes the release namespaces of dead daemons at start, and only those', { skip: skipUnlessRoot() }, async () => {
  // A pid that is gone: a process that has exited and been reaped.
  const deadPid = spawnSync('true').pid;
  const dead = `berth-release-${deadPid}-0badc0de`;
  const alive = `berth-release-${process.pid}-0badc0de`;
  const legacy = 'berth-release-0badc0de';
  const names = [dead, alive, legacy];
  try {
    for (const n of names) addNetns(n);
    const d = await startDaemon();
    try {
      assert.equal(existsSync(`/run/netns/${dead}`), false, 'the dead daemon\'s namespace is removed');
      assert.equal(existsSync(`/run/netns/${legacy}`), false, 'a namespace of an older berth (no pid) is removed');
      assert.equal(existsSync(`/run/netns/${alive}`), true, 'a running daemon\'s namespace stays');
    } finally {
      await d.stop();
    }
  } finally {
    for (const n of names) spawnSync('ip', ['netns', 'delete', n]);
  }
});
