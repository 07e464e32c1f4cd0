/**
 * Issue 9, item 7: one berthd per data root and per exec root. A second
 * berthd on a root that a running berthd holds exits at once, non-zero,
 * naming the root and the holder's pid, and touches nothing: the first's
 * container keeps running and its pid file stays. The lock is a kernel lock
 * that dies with its holder, so a berthd killed with -9 can be replaced at
 * once.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { startDaemon, skipUnlessRoot, runCommand, type Daemon, type RunResult } from '../../helpers/daemon.js';
import { berthdBin } from '../../helpers/paths.js';
import { importBusybox } from '../../helpers/busybox.js';
import { createContainer, inspect, remove, start } from './api.js';

describe('one berthd per root', { skip: skipUnlessRoot() }, () => {
  let d!: Daemon;
  let id = '';
  before(async () => {
    d = await startDaemon();
    await importBusybox(d);
    id = await createContainer(d, { Cmd: ['sh', '-c', 'trap "exit 0" TERM; while true; do sleep 0.1; done'] }, 'held');
    await start(d, id);
  }, { timeout: 120_000 });
  after(async () => {
    if (id) await remove(d, id).catch(() => undefined);
    await d?.stop();
  });

  /** A second berthd on the given roots; on old code it would serve until killed (the timeout then fails the test). */
  function secondDaemon(dataRoot: string, execRoot: string): Promise<RunResult> {
    return runCommand(process.execPath, [
      berthdBin, '-H', `unix://${join(d.tmpDir, 'second.sock')}`, '--data-root', dataRoot, '--exec-root', execRoot,
      '--bridge', d.net.bridge, '--bip', d.net.bip, '--default-address-pool', d.net.pool,
    ], { timeoutMs: 20_000 });
  }

  async function assertFirstUntouched(): Promise<void> {
    const c = await inspect(d, id);
    assert.equal(c.State.Status, 'running');
    assert.ok(c.State.Pid > 0);
    process.kill(c.State.Pid, 0); // the container's process is still there
    assert.equal(readFileSync(join(d.execRoot, 'berthd.pid'), 'utf8').trim(), String(d.pid), 'the first berthd\'s pid file stays');
    assert.equal((await d.request('GET', '/_ping')).status, 200);
  }

  test('a second berthd on the same data root exits non-zero, naming the root and the holder', async () => {
    const pid0 = (await inspect(d, id)).State.Pid;
    const otherExec = await mkdtemp('/run/bt-lock-');
    try {
      const r = await secondDaemon(d.dataRoot, otherExec);
      assert.notEqual(r.code, 0, r.stderr);
      assert.match(r.stderr, new RegExp(`berthd: another berthd \\(pid ${d.pid}\\) holds ${d.dataRoot} \\(lock file .*/berthd\\.lock\\)`));
    } finally {
      await rm(otherExec, { recursive: true, force: true });
    }
    await assertFirstUntouched();
    assert.equal((await inspect(d, id)).State.Pid, pid0);
  });

  test('a second berthd on the same exec root (another data root) exits non-zero and leaves the pid file', async () => {
    const r = await secondDaemon(join(d.tmpDir, 'other-data'), d.execRoot);
    assert.notEqual(r.code, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`berthd: another berthd \\(pid ${d.pid}\\) holds ${d.execRoot} \\(lock file .*/berthd\\.lock\\)`));
    await assertFirstUntouched();
  });

  test('after kill -9 of the holder a new berthd starts at once on the same roots and keeps the container', async () => {
    await d.kill9();
    await d.restart();
    await assertFirstUntouched();
    // …and holds the roots in turn.
    const r = await secondDaemon(d.dataRoot, d.execRoot);
    assert.notEqual(r.code, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`another berthd \\(pid ${d.pid}\\) holds`));
  });
});
