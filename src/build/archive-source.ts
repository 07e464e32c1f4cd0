/**
 * ADD's local archives: a source file that is a tar — plain, gzip, bzip2 or
 * xz compressed, told apart by content like dockerd's `IsArchivePath` — is
 * unpacked into the destination instead of copied. gzip is read natively;
 * bzip2 and xz go through `bzip2 -dc` / `xz -dc` (argv arrays, stderr in the
 * error). Unpacking uses `extractToRoot` (nothing escapes the directory);
 * owners and modes come from the archive.
 */
import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { PassThrough, type Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { CommandError } from '../errors.js';
import { extractToRoot } from '../image/archive.js';
import { BLOCK } from '../image/tar-format.js';

export type Compression = 'none' | 'gzip' | 'bzip2' | 'xz';

function compressionOf(head: Buffer): Compression | 'other' {
  if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.subarray(0, 3).toString('latin1') === 'BZh') return 'bzip2';
  if (head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return 'xz';
  if (head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return 'other'; // zstd: not unpacked
  return 'none';
}

/** A ustar/GNU header block: magic at 257 and a valid checksum. */
function looksLikeTarHeader(b: Buffer): boolean {
  if (b.length < BLOCK) return false;
  const magic = b.subarray(257, 262).toString('latin1');
  if (magic !== 'ustar') return false;
  const stored = parseInt(b.subarray(148, 156).toString('latin1').replace(/[\0 ]+/g, ''), 8);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : b[i];
  return stored === sum;
}

/** The decompressed bytes of `path` as a stream (a child process for bzip2/xz). */
export function decompressed(path: string, c: Compression): Readable {
  if (c === 'none' || c === 'gzip') return createReadStream(path); // extractToRoot reads gzip itself
  const argv = c === 'bzip2' ? ['bzip2', '-dc', path] : ['xz', '-dc', path];
  const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  // Piped at once: when a child exits while nobody reads its stdout, Node
  // resumes the stream and what it had written is dropped (an archive that
  // unpacked to nothing when the caller awaited something first).
  // The end comes from the exit status, so a decompressor that fails half way
  // is an error, never a clean, truncated archive.
  const out = child.stdout.pipe(new PassThrough(), { end: false });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  child.on('close', (code, signal) => {
    if (code === 0) out.end();
    else out.destroy(new CommandError(argv, code, stderr || (signal ? `killed by ${signal}` : '')));
  });
  child.on('error', (e) => out.destroy(e));
  // A reader that stops early (archiveKind reads one block) ends the child too.
  out.on('close', () => { child.stdout.destroy(); if (child.exitCode === null) child.kill(); });
  return out;
}

async function firstBytes(s: Readable, n: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let len = 0;
  try {
    for await (const c of s) {
      chunks.push(c as Buffer);
      len += (c as Buffer).length;
      if (len >= n) break;
    }
  } catch (e) {
    // Not decompressible: not an archive. But a decompressor that could not even
    // start (missing, or no process to spare) says nothing about the file.
    if ((e as NodeJS.ErrnoException).syscall?.startsWith('spawn')) throw e;
  } finally {
    s.destroy();
  }
  return Buffer.concat(chunks).subarray(0, n);
}

/** How `path` is compressed when it is a tar archive; undefined when it is not one. */
export async function archiveKind(path: string): Promise<Compression | undefined> {
  const fh = await open(path, 'r');
  let head: Buffer;
  try {
    head = Buffer.alloc(BLOCK);
    const { bytesRead } = await fh.read(head, 0, BLOCK, 0);
    head = head.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
  const c = compressionOf(head);
  if (c === 'other') return undefined;
  if (c === 'none') return looksLikeTarHeader(head) ? 'none' : undefined;
  if (c === 'gzip') {
    const gz = createReadStream(path).pipe(createGunzip());
    return looksLikeTarHeader(await firstBytes(gz, BLOCK)) ? 'gzip' : undefined;
  }
  return looksLikeTarHeader(await firstBytes(decompressed(path, c), BLOCK)) ? c : undefined;
}

/** Unpacks the archive at `path` into the directory `dir`. */
export async function unpackArchive(path: string, kind: Compression, dir: string): Promise<void> {
  await extractToRoot(dir, '/', decompressed(path, kind));
}
