/**
 * The uncompressed bytes of a layer or archive that may be gzip-compressed,
 * told apart by the magic number (what dockerd's DecompressStream does).
 * Other compressions are refused by name rather than misread as tar.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { InvalidParameterError, errorMessage } from '../errors.js';

type Chunk = Buffer | string | Uint8Array;

function toBuffer(c: Chunk): Buffer {
  return typeof c === 'string' ? Buffer.from(c, 'latin1') : Buffer.isBuffer(c) ? c : Buffer.from(c);
}

/** null bytes match anything (bzip2's block size digit). */
const MAGIC: [string, (number | null)[]][] = [
  ['zstd', [0x28, 0xb5, 0x2f, 0xfd]],
  ['xz', [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]],
  // "BZh", the block size, then the block magic: a tar whose first name starts with "BZh" is not mistaken.
  ['bzip2', [0x42, 0x5a, 0x68, null, 0x31, 0x41, 0x59, 0x26, 0x53, 0x59]],
];

export async function* uncompressed(source: AsyncIterable<Chunk>): AsyncGenerator<Buffer> {
  const it = source[Symbol.asyncIterator]();
  let head = Buffer.alloc(0);
  let ended = false;
  while (head.length < 10) {
    const r = await it.next();
    if (r.done) { ended = true; break; }
    head = Buffer.concat([head, toBuffer(r.value)]);
  }
  async function* all(): AsyncGenerator<Buffer> {
    if (head.length) yield head;
    if (ended) return;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      yield toBuffer(r.value);
    }
  }
  if (head[0] === 0x1f && head[1] === 0x8b) {
    const src = Readable.from(all(), { objectMode: false });
    // 256 KiB out per chunk (zlib's default is 16 KiB): a layer's bytes then take a sixteenth of the
    // async hops through the tar reader and the file writes.
    const gunzip = createGunzip({ chunkSize: 256 * 1024 });
    // Errors reach us through gunzip. Not awaited on the way out: a stalled
    // upstream would keep the pipeline from settling until the caller
    // destroys its input, which it does only after we return.
    void pipeline(src, gunzip).catch(() => undefined);
    try {
      for await (const chunk of gunzip) yield chunk as Buffer;
    } catch (e) {
      // zlib's own errors (Z_DATA_ERROR, Z_BUF_ERROR: corrupt or cut off) are the sender's fault;
      // anything else (the source failed, e.g. its client went away) passes through as it is.
      if (String((e as NodeJS.ErrnoException).code ?? '').startsWith('Z_')) {
        throw new InvalidParameterError(`invalid gzip stream: ${errorMessage(e)}`, { cause: e });
      }
      throw e;
    } finally {
      src.destroy();
      gunzip.destroy();
    }
    return;
  }
  for (const [name, magic] of MAGIC) {
    if (head.length >= magic.length && magic.every((b, i) => b === null || head[i] === b)) {
      throw new InvalidParameterError(`${name}-compressed archives are not supported (gzip or uncompressed tar only)`);
    }
  }
  yield* all();
}
