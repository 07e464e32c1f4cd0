/**
 * Tar fixtures and temp dirs for the layer and archive tests: tars built
 * entry by entry (hostile ones included), streams collected, temp dirs
 * removed after each test even when it fails.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import type { TestContext } from 'node:test';
import { END_OF_ARCHIVE, encodeHeader, newHeader, padding, readTar, type TarHeader } from '../../src/image/tar-format.js';

export const isRoot = process.getuid?.() === 0;

export type FixtureEntry = Partial<TarHeader> & { name: string; content?: string | Buffer };

/** A tar of the entries (type defaults to 'file', or 'dir' for names ending in '/'). */
export function tarOf(entries: FixtureEntry[], opts: { gzip?: boolean } = {}): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const content = e.content === undefined ? Buffer.alloc(0) : Buffer.from(e.content);
    const { content: _c, ...fields } = e;
    const h = newHeader({ type: e.name.endsWith('/') ? 'dir' : 'file', mtime: 1_600_000_000, ...fields });
    if (h.type === 'file') h.size = content.length;
    parts.push(encodeHeader(h));
    if (h.type === 'file') parts.push(content, Buffer.alloc(padding(content.length)));
  }
  parts.push(END_OF_ARCHIVE);
  const tar = Buffer.concat(parts);
  return opts.gzip ? gzipSync(tar) : tar;
}

/** A Readable over a buffer, in small chunks so parsers see split headers. */
export function streamOf(buf: Buffer, chunk = 700): Readable {
  const pieces: Buffer[] = [];
  for (let i = 0; i < buf.length; i += chunk) pieces.push(buf.subarray(i, i + chunk));
  return Readable.from(pieces, { objectMode: false });
}

export async function collect(stream: AsyncIterable<Buffer | string>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c));
  return Buffer.concat(chunks);
}

export interface ReadEntry { header: TarHeader; content: Buffer }

export async function entriesOf(tar: Buffer | AsyncIterable<Buffer>): Promise<ReadEntry[]> {
  const out: ReadEntry[] = [];
  const src = Buffer.isBuffer(tar) ? streamOf(tar) : tar;
  for await (const e of readTar(src)) out.push({ header: e.header, content: await collect(e.body) });
  return out;
}

/** A fresh temp dir, removed when the test ends (pass or fail). */
export async function tempDir(t: TestContext, prefix = 'berth-image-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

export { newHeader };
