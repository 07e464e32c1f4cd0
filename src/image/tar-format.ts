/**
 * Reading and writing the tar format that image layers and `docker cp`
 * archives use: POSIX ustar headers, PAX extended headers (`x`, `g`) and the
 * GNU long-name entries (`L`, `K`) older tools write.
 *
 * Why not tar-stream: PAX values are bytes, and `SCHILY.xattr.*` values are
 * often binary (`security.capability`); tar-stream decodes and encodes PAX
 * records as UTF-8 strings and so corrupts them. This codec keeps xattr
 * values as Buffers end to end. Names are UTF-8 strings (a name that is not
 * valid UTF-8 is not preserved byte for byte).
 *
 * Headers are written the way Go's archive/tar writes them for dockerd:
 * ustar when every field fits, otherwise an extra PAX header
 * (`<dir>/PaxHeaders.0/<base>`) carrying the fields that do not; uname and
 * gname empty, mtime in whole seconds, no atime/ctime.
 */
import { InvalidParameterError, NotImplementedError } from '../errors.js';

export const BLOCK = 512;

export type TarEntryType = 'file' | 'link' | 'symlink' | 'char' | 'block' | 'dir' | 'fifo';

export interface TarHeader {
  /** As stored (dirs usually end in `/`); callers normalise. */
  name: string;
  type: TarEntryType;
  /** Permission bits including setuid, setgid and sticky (07777). */
  mode: number;
  uid: number;
  gid: number;
  /** Bytes of content; 0 for everything but regular files. */
  size: number;
  /** Seconds since the epoch (PAX may give a fraction). */
  mtime: number;
  /** Symlink target, or for hard links the name of the earlier entry. */
  linkname: string;
  devmajor: number;
  devminor: number;
  uname: string;
  gname: string;
  /** From PAX `SCHILY.xattr.<name>` records; values are raw bytes. */
  xattrs: Map<string, Buffer>;
}

export interface TarEntry {
  header: TarHeader;
  /** The content; must be read or left alone before the next entry is asked for. */
  body: AsyncIterable<Buffer>;
}

export function newHeader(h: Partial<TarHeader> & Pick<TarHeader, 'name' | 'type'>): TarHeader {
  return {
    mode: h.type === 'dir' ? 0o755 : 0o644, uid: 0, gid: 0, size: 0, mtime: 0, linkname: '',
    devmajor: 0, devminor: 0, uname: '', gname: '', xattrs: new Map(), ...h,
  };
}

// ------------------------------------------------------------------ reading

/** Pull-based byte queue over an async source of chunks. */
class ChunkQueue {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private ended = false;
  constructor(private readonly src: AsyncIterator<Buffer | string | Uint8Array>) {}

  private async fill(n: number): Promise<void> {
    while (this.buffered < n && !this.ended) {
      const r = await this.src.next();
      if (r.done) { this.ended = true; break; }
      const b = typeof r.value === 'string' ? Buffer.from(r.value, 'latin1') : Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value);
      if (b.length === 0) continue;
      this.chunks.push(b);
      this.buffered += b.length;
    }
  }

  /** Exactly n bytes; null at a clean end of input; throws on a truncated one. */
  async readExact(n: number): Promise<Buffer | null> {
    await this.fill(n);
    if (this.buffered === 0) return null;
    if (this.buffered < n) throw new InvalidParameterError('unexpected end of tar archive');
    return this.take(n);
  }

  /** Up to max bytes (at least 1); throws at end of input. */
  async readSome(max: number): Promise<Buffer> {
    await this.fill(1);
    if (this.buffered === 0) throw new InvalidParameterError('unexpected end of tar archive');
    return this.take(Math.min(max, this.chunks[0].length));
  }

  async skip(n: number): Promise<void> {
    while (n > 0) n -= (await this.readSome(n)).length;
  }

  /** Reads the rest of the input (so a digest over it sees every byte). */
  async drain(): Promise<void> {
    for (;;) {
      this.chunks = [];
      this.buffered = 0;
      if (this.ended) return;
      await this.fill(1);
    }
  }

  private take(n: number): Buffer {
    let out: Buffer;
    if (this.chunks[0].length >= n) {
      out = this.chunks[0].subarray(0, n);
      if (this.chunks[0].length === n) this.chunks.shift();
      else this.chunks[0] = this.chunks[0].subarray(n);
    } else {
      out = Buffer.allocUnsafe(n);
      let off = 0;
      while (off < n) {
        const c = this.chunks[0];
        const k = Math.min(c.length, n - off);
        c.copy(out, off, 0, k);
        off += k;
        if (k === c.length) this.chunks.shift();
        else this.chunks[0] = c.subarray(k);
      }
    }
    this.buffered -= n;
    return out;
  }
}

function cString(b: Buffer, start: number, len: number): string {
  const field = b.subarray(start, start + len);
  const nul = field.indexOf(0);
  return field.subarray(0, nul === -1 ? field.length : nul).toString('utf8');
}

/** Octal ASCII, or GNU base-256 when the top bit of the first byte is set. */
function parseNumber(b: Buffer, start: number, len: number, field: string): number {
  const f = b.subarray(start, start + len);
  if (f[0] & 0x80) {
    let v = BigInt(f[0] & 0x7f);
    const negative = f[0] === 0xff;
    for (let i = 1; i < f.length; i++) v = (v << 8n) | BigInt(f[i]);
    if (negative) v -= 1n << BigInt(8 * f.length - 1);
    return Number(v);
  }
  const s = f.toString('latin1').replace(/[\0 ]+$/, '').replace(/^[ \0]+/, '').split('\0')[0];
  if (s === '') return 0;
  if (!/^[0-7]+$/.test(s)) throw new InvalidParameterError(`invalid tar header: bad ${field} field`);
  return parseInt(s, 8);
}

function checksumOk(b: Buffer): boolean {
  const stored = parseNumber(b, 148, 8, 'checksum');
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const v = i >= 148 && i < 156 ? 0x20 : b[i];
    unsigned += v;
    signed += v > 127 ? v - 256 : v;
  }
  return stored === unsigned || stored === signed;
}

function isZeroBlock(b: Buffer): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}

/** PAX records `"<len> <key>=<value>\n"`; values stay bytes. */
export function parsePax(buf: Buffer): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let off = 0;
  while (off < buf.length) {
    if (buf[off] === 0) break; // NUL padding some writers leave
    const sp = buf.indexOf(0x20, off);
    const len = sp === -1 ? NaN : Number(buf.toString('latin1', off, sp));
    if (!Number.isInteger(len) || len <= sp - off + 1 || off + len > buf.length || buf[off + len - 1] !== 0x0a) {
      throw new InvalidParameterError('invalid tar archive: malformed PAX record');
    }
    const rec = buf.subarray(sp + 1, off + len - 1);
    const eq = rec.indexOf(0x3d);
    if (eq <= 0) throw new InvalidParameterError('invalid tar archive: malformed PAX record');
    out.set(rec.toString('utf8', 0, eq), Buffer.from(rec.subarray(eq + 1)));
    off += len;
  }
  return out;
}

const XATTR_PREFIX = 'SCHILY.xattr.';
/** PAX, GNU long names and global headers are limited to this many bytes. */
const MAX_META_SIZE = 16 << 20;

function applyPax(h: TarHeader, pax: Map<string, Buffer>): void {
  for (const [key, value] of pax) {
    const s = () => value.toString('utf8');
    const num = (what: string) => {
      const n = Number(value.toString('latin1'));
      if (!Number.isFinite(n)) throw new InvalidParameterError(`invalid tar archive: PAX ${what} is not a number`);
      return n;
    };
    if (key === 'path') h.name = s();
    else if (key === 'linkpath') h.linkname = s();
    else if (key === 'size') h.size = num('size');
    else if (key === 'uid') h.uid = num('uid');
    else if (key === 'gid') h.gid = num('gid');
    else if (key === 'mtime') h.mtime = num('mtime');
    else if (key === 'uname') h.uname = s();
    else if (key === 'gname') h.gname = s();
    else if (key.startsWith(XATTR_PREFIX)) h.xattrs.set(key.slice(XATTR_PREFIX.length), value);
    else if (key.startsWith('GNU.sparse.')) throw new NotImplementedError(`sparse tar entries are not supported (${h.name})`);
  }
}

/** The entry type; old tars' "regular file with a trailing slash" is turned into a dir once the full name is known. */
function typeOf(flag: number, name: string): TarEntryType | 'meta' | null {
  switch (flag) {
    case 0: case 0x30: case 0x37: return 'file';
    case 0x31: return 'link';
    case 0x32: return 'symlink';
    case 0x33: return 'char';
    case 0x34: return 'block';
    case 0x35: return 'dir';
    case 0x36: return 'fifo';
    case 0x78: case 0x67: case 0x4c: case 0x4b: return 'meta'; // x g L K
    case 0x56: return null; // GNU volume label: skipped
    default: throw new InvalidParameterError(`unsupported tar entry type '${String.fromCharCode(flag)}' for ${name}`);
  }
}

/**
 * Yields the entries of a tar stream. After the end-of-archive marker the
 * rest of the input is read and dropped, so a digest computed over the input
 * covers every byte, trailing padding included (that is what a diffID is).
 */
export async function* readTar(source: AsyncIterable<Buffer | string | Uint8Array>): AsyncGenerator<TarEntry> {
  const q = new ChunkQueue(source[Symbol.asyncIterator]());
  const globalPax = new Map<string, Buffer>();
  let globalPaxBytes = 0;
  let pax: Map<string, Buffer> | null = null;
  let longName: string | null = null;
  let longLink: string | null = null;
  for (;;) {
    const block = await q.readExact(BLOCK);
    if (!block) return; // no end marker: accepted, as Go's reader does
    if (isZeroBlock(block)) {
      await q.drain();
      return;
    }
    if (!checksumOk(block)) throw new InvalidParameterError('invalid tar header: checksum mismatch (is the archive compressed or corrupt?)');
    const flag = block[156];
    let name = cString(block, 0, 100);
    const ustar = block.toString('latin1', 257, 263) === 'ustar\0';
    if (ustar && block[345] !== 0) name = cString(block, 345, 155) + '/' + name;
    const rawSize = parseNumber(block, 124, 12, 'size');
    const type = typeOf(flag, name);

    if (type === null) {
      // Its data is read by nobody: skipped as it streams by, whatever size it declares.
      await q.skip(rawSize + padding(rawSize));
      continue;
    }
    if (type === 'meta') {
      if (rawSize > MAX_META_SIZE) throw new InvalidParameterError('invalid tar archive: extended header too large');
      const data = rawSize > 0 ? await q.readExact(rawSize) : Buffer.alloc(0);
      if (rawSize > 0 && !data) throw new InvalidParameterError('unexpected end of tar archive');
      await q.skip(padding(rawSize));
      if (flag === 0x78) pax = parsePax(data!);
      else if (flag === 0x67) {
        // Kept for the rest of the archive: all of them together are held to one header's bound,
        // counted as they merge (a rebuild and a recount per header would cost the whole map each).
        for (const [k, v] of parsePax(data!)) {
          const old = globalPax.get(k);
          globalPaxBytes += k.length + v.length - (old === undefined ? 0 : k.length + old.length);
          globalPax.set(k, v);
        }
        if (globalPaxBytes > MAX_META_SIZE) throw new InvalidParameterError('invalid tar archive: global extended headers too large');
      }
      else if (flag === 0x4c) longName = cString(data!, 0, data!.length);
      else if (flag === 0x4b) longLink = cString(data!, 0, data!.length);
      continue;
    }

    const h: TarHeader = {
      name,
      type,
      mode: parseNumber(block, 100, 8, 'mode') & 0o7777,
      uid: parseNumber(block, 108, 8, 'uid'),
      gid: parseNumber(block, 116, 8, 'gid'),
      size: rawSize,
      mtime: parseNumber(block, 136, 12, 'mtime'),
      linkname: cString(block, 157, 100),
      devmajor: parseNumber(block, 329, 8, 'devmajor'),
      devminor: parseNumber(block, 337, 8, 'devminor'),
      uname: cString(block, 265, 32),
      gname: cString(block, 297, 32),
      xattrs: new Map(),
    };
    if (longName !== null) h.name = longName;
    if (longLink !== null) h.linkname = longLink;
    if (globalPax.size) applyPax(h, globalPax);
    if (pax) applyPax(h, pax);
    pax = null;
    longName = longLink = null;
    if (h.type === 'file' && h.name.endsWith('/')) h.type = 'dir';
    // Only regular files carry data; other types' size fields are ignored (as Go does).
    const size = h.type === 'file' ? h.size : 0;
    if (h.type !== 'file') h.size = 0;
    if (!Number.isSafeInteger(size) || size < 0) throw new InvalidParameterError(`invalid tar header: bad size for ${h.name}`);

    let remaining = size;
    const body = {
      async *[Symbol.asyncIterator]() {
        while (remaining > 0) {
          const chunk = await q.readSome(Math.min(remaining, 1 << 20));
          remaining -= chunk.length;
          yield chunk;
        }
      },
    };
    yield { header: h, body };
    await q.skip(remaining);
    remaining = 0;
    await q.skip(padding(size));
  }
}

// ------------------------------------------------------------------ writing

export function padding(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}

export const END_OF_ARCHIVE = Buffer.alloc(2 * BLOCK);

const isAscii = (s: string) => /^[\x00-\x7f]*$/.test(s);

function writeString(b: Buffer, s: string, start: number, len: number): void {
  b.write(s, start, len, 'utf8');
}

/** Octal, zero-padded, NUL-terminated, as Go writes numeric fields. */
function writeOctal(b: Buffer, n: number, start: number, len: number): void {
  b.write(Math.trunc(n).toString(8).padStart(len - 1, '0') + '\0', start, len, 'latin1');
}

function fitsOctal(n: number, len: number): boolean {
  return Number.isInteger(n) && n >= 0 && n < 8 ** (len - 1);
}

/** Splits a name into ustar prefix and name; null if it cannot be done. */
function splitUstarName(name: string): [string, string] | null {
  if (!isAscii(name)) return null;
  if (name.length <= 100) return ['', name];
  // The last slash that leaves a prefix of at most 155 bytes and a non-empty
  // rest (a dir's trailing slash belongs to the rest).
  const i = name.lastIndexOf('/', Math.min(155, name.length - 2));
  if (i <= 0 || name.length - i - 1 > 100) return null;
  return [name.slice(0, i), name.slice(i + 1)];
}

function paxRecord(key: string, value: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`, 'utf8'), value, Buffer.from('\n')]);
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return Buffer.concat([Buffer.from(String(len), 'latin1'), body]);
}

const TYPEFLAG: Record<TarEntryType, number> = {
  file: 0x30, link: 0x31, symlink: 0x32, char: 0x33, block: 0x34, dir: 0x35, fifo: 0x36,
};

function ustarBlock(f: { name: string; prefix: string; mode: number; uid: number; gid: number; size: number; mtime: number; flag: number; linkname: string; uname: string; gname: string; devmajor: number; devminor: number }): Buffer {
  const b = Buffer.alloc(BLOCK);
  writeString(b, f.name, 0, 100);
  writeOctal(b, f.mode, 100, 8);
  writeOctal(b, fitsOctal(f.uid, 8) ? f.uid : 0, 108, 8);
  writeOctal(b, fitsOctal(f.gid, 8) ? f.gid : 0, 116, 8);
  writeOctal(b, fitsOctal(f.size, 12) ? f.size : 0, 124, 12);
  writeOctal(b, fitsOctal(f.mtime, 12) ? f.mtime : 0, 136, 12);
  b[156] = f.flag;
  writeString(b, f.linkname, 157, 100);
  b.write('ustar\x0000', 257, 8, 'latin1');
  writeString(b, f.uname, 265, 32);
  writeString(b, f.gname, 297, 32);
  writeOctal(b, fitsOctal(f.devmajor, 8) ? f.devmajor : 0, 329, 8);
  writeOctal(b, fitsOctal(f.devminor, 8) ? f.devminor : 0, 337, 8);
  writeString(b, f.prefix, 345, 155);
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += b[i];
  b.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'latin1');
  return b;
}

/**
 * The header block(s) for one entry: a PAX header first when some field does
 * not fit ustar (long or non-ASCII names, big ids or sizes, xattrs). Content
 * and its padding are the caller's.
 */
export function encodeHeader(h: TarHeader): Buffer {
  let name = h.name;
  if (h.type === 'dir' && !name.endsWith('/')) name += '/';
  const mtime = Math.max(0, Math.floor(h.mtime));
  const size = h.type === 'file' ? h.size : 0;
  const records: [string, Buffer][] = [];

  const split = splitUstarName(name);
  if (!split) records.push(['path', Buffer.from(name, 'utf8')]);
  if (!isAscii(h.linkname) || Buffer.byteLength(h.linkname) > 100) records.push(['linkpath', Buffer.from(h.linkname, 'utf8')]);
  if (!fitsOctal(h.uid, 8)) records.push(['uid', Buffer.from(String(h.uid))]);
  if (!fitsOctal(h.gid, 8)) records.push(['gid', Buffer.from(String(h.gid))]);
  if (!fitsOctal(size, 12)) records.push(['size', Buffer.from(String(size))]);
  if (!fitsOctal(mtime, 12)) records.push(['mtime', Buffer.from(String(mtime))]);
  if (!isAscii(h.uname) || h.uname.length > 32) records.push(['uname', Buffer.from(h.uname, 'utf8')]);
  if (!isAscii(h.gname) || h.gname.length > 32) records.push(['gname', Buffer.from(h.gname, 'utf8')]);
  for (const [k, v] of h.xattrs) records.push([XATTR_PREFIX + k, v]);

  const [prefix, shortName] = split ?? ['', asciiTruncate(name, 100)];
  const main = ustarBlock({
    name: shortName, prefix, mode: h.mode & 0o7777, uid: h.uid, gid: h.gid, size, mtime, flag: TYPEFLAG[h.type],
    linkname: isAscii(h.linkname) && h.linkname.length <= 100 ? h.linkname : asciiTruncate(h.linkname, 100),
    uname: isAscii(h.uname) ? h.uname.slice(0, 32) : '', gname: isAscii(h.gname) ? h.gname.slice(0, 32) : '',
    devmajor: h.devmajor, devminor: h.devminor,
  });
  if (records.length === 0) return main;

  records.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const data = Buffer.concat(records.map(([k, v]) => paxRecord(k, v)));
  const trimmed = name.replace(/\/$/, '');
  const slash = trimmed.lastIndexOf('/');
  const paxName = asciiTruncate(`${trimmed.slice(0, slash + 1)}PaxHeaders.0/${trimmed.slice(slash + 1)}`, 100);
  const paxHead = ustarBlock({
    name: paxName, prefix: '', mode: 0, uid: 0, gid: 0, size: data.length, mtime: 0, flag: 0x78,
    linkname: '', uname: '', gname: '', devmajor: 0, devminor: 0,
  });
  return Buffer.concat([paxHead, data, Buffer.alloc(padding(data.length)), main]);
}

function asciiTruncate(s: string, max: number): string {
  return s.replace(/[^\x00-\x7f]/g, '_').slice(0, max);
}
