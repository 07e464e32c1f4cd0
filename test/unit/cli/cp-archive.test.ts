/** The host side of `berth cp`: taring a path, renaming its top entry, extracting safely. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, symlinkSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import tar from 'tar-stream';
import { assertsDirectory, rebaseArchive, splitPathDirEntry, tarResource, untar } from '../../../src/cli/container/cp-archive.js';
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
