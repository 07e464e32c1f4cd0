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
 * opened (O_NOFOLLOW) as they are visited and handed over as descriptors,
 * so their content is read from the very inode that was stat'ed. Opening a
 * file safely takes four calls through libuv's thread pool (O_PATH open,
 * fstat, reopen through /proc, close), so the walk opens up to
 * OPEN_AHEAD of a directory's next files at once instead of one after the
 * other: a commit of 30,000 small files spent 5 of its 6 s waiting on them.
 */
import type { BigIntStats, Dirent } from 'node:fs';
import { constants } from 'node:fs';
import { lstat, readdir, statfs } from 'node:fs/promises';
import type { SpecialFs } from './fs-special.js';
import { closeFd, DIR_FLAGS, DirHandle, O_PATH, openFd, openRegularFile } from './rooted-fs.js';

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
  /** With `openFiles`, a regular file's descriptor (read-only); the consumer closes it. */
  fd?: number;
}

export interface WalkOptions {
  /** Yield the root itself first (rel ''). */
  includeRoot?: boolean;
  /** Leave out a path (and, for a directory, everything below it). */
  skip?: (rel: string, st: BigIntStats) => boolean;
  /** Siblings' order; by default byte order of names. Must be a total order. */
  compare?: (a: TreeItem, b: TreeItem) => number;
  /** Read every entry's xattrs with this helper (pipelined per directory). */
  xattrs?: SpecialFs;
  /** Open regular files as they are visited (`TreeItem.fd`). */
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

/** statfs magic numbers of file systems whose content is the kernel's, not files (linux/magic.h). */
const PSEUDO_FS = new Set([0x9fa0 /* proc */, 0x62656572 /* sysfs */, 0x27e0eb /* cgroup */, 0x63677270 /* cgroup2 */,
  0x1cd1 /* devpts */, 0x19800202 /* mqueue */, 0x64626720 /* debugfs */, 0x74726163 /* tracefs */, 0x73636673 /* securityfs */,
  0xcafe4a11 /* bpf */, 0x6e736673 /* nsfs */, 0xf97cff8c /* selinuxfs */, 0x42494e4d /* binfmt_misc */]);

export function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function vanished(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP';
}

async function itemAt(path: string, rel: string, name: string, opts: WalkOptions): Promise<TreeItem | null> {
  let st: BigIntStats;
  try {
    st = await lstat(path, { bigint: true });
  } catch (e) {
    if (vanished(e)) return null;
    throw e;
  }
  if (opts.skip?.(rel, st)) return null;
  let xattrs = EMPTY;
  if (opts.xattrs) {
    try {
      xattrs = await opts.xattrs.listXattrs(path);
    } catch (e) {
      const errno = (e as { errno?: number }).errno;
      if (errno !== 2 && errno !== 20 && errno !== 40) throw e; // ENOENT, ENOTDIR, ELOOP: vanished
      return null;
    }
  }
  return { path, rel, name, st, xattrs };
}

async function children(dir: DirHandle, rel: string, opts: WalkOptions): Promise<TreeItem[]> {
  let names: Dirent[];
  try {
    names = await readdir(dir.self, { withFileTypes: true });
  } catch (e) {
    if (vanished(e)) return [];
    throw e;
  }
  const all = names.map((d) => d.name);
  for (const n of opts.mountNamesIn?.(rel) ?? []) if (!all.includes(n)) all.push(n);
  const items = await Promise.all(all.map((name) => {
    const d = { name };
    const childRel = rel ? `${rel}/${d.name}` : d.name;
    // A mount's source (a trusted host path) stands in for the mount point.
    const mount = opts.mountAt?.(childRel);
    return itemAt(mount ? mount.source : dir.child(d.name), childRel, d.name, opts);
  }));
  const present = items.filter((i): i is TreeItem => i !== null);
  return present.sort(opts.compare ?? ((a, b) => byteOrder(a.name, b.name)));
}

/** Opens a visited regular file; null when it was replaced by something else meanwhile. */
async function openVisited(item: TreeItem): Promise<TreeItem | null> {
  try {
    // Replaced by something else meanwhile (a FIFO, a device): left out.
    const opened = await openRegularFile(item.path);
    return opened && { ...item, st: opened.st, fd: opened.fd };
  } catch (e) {
    if (vanished(e)) return null;
    throw e;
  }
}

/** Opens a visited directory to walk below it; null when it is gone, or a kernel file system to be left alone. */
async function descend(item: TreeItem, parentDev: bigint, opts: WalkOptions): Promise<DirHandle | null> {
  let fd: number;
  try {
    fd = await openFd(item.path, opts.mountAt?.(item.rel) ? O_PATH | constants.O_DIRECTORY : DIR_FLAGS);
  } catch (e) {
    if (vanished(e)) return null;
    throw e;
  }
  const dir = new DirHandle(fd, item.rel);
  if (opts.skipPseudoFs && item.st.dev !== parentDev) {
    const fs = await statfs(dir.self).catch(() => null);
    if (fs && PSEUDO_FS.has(Number(fs.type))) { await dir.close(); return null; }
  }
  return dir;
}

/** How many of a directory's next regular files are being opened ahead of the one visited. */
const OPEN_AHEAD = 32;

/**
 * A directory's entries in visiting order, with the opens of the next
 * OPEN_AHEAD regular files under way (openFiles). Descriptors opened ahead
 * and never handed out are closed by drain().
 */
class Level {
  private next = 0;
  private readonly opening = new Map<number, Promise<TreeItem | null>>();
  constructor(readonly dir: DirHandle, readonly dev: bigint, private readonly items: TreeItem[], private readonly openFiles: boolean) {}

  /** The next entry (opened, for a regular file with openFiles); undefined at the end; null for one that vanished. */
  async take(): Promise<TreeItem | null | undefined> {
    if (this.next >= this.items.length) return undefined;
    const i = this.next++;
    if (!this.openFiles) return this.items[i];
    for (let j = i; j < Math.min(this.items.length, i + OPEN_AHEAD); j++) {
      if (!this.opening.has(j) && this.items[j].st.isFile()) this.opening.set(j, openVisited(this.items[j]));
    }
    const opened = this.opening.get(i);
    if (!opened) return this.items[i];
    this.opening.delete(i);
    return opened;
  }

  /** Closes the descriptors of files opened ahead and not taken, then the directory. */
  async drain(): Promise<void> {
    const left = [...this.opening.values()];
    this.opening.clear();
    for (const r of await Promise.allSettled(left)) {
      if (r.status === 'fulfilled' && r.value?.fd !== undefined) await closeFd(r.value.fd);
    }
    await this.dir.close();
  }
}

/** Walks the tree below `root`: a trusted host directory, or a directory held open (its handle stays the caller's). */
export async function* walkTree(root: string | DirHandle, opts: WalkOptions = {}): AsyncGenerator<TreeItem> {
  let top: TreeItem | null;
  if (typeof root === 'string') {
    top = await itemAt(root, '', '', { ...opts, skip: undefined });
  } else {
    const st = await lstat(root.self, { bigint: true });
    top = { path: root.self, rel: '', name: '', st, xattrs: opts.xattrs ? await opts.xattrs.listXattrs(root.self) : EMPTY };
  }
  if (!top) return;
  if (opts.includeRoot) yield top;
  if (!top.st.isDirectory()) return;
  let rootDir: DirHandle;
  if (typeof root === 'string') {
    try {
      rootDir = new DirHandle(await openFd(root, DIR_FLAGS), '');
    } catch (e) {
      if (vanished(e)) return;
      throw e;
    }
  } else {
    rootDir = new DirHandle(root.fd, '', false);
  }
  // Explicit stack of sibling lists: deep trees do not nest generators.
  const openFiles = opts.openFiles === true;
  const stack: Level[] = [];
  try {
    stack.push(new Level(rootDir, top.st.dev, await children(rootDir, '', opts), openFiles));
    while (stack.length) {
      const level = stack[stack.length - 1];
      const item = await level.take();
      if (item === undefined) { await stack.pop()!.drain(); continue; }
      if (!item) continue;
      yield item;
      if (item.st.isDirectory()) {
        const dir = await descend(item, level.dev, opts);
        if (dir) stack.push(new Level(dir, item.st.dev, await children(dir, item.rel, opts), openFiles));
      }
    }
  } finally {
    while (stack.length) await stack.pop()!.drain();
  }
}
