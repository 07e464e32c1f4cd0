/**
 * Crash points of `pull` (issue 9): berthd is killed -9 at random instants
 * of pulling a three-layer image from Debian's docker-registry. After the
 * restart no half image, layer or blob is listed or left on disk, tmp/ is
 * empty, a bystander container still runs, and the same pull succeeds.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { startDaemon, skipUnlessRoot, type Daemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';
import { startDockerRegistry, type DockerRegistry } from '../../helpers/docker-registry.js';
import { createContainer, start } from '../engine/api.js';
import { assertConsistent, assertStreamOk, assertSystemDf, crashPlan, killDuring, withDaemonLog, makeLayeredImage, timed } from './crash-harness.js';

function skipWithoutRegistry(): string | false {
  return existsSync('/usr/bin/docker-registry') ? false : 'needs docker-registry (Debian package docker-registry)';
}

describe('kill -9 during pull', { skip: skipUnlessRoot() || skipWithoutRegistry() }, () => {
  let d!: Daemon;
  let dir = '';
  let registry: DockerRegistry | undefined;
  let ref = '';
  const seen = new Set<string>();
  let bystander = '';

  before(async () => {
    dir = await mkdtemp('/tmp/berth-test-crashpull-');
    registry = await startDockerRegistry(dir);
    d = await startDaemon();
    await importBusybox(d);
    ref = `${registry.host}/crash/pull:1`;
    await makeLayeredImage(d, ref);
    const push = await d.request('POST', `/images/${ref.slice(0, ref.lastIndexOf(':'))}/push?tag=1`, undefined, { timeoutMs: 120_000 });
    assert.equal(push.status, 200, push.text);
    assertStreamOk(push.text, 'push');
    assert.equal((await d.request('DELETE', `/images/${ref}`)).status, 200);
    bystander = await createContainer(d, { Cmd: ['sh', '-c', 'while true; do sleep 0.1; done'] }, 'bystander');
    seen.add(bystander);
    await start(d, bystander);
  }, { timeout: 180_000 });
  after(async () => {
    await d?.stop();
    await registry?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const pull = () => d.request('POST', `/images/create?fromImage=${encodeURIComponent(ref)}`, undefined, { timeoutMs: 120_000 });
  const rmi = async () => {
    const r = await d.request('DELETE', `/images/${ref}`);
    assert.ok(r.status === 200 || r.status === 404, r.text);
  };

  test('no half image, layer or blob stays, and the pull succeeds again', { timeout: 600_000 }, () => withDaemonLog(d, async () => {
    const plan = crashPlan('pull', 8);
    let took = await timed(async () => assertStreamOk((await pull()).text, 'pull'));
    process.stdout.write(`pull takes ${took.toFixed(0)} ms unkilled\n`);
    for (let i = 1; i <= plan.rounds; i++) {
      await rmi();
      const round = { what: `pull round ${i}/${plan.rounds} (BERTH_CRASH_SEED=${plan.seed})`, delayMs: plan.random() * took * 1.1 };
      await killDuring(d, pull, round, seen);
      await assertConsistent(d, { running: [bystander], seen }, round);
      const t0 = performance.now();
      const again = await pull();
      took = performance.now() - t0; // the next kill lands within a warm run's time
      assert.equal(again.status, 200, `${round.what}: pull again: ${again.text}`);
      assertStreamOk(again.text, `${round.what}: pull again`);
      assert.equal((await d.request('GET', `/images/${ref}/json`)).status, 200);
    }
    await assertConsistent(d, { running: [bystander], seen }, { what: `pull, after the last redo`, delayMs: 0 });
    const run = await d.berth(['run', '--rm', ref, 'cat', '/small']);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /small-/);
    await assertSystemDf(d);
  }));
});
