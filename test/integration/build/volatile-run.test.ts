/**
 * A RUN step's rootfs is a `volatile` overlay (store/mounts.ts): the fsyncs
 * of the RUN (dpkg's, one per unpacked file) skip the disk, and the build
 * makes the upper dir durable with one syncfs before the layer is recorded.
 * Checked here: the RUN sees its root mounted volatile while a container of
 * the built image does not, the layer holds what the RUN wrote, and the
 * mark overlayfs leaves in a volatile mount's work dir lets the same upper
 * dir be mounted again in the same boot but not after another boot.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startDaemon, skipUnlessRoot, type Daemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';
import { apiBuild, runIn, writeContext } from './build-helpers.js';
import { isMounted, mountOverlay, unmount } from '../../../src/store/mounts.js';

let d!: Daemon;
let dir!: string;

before(async () => {
  if (skipUnlessRoot()) return;
  dir = await mkdtemp('/tmp/berth-test-volatile-');
  d = await startDaemon();
  await importBusybox(d);
}, { timeout: 120_000 });

after(async () => {
  await d?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The super options of the root mount in a `/proc/self/mountinfo` text. */
function rootMountOptions(mountinfo: string): string {
  const line = mountinfo.split('\n').find((l) => l.split(' ')[4] === '/' && l.includes(' - overlay '));
  assert.ok(line, `no overlay root in:\n${mountinfo}`);
  return line.split(' - ')[1];
}

describe('RUN containers mount their rootfs volatile', { skip: skipUnlessRoot() }, () => {
  test('the RUN sees a volatile root, its layer keeps what it wrote, a container of the image does not', { timeout: 300_000 }, async () => {
    const ctx = join(dir, 'ctx');
    await writeContext(ctx, {
      Dockerfile: [
        'FROM busybox',
        'RUN echo "root: $(grep -m1 \' / / \' /proc/self/mountinfo)" && echo kept > /kept && sync',
        '',
      ].join('\n'),
    });
    const built = await apiBuild(d, ctx, { t: 'volatile:test', nocache: '1' });
    assert.equal(built.error, undefined, built.text);
    const seen = /^root: (.*)$/m.exec(built.text)?.[1];
    assert.ok(seen, built.text);
    assert.match(rootMountOptions(seen), /(^|,)(volatile|fsync=volatile)(,|$)/);

    assert.equal((await runIn(d, 'volatile:test', ['cat', '/kept'])).trim(), 'kept');
    const plain = await runIn(d, 'volatile:test', ['cat', '/proc/self/mountinfo']);
    assert.doesNotMatch(rootMountOptions(plain), /volatile/);
  });

  test('a volatile upper dir mounts again in the same boot, not after another', { timeout: 60_000 }, async () => {
    const base = join(dir, 'overlay');
    const [lower, upper, work, merged] = ['lower', 'upper', 'work', 'merged'].map((n) => join(base, n));
    for (const p of [lower, upper, work, merged]) await mkdir(p, { recursive: true });
    await writeFile(join(lower, 'a'), 'lower\n');
    const mark = join(work, 'work', 'incompat', 'volatile');
    try {
      await mountOverlay([lower], upper, work, merged, undefined, true);
      await writeFile(join(merged, 'b'), 'upper\n');
      await unmount(merged);
      // overlayfs's mark stays after a clean umount; the kernel alone would refuse the next mount.
      assert.ok((await stat(mark)).isDirectory());

      await mountOverlay([lower], upper, work, merged, undefined, true);
      assert.equal(await readFile(join(merged, 'b'), 'utf8'), 'upper\n');
      await unmount(merged);
      // An ordinary mount of it too (a `docker cp` after the RUN ended).
      await mountOverlay([lower], upper, work, merged);
      assert.equal(await readFile(join(merged, 'a'), 'utf8'), 'lower\n');
      await unmount(merged);

      // As if the host had restarted since the volatile mount: the upper dir may have lost writes.
      await mountOverlay([lower], upper, work, merged, undefined, true);
      await unmount(merged);
      await writeFile(join(work, 'volatile-boot-id'), '00000000-0000-0000-0000-000000000000\n');
      await assert.rejects(mountOverlay([lower], upper, work, merged), /mounted volatile before the host restarted/);
      assert.equal(await isMounted(merged), false);
    } finally {
      await unmount(merged).catch(() => undefined);
    }
  });
});
