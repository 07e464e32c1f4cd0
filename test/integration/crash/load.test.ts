/**
 * Crash points of `load` (issue 9): berthd is killed -9 at random instants
 * of loading a docker-save archive (`GET /images/get` of a three-layer
 * image). After the restart no half image, layer or blob is listed or left,
 * tmp/ (where the archive is unpacked) is empty, a bystander container still
 * runs, and the same load succeeds.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startDaemon, skipUnlessRoot, type Daemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';
import { createContainer, start } from '../engine/api.js';
import { assertStreamOk, assertSystemDf, killAndRedo, makeLayeredImage, withDaemonLog } from './crash-harness.js';

describe('kill -9 during load', { skip: skipUnlessRoot() }, () => {
  let d!: Daemon;
  let dir = '';
  let archive = '';
  const seen = new Set<string>();
  let bystander = '';
  const tag = 'crash/load:1';

  before(async () => {
    dir = await mkdtemp('/tmp/berth-test-crashload-');
    archive = join(dir, 'image.tar');
    d = await startDaemon();
    await importBusybox(d);
    await makeLayeredImage(d, tag);
    const saved = await d.request('GET', `/images/get?names=${encodeURIComponent(tag)}`, undefined, { timeoutMs: 60_000 });
    assert.equal(saved.status, 200, saved.text);
    await writeFile(archive, saved.body);
    // busybox goes too, so a load brings every layer.
    assert.equal((await d.request('DELETE', `/images/${tag}`)).status, 200);
    bystander = await createContainer(d, { Cmd: ['sh', '-c', 'while true; do sleep 0.1; done'] }, 'bystander');
    seen.add(bystander);
    await start(d, bystander);
  }, { timeout: 120_000 });
  after(async () => {
    await d?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const load = () => d.request('POST', '/images/load', createReadStream(archive), { headers: { 'Content-Type': 'application/x-tar' }, timeoutMs: 60_000 });
  const rmi = async () => {
    const r = await d.request('DELETE', `/images/${tag}`);
    assert.ok(r.status === 200 || r.status === 404, r.text);
  };

  test('no half image, layer or blob stays, and the load succeeds again', { timeout: 600_000 }, () => withDaemonLog(d, async () => {
    await killAndRedo(d, {
      name: 'load', defaultRounds: 8, op: load, undo: rmi, expect: { running: [bystander], seen },
      succeeded: (r, what) => { assert.equal(r.status, 200, `${what}: ${r.text}`); assertStreamOk(r.text, what); },
      checkRedo: async () => assert.equal((await d.request('GET', `/images/${tag}/json`)).status, 200),
    });
    const run = await d.berth(['run', '--rm', tag, 'cat', '/small']);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /small-/);
    await assertSystemDf(d);
  }));
});
