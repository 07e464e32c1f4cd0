/**
 * Crash points of `commit` (issue 9): berthd is killed -9 at random instants
 * of committing a running container (paused for the copy, as dockerd does).
 * After the restart no half image or layer is listed or left, the container
 * runs and is not paused (issue 9 finding 8: the restarted berthd must undo a
 * pause it caused), and the same commit succeeds.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startDaemon, skipUnlessRoot, type Daemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';
import { createContainer, start } from '../engine/api.js';
import { assertSystemDf, killAndRedo, withDaemonLog } from './crash-harness.js';

describe('kill -9 during commit', { skip: skipUnlessRoot() }, () => {
  let d!: Daemon;
  const seen = new Set<string>();
  let source = '';
  const tag = 'crash/commit:1';

  before(async () => {
    d = await startDaemon();
    await importBusybox(d);
    // Enough in the upper dir that the copy takes a while: 2 MiB of noise and 200 small files.
    source = await createContainer(d, {
      Cmd: ['sh', '-c', 'head -c 2097152 /dev/urandom > /big; mkdir /many; for i in $(seq 200); do echo $i > /many/$i; done; touch /ready; while true; do sleep 0.1; done'],
    }, 'source');
    seen.add(source);
    await start(d, source);
    for (let i = 0; i < 200; i++) {
      const r = await d.request('HEAD', `/containers/${source}/archive?path=/ready`);
      if (r.status === 200) break;
      await new Promise((res) => setTimeout(res, 50));
    }
  }, { timeout: 120_000 });
  after(async () => { await d?.stop(); });

  const commit = () => d.request('POST', `/commit?container=${source}&repo=crash/commit&tag=1`, undefined, { timeoutMs: 60_000 });
  const rmi = async () => {
    const r = await d.request('DELETE', `/images/${tag}`);
    assert.ok(r.status === 200 || r.status === 404, r.text);
  };

  test('no half image stays, the container still runs unpaused, and the commit succeeds again', { timeout: 600_000 }, () => withDaemonLog(d, async () => {
    await killAndRedo(d, {
      name: 'commit', defaultRounds: 8, op: commit, undo: rmi, expect: { running: [source], seen },
      succeeded: (r, what) => assert.equal(r.status, 201, `${what}: ${r.text}`),
    });
    const run = await d.berth(['run', '--rm', tag, 'cat', '/many/200']);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout.trim(), '200');
    await assertSystemDf(d);
  }));
});
