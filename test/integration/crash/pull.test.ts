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
import { assertStreamOk, assertSystemDf, killAndRedo, makeLayeredImage, withDaemonLog } from './crash-harness.js';

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
    await killAndRedo(d, {
      name: 'pull', defaultRounds: 8, op: pull, undo: rmi, expect: { running: [bystander], seen },
      succeeded: (r, what) => { assert.equal(r.status, 200, `${what}: ${r.text}`); assertStreamOk(r.text, what); },
      checkRedo: async () => assert.equal((await d.request('GET', `/images/${ref}/json`)).status, 200),
    });
    const run = await d.berth(['run', '--rm', ref, 'cat', '/small']);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /small-/);
    await assertSystemDf(d);
  }));
});
