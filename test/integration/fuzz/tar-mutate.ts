/**
 * Hostile tar content. `hostileEntries` adds entries that try to get out
 * or to confuse an extractor: `..` and absolute names, names too long for
 * any header, symlinks to `/`, `/etc` or the test's canary directory with
 * files written through them, hard links to host files, FIFOs and device
 * nodes, duplicates and type changes of one name, whiteouts, pax records
 * with absurd values, odd modes, owners and times. `mutateBytes` then flips
 * bytes in headers and data, lies about sizes, truncates, drops the end
 * blocks or appends junk, never inside the ranges tar-write.ts protects.
 *
 * Host safety by construction: entries that reach outside only ever create
 * new files named with the marker (host-canary.ts finds and deletes them);
 * hard links to host files and entries for `/` carry the host file's own
 * mode, owner and mtime, so an extractor that wrongly applies them changes
 * nothing; whiteouts never contain `..`; and no mutation touches a name.
 */
import { statSync } from 'node:fs';
import type { Rng } from './rng.js';
import { MARKER, type Canary } from './host-canary.js';
import { dir, file, type TarEntry, type WrittenTar } from './tar-write.js';

export interface HostileContext {
  canary: Canary;
  /** Makes marker names unique within a run. */
  counter: { n: number };
}

function mark(h: HostileContext): string {
  return `${MARKER}-${process.pid}-${h.counter.n++}`;
}

/** Mode, owner and mtime of a host path, so a wrongly applied header is a no-op. */
function hostMeta(path: string): Partial<TarEntry> {
  const st = statSync(path);
  return { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: Math.floor(st.mtimeMs / 1000) };
}

type Maker = (rng: Rng, h: HostileContext) => TarEntry[];

const MAKERS: Array<readonly [number, Maker]> = [
  // `..` and absolute names: only new marker files.
  [3, (rng, h) => [file(rng.pick(['../', '../../../../../../../../tmp/', '/tmp/', '/', '/etc/', 'a/../../', './../']) + mark(h), 'escaped\n', { hostBound: true })]],
  // Names longer than ustar holds, via pax, GNU long names, or ustar prefix.
  [2, (rng) => [file(rng.pick([`${'d/'.repeat(120)}long`, `${'x'.repeat(300)}`, `${'a'.repeat(99)}/${'b'.repeat(99)}/c`, `${'p/'.repeat(2500)}deep`]), 'long\n', { gnuLongName: rng.chance(0.3) })]],
  // Symlinks out of the root, and a file written through them.
  [4, (rng, h) => {
    const target = rng.pick(['/', '/etc', '../../../../../../..', h.canary.targetDir, `${h.canary.dir}/link-to-etc`]);
    const link = `berth-fuzz-link-${h.counter.n++}`;
    const owned = target === h.canary.targetDir;
    const through = owned ? rng.pick(['inner.txt', mark(h)]) : mark(h);
    return [
      { name: link, type: '2', linkname: target, hostBound: !owned },
      rng.chance(0.2) ? dir(`${link}/${through}`, { hostBound: !owned }) : file(`${link}/${through}`, 'through the link\n', { hostBound: !owned }),
    ];
  }],
  // A chain of links that ends outside.
  [1, (rng, h) => {
    const a = `berth-fuzz-link-${h.counter.n++}`;
    const b = `berth-fuzz-link-${h.counter.n++}`;
    return [
      { name: b, type: '2', linkname: rng.pick(['/etc', '/']), hostBound: true },
      { name: a, type: '2', linkname: b, hostBound: true },
      file(`${a}/${mark(h)}`, 'chain\n', { hostBound: true }),
    ];
  }],
  // Hard links to host files (never written to afterwards) and to the canary (overwritten: the test owns it).
  [3, (rng, h) => {
    const name = `berth-fuzz-hl-${h.counter.n++}`;
    const kind = rng.pick(['passwd', 'relative', 'canary', 'missing', 'self']);
    if (kind === 'passwd') return [{ name, type: '1', linkname: '/etc/passwd', hostBound: true, ...hostMeta('/etc/passwd') }];
    if (kind === 'relative') return [{ name, type: '1', linkname: '../../../../../../../etc/hostname', hostBound: true, ...hostMeta('/etc/hostname') }];
    if (kind === 'missing') return [{ name, type: '1', linkname: 'does/not/exist' }];
    if (kind === 'self') return [{ name, type: '1', linkname: name }];
    return [{ name, type: '1', linkname: h.canary.secretFile }, ...(rng.chance(0.5) ? [file(name, 'overwrote the canary\n')] : [])];
  }],
  // FIFOs and device nodes (only harmless character devices).
  [2, (rng, h) => [rng.pick<TarEntry>([
    { name: `fifo-${h.counter.n++}`, type: '6' },
    { name: `null-${h.counter.n++}`, type: '3', devmajor: 1, devminor: 3, mode: 0o666 },
    { name: `full-${h.counter.n++}`, type: '3', devmajor: 1, devminor: 7, mode: 0o666 },
    { name: `blk-${h.counter.n++}`, type: '4', devmajor: 0, devminor: 0 },
  ])]],
  // One name, several things.
  [3, (rng, h) => {
    const n = `dup-${h.counter.n++}`;
    return rng.pick<TarEntry[]>([
      [file(n, 'one\n'), file(n, 'two\n')],
      [file(n, 'file\n'), dir(n)],
      [dir(n), file(n, 'file over dir\n')],
      [dir(n), { name: n, type: '2', linkname: h.canary.targetDir }],
      [{ name: n, type: '2', linkname: h.canary.targetDir }, file(`${n}/inner.txt`, 'through a replaced dir\n')],
      [file(`${n}/a`, 'parent made implicitly\n'), file(n, 'now a file\n')],
    ]);
  }],
  // Whiteouts (names inside the layer only).
  [2, (rng) => [file(rng.pick(['.wh.bin', 'etc/.wh.passwd', '.wh..wh..opq', 'etc/.wh..wh..opq', '.wh.', '.wh..wh.', 'nonexistent/.wh.x']), '', { hostBound: true })]],
  // pax records with absurd values.
  [3, (rng, h) => [file(`pax-${h.counter.n++}`, 'pax\n', {
    pax: rng.pick<Record<string, string>>([
      { size: '99999999999999999999' }, { size: '-1' }, { mtime: '1e30' }, { mtime: 'NaN' }, { uid: '1180591620717411303424' },
      { gid: '-5' }, { 'SCHILY.xattr.user.fuzz': 'x'.repeat(70_000) }, { 'SCHILY.xattr.security.capability': '\u0001\u0000\u0000\u0002' },
      { 'SCHILY.xattr.trusted.overlay.opaque': 'y' }, { 'GNU.sparse.major': '1', 'GNU.sparse.minor': '0', 'GNU.sparse.size': '1000000000000' },
      { path: '' }, { hdrcharset: 'BINARY' }, { 'LIBARCHIVE.creationtime': '-1' }, { comment: 'x'.repeat(1 << 20) },
    ]),
  })]],
  // Odd modes, owners, times, types.
  [3, (rng, h) => [file(`odd-${h.counter.n++}`, 'odd\n', rng.pick<Partial<TarEntry>>([
    { mode: 0o4755 }, { mode: 0o7777 }, { mode: 0 }, { uid: 2 ** 70 }, { uid: -1 }, { gid: 2 ** 31 }, { mtime: 2 ** 40 }, { mtime: -1 },
    { type: 'Z' }, { type: '7' }, { type: 'g', pax: { path: 'global' } }, { badChecksum: true }, { declaredSize: 0 }, { declaredSize: 100_000 },
  ]))]],
  // The root itself, with the host root's own metadata (a wrongly applied header changes nothing).
  [1, (rng) => [dir(rng.pick(['/', './', '.', '']), { hostBound: true, ...hostMeta('/') })]],
];

export function hostileEntries(rng: Rng, h: HostileContext, count = rng.int(1, 6)): TarEntry[] {
  const out: TarEntry[] = [];
  for (let i = 0; i < count; i++) out.push(...rng.weighted(MAKERS)(rng, h));
  return out;
}

function isProtected(t: WrittenTar, i: number): boolean {
  return t.protectedRanges.some(([a, b]) => i >= a && i < b);
}

/** A truncation point moved back to the start of the protected range it falls in (so junk appended later cannot complete a name). */
function cutPoint(t: WrittenTar, at: number): number {
  for (const [a, b] of t.protectedRanges) if (at > a && at < b) return cutPoint(t, a);
  return at;
}

/** 0–4 byte-level mutations of a written tar, outside its protected ranges; describes what it did. */
export function mutateBytes(t: WrittenTar, rng: Rng): { bytes: Buffer; what: string[] } {
  let bytes = Buffer.from(t.bytes);
  const what: string[] = [];
  const n = rng.weighted([[3, 0], [4, 1], [2, 2], [1, 4]] as const);
  for (let k = 0; k < n; k++) {
    const op = rng.weighted<string>([[4, 'header-flip'], [2, 'data-flip'], [2, 'size'], [2, 'truncate'], [1, 'no-end'], [1, 'junk-end'], [1, 'zero-block']]);
    if (op === 'header-flip' && t.headerOffsets.length) {
      const h = rng.pick(t.headerOffsets);
      for (let tries = 0; tries < 20; tries++) {
        const i = h + rng.int(100, 344);
        if (i < bytes.length && !isProtected(t, i)) { bytes[i] = rng.chance(0.5) ? bytes[i] ^ (1 << rng.int(0, 7)) : rng.int(0, 255); what.push(`flip header byte ${i - h} of entry at ${h}`); break; }
      }
    } else if (op === 'data-flip') {
      for (let tries = 0; tries < 20; tries++) {
        const i = rng.int(0, bytes.length - 1);
        if (!isProtected(t, i)) { bytes[i] ^= 0xff; what.push(`flip byte ${i}`); break; }
      }
    } else if (op === 'size' && t.headerOffsets.length) {
      const h = rng.pick(t.headerOffsets);
      if (h + 136 <= bytes.length && !isProtected(t, h + 124)) {
        const size = rng.pick([0, 1, 511, 513, 1 << 20, 8 ** 11 - 1]);
        bytes.write(`${size.toString(8).padStart(11, '0')}\0`, h + 124, 'latin1');
        what.push(`size of entry at ${h} set to ${size} (checksum left stale)`);
      }
    } else if (op === 'truncate') {
      const at = cutPoint(t, rng.int(0, bytes.length - 1));
      bytes = bytes.subarray(0, at);
      what.push(`truncated at ${at}`);
    } else if (op === 'no-end') {
      const at = cutPoint(t, Math.max(0, bytes.length - 1024));
      bytes = bytes.subarray(0, at);
      what.push(`end blocks removed (truncated at ${at})`);
    } else if (op === 'junk-end') {
      bytes = Buffer.concat([bytes, Buffer.alloc(rng.int(1, 4096), 0xff)]);
      what.push('junk appended');
    } else if (op === 'zero-block' && t.headerOffsets.length > 1) {
      const h = rng.pick(t.headerOffsets.slice(1));
      if (h < bytes.length) bytes = Buffer.concat([bytes.subarray(0, h), Buffer.alloc(1024), bytes.subarray(h)]);
      what.push(`end-of-archive blocks inserted at ${h}`);
      break; // offsets after it moved: the protected ranges no longer line up
    }
  }
  return { bytes, what };
}
