/**
 * review1: a start (or a stopped container's cp) binds each volume Subpath
 * under `<exec root>/subpaths/<id>` until the runtime has made its own
 * mounts. A berthd killed in between leaves the bind mounted. Start-up
 * unmounts and removes everything there, and so does the container's
 * removal; never by deleting recursively through a live mount (the
 * volume's files must survive). The binds are planted here as a crash
 * leaves them: a directory and a file mount point per container.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCommand, startDaemon, skipUnlessRoot, type Daemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';
import { mountsUnder } from '../../helpers/host.js';
import { createContainer, remove } from '../engine/api.js';

describe('review1: Subpath binds left by a crash', { skip: skipUnlessRoot() }, () => {
  let d!: Daemon;
  let vol = '';
  const planted: string[] = [];
  before(async () => {
    d = await startDaemon();
    await importBusybox(d);
    // Stands for a volume's _data: what the stale binds show, which must outlive their clean-up.
    vol = await mkdtemp(join(tmpdir(), 'review1-stale-subpath-'));
    await mkdir(join(vol, 'sub'));
    await writeFile(join(vol, 'sub', 'keep'), 'keep');
    await writeFile(join(vol, 'file'), 'file');
  }, { timeout: 120_000 });
  after(async () => {
    for (const p of planted.reverse()) if ((await mountsUnder(p)).length) await runCommand('umount', ['-l', p]);
    await d?.stop();
    if (vol) await rm(vol, { recursive: true, force: true });
  });

  /** What a start of `id` killed after its binds leaves: `<id>/0` (a directory) and `<id>/1` (a file), mounted. */
  const plant = async (id: string) => {
    const dir = join(d.execRoot, 'subpaths', id);
    await mkdir(join(dir, '0'), { recursive: true });
    await writeFile(join(dir, '1'), '');
    for (const [src, target] of [[join(vol, 'sub'), join(dir, '0')], [join(vol, 'file'), join(dir, '1')]]) {
      const r = await runCommand('mount', ['--bind', src, target]);
      assert.equal(r.code, 0, r.stderr);
      planted.push(target);
    }
    return dir;
  };
  const volumeIntact = async () => {
    assert.equal(await readFile(join(vol, 'sub', 'keep'), 'utf8'), 'keep');
    assert.equal(await readFile(join(vol, 'file'), 'utf8'), 'file');
  };

  test('removing a container unmounts and removes its stale Subpath binds', async () => {
    const c = await createContainer(d, { Image: 'busybox', Cmd: ['true'] });
    const dir = await plant(c);
    await remove(d, c);
    assert.deepEqual(await mountsUnder(dir), []);
    assert.equal(existsSync(dir), false);
    await volumeIntact();
  });

  test('berthd start-up unmounts and removes every stale Subpath bind', async () => {
    const c = await createContainer(d, { Image: 'busybox', Cmd: ['true'] });
    await plant(c);
    await plant('f'.repeat(64)); // a container whose record never made it (or already went)
    await d.kill9();
    await d.restart();
    const root = join(d.execRoot, 'subpaths');
    assert.deepEqual(await mountsUnder(root), []);
    assert.equal(existsSync(root), false);
    await volumeIntact();
    await remove(d, c);
  });
});
