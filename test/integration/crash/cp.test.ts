/**
 * Crash points of `cp` into a running container (issue 9): berthd is killed
 * -9 at random instants of `PUT /containers/{id}/archive` of a tar with many
 * files. After the restart the container still runs, nothing is mounted or
 * running without a record, and the same copy succeeds (the files are there).
 * The same for a container that is not running, whose rootfs is mounted for
 * the copy only and must not stay mounted.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { startDaemon, skipUnlessRoot, type Daemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';
import { createContainer, start } from '../engine/api.js';
import { tarOf, writeContext } from '../build/build-helpers.js';
import { assertConsistent, assertSystemDf, crashPlan, killDuring, withDaemonLog, timed } from './crash-harness.js';

describe('kill -9 during cp into a running container', { skip: skipUnlessRoot() }, () => {
  let d!: Daemon;
  let dir = '';
  let archive!: Buffer;
  const seen = new Set<string>();
  let target = '';

  before(async () => {
    dir = await mkdtemp('/tmp/berth-test-crashcp-');
    const files: Record<string, Buffer> = { 'payload/big': randomBytes(4 << 20) };
    for (let i = 0; i < 300; i++) files[`payload/d${i % 10}/f${i}`] = randomBytes(4096);
    await writeContext(dir, files);
    archive = await tarOf(dir);
    d = await startDaemon();
    await importBusybox(d);
    target = await createContainer(d, { Cmd: ['sh', '-c', 'while true; do sleep 0.1; done'] }, 'target');
    seen.add(target);
    await start(d, target);
  }, { timeout: 120_000 });
  after(async () => {
    await d?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const cp = (into: string, container = target) => d.request('PUT', `/containers/${container}/archive?path=${encodeURIComponent(into)}`, archive,
    { headers: { 'Content-Type': 'application/x-tar' }, timeoutMs: 60_000 });
  const mkdirIn = async (path: string) => {
    const e = await d.request('POST', `/containers/${target}/exec`, { Cmd: ['mkdir', '-p', path] });
    assert.equal(e.status, 201, e.text);
    const s = await d.request('POST', `/exec/${e.json().Id}/start`, { Detach: false, Tty: false });
    assert.equal(s.status, 200, s.text);
  };

  test('the container keeps running, and the copy succeeds again', { timeout: 600_000 }, () => withDaemonLog(d, async () => {
    const plan = crashPlan('cp', 8);
    await mkdirIn('/dst/0');
    let took = await timed(async () => { const r = await cp('/dst/0'); assert.equal(r.status, 200, r.text); });
    process.stdout.write(`cp takes ${took.toFixed(0)} ms unkilled\n`);
    for (let i = 1; i <= plan.rounds; i++) {
      const into = `/dst/${i}`;
      await mkdirIn(into);
      const round = { what: `cp round ${i}/${plan.rounds} into ${into} (BERTH_CRASH_SEED=${plan.seed})`, delayMs: plan.random() * took * 1.1 };
      await killDuring(d, () => cp(into), round, seen);
      await assertConsistent(d, { running: [target], seen }, round);
      const t0 = performance.now();
      const again = await cp(into);
      took = performance.now() - t0; // the next kill lands within a warm run's time
      assert.equal(again.status, 200, `${round.what}: cp again: ${again.text}`);
      const check = await d.request('HEAD', `/containers/${target}/archive?path=${encodeURIComponent(`${into}/payload/d9/f299`)}`);
      assert.equal(check.status, 200, `${round.what}: the copied file is missing`);
    }
    await assertConsistent(d, { running: [target], seen }, { what: `cp, after the last redo`, delayMs: 0 });
    await assertSystemDf(d);
  }));

  // A container that is not running has its rootfs mounted for the copy only: a kill must not leave it mounted.
  test('a copy into a stopped container leaves no mount, and succeeds again', { timeout: 600_000 }, () => withDaemonLog(d, async () => {
    const plan = crashPlan('cp into a stopped container', 6);
    const stopped = await createContainer(d, { Cmd: ['true'] }, 'stopped');
    seen.add(stopped);
    let took = await timed(async () => { const r = await cp('/', stopped); assert.equal(r.status, 200, r.text); });
    for (let i = 1; i <= plan.rounds; i++) {
      const round = { what: `cp into a stopped container round ${i}/${plan.rounds} (BERTH_CRASH_SEED=${plan.seed})`, delayMs: plan.random() * took * 1.1 };
      await killDuring(d, () => cp('/', stopped), round, seen);
      await assertConsistent(d, { running: [target], seen }, round);
      const t0 = performance.now();
      const again = await cp('/', stopped);
      took = performance.now() - t0;
      assert.equal(again.status, 200, `${round.what}: cp again: ${again.text}`);
    }
    const check = await d.request('HEAD', `/containers/${stopped}/archive?path=${encodeURIComponent('/payload/d9/f299')}`);
    assert.equal(check.status, 200, 'the copied file is missing');
    await assertConsistent(d, { running: [target], seen }, { what: 'cp into a stopped container, after the last redo', delayMs: 0 });
  }));
});
