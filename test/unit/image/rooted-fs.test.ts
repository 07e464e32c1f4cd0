import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, rename, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { NotFoundError } from '../../../src/errors.js';
import { removeTree, RootedFs, type RootMount } from '../../../src/image/rooted-fs.js';
import { walkTree } from '../../../src/image/tree-walk.js';
import { tempDir } from '../../helpers/layer-fixtures.js';

async function withRoot<T>(root: string, mounts: RootMount[], fn: (fs: RootedFs) => Promise<T>): Promise<T> {
  const fs = await RootedFs.openDir(root, mounts);
  try { return await fn(fs); } finally { await fs.close(); }
}

/** Resolves and gives the container path and the file's content (or null). */
async function look(fs: RootedFs, path: string, follow = true): Promise<{ path: string; content: string | null }> {
  const place = await fs.resolve(path, follow);
  try {
    const content = place.name === '' ? null : await readFile(place.dir.child(place.name), 'utf8').catch(() => null);
    return { path: place.path, content };
  } finally {
    await place.dir.close();
  }
}

test('resolve follows symlinks inside the root with securejoin rules', async (t) => {
  const base = await tempDir(t, 'berth-rooted-');
  const root = join(base, 'root');
  const outside = join(base, 'outside');
  await mkdir(join(root, 'etc'), { recursive: true });
  await mkdir(join(root, 'usr/bin'), { recursive: true });
  await mkdir(outside);
  await writeFile(join(root, 'etc/passwd'), 'inside');
  await writeFile(join(outside, 'passwd'), 'HOST');
  await symlink('usr/bin', join(root, 'bin'));
  await symlink('../../../../../../etc', join(root, 'escape'));
  await symlink('/', join(root, 'slash'));
  await symlink(outside, join(root, 'hostlink'));
  await symlink('loop2', join(root, 'loop1'));
  await symlink('loop1', join(root, 'loop2'));
  await symlink('/etc/passwd', join(root, 'pw'));
  await withRoot(root, [], async (fs) => {
    assert.deepEqual(await look(fs, '/escape/passwd'), { path: '/etc/passwd', content: 'inside' }, 'dot-dots stop at the root');
    assert.deepEqual(await look(fs, '/../../etc/passwd'), { path: '/etc/passwd', content: 'inside' });
    assert.deepEqual(await look(fs, '/slash/slash/etc/passwd'), { path: '/etc/passwd', content: 'inside' });
    assert.equal((await look(fs, '/bin/x')).path, '/usr/bin/x');
    // An absolute link to a host path names that path inside the root, which does not exist there.
    await assert.rejects(fs.resolve('/hostlink/passwd', true), NotFoundError);
    assert.equal((await look(fs, '/pw', false)).path, '/pw', 'the last component is not followed when not asked');
    assert.equal((await look(fs, '/pw', true)).path, '/etc/passwd');
    await assert.rejects(fs.resolve('/loop1/x', true), /too many levels of symbolic links/);
    await assert.rejects(fs.resolve('/missing/x', true), NotFoundError);
    await assert.rejects(fs.resolve('/etc/passwd/x', true), NotFoundError);
  });
});

test('a held directory keeps naming the same directory when it is moved, and never the host', async (t) => {
  const base = await tempDir(t, 'berth-rooted-');
  const root = join(base, 'root');
  await mkdir(join(root, 'a/d'), { recursive: true });
  await withRoot(root, [], async (fs) => {
    const place = await fs.resolve('/a/d/file', false);
    // The container swaps /a for a symlink to / after the look-up: the held /a/d still is the same directory.
    await rename(join(root, 'a'), join(root, 'moved'));
    await symlink('/', join(root, 'a'));
    await writeFile(place.dir.child(place.name), 'x');
    await place.dir.close();
    assert.equal(await readFile(join(root, 'moved/d/file'), 'utf8'), 'x');
  });
});

test('mounts the walker applies: directories, files, and .. at a mount root', async (t) => {
  const base = await tempDir(t, 'berth-rooted-');
  const root = join(base, 'root');
  const vol = join(base, 'vol');
  await mkdir(join(root, 'etc'), { recursive: true });
  await mkdir(join(vol, 'sub'), { recursive: true });
  await writeFile(join(vol, 'sub/f'), 'in the volume');
  await writeFile(join(base, 'hosts'), 'hosts file');
  await withRoot(root, [{ destination: '/data', source: vol, file: false }, { destination: '/etc/hosts', source: join(base, 'hosts'), file: true }], async (fs) => {
    assert.deepEqual(await look(fs, '/data/sub/f'), { path: '/data/sub/f', content: 'in the volume' });
    assert.deepEqual(await look(fs, '/etc/hosts'), { path: '/etc/hosts', content: 'hosts file' });
    assert.equal((await look(fs, '/data/../etc/hosts')).content, 'hosts file', '.. from a mount root goes to the mount point\'s parent');
    assert.ok((await fs.lstat(await fs.resolve('/data', true))).isDirectory());
    const dir = await fs.ensureDir('/data/new/deeper');
    await writeFile(dir.child('g'), 'made');
    await dir.close();
    assert.equal(await readFile(join(vol, 'new/deeper/g'), 'utf8'), 'made');
  });
});

test('ensureDir creates missing directories where symlinks lead, inside the root', async (t) => {
  const base = await tempDir(t, 'berth-rooted-');
  const root = join(base, 'root');
  await mkdir(root);
  await symlink('/elsewhere/deep', join(root, 'link'));
  await withRoot(root, [], async (fs) => {
    const dir = await fs.ensureDir('/link/x');
    await dir.close();
  });
  assert.deepEqual(await readdir(join(root, 'elsewhere/deep')), ['x']);
});

test('removeTree removes through held directories and never follows a link', async (t) => {
  const base = await tempDir(t, 'berth-rooted-');
  const outside = join(base, 'outside');
  await mkdir(join(base, 'tree/a/b'), { recursive: true });
  await mkdir(outside);
  await writeFile(join(outside, 'keep'), 'k');
  await symlink(outside, join(base, 'tree/a/link'));
  await writeFile(join(base, 'tree/a/b/f'), 'f');
  await removeTree(join(base, 'tree'));
  assert.deepEqual(await readdir(base), ['outside']);
  assert.deepEqual(await readdir(outside), ['keep']);
});

test('walkTree names entries through held directories and opens files it visits', async (t) => {
  const root = await tempDir(t, 'berth-rooted-');
  await mkdir(join(root, 'd'));
  await writeFile(join(root, 'd/f'), 'content');
  await symlink('/', join(root, 'd/l'));
  const seen: string[] = [];
  for await (const item of walkTree(root, { openFiles: true })) {
    seen.push(`${item.rel}${item.content !== undefined ? ` (read: ${item.content.toString()})` : ''}${item.fd !== undefined ? ' (open)' : ''}${item.linkname !== undefined ? ` -> ${item.linkname}` : ''}`);
    if (item.fd !== undefined) (await import('node:fs')).closeSync(item.fd);
  }
  assert.deepEqual(seen, ['d', 'd/f (read: content)', 'd/l -> /']);
});

test('readRegularFile reads inside the root only, and refuses what is not a small regular file', async (t) => {
  const base = await tempDir(t, 'berth-rooted-read-');
  const root = join(base, 'root');
  const outside = join(base, 'outside');
  await mkdir(join(root, 'real'), { recursive: true });
  await mkdir(outside);
  await writeFile(join(outside, 'passwd'), 'HOST');
  await writeFile(join(root, 'real/passwd'), 'inside');
  await writeFile(join(root, 'big'), Buffer.alloc(2048));
  // /etc is a link to the host's directory by its absolute path: inside the root it names /<outside>, which is missing.
  await symlink(outside, join(root, 'etc'));
  await symlink('/real', join(root, 'etc2'));
  execFileSync('mkfifo', [join(root, 'fifo')]);
  await withRoot(root, [], async (fs) => {
    assert.equal(await fs.readRegularFile('/etc/passwd', 1024), undefined, 'a link to the host resolves inside the root');
    assert.equal((await fs.readRegularFile('/etc2/passwd', 1024))?.toString(), 'inside');
    assert.equal(await fs.readRegularFile('/nope/passwd', 1024), undefined);
    await assert.rejects(fs.readRegularFile('/fifo', 1024), /not a regular file/, 'a FIFO is refused, not waited on');
    await assert.rejects(fs.readRegularFile('/real', 1024), /not a regular file/);
    await assert.rejects(fs.readRegularFile('/big', 1024), /too large/);
  });
});
