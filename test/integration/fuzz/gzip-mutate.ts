/**
 * gzip streams, right and wrong: a bad CRC or length in the trailer, a
 * stream cut short, a second member glued on, junk after the end, header
 * flags that promise fields that are not there. The compressed data itself
 * is never flipped (it would garble the names of the tar inside; see
 * tar-mutate.ts on host safety).
 */
import { gzipSync } from 'node:zlib';
import type { Rng } from './rng.js';

export function gzip(data: Buffer): Buffer {
  return gzipSync(data, { level: 1 });
}

/** A gzip of `data`, mutated or not; describes what it did. */
export function mutatedGzip(data: Buffer, rng: Rng): { bytes: Buffer; what: string } {
  const gz = Buffer.from(gzip(data));
  const op = rng.weighted<string>([[4, 'none'], [2, 'bad-crc'], [1, 'bad-isize'], [2, 'truncated'], [1, 'two-members'], [1, 'junk-after'], [1, 'fextra-flag'], [1, 'bad-method']]);
  switch (op) {
    case 'bad-crc': gz.writeUInt32LE((gz.readUInt32LE(gz.length - 8) ^ 0xdeadbeef) >>> 0, gz.length - 8); break;
    case 'bad-isize': gz.writeUInt32LE((gz.readUInt32LE(gz.length - 4) + 1) >>> 0, gz.length - 4); break;
    case 'truncated': return { bytes: gz.subarray(0, rng.int(1, gz.length - 1)), what: 'gzip truncated' };
    case 'two-members': return { bytes: Buffer.concat([gz, gzip(Buffer.from('second member\n'))]), what: 'gzip with a second member' };
    case 'junk-after': return { bytes: Buffer.concat([gz, Buffer.from('trailing junk')]), what: 'gzip with junk after it' };
    case 'fextra-flag': gz[3] |= 0x04; break;
    case 'bad-method': gz[2] = 7; break;
  }
  return { bytes: gz, what: op === 'none' ? 'gzip' : `gzip ${op}` };
}
