/**
 * Layers against a real overlayfs: a container's changes in a mounted
 * overlay → diffUpperDir → applyLayer → a fresh overlay shows the same tree
 * (deleted files gone, opaque dirs hiding the lower contents). Also the
 * change list and `docker cp` paths on a mounted root. Needs root.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, link, lstat, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyLayer } from '../../../src/image/layer-apply.js';
import { diffUpperDir, listChanges } from '../../../src/image/layer-diff.js';
import { archiveFrom, extractToRoot, statIn } from '../../../src/image/archive.js';
import { RootedFs } from '../../../src/image/rooted-fs.js';
import { withSpecialFs } from '../../../src/image/fs-special.js';
import { collect, entriesOf, isRoot, streamOf, tarOf } from '../../helpers/layer-fixtures.js';

/** The archive functions over a host directory opened as a rooted view (as the engine opens a container's). */
async function inRoot<T>(root: string, fn: (fs: RootedFs) => Promise<T>): Promise<T> {
  const fs = await RootedFs.openDir(root);
  try { return await fn(fs); } finally { await fs.close(); }
}
const statInRoot = (root: string, p: string) => inRoot(root, (fs) => statIn(fs, p));
const archiveOf = (root: string, p: string) => inRoot(root, async (fs) => collect((await archiveFrom(fs, p)).tar));


const overlayAvailable = isRoot && readFileSync('/proc/filesystems', 'utf8').includes('\toverlay\n');
const skip = overlayAvailable ? false : 'needs root and overlayfs';

interface Scratch {
  dir: string;
  /** Mounts an overlay; the returned function unmounts it early. */
  mount(lowers: string[], upper: string, work: string, target: string): () => void;
  /** Fresh subdirectories of the scratch dir. */
  dirs(...names: string[]): Promise<string[]>;
}

function unmountQuietly(target: string): void {
  try { execFileSync('umount', [target]); } catch { try { execFileSync('umount', ['-l', target]); } catch { /* not mounted */ } }
}

/**
 * A temp dir for overlay tests. One after-hook unmounts what is still
 * mounted (newest first) and only then removes the dir, failure or not.
 */
async function scratch(t: TestContext): Promise<Scratch> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-overlay-'));
  const mounted: string[] = [];
  t.after(async () => {
    for (const m of mounted.splice(0).reverse()) unmountQuietly(m);
    await rm(dir, { recursive: true, force: true });
  });
  return {
    dir,
    mount(lowers, upper, work, target) {
      execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${lowers.join(':')},upperdir=${upper},workdir=${work}`, target]);
      mounted.push(target);
      return () => {
        const i = mounted.indexOf(target);
        if (i === -1) return;
        mounted.splice(i, 1);
        unmountQuietly(target);
      };
    },
    async dirs(...names) {
      const out = names.map((n) => join(dir, n));
      for (const d of out) await mkdir(d);
      return out;
    },
  };
}

const BASE_LAYER = [
  { name: 'etc/', type: 'dir' as const },
  { name: 'etc/passwd', content: 'root:x:0:0\n' },
  { name: 'd1/', type: 'dir' as const },
  { name: 'd1/a', content: 'a' },
  { name: 'd1/b', content: 'b' },
  { name: 'd2/', type: 'dir' as const },
  { name: 'd2/old1', content: 'old1' },
  { name: 'd2/old2', content: 'old2' },
  { name: 'file1', content: 'to be removed' },
  { name: 'keep', content: 'unchanged' },
  { name: 'mod', content: 'before' },
  { name: 'bin/', type: 'dir' as const },
  { name: 'bin/tool', content: 'tool', mode: 0o755 },
];

test('commit round trip through real overlays: deletions and opaque dirs survive', { skip }, async (t) => {
  const s = await scratch(t);
  const [layer1, up1, w1, m1, layer2, up2, w2, m2] = await s.dirs('layer1', 'up1', 'w1', 'm1', 'layer2', 'up2', 'w2', 'm2');

  await applyLayer(streamOf(tarOf(BASE_LAYER, { gzip: true })), layer1);
  const unmount1 = s.mount([layer1], up1, w1, m1);

  // what a container does
  await rm(join(m1, 'file1'));
  await rm(join(m1, 'd1'), { recursive: true });
  await rm(join(m1, 'd2'), { recursive: true });
  await mkdir(join(m1, 'd2'));
  await writeFile(join(m1, 'd2/new'), 'new');
  await writeFile(join(m1, 'mod'), 'after');
  await mkdir(join(m1, 'added'));
  await writeFile(join(m1, 'added/file'), 'added');
  await link(join(m1, 'added/file'), join(m1, 'added/hard'));
  await symlink('/etc/passwd', join(m1, 'added/pw'));
  await chmod(join(m1, 'bin/tool'), 0o700);
  await writeFile(join(m1, 'etc/hostname'), ''); // a mount-point artefact
  await mkdir(join(m1, 'proc'));

  // the kernel wrote overlay whiteouts and an opaque dir
  assert.ok((await lstat(join(up1, 'file1'))).isCharacterDevice());
  assert.ok((await lstat(join(up1, 'd1'))).isCharacterDevice());
  assert.deepEqual(await withSpecialFs((fsx) => fsx.getXattr(join(up1, 'd2'), 'trusted.overlay.opaque')), Buffer.from('y'));

  const changes = await listChanges(up1, [layer1]);
  const byPath = new Map(changes.map((c) => [c.Path, c.Kind]));
  assert.equal(byPath.get('/file1'), 2);
  assert.equal(byPath.get('/d1'), 2);
  assert.equal(byPath.get('/d2'), 2, 'opaque dir over an existing one: D, as dockerd says');
  assert.equal(byPath.get('/d2/new'), 1);
  assert.equal(byPath.get('/mod'), 0);
  assert.equal(byPath.get('/added'), 1);
  assert.equal(byPath.get('/added/file'), 1);
  // copy-up keeps /bin's metadata, and dockerd lists a parent only for A and D
  assert.equal(byPath.has('/bin'), false);
  assert.equal(byPath.get('/bin/tool'), 0);
  assert.equal(byPath.has('/etc/hostname'), false);
  assert.equal(byPath.has('/proc'), false);
  assert.equal(byPath.has('/keep'), false);

  unmount1();
  const tar = await collect(diffUpperDir(up1));
  const names = (await entriesOf(tar)).map((e) => e.header.name);
  for (const n of ['.wh.d1', '.wh.file1', 'd2/', 'd2/.wh..wh..opq', 'd2/new', 'added/hard', 'mod']) assert.ok(names.includes(n), n);
  assert.ok(names.indexOf('d2/.wh..wh..opq') === names.indexOf('d2/') + 1, 'opaque marker right after its dir');
  assert.ok(!names.includes('etc/hostname') && !names.includes('proc/'));

  const applied = await applyLayer(streamOf(tar), layer2);
  assert.equal(applied.diffId, 'sha256:' + createHash('sha256').update(tar).digest('hex'));

  s.mount([layer2, layer1], up2, w2, m2);
  const rootNames = (await readdir(m2)).sort();
  assert.deepEqual(rootNames, ['added', 'bin', 'd2', 'etc', 'keep', 'mod']);
  assert.deepEqual(await readdir(join(m2, 'd2')), ['new'], 'opaque dir hides the lower children');
  assert.equal(await readFile(join(m2, 'mod'), 'utf8'), 'after');
  assert.equal(await readFile(join(m2, 'keep'), 'utf8'), 'unchanged');
  assert.equal((await stat(join(m2, 'bin/tool'))).mode & 0o777, 0o700);
  assert.equal((await stat(join(m2, 'added/file'))).ino, (await stat(join(m2, 'added/hard'))).ino);
  assert.equal(existsSync(join(m2, 'etc/hostname')), false);

  // docker cp against the mounted root
  const st = await statInRoot(m2, '/added/pw');
  assert.equal(st.linkTarget, '/etc/passwd');
  const d2 = (await entriesOf(await archiveOf(m2, '/d2'))).map((e) => e.header.name);
  assert.deepEqual(d2, ['d2/', 'd2/new']);
  await extractToRoot(m2, '/etc', streamOf(tarOf([{ name: 'fromcp/x', content: 'copied in' }])));
  assert.equal(await readFile(join(up2, 'etc/fromcp/x'), 'utf8'), 'copied in', 'cp writes land in the upper dir');
});

test('a whiteout in a higher layer hides a lower file, and re-adding it in the container is an addition', { skip }, async (t) => {
  const s = await scratch(t);
  const [l1, l2, up, w, m] = await s.dirs('l1', 'l2', 'up', 'w', 'm');
  await applyLayer(streamOf(tarOf([{ name: 'etc/', type: 'dir' }, { name: 'etc/motd', content: 'hi' }])), l1);
  await applyLayer(streamOf(tarOf([{ name: 'etc/', type: 'dir' }, { name: 'etc/.wh.motd' }])), l2);
  s.mount([l2, l1], up, w, m);
  assert.deepEqual(await readdir(join(m, 'etc')), []);
  await writeFile(join(m, 'etc/motd'), 'back');
  const changes = await listChanges(up, [l2, l1]);
  assert.deepEqual(changes.find((c) => c.Path === '/etc/motd'), { Path: '/etc/motd', Kind: 1 });
});
