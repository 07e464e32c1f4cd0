import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { lstat, mkdir, readFile, readlink, readdir, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { InvalidParameterError } from '../../../src/errors.js';
import { applyLayer } from '../../../src/image/layer-apply.js';
import { withSpecialFs } from '../../../src/image/fs-special.js';
import { isRoot, streamOf, tarOf, tempDir } from '../../helpers/layer-fixtures.js';

const needsRoot = { skip: isRoot ? false : 'needs root (mknod, chown, trusted.* xattrs)' };

const sha = (b: Buffer) => 'sha256:' + createHash('sha256').update(b).digest('hex');

test('files, dirs, links, devices and metadata are applied; diffId is over the uncompressed bytes', needsRoot, async (t) => {
  const dir = await tempDir(t);
  const entries = [
    { name: 'etc/', type: 'dir' as const, mode: 0o755, mtime: 1_500_000_000 },
    { name: 'etc/passwd', content: 'root:x:0:0\n', mode: 0o644, uid: 0, gid: 42, mtime: 1_500_000_100 },
    { name: 'bin/', type: 'dir' as const, mode: 0o755 },
    { name: 'bin/su', content: 'ELF', mode: 0o4755, uid: 0, gid: 0 },
    { name: 'bin/sudo', type: 'link' as const, linkname: 'bin/su' },
    { name: 'bin/sh', type: 'symlink' as const, linkname: '/bin/busybox', uid: 7, gid: 8, mtime: 1_400_000_000 },
    { name: 'tmp/', type: 'dir' as const, mode: 0o1777 },
    { name: 'dev/null', type: 'char' as const, devmajor: 1, devminor: 3, mode: 0o666 },
    { name: 'dev/loop0', type: 'block' as const, devmajor: 7, devminor: 0, mode: 0o660 },
    { name: 'run/fifo', type: 'fifo' as const, mode: 0o640, uid: 5, gid: 6 },
    { name: 'data', content: Buffer.from([1, 2, 3]), xattrs: new Map([['user.bin', Buffer.from([0, 0xff, 0x7f])]]) },
  ];
  for (const gzip of [false, true]) {
    const target = join(dir, gzip ? 'gz' : 'plain');
    await mkdir(target);
    const plain = tarOf(entries);
    const r = await applyLayer(streamOf(tarOf(entries, { gzip })), target);
    assert.equal(r.diffId, sha(plain));
    assert.equal(r.size, 11 + 3 + 3);

    const passwd = await stat(join(target, 'etc/passwd'));
    assert.equal(await readFile(join(target, 'etc/passwd'), 'utf8'), 'root:x:0:0\n');
    assert.equal(passwd.gid, 42);
    assert.equal(passwd.mtimeMs, 1_500_000_100_000);
    assert.equal((await stat(join(target, 'etc'))).mtimeMs, 1_500_000_000_000, 'dir mtime set after its contents');
    assert.equal((await stat(join(target, 'bin/su'))).mode & 0o7777, 0o4755, 'setuid survives chown');
    assert.equal((await stat(join(target, 'bin/su'))).ino, (await stat(join(target, 'bin/sudo'))).ino);
    const sh = await lstat(join(target, 'bin/sh'));
    assert.ok(sh.isSymbolicLink());
    assert.equal(await readlink(join(target, 'bin/sh')), '/bin/busybox');
    assert.deepEqual([sh.uid, sh.gid, sh.mtimeMs], [7, 8, 1_400_000_000_000]);
    assert.equal((await stat(join(target, 'tmp'))).mode & 0o7777, 0o1777);
    const nul = await lstat(join(target, 'dev/null'));
    assert.ok(nul.isCharacterDevice());
    assert.equal(nul.rdev, (1 << 8) | 3);
    assert.equal(nul.mode & 0o777, 0o666);
    assert.ok((await lstat(join(target, 'dev/loop0'))).isBlockDevice());
    const fifo = await lstat(join(target, 'run/fifo'));
    assert.ok(fifo.isFIFO());
    assert.deepEqual([fifo.mode & 0o777, fifo.uid, fifo.gid], [0o640, 5, 6]);
    const x = await withSpecialFs((fsx) => fsx.getXattr(join(target, 'data'), 'user.bin'));
    assert.deepEqual(x, Buffer.from([0, 0xff, 0x7f]));
  }
});

test('whiteouts become overlay whiteouts; opaque markers set the xattr', needsRoot, async (t) => {
  const dir = await tempDir(t);
  const r = await applyLayer(streamOf(tarOf([
    { name: 'bin/', type: 'dir' },
    { name: 'bin/.wh.ls', uid: 3, gid: 4 },
    { name: 'd/', type: 'dir' },
    { name: 'd/.wh..wh..opq' },
    { name: 'd/new', content: 'n' },
    { name: 'top/.wh..wh.plnk' }, // AUFS metadata: ignored
    { name: 'sneaky', xattrs: new Map([['trusted.overlay.opaque', Buffer.from('y')], ['user.ok', Buffer.from('1')]]) },
  ])), dir);
  assert.match(r.diffId, /^sha256:[0-9a-f]{64}$/);
  const wh = await lstat(join(dir, 'bin/ls'));
  assert.ok(wh.isCharacterDevice());
  assert.equal(wh.rdev, 0);
  assert.deepEqual([wh.uid, wh.gid], [3, 4]);
  assert.equal(existsSync(join(dir, 'bin/.wh.ls')), false);
  assert.deepEqual(await readdir(join(dir, 'd')), ['new']);
  await withSpecialFs(async (fsx) => {
    assert.deepEqual(await fsx.getXattr(join(dir, 'd'), 'trusted.overlay.opaque'), Buffer.from('y'));
    assert.equal(await fsx.getXattr(join(dir, 'sneaky'), 'trusted.overlay.opaque'), undefined, 'overlay xattrs from a tar are dropped');
    assert.deepEqual(await fsx.getXattr(join(dir, 'sneaky'), 'user.ok'), Buffer.from('1'));
  });
  assert.deepEqual(await readdir(join(dir, 'top')), []);
});

test('applied onto an upper dir: whiteouts remove what was there, not what this layer wrote', needsRoot, async (t) => {
  const dir = await tempDir(t);
  await mkdir(join(dir, 'd/sub'), { recursive: true });
  await writeFile(join(dir, 'd/old'), 'old');
  await writeFile(join(dir, 'd/sub/deep'), 'deep');
  await mkdir(join(dir, 'gone/x'), { recursive: true });
  await applyLayer(streamOf(tarOf([
    { name: 'd/', type: 'dir' },
    { name: 'd/mine', content: 'mine' },
    { name: 'd/.wh..wh..opq' }, // after a sibling: still only hides what was below
    { name: 'gone2', content: 'same layer' },
    { name: '.wh.gone2' }, // same layer: ignored
    { name: '.wh.gone' },
  ])), dir);
  assert.deepEqual((await readdir(join(dir, 'd'))).sort(), ['mine']);
  assert.equal(await readFile(join(dir, 'gone2'), 'utf8'), 'same layer');
  assert.ok((await lstat(join(dir, 'gone'))).isCharacterDevice());

  // a directory written over a whiteout is opaque, or the lower contents would come back
  await applyLayer(streamOf(tarOf([{ name: 'gone/', type: 'dir' }])), dir);
  assert.ok((await lstat(join(dir, 'gone'))).isDirectory());
  assert.deepEqual(await withSpecialFs((fsx) => fsx.getXattr(join(dir, 'gone'), 'trusted.overlay.opaque')), Buffer.from('y'));
});

test('an entry after a whiteout of the same name in a fresh dir replaces the whiteout', needsRoot, async (t) => {
  const dir = await tempDir(t);
  await applyLayer(streamOf(tarOf([
    { name: 'd/', type: 'dir' },
    { name: 'd/.wh.x' },
    { name: 'd/x', content: 'back' },
    { name: 'd/y/', type: 'dir' },
    { name: 'd/y/f', content: 'f' },
  ])), dir);
  assert.equal(await readFile(join(dir, 'd/x'), 'utf8'), 'back');
  assert.equal(await readFile(join(dir, 'd/y/f'), 'utf8'), 'f');
});

test('many small files in many dirs: concurrent writes keep tar order semantics', needsRoot, async (t) => {
  const dir = await tempDir(t);
  const entries: Parameters<typeof tarOf>[0] = [];
  for (let d = 0; d < 20; d++) {
    entries.push({ name: `d${d}/`, type: 'dir', mode: 0o750, mtime: 1_000 + d });
    for (let f = 0; f < 50; f++) entries.push({ name: `d${d}/f${f}`, content: `${d}/${f}`, mode: 0o640, uid: d, gid: f, mtime: 2_000 });
  }
  entries.push({ name: 'd3/f7', content: 'duplicate wins' }); // a later entry for the same name replaces the first
  const r = await applyLayer(streamOf(tarOf(entries, { gzip: true })), dir);
  assert.equal(r.size, entries.reduce((n, e) => n + Buffer.byteLength(e.content ?? ''), 0));
  assert.equal(await readFile(join(dir, 'd3/f7'), 'utf8'), 'duplicate wins');
  const st = await stat(join(dir, 'd19/f49'));
  assert.deepEqual([st.mode & 0o777, st.uid, st.gid, st.mtimeMs], [0o640, 19, 49, 2_000_000]);
  const d5 = await stat(join(dir, 'd5'));
  assert.deepEqual([d5.mode & 0o777, d5.mtimeMs], [0o750, 1_005_000]);
  assert.equal((await readdir(join(dir, 'd0'))).length, 50);
});

test('zstd layers are refused', async (t) => {
  const dir = await tempDir(t);
  const zstd = Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), Buffer.alloc(100)]);
  await assert.rejects(applyLayer(streamOf(zstd), dir), (e: unknown) => e instanceof InvalidParameterError && /zstd/.test((e as Error).message));
});

test('hostile tars: nothing is written outside the layer dir', needsRoot, async (t) => {
  const base = await tempDir(t);
  const outside = join(base, 'outside');
  await mkdir(outside);
  const cases: [string, Parameters<typeof tarOf>[0]][] = [
    ['dot-dot name', [{ name: '../outside/pwned', content: 'x' }]],
    ['dot-dot after normalisation', [{ name: 'a/../../outside/pwned', content: 'x' }]],
    ['absolute name', [{ name: join(outside, 'pwned'), content: 'x' }]],
    ['symlink parent (absolute target)', [{ name: 'l', type: 'symlink', linkname: outside }, { name: 'l/pwned', content: 'x' }]],
    ['symlink parent (relative target)', [{ name: 'l', type: 'symlink', linkname: '../outside' }, { name: 'l/pwned', content: 'x' }]],
    ['symlink parent deeper', [{ name: 'a/', type: 'dir' }, { name: 'a/l', type: 'symlink', linkname: '../../outside' }, { name: 'a/l/sub/pwned', content: 'x' }]],
    ['symlink dir replaced, then written through', [{ name: 'x/', type: 'dir' }, { name: 'x', type: 'symlink', linkname: outside }, { name: 'x/pwned', content: 'x' }]],
    ['hard link to outside (dot-dot)', [{ name: 'h', type: 'link', linkname: '../outside/secret' }]],
    ['hard link to outside (absolute)', [{ name: 'h', type: 'link', linkname: join(outside, 'secret') }]],
    ['hard link through a symlink parent', [{ name: 'l', type: 'symlink', linkname: outside }, { name: 'h', type: 'link', linkname: 'l/secret' }]],
    ['whiteout through a symlink parent', [{ name: 'l', type: 'symlink', linkname: outside }, { name: 'l/.wh.secret' }]],
    ['opaque through a symlink parent', [{ name: 'l', type: 'symlink', linkname: outside }, { name: 'l/.wh..wh..opq' }]],
  ];
  await writeFile(join(outside, 'secret'), 'secret');
  for (const [what, entries] of cases) {
    const dir = join(base, 'layer-' + what.replace(/\W+/g, '-'));
    await mkdir(dir);
    let destroyed = false;
    const input = streamOf(tarOf(entries));
    input.on('close', () => { destroyed = true; });
    await assert.rejects(applyLayer(input, dir), InvalidParameterError, what);
    assert.deepEqual(await readdir(outside), ['secret'], `${what}: outside untouched`);
    assert.equal(await readFile(join(outside, 'secret'), 'utf8'), 'secret');
    assert.equal((await stat(join(outside, 'secret'))).nlink, 1, `${what}: no hard link to outside`);
    await new Promise((r) => setImmediate(r));
    assert.ok(destroyed, `${what}: input destroyed`);
  }

  // a symlink already in the dir (an upper dir with content) is not followed either
  const upper = join(base, 'upper');
  await mkdir(upper);
  await symlink(outside, join(upper, 'etc'));
  await assert.rejects(applyLayer(streamOf(tarOf([{ name: 'etc/passwd', content: 'x' }])), upper), /tar entry escapes layer: etc\/passwd/);
  assert.deepEqual(await readdir(outside), ['secret']);
  // ...but replacing that symlink itself is fine
  await applyLayer(streamOf(tarOf([{ name: 'etc/', type: 'dir' }, { name: 'etc/passwd', content: 'x' }])), upper);
  assert.ok((await lstat(join(upper, 'etc'))).isDirectory());
  assert.deepEqual(await readdir(outside), ['secret']);
});

test('a directory replaced by a symlink later in the layer does not carry its mtime out of the layer', needsRoot, async (t) => {
  // Found by the archive fuzzer: directory mtimes are set at the end, by path; "x" had become a symlink to the host by then.
  const base = await tempDir(t);
  const outside = join(base, 'outside');
  await mkdir(join(outside, 'inner'), { recursive: true });
  await writeFile(join(outside, 'file'), 'host');
  const before = [(await lstat(join(outside, 'inner'))).mtimeMs, (await lstat(join(outside, 'file'))).mtimeMs];
  const dir = join(base, 'layer');
  await mkdir(dir);
  await applyLayer(streamOf(tarOf([
    { name: 'x/', type: 'dir', mtime: 1_000_000_000 },
    { name: 'x/inner/', type: 'dir', mtime: 1_000_000_000 },
    { name: 'x/file/', type: 'dir', mtime: 1_000_000_000 },
    { name: 'x', type: 'symlink', linkname: outside },
  ])), dir);
  assert.equal((await lstat(join(dir, 'x'))).isSymbolicLink(), true);
  assert.deepEqual([(await lstat(join(outside, 'inner'))).mtimeMs, (await lstat(join(outside, 'file'))).mtimeMs], before, 'the host\'s files keep their mtimes');
});

test('a truncated stream fails and the error carries no partial success', async (t) => {
  const dir = await tempDir(t);
  const tar = tarOf([{ name: 'f', content: 'x'.repeat(5000) }]);
  await assert.rejects(applyLayer(Readable.from([tar.subarray(0, 2000)]), dir), /unexpected end of tar archive/);
});
