/**
 * Writes tar archives byte by byte, so an entry can say anything: any type
 * (FIFO, device, hard link, symlink), any name (`..`, absolute, longer than
 * ustar allows, via pax or GNU long-name records), a size that does not
 * match its data, a bad checksum, pax records with absurd values. Each
 * entry's header range is reported, so mutators can leave the headers of
 * entries that point at host paths alone (see tar-mutate.ts).
 */
import type { Rng } from './rng.js';

export interface TarEntry {
  name: string;
  /** ustar typeflag: '0' file, '1' hard link, '2' symlink, '3' char dev, '4' block dev, '5' dir, '6' FIFO, 'x' pax, 'g' global pax, 'L' GNU long name. */
  type: string;
  data?: Buffer;
  linkname?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  /** Seconds since the epoch. */
  mtime?: number;
  /** The size written in the header, when it must differ from the data's. */
  declaredSize?: number;
  devmajor?: number;
  devminor?: number;
  /** pax records written in an 'x' entry before this one. */
  pax?: Record<string, string>;
  /** Write the name through a GNU 'L' record instead of pax when it is long. */
  gnuLongName?: boolean;
  badChecksum?: boolean;
  /** Names a host path (or writes through a link that does): mutators must not touch its header. */
  hostBound?: boolean;
  /** Ranges inside `data` that mutators must leave alone (the names of a tar nested in this entry). */
  innerProtected?: Array<[number, number]>;
  /** `data` is compressed: mutators may not flip its bytes (they would garble names inside it). */
  opaqueData?: boolean;
}

export interface WrittenTar {
  bytes: Buffer;
  /**
   * Byte ranges [start, end) that mutators must leave as they are: every
   * name, link name and prefix field, every pax and long-name record, whole
   * headers of host-bound entries, compressed data, and the same inside
   * nested tars. So a mutated archive still names only what the generator
   * chose: a flipped byte never turns `d/g` into `/d/g` or `../etc`.
   */
  protectedRanges: Array<[number, number]>;
  /** Header offsets of the entries, in order (for header mutations). */
  headerOffsets: number[];
}

function octal(n: number, width: number): string {
  const s = Math.max(0, Math.floor(n)).toString(8);
  return s.length >= width ? s.slice(-(width - 1)) : s.padStart(width - 1, '0');
}

function writeField(h: Buffer, off: number, len: number, value: string | Buffer): void {
  const b = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  b.copy(h, off, 0, Math.min(b.length, len));
}

/** One 512-byte header. Numbers too large for octal use the GNU base-256 form. */
function header(e: TarEntry, size: number, nameField: string): Buffer {
  const h = Buffer.alloc(512);
  const num = (off: number, len: number, n: number) => {
    if (n >= 0 && n < 8 ** (len - 1)) writeField(h, off, len, `${octal(n, len)}\0`);
    else {
      // base-256: high bit set, big-endian two's complement
      h[off] = 0x80;
      let v = BigInt(Math.trunc(n));
      for (let i = off + len - 1; i > off; i--) { h[i] = Number(v & 0xffn); v >>= 8n; }
    }
  };
  const name = Buffer.from(nameField, 'utf8');
  if (name.length > 100 && name.length <= 255 && !e.pax && !e.gnuLongName) {
    // ustar prefix/name split at a slash
    const cut = nameField.lastIndexOf('/', 155);
    if (cut > 0) { writeField(h, 345, 155, nameField.slice(0, cut)); writeField(h, 0, 100, nameField.slice(cut + 1)); }
    else writeField(h, 0, 100, name);
  } else {
    writeField(h, 0, 100, name);
  }
  num(100, 8, e.mode ?? (e.type === '5' ? 0o755 : e.type === '2' ? 0o777 : 0o644));
  num(108, 8, e.uid ?? 0);
  num(116, 8, e.gid ?? 0);
  num(124, 12, size);
  num(136, 12, e.mtime ?? 1_704_067_200);
  h.write(e.type.slice(0, 1), 156, 'latin1');
  writeField(h, 157, 100, e.linkname ?? '');
  h.write('ustar\0', 257, 'latin1');
  h.write('00', 263, 'latin1');
  writeField(h, 265, 32, 'root');
  writeField(h, 297, 32, 'root');
  num(329, 8, e.devmajor ?? 0);
  num(337, 8, e.devminor ?? 0);
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  if (e.badChecksum) sum += 1;
  writeField(h, 148, 8, `${octal(sum, 7)}\0 `);
  return h;
}

function pad(n: number): Buffer {
  return Buffer.alloc((512 - (n % 512)) % 512);
}

function paxData(records: Record<string, string>): Buffer {
  const parts: Buffer[] = [];
  for (const [k, v] of Object.entries(records)) {
    const body = ` ${k}=${v}\n`;
    let len = Buffer.byteLength(body) + 1;
    while (String(len).length + Buffer.byteLength(body) !== len) len = String(len).length + Buffer.byteLength(body);
    parts.push(Buffer.from(`${len}${body}`, 'utf8'));
  }
  return Buffer.concat(parts);
}

export function writeTar(entries: TarEntry[], opts: { endBlocks?: number } = {}): WrittenTar {
  const parts: Buffer[] = [];
  const protectedRanges: Array<[number, number]> = [];
  const headerOffsets: number[] = [];
  let off = 0;
  const push = (b: Buffer) => { parts.push(b); off += b.length; };
  for (const e of entries) {
    const start = off;
    const data = e.data ?? Buffer.alloc(0);
    let nameField = e.name;
    const nameBytes = Buffer.byteLength(e.name);
    if (e.gnuLongName && nameBytes > 100) {
      const ln = Buffer.from(`${e.name}\0`, 'utf8');
      push(header({ name: '././@LongLink', type: 'L' }, ln.length, '././@LongLink'));
      push(ln); push(pad(ln.length));
      protectedRanges.push([start, off]);
      nameField = e.name.slice(0, 99);
    } else if (e.pax || nameBytes > 255 || Buffer.byteLength(e.linkname ?? '') > 100) {
      const rec = { ...(nameBytes > 100 ? { path: e.name } : {}), ...(Buffer.byteLength(e.linkname ?? '') > 100 ? { linkpath: e.linkname! } : {}), ...e.pax };
      const pd = paxData(rec);
      push(header({ name: 'PaxHeader', type: 'x' }, pd.length, `PaxHeaders/${e.name.slice(0, 80)}`));
      push(pd); push(pad(pd.length));
      protectedRanges.push([start, off]);
      if (nameBytes > 100) nameField = e.name.slice(0, 99);
    }
    const h = off;
    headerOffsets.push(h);
    push(header(e, e.declaredSize ?? data.length, nameField));
    protectedRanges.push([h, h + 100], [h + 157, h + 257], [h + 345, h + 500]);
    const typeHasData = e.type === '0' || e.type === '\0' || e.type === '7' || e.type === 'x' || e.type === 'g' || e.type === 'L';
    if (typeHasData || data.length) {
      const d0 = off;
      push(data); push(pad(data.length));
      if (e.opaqueData || e.type === 'x' || e.type === 'g' || e.type === 'L') protectedRanges.push([d0, d0 + data.length]);
      for (const [a, b] of e.innerProtected ?? []) protectedRanges.push([d0 + a, d0 + b]);
    }
    if (e.hostBound) protectedRanges.push([start, off]);
  }
  push(Buffer.alloc(512 * (opts.endBlocks ?? 2)));
  return { bytes: Buffer.concat(parts), protectedRanges, headerOffsets };
}

export function file(name: string, content: string | Buffer, extra: Partial<TarEntry> = {}): TarEntry {
  return { name, type: '0', data: Buffer.isBuffer(content) ? content : Buffer.from(content), ...extra };
}

export function dir(name: string, extra: Partial<TarEntry> = {}): TarEntry {
  return { name: name.endsWith('/') ? name : `${name}/`, type: '5', ...extra };
}

/** A small valid tar (a Dockerfile, a file, a directory) for requests that need some tar body. */
export function smallTar(rng: Rng): Buffer {
  return writeTar([
    file('Dockerfile', 'FROM scratch\nCOPY f /f\n'),
    file('f', `fuzz ${rng.alnum(8)}\n`),
    dir('d'),
    file('d/g', 'g\n', { mode: 0o600 }),
  ]).bytes;
}
