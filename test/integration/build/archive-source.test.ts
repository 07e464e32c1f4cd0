/**
 * ADD's archive detection and unpacking with the real `bzip2` and `xz`.
 *
 * The first case is the regression behind an ADD'ed .tar.bz2 that unpacked
 * to nothing about one time in twenty: Node resumes (and so drops) a child's
 * stdout that nobody reads when the child exits, and the build awaited other
 * work before reading the decompressor's output.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm, truncate, stat, writeFile, copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { archiveKind, decompressed, unpackArchive } from '../../../src/build/archive-source.js';

let dir!: string;
const CONTENT = 'from an archive\n';

before(async () => {
  dir = await mkdtemp('/tmp/berth-test-archive-source-');
  await mkdir(join(dir, 'src'));
  await writeFile(join(dir, 'src', 'f.txt'), CONTENT);
  for (const [flag, name] of [['-j', 'f.tar.bz2'], ['-J', 'f.tar.xz'], ['-z', 'f.tar.gz'], ['-c', 'f.tar']]) {
    execFileSync('tar', ['-c', ...(flag === '-c' ? [] : [flag]), '-f', join(dir, name), '-C', join(dir, 'src'), 'f.txt']);
  }
  await writeFile(join(dir, 'plain.txt'), 'not an archive\n');
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function readAll(s: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c);
  return Buffer.concat(chunks);
}

describe('decompressed output of a child decompressor', () => {
  for (const [name, kind] of [['f.tar.bz2', 'bzip2'], ['f.tar.xz', 'xz']] as const) {
    test(`${kind}: nothing is lost when the reader starts after the child has exited`, async () => {
      const s = decompressed(join(dir, name), kind);
      await sleep(300); // the decompressor is long gone by now
      const bytes = await readAll(s);
      assert.equal(bytes.length, 10240, 'a whole tar (one entry, padded to 10 KiB)');
      assert.ok(bytes.includes(Buffer.from(CONTENT)));
    });
  }

  test('a decompressor that fails half way is an error, not a short archive', async () => {
    const cut = join(dir, 'cut.tar.bz2');
    await copyFile(join(dir, 'f.tar.bz2'), cut);
    await truncate(cut, (await stat(cut)).size - 10);
    await assert.rejects(readAll(decompressed(cut, 'bzip2')), /bzip2 -dc/);
  });
});

describe('archiveKind and unpackArchive', () => {
  test('each compression is told by content; a text file is not an archive', async () => {
    assert.equal(await archiveKind(join(dir, 'f.tar.bz2')), 'bzip2');
    assert.equal(await archiveKind(join(dir, 'f.tar.xz')), 'xz');
    assert.equal(await archiveKind(join(dir, 'f.tar.gz')), 'gzip');
    assert.equal(await archiveKind(join(dir, 'f.tar')), 'none');
    assert.equal(await archiveKind(join(dir, 'plain.txt')), undefined);
  });

  test('forty concurrent unpacks of bzip2 and xz archives all hold the file', async () => {
    const outs = await Promise.all(Array.from({ length: 40 }, async (_, i) => {
      const name = i % 2 ? 'f.tar.bz2' : 'f.tar.xz';
      const out = join(dir, `out-${i}`);
      await mkdir(out);
      const kind = await archiveKind(join(dir, name));
      assert.ok(kind);
      await unpackArchive(join(dir, name), kind, out);
      return out;
    }));
    for (const out of outs) {
      assert.deepEqual(await readdir(out), ['f.txt'], out);
      assert.equal(await readFile(join(out, 'f.txt'), 'utf8'), CONTENT);
    }
  });
});
