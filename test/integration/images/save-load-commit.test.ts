/**
 * Issue 3, acceptance 5 and 6: `save` writes Docker's archive format
 * (manifest.json + OCI layout, layers named by diffId) and `load` restores
 * the identical image ID; `commit` of a container that changed and deleted
 * files gives a layer whose whiteouts make the deleted files vanish.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { startDaemon, skipUnlessRoot, type Daemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';
import { createContainer, logs, remove, start, waitExit } from '../engine/api.js';

describe('image save, load and commit', { skip: skipUnlessRoot() }, () => {
  let d!: Daemon;
  let dir!: string;
  let busyboxId!: string;
  before(async () => {
    d = await startDaemon();
    busyboxId = await importBusybox(d);
    dir = await mkdtemp('/tmp/berth-test-save-');
  }, { timeout: 120_000 });
  after(async () => { await d?.stop(); if (dir) await rm(dir, { recursive: true, force: true }); });

  test('save writes manifest.json with layers named by their diffId, and load restores the same image ID', async () => {
    const res = await d.request('GET', '/images/get?names=busybox');
    assert.equal(res.status, 200, res.text);
    const archive = join(dir, 'busybox.tar');
    await (await import('node:fs/promises')).writeFile(archive, res.body);
    const out = join(dir, 'x');
    execFileSync('mkdir', ['-p', out]);
    execFileSync('tar', ['-xf', archive, '-C', out]);
    const manifest = JSON.parse(await readFile(join(out, 'manifest.json'), 'utf8'));
    assert.equal(manifest.length, 1);
    assert.deepEqual(manifest[0].RepoTags, ['busybox:latest']);
    const configBytes = await readFile(join(out, manifest[0].Config));
    assert.equal(`sha256:${createHash('sha256').update(configBytes).digest('hex')}`, busyboxId);
    const config = JSON.parse(configBytes.toString('utf8'));
    for (const [i, layerPath] of (manifest[0].Layers as string[]).entries()) {
      const digest = `sha256:${createHash('sha256').update(await readFile(join(out, layerPath))).digest('hex')}`;
      assert.equal(digest, config.rootfs.diff_ids[i], `layer ${i} bytes must hash to its diffId`);
      assert.equal(layerPath, `blobs/sha256/${digest.slice(7)}`);
    }
    assert.ok(JSON.parse(await readFile(join(out, 'index.json'), 'utf8')).manifests.length >= 1);

    const rmi = await d.request('DELETE', '/images/busybox');
    assert.equal(rmi.status, 200, rmi.text);
    const { createReadStream } = await import('node:fs');
    const load = await d.request('POST', '/images/load?quiet=1', createReadStream(archive), { headers: { 'Content-Type': 'application/x-tar' } });
    assert.equal(load.status, 200);
    assert.match(load.text, /Loaded image: busybox:latest/);
    assert.doesNotMatch(load.text, /"error"/);
    const inspect = await d.request('GET', '/images/busybox/json');
    assert.equal(inspect.json().Id, busyboxId);
  });

  test('load refuses an archive whose layer does not match its diffId and keeps nothing', async () => {
    const out = join(dir, 'x');
    const manifest = JSON.parse(await readFile(join(out, 'manifest.json'), 'utf8'));
    const layer = join(out, manifest[0].Layers[0]);
    execFileSync('sh', ['-c', `mkdir -p ${dir}/evil && echo evil > ${dir}/evil/evil && tar -C ${dir}/evil -cf ${layer} evil`]);
    manifest[0].RepoTags = ['tampered:1'];
    await (await import('node:fs/promises')).writeFile(join(out, 'manifest.json'), JSON.stringify(manifest));
    execFileSync('tar', ['-cf', join(dir, 'bad.tar'), '-C', out, '.']);
    const { createReadStream } = await import('node:fs');
    const load = await d.request('POST', '/images/load', createReadStream(join(dir, 'bad.tar')));
    assert.match(load.text, /invalid diffID/);
    assert.equal((await d.request('GET', '/images/tampered:1/json')).status, 404);
    const { readdir } = await import('node:fs/promises');
    assert.equal((await readdir(join(d.dataRoot, 'layers'))).length, 1, 'only busybox\'s layer may remain');
    assert.deepEqual(await readdir(join(d.dataRoot, 'tmp')), []);
  });

  test('commit turns changes and deletions into a layer whose whiteouts hide the deleted files', async () => {
    const id = await createContainer(d, { Cmd: ['sh', '-c', 'rm -rf /bin/vi /home; mkdir -p /d; echo hi > /d/f; echo new > /etc/motd'] });
    try {
      await start(d, id);
      assert.equal(await waitExit(d, id), 0);
      const c = await d.request('POST', `/commit?container=${id}&repo=committed&tag=1&comment=msg&changes=${encodeURIComponent('ENV X=1')}`);
      assert.equal(c.status, 201, c.text);
    } finally {
      await remove(d, id);
    }
    const check = await createContainer(d, { Image: 'committed:1', Cmd: ['sh', '-c', 'test -e /bin/vi && echo vi-present; test -e /home && echo home-present; cat /d/f /etc/motd; echo X=$X'] });
    try {
      await start(d, check);
      assert.equal(await waitExit(d, check), 0);
      const out = await logs(d, check);
      assert.doesNotMatch(out, /vi-present|home-present/);
      assert.match(out, /^hi$/m);
      assert.match(out, /^new$/m);
      assert.match(out, /^X=1$/m);
    } finally {
      await remove(d, check);
    }
    const hist = await d.request('GET', '/images/committed:1/history');
    assert.equal(hist.json()[0].Comment, 'msg');
    const rmi = await d.request('DELETE', '/images/committed:1');
    assert.equal(rmi.status, 200, rmi.text);
  });
});
