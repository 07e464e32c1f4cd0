/** The host side of `berth cp`: taring a path, renaming its top entry, extracting safely. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, linkSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, symlinkSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import tar from 'tar-stream';
import { assertsDirectory, entryRenamer, rebaseArchive, splitPathDirEntry, tarResource, untar } from '../../../src/cli/container/cp-archive.js';
import { splitCpArg } from '../../../src/cli/container/cp.js';

function tree(): string {
  const src = mkdtempSync(join(tmpdir(), 'berth-cp-src-'));
  mkdirSync(join(src, 'app', 'sub'), { recursive: true });
  writeFileSync(join(src, 'app', 'run.sh'), '#!/bin/sh\necho hi\n');
  chmodSync(join(src, 'app', 'run.sh'), 0o755);
  writeFileSync(join(src, 'app', 'sub', 'data.txt'), 'data');
  symlinkSync('run.sh', join(src, 'app', 'link'));
  return src;
}

test('a directory round-trips with modes and symlinks', async () => {
  const src = tree();
  const dst = mkdtempSync(join(tmpdir(), 'berth-cp-dst-'));
  await untar(tarResource(join(src, 'app')), dst);
  assert.equal(readFileSync(join(dst, 'app', 'sub', 'data.txt'), 'utf8'), 'data');
  assert.equal(lstatSync(join(dst, 'app', 'run.sh')).mode & 0o777, 0o755);
  assert.equal(readlinkSync(join(dst, 'app', 'link')), 'run.sh');
});

test('the top entry can be renamed (copy under a new name)', async () => {
  const src = tree();
  const dst = mkdtempSync(join(tmpdir(), 'berth-cp-dst-'));
  await untar(rebaseArchive(tarResource(join(src, 'app')), 'app', 'renamed'), dst);
  assert.equal(readFileSync(join(dst, 'renamed', 'sub', 'data.txt'), 'utf8'), 'data');
  const file = mkdtempSync(join(tmpdir(), 'berth-cp-dst-'));
  await untar(tarResource(join(src, 'app', 'run.sh'), 'start.sh'), file);
  assert.equal(readFileSync(join(file, 'start.sh'), 'utf8'), '#!/bin/sh\necho hi\n');
});

test('untar renames entries itself, hard links too (copy under a new name without a second archive)', async () => {
  const src = tree();
  linkSync(join(src, 'app', 'sub', 'data.txt'), join(src, 'app', 'hard'));
  const dst = mkdtempSync(join(tmpdir(), 'berth-cp-dst-'));
  await untar(tarResource(join(src, 'app')), dst, entryRenamer('app', 'renamed'));
  assert.equal(readFileSync(join(dst, 'renamed', 'sub', 'data.txt'), 'utf8'), 'data');
  assert.equal(lstatSync(join(dst, 'renamed', 'hard')).ino, lstatSync(join(dst, 'renamed', 'sub', 'data.txt')).ino);
  assert.equal(readlinkSync(join(dst, 'renamed', 'link')), 'run.sh');
  assert.equal(existsSync(join(dst, 'app')), false);
  const contents = mkdtempSync(join(tmpdir(), 'berth-cp-dst-'));
  await untar(tarResource(join(src, 'app') + '/.'), contents, entryRenamer('.', 'into'));
  assert.equal(readFileSync(join(contents, 'into', 'run.sh'), 'utf8'), '#!/bin/sh\necho hi\n');
});

test('`dir/.` copies the contents', async () => {
  const src = tree();
  const dst = mkdtempSync(join(tmpdir(), 'berth-cp-dst-'));
  await untar(rebaseArchive(tarResource(join(src, 'app') + '/.'), '.', 'into'), dst);
  assert.equal(readFileSync(join(dst, 'into', 'run.sh'), 'utf8'), '#!/bin/sh\necho hi\n');
});

test('entries escaping the destination are refused', async () => {
  const pack = tar.pack();
  pack.entry({ name: '../evil', size: 1 }, 'x');
  pack.finalize();
  const dst = mkdtempSync(join(tmpdir(), 'berth-cp-dst-'));
  await assert.rejects(untar(pack as unknown as Readable, dst), /points outside/);
});

test('nothing is written through a symlink an earlier entry made', async () => {
  const outside = mkdtempSync(join(tmpdir(), 'berth-cp-outside-'));
  writeFileSync(join(outside, 'secret'), 'host');
  const pack = tar.pack();
  pack.entry({ name: 'l', type: 'symlink', linkname: outside });
  pack.entry({ name: 'l/secret', size: 5 }, 'pwned');
  pack.finalize();
  const dst = mkdtempSync(join(tmpdir(), 'berth-cp-dst-'));
  await assert.rejects(untar(pack as unknown as Readable, dst), /leads through a symlink/);
  assert.equal(readFileSync(join(outside, 'secret'), 'utf8'), 'host');

});

test('a hard link is not made to a file reached through a symlink an earlier entry made', async () => {
  const outside = mkdtempSync(join(tmpdir(), 'berth-cp-outside-'));
  writeFileSync(join(outside, 'secret'), 'host');
  const pack = tar.pack();
  pack.entry({ name: 'l', type: 'symlink', linkname: outside });
  pack.entry({ name: 'stolen', type: 'link', linkname: 'l/secret' });
  pack.finalize();
  const dst = mkdtempSync(join(tmpdir(), 'berth-cp-dst-'));
  await assert.rejects(untar(pack as unknown as Readable, dst), /invalid hardlink l\/secret/);
  assert.equal(existsSync(join(dst, 'stolen')), false);
});

test('a symlink in the destination is replaced by a file, not written through', async () => {
  const outside = mkdtempSync(join(tmpdir(), 'berth-cp-outside-'));
  writeFileSync(join(outside, 'secret'), 'host');
  const dst = mkdtempSync(join(tmpdir(), 'berth-cp-dst-'));
  symlinkSync(join(outside, 'secret'), join(dst, 'f'));
  const pack = tar.pack();
  pack.entry({ name: 'f', size: 3, mode: 0o640 }, 'new');
  pack.finalize();
  await untar(pack as unknown as Readable, dst);
  assert.equal(readFileSync(join(outside, 'secret'), 'utf8'), 'host');
  assert.equal(lstatSync(join(dst, 'f')).isFile(), true);
  assert.equal(readFileSync(join(dst, 'f'), 'utf8'), 'new');
});

test('contents, modes and times of files and directories are kept, over several chunks', async () => {
  const body = Buffer.alloc(3 << 20);
  for (let i = 0; i < body.length; i++) body[i] = (i * 31) & 0xff;
  const mtime = new Date('2020-01-02T03:04:05Z');
  const pack = tar.pack();
  pack.entry({ name: 'd/', type: 'directory', mode: 0o750, mtime });
  pack.entry({ name: 'd/big', size: body.length, mode: 0o604, mtime }, body);
  pack.entry({ name: 'd/empty', size: 0, mode: 0o600, mtime }, Buffer.alloc(0));
  pack.finalize();
  const dst = mkdtempSync(join(tmpdir(), 'berth-cp-dst-'));
  assert.equal(await untar(pack as unknown as Readable, dst), body.length);
  assert.deepEqual(readFileSync(join(dst, 'd', 'big')), body);
  assert.equal(readFileSync(join(dst, 'd', 'empty')).length, 0);
  for (const [p, mode] of [['d', 0o750], ['d/big', 0o604], ['d/empty', 0o600]] as const) {
    const st = lstatSync(join(dst, p));
    assert.equal(st.mode & 0o7777, mode, p);
    assert.equal(st.mtimeMs, mtime.getTime(), p);
  }
});

test('a file does not replace a directory', async () => {
  const dst = mkdtempSync(join(tmpdir(), 'berth-cp-dst-'));
  mkdirSync(join(dst, 'x'));
  const pack = tar.pack();
  pack.entry({ name: 'x', size: 1 }, 'y');
  pack.finalize();
  await assert.rejects(untar(pack as unknown as Readable, dst), /cannot overwrite directory/);
});

test('path helpers follow pkg/archive and cp.go', () => {
  assert.deepEqual(splitPathDirEntry('/a/b/'), ['/a', 'b']);
  assert.deepEqual(splitPathDirEntry('/a/b/.'), ['/a/b', '.']);
  assert.deepEqual(splitPathDirEntry('/f'), ['/', 'f']);
  assert.equal(assertsDirectory('/a/'), true);
  assert.equal(assertsDirectory('/a'), false);
  assert.deepEqual(splitCpArg('c1:/etc/hosts'), ['c1', '/etc/hosts']);
  assert.deepEqual(splitCpArg('/abs:path'), ['', '/abs:path']);
  assert.deepEqual(splitCpArg('./x:y'), ['', './x:y']);
  assert.deepEqual(splitCpArg('-'), ['', '-']);
});
