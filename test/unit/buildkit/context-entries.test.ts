/**
 * A BuildKit client's context entries (filesync) written straight through
 * the checked extraction (buildkit/context-entries.ts → image/archive.ts
 * `extractEntriesToRoot`), with no tar in between: what lands on disk is
 * what the docker CLI's context tar would have given, and neither side can
 * leave the other waiting when it stops.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lstat, mkdtemp, readFile, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ContextEntriesSink, MAX_QUEUED } from '../../../src/buildkit/context-entries.js';
import type { SyncEntry } from '../../../src/buildkit/filesync.js';
import { extractEntriesToRoot } from '../../../src/image/archive.js';

const MTIME_MS = 1_700_000_000_987;

function entry(path: string, kind: SyncEntry['kind'], o: Partial<SyncEntry> = {}): SyncEntry {
  return { path, kind, mode: kind === 'dir' ? 0o755 : 0o644, size: 0, mtimeMs: MTIME_MS, linkname: '', ...o };
}

async function* chunks(...parts: string[]): AsyncGenerator<Buffer> {
  for (const p of parts) yield Buffer.from(p);
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-context-entries-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('filesync entries are written by the checked extraction: files in pieces, empty files, directories, symlinks, hard links, modes, whole-second mtimes, root owner', async () => {
  await withDir(async (dir) => {
    const sink = new ContextEntriesSink();
    const extracting = extractEntriesToRoot(dir, '/', sink.entries);
    await sink.entry(entry('a.txt', 'file', { size: 11, mode: 0o4755 }), chunks('hello ', 'world'));
    await sink.entry(entry('lib', 'dir', { mode: 0o700 }));
    await sink.entry(entry('lib/empty', 'file', { mode: 0o600 }));
    await sink.entry(entry('lib/link', 'symlink', { linkname: '../../../etc/passwd' }));
    await sink.entry(entry('lib/hard', 'hardlink', { linkname: 'a.txt' }));
    sink.end();
    await extracting;

    assert.equal(sink.bytes, 11);
    assert.equal(await readFile(join(dir, 'a.txt'), 'utf8'), 'hello world');
    const a = await lstat(join(dir, 'a.txt'));
    assert.equal(a.mode & 0o7777, 0o4755);
    assert.equal(a.uid, 0);
    assert.equal(a.mtimeMs, Math.floor(MTIME_MS / 1000) * 1000);
    assert.equal(a.nlink, 2, 'the hard link shares a.txt');
    assert.equal((await lstat(join(dir, 'lib'))).mode & 0o7777, 0o700);
    const empty = await lstat(join(dir, 'lib/empty'));
    assert.ok(empty.isFile());
    assert.equal(empty.size, 0);
    assert.equal(empty.mode & 0o7777, 0o600);
    // A symlink is written as itself: its target is not followed, wherever it points.
    assert.equal(await readlink(join(dir, 'lib/link')), '../../../etc/passwd');
  });
});

test('an entry the extraction refuses ends the transfer: the file waiting to be read and later entries are refused, nothing hangs', async () => {
  await withDir(async (dir) => {
    const sink = new ContextEntriesSink();
    const extracting = extractEntriesToRoot(dir, '/', sink.entries);
    extracting.catch(() => undefined);
    await sink.entry(entry('d', 'dir'));
    // A hard link that climbs out of the context: refused by the extraction's own check.
    await sink.entry(entry('d/x', 'hardlink', { linkname: '../../outside' }));
    await assert.rejects(extracting, /outside of the extraction directory/);
    await assert.rejects(sink.entry(entry('d/big', 'file', { size: 3 }), chunks('abc')), /not read to its end/);
    await assert.rejects(sink.entry(entry('d/y', 'dir')), /not read to its end/);
  });
});

test('a file still waiting when the extraction stops is refused, not left waiting', async () => {
  const sink = new ContextEntriesSink();
  const it = sink.entries[Symbol.asyncIterator]();
  const waiting = sink.entry(entry('f', 'file', { size: 2 }), chunks('hi'));
  const first = await it.next();
  assert.equal(first.value?.header.name, 'f');
  await it.return?.(undefined); // the extraction failed before it read f's bytes
  await assert.rejects(waiting, /not read to its end/);
});

test('a failed transfer ends the entries with its error, after those already received', async () => {
  await withDir(async (dir) => {
    const sink = new ContextEntriesSink();
    const extracting = extractEntriesToRoot(dir, '/', sink.entries);
    await sink.entry(entry('kept', 'file', { size: 1 }), chunks('k'));
    sink.fail(new Error('filesync: the client went away'));
    await assert.rejects(extracting, /the client went away/);
    assert.equal(await readFile(join(dir, 'kept'), 'utf8'), 'k');
  });
});

test('entries without bytes wait once MAX_QUEUED are ahead of the extraction, and go on as it reads them', async () => {
  const sink = new ContextEntriesSink();
  for (let i = 0; i < MAX_QUEUED; i++) await sink.entry(entry(`d${i}`, 'dir'));
  let pushed = false;
  const next = sink.entry(entry('one-more', 'dir')).then(() => { pushed = true; });
  await new Promise((r) => setImmediate(r));
  assert.equal(pushed, false, 'the transfer waits for the extraction');
  const it = sink.entries[Symbol.asyncIterator]();
  for (let i = 0; i <= MAX_QUEUED / 2; i++) assert.equal((await it.next()).value?.header.name, `d${i}`);
  await next;
  assert.equal(pushed, true);
  // The extraction stopping releases a transfer that waits for room, with an error.
  let waiting: Promise<void> | undefined;
  for (let i = 0; !waiting; i++) {
    const push = sink.entry(entry(`e${i}`, 'dir'));
    if (await Promise.race([push.then(() => false), new Promise<boolean>((r) => setImmediate(() => r(true)))])) waiting = push;
  }
  await it.return?.(undefined);
  await assert.rejects(waiting, /not read to its end/);
});
