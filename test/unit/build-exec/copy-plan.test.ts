import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LayerView } from '../../../src/build/layer-view.js';
import { expandSources, parseChmod, planCopy, resolveChown, type SourceRoot } from '../../../src/build/copy-plan.js';
import { layerEntries } from '../../../src/build/copy-layer.js';
import { goMatch, hasWildcards } from '../../../src/build/path-match.js';

/** A context and an "image" (one plain directory each). */
async function fixture(t: { after(fn: () => Promise<void>): void }) {
  const root = await mkdtemp(join(tmpdir(), 'berth-copy-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const ctx = join(root, 'ctx');
  const img = join(root, 'img');
  for (const d of ['src/sub', 'empty']) await mkdir(join(ctx, d), { recursive: true });
  await writeFile(join(ctx, 'a.txt'), 'a');
  await writeFile(join(ctx, 'b.txt'), 'b');
  await writeFile(join(ctx, 'run.sh'), '#!/bin/sh\n');
  await chmod(join(ctx, 'run.sh'), 0o755);
  await writeFile(join(ctx, 'src/main.c'), 'int main;');
  await writeFile(join(ctx, 'src/sub/x.h'), 'x');
  await symlink('a.txt', join(ctx, 'link'));
  for (const d of ['usr/bin', 'app', 'etc', 'tmp']) await mkdir(join(img, d), { recursive: true });
  await chmod(join(img, 'tmp'), 0o1777);
  await symlink('usr/bin', join(img, 'bin'));
  await writeFile(join(img, 'etc/passwd'), 'root:x:0:0::/root:/bin/sh\napp:x:1000:1001::/home/app:/bin/sh\n');
  await writeFile(join(img, 'etc/group'), 'root:x:0:\nstaff:x:50:\n');
  await writeFile(join(img, 'file'), 'f');
  const source: SourceRoot = { view: new LayerView([ctx], false), keepOwners: false, what: 'build context' };
  const dest = new LayerView([img], false);
  return { source, dest };
}

const paths = (p: { entries: { path: string }[] }) => p.entries.map((e) => e.path);

test('path-match: filepath.Match semantics', () => {
  assert.ok(goMatch('*.txt', 'a.txt'));
  assert.ok(!goMatch('*.txt', 'd/a.txt'));
  assert.ok(goMatch('src/*.c', 'src/main.c'));
  assert.ok(goMatch('[ab].txt', 'b.txt'));
  assert.ok(goMatch('\\*', '*'));
  assert.ok(hasWildcards('a*') && hasWildcards('a?') && hasWildcards('[a]') && !hasWildcards('a\\*') && !hasWildcards('plain'));
  assert.throws(() => goMatch('[a', 'a'), /syntax error in pattern/);
});

test('a directory source copies its contents; a file goes into a directory destination', async (t) => {
  const { source, dest } = await fixture(t);
  const dir = await planCopy(await expandSources(source, ['src'], 'COPY'), { instruction: 'COPY', dest: '/opt/src', workdir: '', destView: dest });
  assert.deepEqual(paths(dir), ['opt/src/main.c', 'opt/src/sub', 'opt/src/sub/x.h']);
  assert.deepEqual(dir.files.map((f) => f.path), ['src/main.c', 'src/sub', 'src/sub/x.h']);
  assert.equal(dir.destDir, 'opt/src');
  const file = await planCopy(await expandSources(source, ['a.txt'], 'COPY'), { instruction: 'COPY', dest: 'x/', workdir: '/app', destView: dest });
  assert.deepEqual(paths(file), ['app/x/a.txt'], 'relative to WORKDIR, trailing slash makes a directory');
  const named = await planCopy(await expandSources(source, ['a.txt'], 'COPY'), { instruction: 'COPY', dest: '/opt/renamed', workdir: '', destView: dest });
  assert.deepEqual(paths(named), ['opt/renamed'], 'without a slash the destination names the file');
  const existing = await planCopy(await expandSources(source, ['a.txt'], 'COPY'), { instruction: 'COPY', dest: '/app', workdir: '', destView: dest });
  assert.deepEqual(paths(existing), ['app/a.txt'], 'an existing directory is a directory destination');
  const dot = await planCopy(await expandSources(source, ['a.txt', 'b.txt'], 'COPY'), { instruction: 'COPY', dest: '.', workdir: '/app', destView: dest });
  assert.deepEqual(paths(dot), ['app/a.txt', 'app/b.txt']);
});

test('symlinks in the destination path are followed inside the image; a source symlink is followed', async (t) => {
  const { source, dest } = await fixture(t);
  const p = await planCopy(await expandSources(source, ['run.sh'], 'COPY'), { instruction: 'COPY', dest: '/bin/', workdir: '', destView: dest });
  assert.deepEqual(paths(p), ['usr/bin/run.sh'], '/bin -> usr/bin: the symlink stays a symlink');
  const l = await planCopy(await expandSources(source, ['link'], 'COPY'), { instruction: 'COPY', dest: '/opt/', workdir: '', destView: dest });
  assert.deepEqual(paths(l), ['opt/link']);
  assert.equal(l.entries[0].type, 'file');
  assert.equal(l.files[0].digest, 'ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb', 'content of a.txt');
});

test('several sources need a directory destination; missing sources and empty wildcards fail', async (t) => {
  const { source, dest } = await fixture(t);
  await assert.rejects(
    planCopy(await expandSources(source, ['a.txt', 'b.txt'], 'COPY'), { instruction: 'COPY', dest: '/opt/x', workdir: '', destView: dest }),
    /When using COPY with more than one source file, the destination must be a directory and end with a \//,
  );
  await assert.rejects(
    planCopy(await expandSources(source, ['*.txt'], 'COPY'), { instruction: 'COPY', dest: '/opt/x', workdir: '', destView: dest }),
    /more than one source file/,
  );
  await assert.rejects(expandSources(source, ['nope'], 'COPY'), /file not found in build context or excluded by \.dockerignore: stat nope/);
  await assert.rejects(expandSources(source, ['*.zip'], 'COPY'), /no source files were specified/);
  await assert.rejects(expandSources(source, ['../etc/passwd'], 'COPY'), /outside the build context/);
  await assert.rejects(
    planCopy(await expandSources(source, ['src'], 'COPY'), { instruction: 'COPY', dest: '/file', workdir: '', destView: dest }),
    /cannot copy to non-directory/,
  );
});

test('wildcards match with filepath.Match; a matched directory copies its contents', async (t) => {
  const { source, dest } = await fixture(t);
  const items = await expandSources(source, ['*.txt'], 'COPY');
  assert.deepEqual(items.map((i) => i.name), ['a.txt', 'b.txt']);
  const p = await planCopy(await expandSources(source, ['s*'], 'COPY'), { instruction: 'COPY', dest: '/o/', workdir: '', destView: dest });
  assert.deepEqual(paths(p), ['o/main.c', 'o/sub', 'o/sub/x.h']);
});

test('owners: context files are 0:0, --chown names come from the image, --chmod sets the bits', async (t) => {
  const { source, dest } = await fixture(t);
  const items = await expandSources(source, ['run.sh', 'a.txt'], 'COPY');
  const plain = await planCopy(items, { instruction: 'COPY', dest: '/o/', workdir: '', destView: dest });
  assert.deepEqual(plain.entries.map((e) => [e.path, e.uid, e.gid, e.mode.toString(8)]), [['o/a.txt', 0, 0, '644'], ['o/run.sh', 0, 0, '755']]);
  assert.deepEqual(await resolveChown('app', dest), { uid: 1000, gid: 1000 }, 'no group: gid = uid');
  assert.deepEqual(await resolveChown('app:staff', dest), { uid: 1000, gid: 50 });
  assert.deepEqual(await resolveChown('7:8', dest), { uid: 7, gid: 8 });
  await assert.rejects(resolveChown('ghost', dest), /no such user: ghost/);
  const owned = await planCopy(items, { instruction: 'COPY', dest: '/o/', workdir: '', destView: dest, chown: { uid: 1000, gid: 50 }, chmod: parseChmod('0600') });
  assert.deepEqual(owned.entries.map((e) => [e.uid, e.gid, e.mode.toString(8)]), [[1000, 50, '600'], [1000, 50, '600']]);
  assert.deepEqual(owned.files.map((f) => [f.uid, f.mode]), [[1000, 0o600], [1000, 0o600]], 'the cache sees owners and modes as written');
  assert.throws(() => parseChmod('u+x'), /only octal modes/);
});

test('layer entries: existing parents keep their metadata, new ones are 0755 and owned by the --chown user', async (t) => {
  const { source, dest } = await fixture(t);
  const p = await planCopy(await expandSources(source, ['a.txt'], 'COPY'), { instruction: 'COPY', dest: '/tmp/new/dir/', workdir: '', destView: dest, chown: { uid: 5, gid: 6 } });
  const entries = await layerEntries(p, dest, { now: 100, sourceDateEpoch: 50 });
  assert.deepEqual(entries.map((e) => [e.path, e.type, e.mode.toString(8), e.uid, e.gid]), [
    ['tmp', 'dir', '1777', Number(process.getuid?.() ?? 0), Number(process.getgid?.() ?? 0)],
    ['tmp/new', 'dir', '755', 5, 6],
    ['tmp/new/dir', 'dir', '755', 5, 6],
    ['tmp/new/dir/a.txt', 'file', '644', 5, 6],
  ]);
  assert.ok(entries.every((e) => e.mtime <= 50), 'mtimes clamped to SOURCE_DATE_EPOCH');
  const empty = await planCopy(await expandSources(source, ['empty'], 'COPY'), { instruction: 'COPY', dest: '/made', workdir: '', destView: dest });
  assert.deepEqual((await layerEntries(empty, dest, { now: 1 })).map((e) => e.path), ['made'], 'an empty directory source still creates the destination');
});
