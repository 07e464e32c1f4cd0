import { test } from 'node:test';
import assert from 'node:assert/strict';
import { link, lstat, mkdir, readdir, readFile, stat, symlink, utimes, writeFile, chmod } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { InvalidParameterError, NotFoundError } from '../../../src/errors.js';
import { archiveFrom, exportFrom, extractToRoot, goFileMode, rfc3339Nano, statIn } from '../../../src/image/archive.js';
import { RootedFs } from '../../../src/image/rooted-fs.js';
import { collect, entriesOf, isRoot, streamOf, tarOf, tempDir } from '../../helpers/layer-fixtures.js';

/** The archive functions over a host directory opened as a rooted view (as the engine opens a container's). */
async function inRoot<T>(root: string, fn: (fs: RootedFs) => Promise<T>): Promise<T> {
  const fs = await RootedFs.openDir(root);
  try { return await fn(fs); } finally { await fs.close(); }
}
const statInRoot = (root: string, p: string) => inRoot(root, (fs) => statIn(fs, p));
const archiveOf = (root: string, p: string) => inRoot(root, async (fs) => collect((await archiveFrom(fs, p)).tar));
const exportOf = (root: string) => inRoot(root, (fs) => collect(exportFrom(fs)));


const needsRoot = { skip: isRoot ? false : 'needs root (chown, mknod)' };

/** A small container root: /etc, /usr/bin with a merged-usr style /bin link, links that try to leave. */
async function makeRoot(root: string): Promise<void> {
  await mkdir(join(root, 'etc'), { recursive: true });
  await mkdir(join(root, 'usr/bin'), { recursive: true });
  await mkdir(join(root, 'data/sub'), { recursive: true });
  await writeFile(join(root, 'etc/passwd'), 'root:x:0:0\n');
  await writeFile(join(root, 'usr/bin/tool'), 'tool');
  await chmod(join(root, 'usr/bin/tool'), 0o4755);
  await writeFile(join(root, 'data/a'), 'a');
  await writeFile(join(root, 'data/sub/b'), 'b');
  await link(join(root, 'data/a'), join(root, 'data/a-hard'));
  await symlink('usr/bin', join(root, 'bin'));
  await symlink('/etc/passwd', join(root, 'pw'));
  await symlink('../../../../../../etc', join(root, 'escape'));
  await symlink('/', join(root, 'slash'));
  await symlink('loop2', join(root, 'loop1'));
  await symlink('loop1', join(root, 'loop2'));
  await utimes(join(root, 'etc/passwd'), 1_700_000_000.5, 1_700_000_000.5);
}

test('statInRoot reports Go FileMode bits, RFC 3339 times and resolved link targets', needsRoot, async (t) => {
  const root = await tempDir(t);
  await makeRoot(root);
  const passwd = await statInRoot(root, '/etc/passwd');
  assert.deepEqual(passwd, { name: 'passwd', size: 11, mode: 0o644, mtime: '2023-11-14T22:13:20.5Z', linkTarget: '' });
  const etc = await statInRoot(root, 'etc');
  assert.equal(etc.mode, 2 ** 31 + 0o755);
  assert.equal((await statInRoot(root, '/usr/bin/tool')).mode, 2 ** 23 + 0o755);
  const pw = await statInRoot(root, '/pw');
  assert.equal(pw.mode, 2 ** 27 + 0o777);
  assert.equal(pw.linkTarget, '/etc/passwd');
  assert.equal((await statInRoot(root, '/bin')).linkTarget, '/usr/bin');
  // a trailing slash follows the link
  const binDir = await statInRoot(root, '/bin/');
  assert.equal(binDir.mode, 2 ** 31 + 0o755);
  assert.equal(binDir.name, 'bin');
  assert.equal((await statInRoot(root, '/bin/.')).name, '.');
  assert.equal((await statInRoot(root, '/')).name, '/');
  await assert.rejects(statInRoot(root, '/nope'), NotFoundError);
  await assert.rejects(statInRoot(root, '/etc/passwd/'), InvalidParameterError);
  execFileSync('mkfifo', ['-m', '0640', join(root, 'fifo')]);
  assert.equal((await statInRoot(root, '/fifo')).mode, 2 ** 25 + 0o640);
  execFileSync('mknod', ['-m', '0666', join(root, 'null'), 'c', '1', '3']);
  assert.equal(goFileMode(await lstat(join(root, 'null'), { bigint: true })), 2 ** 26 + 2 ** 21 + 0o666);
  await chmod(join(root, 'data'), 0o3775); // setgid + sticky
  assert.equal((await statInRoot(root, '/data')).mode, 2 ** 31 + 2 ** 22 + 2 ** 20 + 0o775);
  assert.equal(rfc3339Nano(1_700_000_000_000_000_000n), '2023-11-14T22:13:20Z');
  assert.equal(rfc3339Nano(1_700_000_000_120_000_000n), '2023-11-14T22:13:20.12Z');
});

test('archiveFromRoot names entries as dockerd does', needsRoot, async (t) => {
  const root = await tempDir(t);
  await makeRoot(root);
  const names = async (p: string) => (await entriesOf(await archiveOf(root, p))).map((e) => `${e.header.type} ${e.header.name}`);
  assert.deepEqual(await names('/data'), ['dir data/', 'file data/a', 'link data/a-hard', 'dir data/sub/', 'file data/sub/b']);
  assert.deepEqual(await names('/data/'), ['dir data/', 'file data/a', 'link data/a-hard', 'dir data/sub/', 'file data/sub/b']);
  assert.deepEqual(await names('/data/.'), ['dir ./', 'file ./a', 'link ./a-hard', 'dir ./sub/', 'file ./sub/b']);
  assert.deepEqual(await names('/bin'), ['symlink bin'], 'the link itself');
  assert.deepEqual(await names('/bin/'), ['dir bin/', 'file bin/tool'], 'what it points to, named as asked');
  assert.deepEqual(await names('/bin/tool'), ['file tool']);
  const rootNames = await names('/');
  assert.equal(rootNames[0], 'dir /');
  assert.ok(rootNames.includes('file /etc/passwd'));
  const tool = (await entriesOf(await archiveOf(root, '/bin/tool')))[0];
  assert.equal(tool.header.mode, 0o4755);
  assert.equal(tool.content.toString(), 'tool');
  // a missing path surfaces as a stream error
  await assert.rejects(archiveOf(root, '/nope'), NotFoundError);
});

test('exportRoot names entries relative to the root, without the root', needsRoot, async (t) => {
  const root = await tempDir(t);
  await makeRoot(root);
  const names = (await entriesOf(await exportOf(root))).map((e) => e.header.name);
  assert.deepEqual(names.slice(0, 4), ['bin', 'data/', 'data/a', 'data/a-hard']);
  assert.ok(names.includes('usr/bin/tool') && names.includes('etc/passwd'));
  assert.ok(!names.includes('') && !names.includes('./') && !names.includes('/'));
});

test('extractToRoot writes through container symlinks but never outside the root', needsRoot, async (t) => {
  const base = await tempDir(t);
  const root = join(base, 'root');
  const outside = join(base, 'outside');
  await mkdir(root);
  await mkdir(outside);
  await makeRoot(root);
  await symlink(outside, join(root, 'hostlink')); // absolute: means /<outside> inside the container

  await extractToRoot(root, '/', streamOf(tarOf([
    { name: 'bin/new', content: 'via /bin -> usr/bin', uid: 1000, gid: 1000, mode: 0o750 },
    { name: 'escape/evil', content: 'lands in /etc' },
    { name: 'hostlink/evil', content: 'lands in /<outside> inside root' },
    { name: '/abs/file', content: 'leading slash is relative' },
    { name: 'fresh/deep/file', content: 'parents created' },
  ])));
  assert.equal(await readFile(join(root, 'usr/bin/new'), 'utf8'), 'via /bin -> usr/bin');
  const st = await stat(join(root, 'usr/bin/new'));
  assert.deepEqual([st.uid, st.gid, st.mode & 0o777], [1000, 1000, 0o750], 'tar owner kept by default');
  assert.equal(await readFile(join(root, 'etc/evil'), 'utf8'), 'lands in /etc');
  assert.equal(await readFile(join(root, outside, 'evil'), 'utf8'), 'lands in /<outside> inside root');
  assert.equal(await readFile(join(root, 'abs/file'), 'utf8'), 'leading slash is relative');
  assert.equal(await readFile(join(root, 'fresh/deep/file'), 'utf8'), 'parents created');
  assert.deepEqual(await readdir(outside), [], 'nothing written outside the root');

  for (const [what, entries] of [
    ['dot-dot', [{ name: '../x', content: 'x' }]],
    ['hard link climbing out', [{ name: 'h', type: 'link' as const, linkname: '../../etc/passwd' }]],
  ] as const) {
    await assert.rejects(extractToRoot(root, '/data', streamOf(tarOf([...entries]))), InvalidParameterError, what);
  }
  // a symlink entry followed by a write through it stays inside the root
  await extractToRoot(root, '/data', streamOf(tarOf([
    { name: 'out', type: 'symlink', linkname: outside },
    { name: 'out/pwned', content: 'x' },
  ])));
  assert.deepEqual(await readdir(outside), []);
  assert.equal(await readFile(join(root, outside, 'pwned'), 'utf8'), 'x');
  // the final component is replaced, not followed
  await extractToRoot(root, '/', streamOf(tarOf([{ name: 'hostlink', content: 'replaced the link' }])));
  assert.ok((await lstat(join(root, 'hostlink'))).isFile());
  assert.deepEqual(await readdir(outside), []);
});

test('extractToRoot options: copyUIDGID with owner, noOverwriteDirNonDir, bad destinations', needsRoot, async (t) => {
  const root = await tempDir(t);
  await makeRoot(root);
  await extractToRoot(root, '/data', streamOf(tarOf([{ name: 'd/', type: 'dir', uid: 5 }, { name: 'd/f', content: 'x', uid: 5, gid: 5 }])), { copyUIDGID: true, owner: { uid: 33, gid: 44 } });
  for (const p of ['data/d', 'data/d/f']) {
    const st = await stat(join(root, p));
    assert.deepEqual([st.uid, st.gid], [33, 44], p);
  }
  await assert.rejects(
    extractToRoot(root, '/data', streamOf(tarOf([{ name: 'sub', content: 'file over dir' }])), { noOverwriteDirNonDir: true }),
    /cannot overwrite directory/,
  );
  await assert.rejects(
    extractToRoot(root, '/', streamOf(tarOf([{ name: 'etc/passwd/', type: 'dir' }])), { noOverwriteDirNonDir: true }),
    /cannot overwrite non-directory/,
  );
  // without the option, dockerd replaces
  await extractToRoot(root, '/data', streamOf(tarOf([{ name: 'sub', content: 'file over dir' }])));
  assert.equal(await readFile(join(root, 'data/sub'), 'utf8'), 'file over dir');
  await assert.rejects(extractToRoot(root, '/nope', streamOf(tarOf([]))), NotFoundError);
  await assert.rejects(extractToRoot(root, '/etc/passwd', streamOf(tarOf([]))), /extraction point is not a directory/);
  // the extraction dir given as a symlink is followed (dockerd's GetResourcePath)
  await extractToRoot(root, '/bin', streamOf(tarOf([{ name: 'x', content: 'x' }]), 512), {});
  assert.equal(await readFile(join(root, 'usr/bin/x'), 'utf8'), 'x');
  // gzip accepted
  await extractToRoot(root, '/', streamOf(tarOf([{ name: 'gz', content: 'gz' }], { gzip: true })));
  assert.equal(await readFile(join(root, 'gz'), 'utf8'), 'gz');
});

test('archive → extract round trip keeps content, modes, owners, links', needsRoot, async (t) => {
  const base = await tempDir(t);
  const a = join(base, 'a');
  const b = join(base, 'b');
  await mkdir(a);
  await mkdir(b);
  await makeRoot(a);
  await extractToRoot(b, '/', streamOf(await archiveOf(a, '/data')));
  await extractToRoot(b, '/', streamOf(await archiveOf(a, '/usr')));
  assert.equal(await readFile(join(b, 'data/sub/b'), 'utf8'), 'b');
  assert.equal((await stat(join(b, 'data/a'))).ino, (await stat(join(b, 'data/a-hard'))).ino);
  assert.equal((await stat(join(b, 'usr/bin/tool'))).mode & 0o7777, 0o4755);
});

test('extractToRoot with small files written in the background: a name written twice, a file then a symlink, a failure half way', needsRoot, async (t) => {
  const root = await tempDir(t);
  const many = Array.from({ length: 60 }, (_, i) => ({ name: `many/f${i}`, content: `file ${i}`, mode: 0o640, mtime: 1_700_000_000 + i }));
  await extractToRoot(root, '/', streamOf(tarOf([
    ...many,
    { name: 'twice', content: 'first' },
    { name: 'twice', content: 'second, longer' },
    { name: 'then-link', content: 'a file' },
    { name: 'then-link', type: 'symlink', linkname: 'many/f1' },
    { name: 'through/dir', content: 'x' },
    { name: 'hard', type: 'link', linkname: 'many/f2' },
  ])));
  for (let i = 0; i < 60; i++) {
    const p = join(root, `many/f${i}`);
    assert.equal(await readFile(p, 'utf8'), `file ${i}`);
    const st = await stat(p);
    assert.deepEqual([st.mode & 0o777, st.mtimeMs / 1000], [0o640, 1_700_000_000 + i]);
  }
  assert.equal(await readFile(join(root, 'twice'), 'utf8'), 'second, longer', 'the later entry wins');
  assert.ok((await lstat(join(root, 'then-link'))).isSymbolicLink());
  assert.equal((await stat(join(root, 'hard'))).ino, (await stat(join(root, 'many/f2'))).ino);

  // A write that fails (a file whose parent is a file) fails the extraction; nothing is still being written after it.
  const bad = await tempDir(t);
  await assert.rejects(extractToRoot(bad, '/', streamOf(tarOf([
    ...many.slice(0, 20),
    { name: 'many/f3/below', content: 'parent is a file' },
    ...many.slice(20).map((e) => ({ ...e, name: e.name.replace('many/', 'later/') })),
  ]))));
  const settled = (await readdir(join(bad, 'many'))).length;
  await new Promise((r) => setTimeout(r, 50));
  assert.equal((await readdir(join(bad, 'many'))).length, settled, 'no write finished after the error');
});

test('archiveFrom hands files of every size on whole: chunked small ones, big ones read from their descriptor', needsRoot, async (t) => {
  const root = await tempDir(t);
  await mkdir(join(root, 'd'));
  const sizes: [string, number][] = [['a', 100], ['b', 64 << 10], ['c', (100 << 10) + 3], ['e', 1 << 20], ['f', (1 << 20) + 1], ['g', 7]];
  const bodies = new Map<string, Buffer>();
  for (const [name, size] of sizes) {
    const body = Buffer.alloc(size);
    for (let i = 0; i < size; i++) body[i] = (i * 7 + name.charCodeAt(0)) & 0xff;
    bodies.set(`d/${name}`, body);
    await writeFile(join(root, 'd', name), body);
  }
  const got = await entriesOf(await archiveOf(root, '/d'));
  assert.deepEqual(got.map((e) => e.header.name), ['d/', ...sizes.map(([n]) => `d/${n}`)]);
  for (const e of got.slice(1)) assert.ok(e.content.equals(bodies.get(e.header.name)!), e.header.name);
});
