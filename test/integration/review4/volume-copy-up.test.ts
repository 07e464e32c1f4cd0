/**
 * Review 4, trust: a new volume is filled at its first start with what the
 * image has at the mount's destination (Docker's copy-up). That path is the
 * image's: a symlink in it (the destination itself or a directory on the
 * way, absolute or full of `..`) is resolved inside the container's root,
 * as the runtime resolves the mount's destination, and never on the host.
 * Before, berthd copied `<rootfs><destination>/.` with `cp -a`, the kernel
 * followed the image's symlink on the host, and the host directory it named
 * (here a canary; as well `/root/.ssh` or `/etc`) was copied into the
 * volume for the container to read.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDaemon, skipUnlessRoot, type Daemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';
import { createContainer, logs, remove, start, waitExit } from '../engine/api.js';

describe('review4: volume copy-up resolves the destination inside the container', { skip: skipUnlessRoot() }, () => {
  let d!: Daemon;
  let canary!: string;
  const secret = randomBytes(12).toString('hex');
  const ids: string[] = [];
  const volumes: string[] = [];

  /** Runs `cmd` in `image` with `binds`; its exit code and output. */
  const run = async (image: string, cmd: string, binds: string[] = []) => {
    const id = await createContainer(d, { Image: image, Cmd: ['sh', '-c', cmd], HostConfig: { Binds: binds } });
    ids.push(id);
    await start(d, id);
    return { code: await waitExit(d, id), out: await logs(d, id), id };
  };

  before(async () => {
    d = await startDaemon();
    await importBusybox(d);
    // The host directory the image's symlinks name: what a hostile image would want to read.
    canary = await mkdtemp(join(tmpdir(), 'berth-review4-canary-'));
    await mkdir(join(canary, 'inner'));
    await writeFile(join(canary, 'secret'), secret);
    await writeFile(join(canary, 'inner', 'secret'), secret);
    // The image: /data and /up name the canary (absolute, and by `..` past the root); /mid is a directory on the way.
    // The image has a directory of its own at the canary's path, so the runtime finds the mount's destination.
    const depth = '../'.repeat(40);
    const made = await run('busybox', [
      `mkdir -p ${canary}/inner`, `echo image > ${canary}/image-file`, `echo image > ${canary}/inner/image-file`,
      `ln -s ${canary} /data`,
      `ln -s ${depth}${canary.slice(1)} /up`,
      `ln -s ${canary} /mid`,
      'mkdir -p /real && echo image > /real/own',
      `ln -s /real /inroot`,
    ].join(' && '));
    assert.equal(made.code, 0, made.out);
    const commit = await d.request('POST', `/commit?container=${made.id}&repo=review4-copyup&tag=latest`);
    assert.equal(commit.status, 201, commit.text);
  }, { timeout: 120_000 });

  after(async () => {
    for (const id of ids) await remove(d, id).catch(() => undefined);
    for (const v of volumes) await d?.request('DELETE', `/volumes/${v}?force=1`);
    await d?.stop();
    if (canary) await rm(canary, { recursive: true, force: true });
  });

  const volumeFiles = async (name: string) => {
    const r = await d.request('GET', `/volumes/${name}`);
    assert.equal(r.status, 200, r.text);
    return readdir(r.json().Mountpoint as string, { recursive: true });
  };

  for (const [what, dest, image] of [
    ['an absolute symlink at the destination', '/data', ['image-file', 'inner', 'inner/image-file']],
    ['a symlink whose .. climb past the root', '/up', ['image-file', 'inner', 'inner/image-file']],
    ['a symlink on the way to the destination', '/mid/inner', ['image-file']],
  ] as const) {
    test(`${what} copies the image's directory there, not the host's`, async () => {
      const vol = `review4-copyup-${volumes.length}`;
      volumes.push(vol);
      const got = await run('review4-copyup', `cat ${dest}/secret 2>/dev/null; ls -A ${dest}`, [`${vol}:${dest}`]);
      assert.ok(!got.out.includes(secret), `the container read the host's file through its volume: ${got.out}`);
      assert.equal(got.code, 0, got.out);
      assert.deepEqual((await volumeFiles(vol)).sort(), image, 'the volume holds the image\'s files only');
    });
  }

  test('a symlink inside the root is followed there, as Docker does: the image\'s directory is copied', async () => {
    const vol = `review4-copyup-${volumes.length}`;
    volumes.push(vol);
    const got = await run('review4-copyup', 'cat /inroot/own', [`${vol}:/inroot`]);
    assert.equal(got.code, 0, got.out);
    assert.equal(got.out, 'image\n');
    assert.deepEqual(await volumeFiles(vol), ['own']);
  });

  test('the host directory is untouched', async () => {
    assert.deepEqual((await readdir(canary, { recursive: true })).sort(), ['inner', 'inner/secret', 'secret']);
  });
});
