/**
 * The file-system half of walkTree (image/tree-walk.ts), run in a worker
 * thread. Why: a walk is tens of thousands of tiny syscalls, and through
 * fs/promises each one is a promise plus a round trip to libuv's thread
 * pool (a commit of 30,000 small files spent seconds on that alone, and a
 * bigger pool made it slower). Here every call is synchronous, one syscall
 * each with no hop, and the thread answers in batches (a directory's
 * entries with their stats, xattrs, symlink targets and small files'
 * content, the content in transferred chunks), so berthd's main thread
 * never blocks on the disk and pays one message per batch.
 *
 * The safety rules are walkTree's and image/rooted-fs.ts's, unchanged: a
 * directory is held by an O_PATH descriptor (descriptors are the process's,
 * shared with the main thread) and its entries are named through
 * `/proc/self/fd/<dir>/<name>`, never following their last component; a
 * regular file is held O_PATH, fstat'ed, and only then reopened through its
 * magic link for reading (a FIFO or device is never opened), so the content
 * is the very inode's that was stat'ed; entries that vanish are reported as
 * gone. xattrs come from the SpecialFs helper (Node cannot list them), one
 * round trip for a whole directory, asked before the stats and awaited
 * after them so the helper works while this thread does.
 *
 * The decisions (what to skip, the order, mounts) stay with walkTree on the
 * main thread: this side only answers requests.
 */
import { closeSync, constants, type Dirent, fstatSync, lstatSync, openSync, readdirSync, readlinkSync, readSync, statfsSync, type BigIntStats } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { byteOrder } from './byte-order.js';
import { SpecialFs } from './fs-special.js';

/** O_PATH (Linux); rooted-fs.ts has the same, not imported to keep this thread's module graph small. */
const O_PATH = 0o10000000;
const DIR_FLAGS = O_PATH | constants.O_DIRECTORY | constants.O_NOFOLLOW;

/** Files up to this size are read here and sent as bytes; bigger ones are sent open (a descriptor). */
export const SMALL_FILE = 1 << 20;
/** Bytes of content in one content chunk (a file bigger than that gets a chunk of its own). */
const CHUNK = 1 << 20;
const FIRST_CHUNK = 16 << 10;
/** Files one reply hands over open at most (bigger than SMALL_FILE, or past the byte budget): descriptors are a limited resource. */
const MAX_OPEN = 32;
/** The fields of a stat, in this order, STAT_FIELDS per entry in a reply's `stats`. */
export const STAT_FIELDS = 14;

/** statfs magic numbers of file systems whose content is the kernel's, not files (linux/magic.h). */
const PSEUDO_FS = new Set([0x9fa0 /* proc */, 0x62656572 /* sysfs */, 0x27e0eb /* cgroup */, 0x63677270 /* cgroup2 */,
  0x1cd1 /* devpts */, 0x19800202 /* mqueue */, 0x64626720 /* debugfs */, 0x74726163 /* tracefs */, 0x73636673 /* securityfs */,
  0xcafe4a11 /* bpf */, 0x6e736673 /* nsfs */, 0xf97cff8c /* selinuxfs */, 0x42494e4d /* binfmt_misc */]);

/** A regular file as read: its bytes at `chunk`/`offset` (its stat's size of them; chunk -1 for an empty file), or held open as `fd`. */
export type WireRead = { stat: number; chunk: number; offset: number } | { stat: number; fd: number };

export interface WireEntry {
  name: string;
  /** Index of the entry's lstat in the reply's `stats`. */
  stat: number;
  /** Where xattrs were asked for: name and value pairs. */
  xattrs?: [string, Uint8Array][];
  linkname?: string;
  /** A regular file opened: what was read; null when it vanished or is no longer a regular file; absent when not read (yet). */
  read?: WireRead | null;
}

export type WalkRequest =
  | { id: number; op: 'stat'; path: string; xattrs: boolean }
  | {
    id: number; op: 'dir';
    /** The directory already held, or the path to open it by (`follow`: a mount's trusted source, which may be reached through links). */
    fd?: number; path?: string; follow?: boolean;
    /** Leave it (answer fd null) when it is a kernel file system. */
    checkPseudo?: boolean;
    /** Names to list even if readdir does not give them, and the paths that stand in for some names (mounts). */
    extra: string[]; mounts: [string, string][];
    xattrs: boolean;
    /** Bytes of small files' content to read with the listing. */
    budget: number;
  }
  | { id: number; op: 'read'; paths: string[]; budget: number };

export type WalkReply =
  | { id: number; op: 'stat'; entry: WireEntry | null; stats: BigInt64Array; chunks: ArrayBuffer[] }
  | { id: number; op: 'dir'; fd: number | null; entries: WireEntry[]; stats: BigInt64Array; chunks: ArrayBuffer[] }
  | { id: number; op: 'read'; reads: (WireRead | null | undefined)[]; stats: BigInt64Array; chunks: ArrayBuffer[] }
  | { id: number; error: { message: string; code?: string; errno?: number } };

function vanished(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP';
}

/** What one reply carries besides its entries: stats and content chunks. */
class Batch {
  private readonly statValues: bigint[] = [];
  readonly chunks: Buffer[] = [];
  private fill = 0;
  /** Bytes of content read, and files handed over open, so far. */
  read = 0;
  opened = 0;

  /** Whether more files may be read or opened for this reply. */
  roomFor(budget: number): boolean {
    return this.read < budget && this.opened < MAX_OPEN;
  }

  addStat(st: BigIntStats): number {
    this.statValues.push(st.dev, st.ino, st.mode, st.nlink, st.uid, st.gid, st.rdev, st.size, st.blksize, st.blocks,
      st.atimeNs, st.mtimeNs, st.ctimeNs, st.birthtimeNs);
    return this.statValues.length / STAT_FIELDS - 1;
  }

  /**
   * Room for `size` bytes: the chunk and offset to read them into. Chunks
   * grow from FIRST_CHUNK to CHUNK, so a directory of a few small files
   * does not pay for a megabyte; they are not zeroed (readRegular fills
   * every byte it hands out).
   */
  room(size: number): { chunk: number; offset: number; buf: Buffer } {
    let last = this.chunks[this.chunks.length - 1];
    if (!last || this.fill + size > last.length) {
      const next = last ? Math.min(CHUNK, last.length * 4) : FIRST_CHUNK;
      last = Buffer.allocUnsafeSlow(Math.max(next, size));
      this.chunks.push(last);
      this.fill = 0;
    }
    const offset = this.fill;
    this.fill += size;
    return { chunk: this.chunks.length - 1, offset, buf: last };
  }

  get stats(): BigInt64Array {
    return BigInt64Array.from(this.statValues);
  }

  /** The chunks as transferable ArrayBuffers (each Buffer.alloc'ed alone, none from the shared pool). */
  get buffers(): ArrayBuffer[] {
    return this.chunks.map((c) => c.buffer as ArrayBuffer);
  }
}

/** An O_PATH descriptor of what `path` names (its last component not followed); null when it vanished. */
function hold(path: string): number | null {
  try {
    return openSync(path, O_PATH | constants.O_NOFOLLOW);
  } catch (e) {
    if (vanished(e)) return null;
    throw e;
  }
}

/**
 * Reads the regular file `held` names, `st` being its fstat (index `stat`
 * in the batch), when small and `budget` allows: exactly its stat's size of
 * bytes (a file that shrank is zero-padded, one that grew is cut).
 * Otherwise it is handed over open. The inode is reopened through the
 * descriptor's magic link: the one that was stat'ed, never a FIFO or device.
 */
function readHeld(held: number, st: BigIntStats, stat: number, batch: Batch, budget: number): WireRead {
  const size = Number(st.size);
  if (size === 0) return { stat, chunk: -1, offset: 0 }; // nothing to read: not opened
  const fd = openSync(`/proc/self/fd/${held}`, constants.O_RDONLY);
  if (size > SMALL_FILE || batch.read + size > budget) { batch.opened++; return { stat, fd }; }
  try {
    const { chunk, offset, buf } = batch.room(size);
    let got = 0;
    while (got < size) {
      const n = readSync(fd, buf, offset + got, size - got, got);
      if (n === 0) break;
      got += n;
    }
    buf.fill(0, offset + got, offset + size); // shrank since its stat: zero-padded, as GNU tar does
    batch.read += size;
    return { stat, chunk, offset };
  } finally {
    closeSync(fd);
  }
}

/** readHeld of the regular file `path` names; null when it vanished or is no longer a regular file. */
function readRegular(path: string, batch: Batch, budget: number): WireRead | null {
  const held = hold(path);
  if (held === null) return null;
  try {
    const st = fstatSync(held, { bigint: true });
    if (!st.isFile()) return null;
    return readHeld(held, st, batch.addStat(st), batch, budget);
  } finally {
    closeSync(held);
  }
}

let fsx: SpecialFs | undefined;

/** The xattrs of every `prefix` + name, or null for one that vanished. */
async function xattrsOf(prefix: string, names: string[]): Promise<([string, Uint8Array][] | null)[]> {
  if (!names.length) return [];
  fsx ??= new SpecialFs();
  const all = await fsx.listXattrsOfMany(prefix, names);
  return all.map((r, i) => {
    if (typeof r !== 'number') return [...r];
    if (r === 2 || r === 20 || r === 40) return null; // ENOENT, ENOTDIR, ELOOP: vanished
    throw Object.assign(new Error(`listxattr ${prefix}${names[i]}: errno ${r}`), { errno: r });
  });
}

/** xattrsOf the entries of a held directory, the mounts among them by their sources' paths. */
async function xattrsIn(fd: number, names: string[], mounts: Map<string, string>): Promise<([string, Uint8Array][] | null)[]> {
  const inDir = names.filter((n) => !mounts.has(n));
  const [here, there] = await Promise.all([xattrsOf(`/proc/self/fd/${fd}/`, inDir), xattrsOf('', names.filter((n) => mounts.has(n)).map((n) => mounts.get(n)!))]);
  let h = 0;
  let t = 0;
  return names.map((n) => (mounts.has(n) ? there[t++] : here[h++]));
}

function lstatOrNull(path: string): BigIntStats | null {
  try {
    return lstatSync(path, { bigint: true, throwIfNoEntry: false }) ?? null;
  } catch (e) {
    if (vanished(e)) return null;
    throw e;
  }
}

function linkOf(path: string): string | undefined {
  try {
    return readlinkSync(path);
  } catch {
    return undefined; // replaced meanwhile: the consumer's own readlink reports it
  }
}

/** An entry by its lstat; a regular file read too when `budget` allows. */
function statEntry(name: string, path: string, batch: Batch, budget: number): WireEntry | null {
  const st = lstatOrNull(path);
  if (!st) return null;
  const e: WireEntry = { name, stat: batch.addStat(st) };
  if (st.isSymbolicLink()) e.linkname = linkOf(path);
  else if (st.isFile() && budget > 0) e.read = readRegular(path, batch, budget);
  return e;
}

/**
 * An entry readdir called a regular file: held (O_PATH, not followed) and
 * fstat'ed, that stat standing for its lstat, and read through the same
 * descriptor. Replaced by something else since readdir: that thing's stat.
 */
function heldEntry(name: string, path: string, batch: Batch, budget: number): WireEntry | null {
  const held = hold(path);
  if (held === null) return null;
  try {
    const st = fstatSync(held, { bigint: true });
    const e: WireEntry = { name, stat: batch.addStat(st) };
    if (st.isFile()) e.read = readHeld(held, st, e.stat, batch, budget);
    else if (st.isSymbolicLink()) e.linkname = linkOf(path);
    return e;
  } finally {
    closeSync(held);
  }
}

async function statOne(path: string, xattrs: boolean): Promise<WalkReply> {
  const batch = new Batch();
  const pending = xattrs ? xattrsOf('', [path]) : undefined;
  const st = lstatOrNull(path);
  const x = pending ? (await pending)[0] : undefined;
  const entry = st && x !== null ? { name: '', stat: batch.addStat(st), ...(x ? { xattrs: x } : {}) } : null;
  return { id: 0, op: 'stat', entry, stats: batch.stats, chunks: [] };
}

function openDir(req: Extract<WalkRequest, { op: 'dir' }>): number | null {
  if (req.fd !== undefined) return req.fd;
  let fd: number;
  try {
    fd = openSync(req.path!, req.follow ? O_PATH | constants.O_DIRECTORY : DIR_FLAGS);
  } catch (e) {
    if (vanished(e)) return null;
    throw e;
  }
  if (req.checkPseudo) {
    let type: number | undefined;
    try { type = Number(statfsSync(`/proc/self/fd/${fd}/.`).type); } catch { /* not known: walked */ }
    if (type !== undefined && PSEUDO_FS.has(type)) { closeSync(fd); return null; }
  }
  return fd;
}

async function listDir(req: Extract<WalkRequest, { op: 'dir' }>): Promise<WalkReply> {
  const batch = new Batch();
  const fd = openDir(req);
  if (fd === null) return { id: req.id, op: 'dir', fd: null, entries: [], stats: batch.stats, chunks: [] };
  try {
    let listed: Dirent[];
    try {
      listed = readdirSync(`/proc/self/fd/${fd}/.`, { withFileTypes: true });
    } catch (e) {
      if (!vanished(e)) throw e;
      listed = [];
    }
    const mounts = new Map(req.mounts);
    /** Names readdir calls regular files (and no mount stands in for): stat'ed through the descriptor that reads them. */
    const regular = new Set<string>();
    const names: string[] = [];
    for (const d of listed) {
      names.push(d.name);
      if (d.isFile() && !mounts.has(d.name)) regular.add(d.name);
    }
    for (const n of req.extra) if (!names.includes(n)) names.push(n);
    names.sort(byteOrder);
    const paths = names.map((n) => mounts.get(n) ?? `/proc/self/fd/${fd}/${n}`);
    const xattrs = req.xattrs && paths.length ? xattrsIn(fd, names, mounts) : undefined;
    xattrs?.catch(() => undefined); // awaited below; no unhandled rejection while the stats run
    const entries: (WireEntry | null)[] = [];
    for (let i = 0; i < names.length; i++) {
      const reading = req.budget > 0 && batch.roomFor(req.budget);
      const e = reading && regular.has(names[i]) ? heldEntry(names[i], paths[i], batch, req.budget) : statEntry(names[i], paths[i], batch, reading ? req.budget : 0);
      entries.push(e);
    }
    if (xattrs) {
      const x = await xattrs;
      for (let i = 0; i < entries.length; i++) {
        const e = entries[i];
        if (!e) continue;
        if (x[i] === null) {
          // Vanished: a descriptor opened for it is closed, the entry left out.
          if (e.read && 'fd' in e.read) closeSync(e.read.fd);
          entries[i] = null;
        } else if (x[i]!.length) {
          e.xattrs = x[i]!;
        }
      }
    }
    return { id: req.id, op: 'dir', fd, entries: entries.filter((e): e is WireEntry => e !== null), stats: batch.stats, chunks: batch.buffers };
  } catch (e) {
    if (req.fd === undefined) closeSync(fd);
    throw e;
  }
}

function readFiles(req: Extract<WalkRequest, { op: 'read' }>): WalkReply {
  const batch = new Batch();
  const reads: (WireRead | null | undefined)[] = [];
  for (const p of req.paths) {
    if (!batch.roomFor(req.budget) && reads.length) break;
    reads.push(readRegular(p, batch, req.budget));
  }
  return { id: req.id, op: 'read', reads, stats: batch.stats, chunks: batch.buffers };
}

async function answer(req: WalkRequest): Promise<WalkReply> {
  switch (req.op) {
    case 'stat': return { ...(await statOne(req.path, req.xattrs)), id: req.id };
    case 'dir': return listDir(req);
    case 'read': return readFiles(req);
  }
}

if (parentPort) {
  const port = parentPort;
  port.on('message', (req: WalkRequest) => {
    answer(req).then((reply) => {
      port.postMessage(reply, 'chunks' in reply ? reply.chunks : []);
    }, (e: unknown) => {
      const err = e as NodeJS.ErrnoException;
      port.postMessage({ id: req.id, error: { message: err.message ?? String(e), code: err.code, errno: err.errno } });
    });
  });
}
