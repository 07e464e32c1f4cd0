/**
 * Turns files on disk into tar entries and a stream of entries into a tar
 * byte stream. Shared by layer diffs, `docker cp` archives and `export`;
 * what goes in (whiteouts, names, exclusions) is each caller's business.
 */
import type { BigIntStats } from 'node:fs';
import { constants } from 'node:fs';
import { close as fsClose, read as fsRead } from 'node:fs';
import { open, readlink } from 'node:fs/promises';
import { promisify } from 'node:util';
import { Readable } from 'node:stream';
import { END_OF_ARCHIVE, encodeHeader, newHeader, padding, type TarEntryType, type TarHeader } from './tar-format.js';

export interface PackEntry {
  header: TarHeader;
  /** Host file whose first header.size bytes are the content (regular files only). */
  contentPath?: string;
  /** Or the content itself, for a file made in memory. */
  content?: Buffer;
  /**
   * Or an open descriptor of the file (a rooted walk opens files where it
   * finds them, image/tree-walk.ts). The packer owns it from then on and
   * closes it, also when the archive is abandoned.
   */
  fd?: number;
}

const closeFd = promisify(fsClose);

/**
 * xattrs that describe the host or the overlay mount, not the content:
 * overlayfs' own (`trusted.overlay.*`, `user.overlay.*` on userxattr mounts)
 * and SELinux labels (host policy; dockerd never archives them).
 */
export function isContentXattr(name: string): boolean {
  return !name.startsWith('trusted.overlay.') && !name.startsWith('user.overlay.') && name !== 'security.selinux';
}

export function contentXattrs(all: Map<string, Buffer>): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const name of [...all.keys()].sort()) if (isContentXattr(name)) out.set(name, all.get(name)!);
  return out;
}

function typeOfStat(st: BigIntStats): TarEntryType | null {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isCharacterDevice()) return 'char';
  if (st.isBlockDevice()) return 'block';
  if (st.isFIFO()) return 'fifo';
  return null; // sockets: not representable in tar, skipped like dockerd does
}

/**
 * Remembers regular files with several links so the second and later names
 * become tar hard links to the first, as dockerd writes them.
 */
export class HardlinkTracker {
  private seen = new Map<string, string>();
  /** The earlier entry name this file is a hard link of, or undefined (and it is remembered as `name`). */
  linkOf(st: BigIntStats, name: string): string | undefined {
    if (!st.isFile() || st.nlink < 2n) return undefined;
    const key = `${st.dev}:${st.ino}`;
    const first = this.seen.get(key);
    if (first === undefined) this.seen.set(key, name);
    return first;
  }
}

export interface StatEntryOptions {
  xattrs?: Map<string, Buffer>;
  hardlinks?: HardlinkTracker;
  /** Clamp mtimes to this (seconds): SOURCE_DATE_EPOCH for reproducible layers. */
  maxMtime?: number;
  /** The file's open descriptor (TreeItem.fd): the entry's content is read from it, and it is closed either way. */
  fd?: number;
  /** A symlink's target, read already (when the path may name something else by now). */
  linkname?: string;
  /** The file's content, read already from the inode `st` describes (TreeItem.content): `st.size` bytes. */
  content?: Buffer;
}

/** The entry for a file as it is on disk; null for sockets. */
export async function entryFromStat(path: string, name: string, st: BigIntStats, opts: StatEntryOptions = {}): Promise<PackEntry | null> {
  let entry: PackEntry | null;
  try {
    entry = await statEntry(path, name, st, opts);
  } catch (e) {
    if (opts.fd !== undefined) await closeFd(opts.fd);
    throw e;
  }
  // A descriptor the walk opened goes with the entry that reads it, or is closed here.
  if (opts.fd !== undefined) {
    if (entry?.contentPath !== undefined) { delete entry.contentPath; entry.fd = opts.fd; } else await closeFd(opts.fd);
  }
  if (opts.content !== undefined && entry?.contentPath !== undefined) { delete entry.contentPath; entry.content = opts.content; }
  return entry;
}

async function statEntry(path: string, name: string, st: BigIntStats, opts: StatEntryOptions): Promise<PackEntry | null> {
  const type = typeOfStat(st);
  if (!type) return null;
  let mtime = Number(st.mtimeNs / 1_000_000_000n);
  if (opts.maxMtime !== undefined && mtime > opts.maxMtime) mtime = opts.maxMtime;
  const header = newHeader({
    name: type === 'dir' && !name.endsWith('/') ? `${name}/` : name,
    type,
    mode: Number(st.mode) & 0o7777,
    uid: Number(st.uid),
    gid: Number(st.gid),
    mtime,
    xattrs: opts.xattrs ? contentXattrs(opts.xattrs) : new Map(),
  });
  if (type === 'symlink') header.linkname = opts.linkname ?? await readlink(path);
  if (type === 'char' || type === 'block') {
    // glibc's dev_t layout (what stat returns), not the kernel's.
    const rdev = st.rdev;
    header.devmajor = Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn));
    header.devminor = Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn));
  }
  if (type === 'file') {
    const first = opts.hardlinks?.linkOf(st, name);
    if (first !== undefined) {
      header.type = 'link';
      header.linkname = first;
      header.xattrs = new Map(); // they belong to the inode, already on the first name
      return { header };
    }
    header.size = Number(st.size);
    return { header, contentPath: path };
  }
  return { header };
}

const CHUNK = 64 * 1024;

/**
 * Exactly `size` bytes of a file. The file is opened with O_NOFOLLOW. A file
 * that grew is cut at `size`; one that shrank is padded with zeros (GNU
 * tar's answer to a file changing under it) so the archive stays valid.
 */
interface ContentReader { read(buf: Buffer, off: number, len: number): Promise<number>; close(): Promise<void> }

const readFd = promisify(fsRead);

/** The entry's content opened: its own descriptor, or its path with O_NOFOLLOW; read from the start. */
async function openContent(e: PackEntry): Promise<ContentReader> {
  if (e.fd === undefined) {
    const fh = await open(e.contentPath!, constants.O_RDONLY | constants.O_NOFOLLOW);
    return { read: async (buf, off, len) => (await fh.read(buf, off, len, null)).bytesRead, close: () => fh.close() };
  }
  const fd = e.fd;
  e.fd = undefined;
  let pos = 0;
  return {
    read: async (buf, off, len) => {
      const { bytesRead } = await readFd(fd, buf, off, len, pos);
      pos += bytesRead;
      return bytesRead;
    },
    close: () => closeFd(fd),
  };
}

async function* fileContent(e: PackEntry, size: number): AsyncGenerator<Buffer> {
  const fh = await openContent(e);
  try {
    let left = size;
    while (left > 0) {
      const buf = Buffer.allocUnsafe(Math.min(CHUNK, left));
      const bytesRead = await fh.read(buf, 0, buf.length);
      if (bytesRead === 0) {
        yield Buffer.alloc(left);
        return;
      }
      left -= bytesRead;
      yield bytesRead === buf.length ? buf : buf.subarray(0, bytesRead);
    }
  } finally {
    await fh.close();
  }
}

/** Read-ahead for small files: entries looked at in advance, and bytes held for them. */
const READ_AHEAD = 32;
const READ_AHEAD_BYTES = 32 << 20;
const SMALL_FILE = 1 << 20;

/** A small file's first `size` bytes in one buffer (zero-padded if it shrank), opened O_NOFOLLOW. */
async function readSmall(e: PackEntry, size: number): Promise<Buffer> {
  const buf = Buffer.alloc(size);
  const fh = await openContent(e);
  try {
    let off = 0;
    while (off < size) {
      const bytesRead = await fh.read(buf, off, size - off);
      if (bytesRead === 0) break;
      off += bytesRead;
    }
  } finally {
    await fh.close();
  }
  return buf;
}

interface Ahead { entry: PackEntry; content?: Promise<Buffer> }

/** Bytes of small entries gathered into one chunk of the stream: a chunk per entry cost more than the entry. */
const OUT_CHUNK = 64 * 1024;
const ZEROS = Buffer.alloc(512);

/** Small pieces of the archive, handed on as one buffer. */
class Coalescer {
  private parts: Buffer[] = [];
  bytes = 0;
  add(...bufs: Buffer[]): void {
    for (const b of bufs) if (b.length) { this.parts.push(b); this.bytes += b.length; }
  }
  /** Everything gathered, with `last` at the end. */
  take(last?: Buffer): Buffer {
    if (last) this.add(last);
    const all = this.parts.length === 1 ? this.parts[0] : Buffer.concat(this.parts, this.bytes);
    this.parts = [];
    this.bytes = 0;
    return all;
  }
}

/**
 * Encodes entries in order while reading the next small files' content
 * concurrently: one file at a time, a big tree spends most of its time
 * waiting for open/read/close round trips. Large files are streamed.
 */
async function* encodeEntries(entries: AsyncIterable<PackEntry>): AsyncGenerator<Buffer> {
  const it = entries[Symbol.asyncIterator]();
  const window: Ahead[] = [];
  let held = 0;
  let done = false;
  const out = new Coalescer();
  const isSmall = (e: PackEntry) => e.header.type === 'file' && e.header.size > 0 && e.header.size <= SMALL_FILE;
  try {
    for (;;) {
      while (!done && window.length < READ_AHEAD && held < READ_AHEAD_BYTES) {
        const r = await it.next();
        if (r.done) { done = true; break; }
        const entry = r.value;
        if (entry.content) {
          if (entry.content.length !== entry.header.size) throw new Error(`tar entry ${entry.header.name}: ${entry.content.length} bytes for a size of ${entry.header.size}`);
          window.push({ entry, content: Promise.resolve(entry.content) });
          held += entry.header.size;
          continue;
        }
        if (entry.header.type === 'file' && entry.header.size > 0 && !entry.contentPath && entry.fd === undefined) throw new Error(`tar entry ${entry.header.name} has no content`);
        if (!isSmall(entry)) { window.push({ entry }); continue; }
        const content = readSmall(entry, entry.header.size);
        content.catch(() => undefined); // observed when its turn comes; no unhandled rejection meanwhile
        held += entry.header.size;
        window.push({ entry, content });
      }
      const next = window.shift();
      if (!next) break;
      const h = next.entry.header;
      if (next.content) {
        const data = await next.content;
        held -= h.size;
        if (data.length >= OUT_CHUNK) {
          // Handed on as it is: gathering it with the header would copy every byte of it once more.
          yield out.take(encodeHeader(h));
          yield data;
          out.add(ZEROS.subarray(0, padding(h.size)));
        } else {
          out.add(encodeHeader(h), data, ZEROS.subarray(0, padding(h.size)));
        }
      } else if (h.type === 'file' && h.size > 0) {
        yield out.take(encodeHeader(h));
        yield* fileContent(next.entry, h.size);
        const pad = padding(h.size);
        if (pad) yield Buffer.alloc(pad);
      } else {
        out.add(encodeHeader(h));
      }
      if (out.bytes >= OUT_CHUNK) yield out.take();
    }
    out.add(END_OF_ARCHIVE);
    yield out.take();
  } finally {
    // Abandoned: descriptors of entries never read are closed (reads in flight close their own).
    for (const a of window) if (a.entry.fd !== undefined && !a.content) { const fd = a.entry.fd; a.entry.fd = undefined; await closeFd(fd).catch(() => undefined); }
    await it.return?.();
  }
}

/**
 * A tar byte stream of the entries. Lazy and back-pressured: nothing is read
 * before the consumer asks; destroying the stream stops the walk and closes
 * open files. Errors surface as the stream's 'error'.
 */
export function packTar(entries: () => AsyncIterable<PackEntry>): Readable {
  return Readable.from(encodeEntries({ [Symbol.asyncIterator]: () => entries()[Symbol.asyncIterator]() }), { objectMode: false });
}
