/**
 * Depth-first walk of a directory tree in a deterministic order: a directory
 * before its contents, siblings in byte order of their UTF-8 names (what Go's
 * filepath.Walk gives dockerd, and what reproducible layers need). Never
 * follows symlinks. Entries that vanish while walking (a running container)
 * are skipped.
 *
 * Every directory is held open while its entries are visited and each entry
 * is named through it (`/proc/self/fd/<dir>/<name>`, image/rooted-fs.ts): a
 * directory swapped for a symlink during the walk (a running container's
 * tree, an upper dir being committed) cannot lead the walk, or the reads
 * that follow it, out of the tree. With `openFiles`, regular files are
 * opened (O_NOFOLLOW, never a FIFO or device) as they are visited, so their
 * content comes from the very inode that was stat'ed: a small file's bytes
 * are handed over read (`content`), a bigger one's descriptor (`fd`).
 *
 * The file-system calls run in a worker thread, synchronously, a directory
 * at a time (image/tree-walk-worker.ts): through fs/promises every lstat,
 * open, read and close was a promise and a thread-pool round trip, and a
 * commit of 30,000 small files spent most of its time on those. This side
 * keeps the decisions (skip, order, mounts) and asks for the next
 * directories' listings and the next files' content ahead of the consumer.
 */
import type { BigIntStats } from 'node:fs';
import { closeSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { SystemError } from '../errors.js';
import { byteOrder } from './byte-order.js';
import { DirHandle, MAX_DEPTH, tooDeep } from './rooted-fs.js';
import { STAT_FIELDS, type WalkReply, type WalkRequest, type WireEntry, type WireRead } from './tree-walk-worker.js';

export interface TreeItem {
  /**
   * A path naming the entry without following a symlink at its last
   * component; valid until the walk moves past the entry's directory.
   */
  path: string;
  /** Path relative to the walk's root, '/'-separated; '' for the root itself. */
  rel: string;
  name: string;
  st: BigIntStats;
  /** Extended attributes, when the walk was asked to read them. */
  xattrs: Map<string, Buffer>;
  /** A symlink's target, read with its stat (undefined if it could not be). */
  linkname?: string;
  /** With `openFiles`, a small regular file's content: exactly `st.size` bytes of the inode `st` describes. */
  content?: Buffer;
  /** With `openFiles`, a bigger regular file's descriptor (read-only); the consumer closes it. */
  fd?: number;
}

export interface WalkOptions {
  /** Yield the root itself first (rel ''). */
  includeRoot?: boolean;
  /** Leave out a path (and, for a directory, everything below it). */
  skip?: (rel: string, st: BigIntStats) => boolean;
  /** Siblings' order; by default byte order of names. Must be a total order. */
  compare?: (a: TreeItem, b: TreeItem) => number;
  /** Read every entry's xattrs (one helper round trip per directory, fs-special.ts). */
  xattrs?: boolean;
  /** Open regular files as they are visited (`TreeItem.content` or `TreeItem.fd`). */
  openFiles?: boolean;
  /** Do not descend into kernel file systems (proc, sysfs, cgroup…) mounted inside the tree (a running container's view). */
  skipPseudoFs?: boolean;
  /**
   * Mounts the walk applies itself (a stopped container's volumes, binds
   * and /etc files, image/rooted-fs.ts): the host source that stands at a
   * path relative to the walk's root, if any.
   */
  mountAt?: (rel: string) => { source: string; file: boolean } | undefined;
  /** Names of the mounts that stand directly in a directory (relative to the walk's root), listed even where no mount point exists yet. */
  mountNamesIn?: (rel: string) => string[];
}

const EMPTY = new Map<string, Buffer>();

export { byteOrder };

const S_IFMT = 0o170000;

/**
 * A stat as the worker sent it (STAT_FIELDS values in a BigInt64Array),
 * behaving as fs.BigIntStats. Fields are read from the array when asked
 * for: a bigint is an allocation, and most entries are asked for a few.
 */
class WireStats implements BigIntStats {
  private readonly type: number;
  constructor(private readonly v: BigInt64Array, private readonly o: number) {
    this.type = Number(v[o + 2]) & S_IFMT;
  }
  get dev(): bigint { return this.v[this.o]; }
  get ino(): bigint { return this.v[this.o + 1]; }
  get mode(): bigint { return this.v[this.o + 2]; }
  get nlink(): bigint { return this.v[this.o + 3]; }
  get uid(): bigint { return this.v[this.o + 4]; }
  get gid(): bigint { return this.v[this.o + 5]; }
  get rdev(): bigint { return this.v[this.o + 6]; }
  get size(): bigint { return this.v[this.o + 7]; }
  get blksize(): bigint { return this.v[this.o + 8]; }
  get blocks(): bigint { return this.v[this.o + 9]; }
  get atimeNs(): bigint { return this.v[this.o + 10]; }
  get mtimeNs(): bigint { return this.v[this.o + 11]; }
  get ctimeNs(): bigint { return this.v[this.o + 12]; }
  get birthtimeNs(): bigint { return this.v[this.o + 13]; }
  isFile(): boolean { return this.type === 0o100000; }
  isDirectory(): boolean { return this.type === 0o040000; }
  isBlockDevice(): boolean { return this.type === 0o060000; }
  isCharacterDevice(): boolean { return this.type === 0o020000; }
  isSymbolicLink(): boolean { return this.type === 0o120000; }
  isFIFO(): boolean { return this.type === 0o010000; }
  isSocket(): boolean { return this.type === 0o140000; }
  get atimeMs(): bigint { return this.atimeNs / 1_000_000n; }
  get mtimeMs(): bigint { return this.mtimeNs / 1_000_000n; }
  get ctimeMs(): bigint { return this.ctimeNs / 1_000_000n; }
  get birthtimeMs(): bigint { return this.birthtimeNs / 1_000_000n; }
  get atime(): Date { return new Date(Number(this.atimeMs)); }
  get mtime(): Date { return new Date(Number(this.mtimeMs)); }
  get ctime(): Date { return new Date(Number(this.ctimeMs)); }
  get birthtime(): Date { return new Date(Number(this.birthtimeMs)); }
}

type Call<Op extends WalkRequest['op']> = Omit<Extract<WalkRequest, { op: Op }>, 'id' | 'op'>;
type Answer<Op extends string> = Extract<WalkReply, { op: Op }>;

/**
 * The worker thread every walk of the process shares. Requests are small
 * (a directory, a batch of files), so concurrent walks interleave at that
 * grain. It keeps the process alive only while answers are awaited.
 */
class WalkWorker {
  private worker: Worker | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (r: WalkReply) => void; reject: (e: Error) => void }>();

  stat(req: Call<'stat'>): Promise<Answer<'stat'>> { return this.send({ ...req, op: 'stat' }) as Promise<Answer<'stat'>>; }
  list(req: Call<'dir'>): Promise<Answer<'dir'>> { return this.send({ ...req, op: 'dir' }) as Promise<Answer<'dir'>>; }
  read(req: Call<'read'>): Promise<Answer<'read'>> { return this.send({ ...req, op: 'read' }) as Promise<Answer<'read'>>; }

  private send(req: Call<'stat'> & { op: 'stat' } | Call<'dir'> & { op: 'dir' } | Call<'read'> & { op: 'read' }): Promise<WalkReply> {
    let w: Worker;
    try { w = this.start(); } catch (e) { return Promise.reject(e); }
    const id = this.nextId++;
    if (this.pending.size === 0) w.ref();
    return new Promise<WalkReply>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      w.postMessage({ ...req, id });
    });
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    // The descriptors it opens are handed to this thread: the worker must not track them as its own
    // (Node would close them when it exits, and warn when a number comes back after our close).
    const w = new Worker(new URL('./tree-walk-worker.js', import.meta.url), { trackUnmanagedFds: false });
    w.unref();
    w.on('message', (reply: WalkReply) => {
      const p = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      if (this.pending.size === 0) w.unref();
      if (!p) return;
      if ('error' in reply) p.reject(Object.assign(new SystemError(reply.error.message), { code: reply.error.code, errno: reply.error.errno }));
      else p.resolve(reply);
    });
    const fail = (err: Error) => {
      if (this.worker === w) this.worker = null;
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    w.on('error', (e) => fail(new SystemError(`tree walk worker: ${e.message}`, { cause: e })));
    w.on('exit', (code) => fail(new SystemError(`tree walk worker exited (${code})`)));
    this.worker = w;
    return w;
  }
}

const worker = new WalkWorker();

/** Bytes of small files' content one request reads. */
const READ_BUDGET = 4 << 20;
/** Files one read request opens at most. */
const READ_BATCH = 256;
/** How many of a directory's next subdirectories are listed ahead of the one visited. */
const DIRS_AHEAD = 4;
/**
 * What one walk may hold ahead of its consumer, over all the directories it
 * is in: content bytes read and descriptors open (files, directories) that
 * were not handed out yet. The tree is the container's: without a bound
 * each level the walk descends through kept its own read-ahead and its
 * siblings' listings, megabytes and dozens of descriptors a level.
 */
const MAX_HELD_BYTES = 32 << 20;
const MAX_HELD_FDS = 256;

/** What a walk holds ahead (see MAX_HELD_BYTES), counted as replies come and entries go. */
class Holding {
  bytes = 0;
  fds = 0;
  get over(): boolean { return this.bytes > MAX_HELD_BYTES || this.fds > MAX_HELD_FDS; }
  add(o: Opened | null | typeof NOT_READ | undefined, sign = 1): void {
    if (!o || o === NOT_READ) return;
    if (o.fd !== undefined) this.fds += sign;
    else if (o.content) this.bytes += sign * o.content.length;
  }
}

/** A regular file opened by the worker: its stat, and its bytes or its descriptor. */
interface Opened { st: BigIntStats; content?: Buffer; fd?: number }
/** The worker did not get to the file (its read budget was spent): ask again. */
const NOT_READ = Symbol('not read');

function openedOf(r: WireRead, stats: BigInt64Array, chunks: ArrayBuffer[]): Opened {
  const st = new WireStats(stats, r.stat * STAT_FIELDS);
  if ('fd' in r) return { st, fd: r.fd };
  return { st, content: r.chunk < 0 ? Buffer.alloc(0) : Buffer.from(chunks[r.chunk], r.offset, Number(st.size)) };
}

function closeOpened(o: Opened | null | typeof NOT_READ | undefined): void {
  if (o && o !== NOT_READ && o.fd !== undefined) closeSync(o.fd);
}

interface Slot {
  item: TreeItem;
  /** For a regular file with openFiles: what opening it gives. */
  opened?: Promise<Opened | null | typeof NOT_READ>;
  /** For a directory: its listing, asked for ahead. */
  below?: Promise<Level | null>;
}

/** What the walk hands the worker about a directory to list besides where it is (files read with the listing unless the walk holds enough). */
function listRequest(rel: string, opts: WalkOptions, held: Holding) {
  const extra = opts.mountNamesIn?.(rel) ?? [];
  const mounts: [string, string][] = [];
  for (const n of extra) {
    const m = opts.mountAt?.(rel ? `${rel}/${n}` : n);
    if (m) mounts.push([n, m.source]);
  }
  return { extra, mounts, xattrs: opts.xattrs === true, budget: opts.openFiles && !held.over ? READ_BUDGET : 0 };
}

/**
 * A directory's entries in visiting order, with the reads of the next
 * regular files and the listings of the next subdirectories under way.
 * What was opened ahead and never handed out is closed by drain().
 */
class Level {
  private next = 0;
  private readAsked = 0;
  private dirsAsked = 0;

  private constructor(readonly dir: DirHandle, readonly dev: bigint, private readonly slots: Slot[], private readonly opts: WalkOptions, private readonly held: Holding) {}

  /** The level for a listing the worker gave; null when the directory was gone (or left alone). */
  static of(reply: Answer<'dir'>, owned: boolean, rel: string, dev: bigint, opts: WalkOptions, mounts: [string, string][], held: Holding): Level | null {
    if (reply.fd === null) return null;
    const dir = new DirHandle(reply.fd, rel, owned);
    held.fds++;
    const stand = new Map(mounts);
    const slots: Slot[] = [];
    for (const e of reply.entries) {
      const childRel = rel ? `${rel}/${e.name}` : e.name;
      const st = new WireStats(reply.stats, e.stat * STAT_FIELDS);
      const opened = e.read === undefined ? undefined : e.read === null ? null : openedOf(e.read, reply.stats, reply.chunks);
      if (opts.skip?.(childRel, st)) { closeOpened(opened); continue; }
      const item: TreeItem = { path: stand.get(e.name) ?? dir.child(e.name), rel: childRel, name: e.name, st, xattrs: xattrsOf(e), linkname: e.linkname };
      const slot: Slot = { item };
      if (opts.openFiles && st.isFile() && opened !== undefined) { held.add(opened); slot.opened = Promise.resolve(opened); }
      else closeOpened(opened);
      slots.push(slot);
    }
    slots.sort(opts.compare ? (a, b) => opts.compare!(a.item, b.item) : (a, b) => byteOrder(a.item.name, b.item.name));
    return new Level(dir, dev, slots, opts, held);
  }

  /** The next entry (opened, for a regular file with openFiles); undefined at the end; null for one that vanished. */
  async take(): Promise<Slot | null | undefined> {
    if (this.next >= this.slots.length) return undefined;
    const i = this.next++;
    const slot = this.slots[i];
    this.askAhead(i);
    if (!this.opts.openFiles || !slot.item.st.isFile()) return slot;
    for (;;) {
      const opened = await slot.opened!;
      if (opened === NOT_READ) { slot.opened = undefined; this.readAsked = i; this.askAhead(i); continue; }
      slot.opened = undefined;
      this.held.add(opened, -1);
      if (!opened) return null; // replaced by something else meanwhile (a FIFO, a device), or gone: left out
      const item = slot.item; // handed out once: completed in place
      item.st = opened.st;
      item.content = opened.content;
      item.fd = opened.fd;
      return slot;
    }
  }

  /**
   * Asks for the reads of the next files and the listings of the next
   * directories; once the walk holds enough, for entry `i` alone.
   */
  private askAhead(i: number): void {
    const over = this.held.over;
    if (this.opts.openFiles) {
      this.readAsked = Math.max(this.readAsked, i);
      const end = over ? i + 1 : i + READ_BATCH;
      while (this.readAsked < this.slots.length && this.readAsked < end) {
        const batch: number[] = [];
        for (let j = this.readAsked; j < this.slots.length && batch.length < READ_BATCH && (!over || j < end); j++) {
          this.readAsked = j + 1;
          const s = this.slots[j];
          if (s.item.st.isFile() && !s.opened) batch.push(j);
        }
        if (!batch.length) break;
        const reply = worker.read({ paths: batch.map((j) => this.slots[j].item.path), budget: READ_BUDGET });
        batch.forEach((j, k) => {
          const opened = reply.then((r) => {
            const w = r.reads[k];
            const o = w === undefined ? NOT_READ : w === null ? null : openedOf(w, r.stats, r.chunks);
            this.held.add(o);
            return o;
          });
          opened.catch(() => undefined); // observed when its turn comes
          this.slots[j].opened = opened;
        });
      }
    }
    if (over) return; // the directory entered is listed when it is (below())
    for (let seen = 0, j = Math.max(i, this.dirsAsked); j < this.slots.length && seen < DIRS_AHEAD; j++) {
      this.dirsAsked = j + 1;
      const s = this.slots[j];
      if (!s.item.st.isDirectory()) continue;
      seen++;
      if (!s.below) s.below = this.listBelow(s.item);
    }
  }

  private listBelow(item: TreeItem): Promise<Level | null> {
    const req = listRequest(item.rel, this.opts, this.held);
    const p = worker.list({
      path: item.path, follow: !!this.opts.mountAt?.(item.rel),
      checkPseudo: this.opts.skipPseudoFs === true && item.st.dev !== this.dev, ...req,
    }).then((r) => Level.of(r, true, item.rel, item.st.dev, this.opts, req.mounts, this.held));
    p.catch(() => undefined); // observed when visited, or by drain()
    return p;
  }

  /** The level below a directory entry just taken (listed ahead, or now). */
  below(slot: Slot): Promise<Level | null> {
    const p = slot.below ?? this.listBelow(slot.item);
    slot.below = undefined;
    return p;
  }

  /**
   * The walk descends below this level: when it holds enough, what this
   * level read and listed ahead of its next entries is let go (asked for
   * again when the walk comes back), so that a deep tree does not make
   * every level on the way keep its own.
   */
  async descending(): Promise<void> {
    if (!this.held.over) return;
    await this.releaseFrom(this.next);
    this.readAsked = this.next;
    this.dirsAsked = this.next;
  }

  /** Closes what was opened or listed ahead for the entries from `from` on. */
  private async releaseFrom(from: number): Promise<void> {
    for (let j = from; j < this.slots.length; j++) {
      const s = this.slots[j];
      if (s.opened) {
        const o = await s.opened.catch(() => undefined);
        this.held.add(o, -1);
        closeOpened(o);
      }
      if (s.below) await (await s.below.catch(() => null))?.drain();
      s.opened = undefined;
      s.below = undefined;
    }
  }

  /** Closes what was opened ahead and not taken, then the directory. */
  async drain(): Promise<void> {
    await this.releaseFrom(0);
    this.held.fds--;
    await this.dir.close();
  }
}

function xattrsOf(e: WireEntry): Map<string, Buffer> {
  if (!e.xattrs) return EMPTY;
  return new Map(e.xattrs.map(([k, v]) => [k, Buffer.from(v.buffer, v.byteOffset, v.byteLength)]));
}

/** Walks the tree below `root`: a trusted host directory, or a directory held open (its handle stays the caller's). */
export async function* walkTree(root: string | DirHandle, opts: WalkOptions = {}): AsyncGenerator<TreeItem> {
  const path = typeof root === 'string' ? root : root.self;
  const stat = await worker.stat({ path, xattrs: opts.xattrs === true });
  if (!stat.entry) return;
  const top: TreeItem = { path, rel: '', name: '', st: new WireStats(stat.stats, stat.entry.stat * STAT_FIELDS), xattrs: xattrsOf(stat.entry) };
  if (opts.includeRoot) yield top;
  if (!top.st.isDirectory()) return;
  const held = new Holding();
  const req = listRequest('', opts, held);
  const first = typeof root === 'string'
    ? await worker.list({ path: root, ...req })
    : await worker.list({ fd: root.fd, ...req });
  const rootLevel = Level.of(first, typeof root === 'string', '', top.st.dev, opts, req.mounts, held);
  if (!rootLevel) return;
  // Explicit stack of levels: deep trees do not nest generators.
  const stack: Level[] = [rootLevel];
  try {
    while (stack.length) {
      const level = stack[stack.length - 1];
      const slot = await level.take();
      if (slot === undefined) { await stack.pop()!.drain(); continue; }
      if (!slot) continue;
      const below = slot.item.st.isDirectory() ? level.below(slot) : undefined;
      let resumed = false;
      try {
        yield slot.item;
        resumed = true;
      } finally {
        // Abandoned while a listing was under way: what it opened is closed.
        if (below && !resumed) await (await below.catch(() => null))?.drain();
      }
      if (below) {
        const next = await below;
        if (next) {
          // Every level the walk is in holds its directory open: a tree nested without end is refused.
          if (stack.length >= MAX_DEPTH) { await next.drain(); throw tooDeep(slot.item.rel); }
          await level.descending();
          stack.push(next);
        }
      }
    }
  } finally {
    while (stack.length) await stack.pop()!.drain();
  }
}
