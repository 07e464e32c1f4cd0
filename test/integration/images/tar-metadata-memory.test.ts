/**
 * Review 5, trust: a tar's metadata entries cannot make berthd hold the
 * archive in memory. Every archive berthd takes (`docker import`, `docker
 * load`, a pulled layer, a build context, a checkpoint, `docker cp`) goes
 * through one tar reader (src/image/tar-format.ts); these archives are
 * gzip-compressed, so a few hundred KiB on the wire are hundreds of MiB of
 * tar.
 *
 * - a GNU volume label (`V`) carries data nobody reads: it was read into
 *   one buffer of its declared size (no bound), so a 512 MiB label held
 *   512 MiB (twice, while its chunks were joined). It is now skipped as it
 *   streams by.
 * - global PAX headers (`g`) were merged into one map for the rest of the
 *   archive: each was bounded (16 MiB) but their sum was not, so forty of
 *   them with distinct keys held 600 MiB. Their merged records are now
 *   bounded like one extended header.
 *
 * What berthd holds is its peak resident set (VmHWM, reset before each
 * archive through /proc/<pid>/clear_refs).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import { startDaemon, skipUnlessRoot, type Daemon } from '../../helpers/daemon.js';

let d!: Daemon;

before(async () => {
  if (skipUnlessRoot()) return;
  d = await startDaemon();
}, { timeout: 120_000 });

after(async () => { await d?.stop(); });

const MiB = 1 << 20;
/** More than berthd may grow by for one archive whose entries are all tiny. */
const GROWTH_LIMIT = 256 * MiB;

/** A ustar header block (the reader's fields only). */
function header(name: string, flag: string, size: number): Buffer {
  const b = Buffer.alloc(512);
  b.write(name, 0, 100, 'utf8');
  b.write('0000644\0', 100, 'latin1');
  b.write('0000000\0', 108, 'latin1');
  b.write('0000000\0', 116, 'latin1');
  b.write(size.toString(8).padStart(11, '0') + '\0', 124, 'latin1');
  b.write('00000000000\0', 136, 'latin1');
  b.write(flag, 156, 'latin1');
  b.write('ustar\0' + '00', 257, 'latin1');
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const x of b) sum += x;
  b.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'latin1');
  return b;
}

const pad = (n: number) => Buffer.alloc((512 - (n % 512)) % 512);

/** `size` bytes of `byte`, in 1 MiB pieces (one buffer shared: the test itself holds 1 MiB). */
function* filler(size: number, byte: number): Generator<Buffer> {
  const piece = Buffer.alloc(MiB, byte);
  for (let left = size; left > 0; left -= MiB) yield left >= MiB ? piece : piece.subarray(0, left);
}

/** A regular file `hello` and the end of the archive. */
function* tail(): Generator<Buffer> {
  yield header('hello', '0', 3);
  yield Buffer.concat([Buffer.from('hi\n'), pad(3)]);
  yield Buffer.alloc(1024);
}

/** A gzip-compressed archive from tar pieces (the body of the request). */
const gzipped = (pieces: () => Generator<Buffer>) => Readable.from(pieces()).pipe(createGzip({ level: 1 }));

async function peakGrowth(run: () => Promise<void>): Promise<number> {
  const pid = d.pid!;
  const status = async () => readFile(`/proc/${pid}/status`, 'utf8');
  const kib = (s: string, field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(s)![1]) * 1024;
  await writeFile(`/proc/${pid}/clear_refs`, '5'); // VmHWM := VmRSS
  const start = kib(await status(), 'VmRSS');
  await run();
  return kib(await status(), 'VmHWM') - start;
}

/** `docker import` of the archive: the error it reports, or null when it imported. */
async function importError(body: Readable): Promise<string | null> {
  const res = await d.request('POST', '/images/create?fromSrc=-&repo=metadata&tag=memory', body, { headers: { 'Content-Type': 'application/x-tar' }, timeoutMs: 300_000 });
  if (res.status !== 200) return res.json().message;
  return res.text.split(/\r?\n/).filter(Boolean).map((l) => JSON.parse(l).error as string | undefined).find(Boolean) ?? null;
}

describe('tar metadata entries are not held in memory', { skip: skipUnlessRoot() }, () => {
  test('a 512 MiB GNU volume label is skipped as it streams, not buffered', { timeout: 600_000 }, async () => {
    const SIZE = 512 * MiB;
    let error: string | null = 'not run';
    const growth = await peakGrowth(async () => {
      error = await importError(gzipped(function* () {
        yield header('label', 'V', SIZE);
        yield* filler(SIZE, 0);
        yield* tail();
      }));
    });
    assert.equal(error, null, 'the archive is valid: its label is ignored');
    assert.ok(growth < GROWTH_LIMIT, `berthd grew by ${Math.round(growth / MiB)} MiB for a volume label`);
    assert.equal((await d.request('GET', '/_ping')).status, 200);
  });

  test('global PAX headers are bounded together, not only one by one', { timeout: 600_000 }, async () => {
    const EACH = 15 * MiB;
    let error: string | null = 'not run';
    const growth = await peakGrowth(async () => {
      error = await importError(gzipped(function* () {
        for (let i = 0; i < 40; i++) {
          // One record "<len> comment.<i>=<value>\n" of EACH bytes in all.
          const key = `comment.${i}=`;
          let len = EACH;
          const prefix = () => `${len} ${key}`;
          const valueLen = EACH - Buffer.byteLength(prefix()) - 1;
          len = Buffer.byteLength(prefix()) + valueLen + 1;
          yield header('pax_global_header', 'g', len);
          yield Buffer.from(prefix());
          yield* filler(valueLen, 0x61);
          yield Buffer.concat([Buffer.from('\n'), pad(len)]);
        }
        yield* tail();
      }));
    });
    assert.ok(growth < GROWTH_LIMIT, `berthd grew by ${Math.round(growth / MiB)} MiB for global PAX headers`);
    assert.match(error ?? '', /invalid tar archive: global extended headers too large/);
    assert.equal((await d.request('GET', '/_ping')).status, 200);
  });
});
