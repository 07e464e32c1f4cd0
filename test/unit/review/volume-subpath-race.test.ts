/**
 * review1: a volume Subpath is checked, then mounted by the runtime. A second
 * container sharing the volume can swap a checked directory for a symlink in
 * between (CVE-2018-15664 class). The runtime must be handed a source that
 * keeps naming the checked inode: this test does the swap right after the
 * check, before anything reads the source the runtime would get.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ociMounts, type ResolvedMount } from '../../../src/engine/container-mounts.js';
import { bindSubpaths } from '../../../src/engine/volume-subpath.js';
import { unmount } from '../../../src/store/mounts.js';

function volumeMount(source: string, subpath: string, destination: string): ResolvedMount {
  return { Type: 'volume', Name: 'v', Source: source, Destination: destination, Driver: 'local', Mode: 'z', RW: true, Propagation: '', Subpath: subpath };
}

test('the source given to the runtime for a Subpath survives a swap of the volume directory for a symlink', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'review1-subpath-'));
  const run = join(root, 'run');
  t.after(async () => {
    await unmount(join(run, '0')).catch(() => undefined);
    await unmount(join(run, '1')).catch(() => undefined);
    await rm(root, { recursive: true, force: true });
  });
  const vol = join(root, 'vol', '_data');
  const outside = join(root, 'host-secret');
  await mkdir(join(vol, 'a', 'sub'), { recursive: true });
  await writeFile(join(vol, 'a', 'sub', 'inside'), 'volume');
  await writeFile(join(vol, 'file'), 'volume file');
  await mkdir(outside);
  await writeFile(join(outside, 'secret'), 'host');

  const mounts = [volumeMount(vol, 'a/sub', '/data'), volumeMount(vol, 'file', '/f')];
  const binds = await bindSubpaths(mounts, run);
  const spec = ociMounts(mounts, binds.sources);

  // The attacker's swap, after the check and before the runtime's mount.
  await rename(join(vol, 'a'), join(vol, 'a-old'));
  await mkdir(join(vol, 'a'));
  await symlink(outside, join(vol, 'a', 'sub'));

  const data = spec.find((m) => m.destination === '/data')!;
  assert.deepEqual(await readdir(data.source), ['inside'], 'the runtime would mount the host directory the symlink points to');
  const file = spec.find((m) => m.destination === '/f')!;
  assert.ok(!file.source.startsWith(vol), `the runtime is given a path inside the volume: ${file.source}`);

  await binds.release();
  assert.equal(existsSync(run), false, 'the private mount points are removed after the runtime has mounted');
  // The volume's content is untouched by the release (never a recursive removal through a mount).
  assert.deepEqual(await readdir(join(vol, 'a-old', 'sub')), ['inside']);
});

test('a symlink or a .. in the Subpath is refused before anything is mounted', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'review1-subpath-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const vol = join(root, '_data');
  await mkdir(vol);
  await symlink('/', join(vol, 'up'));
  await assert.rejects(bindSubpaths([volumeMount(vol, 'up', '/x')], join(root, 'run')), /too many levels of symbolic links/);
  await assert.rejects(bindSubpaths([volumeMount(vol, 'up/etc', '/x')], join(root, 'run')), /cannot access path/);
  await assert.rejects(bindSubpaths([volumeMount(vol, '../..', '/x')], join(root, 'run')), /escapes the base directory/);
  assert.equal(existsSync(join(root, 'run')), false);
});
