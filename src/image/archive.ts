/**
 * The `docker cp` and `docker export` side: archives of a container's files
 * and extraction into them, always through a `RootedFs` (image/rooted-fs.ts):
 * every path is resolved one component at a time below a held root
 * descriptor, so nothing a running container does to its tree during the
 * copy can make it read or write outside (CVE-2018-15664). Which root that
 * is (the container's own view, with its mounts) is the engine's business
 * (engine/container-archive.ts).
 *
 * Paths (dockerd's `ResolvePath`): a container path is made absolute and
 * cleaned; every symlink in its parent directories is followed inside the
 * root; the last component is followed only when the path ends in `/` or
 * `/.` — so `cp c:/link -` copies the link itself and `cp c:/link/ -` what
 * it points to.
 *
 * Ownership on extraction (dockerd's behaviour, which differs from its
 * docs): entries keep the uid/gid in the tar — the CLI sends the local
 * owner. With `copyUIDGID` (`cp -a`) and an `owner`, every entry is owned by
 * `owner` instead: the caller passes the container's `Config.User` resolved
 * to ids, as dockerd does; without `owner` (no `User`) it is the same as the
 * default.
 */
import type { BigIntStats } from 'node:fs';
import * as fsCb from 'node:fs';
import { readlink } from 'node:fs/promises';
import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import { ForbiddenError, InvalidParameterError, NotFoundError } from '../errors.js';
import { uncompressed } from './decompress.js';
import { EntryWriter } from './entry-write.js';
import { SpecialFs } from './fs-special.js';
import { closeFd, DirHandle, openRegularFile, RootedFs, type Place } from './rooted-fs.js';
import { readTar, type TarEntry } from './tar-format.js';
import { entryFromStat, HardlinkTracker, packTar, type PackEntry } from './tar-pack.js';
import { walkTree } from './tree-walk.js';
import { ownerInContainer, type IdMap } from '../runtime/id-map.js';

// build/context.ts reads the Dockerfile from its own private context directory, which nothing else changes meanwhile.


/** What `X-Docker-Container-Path-Stat` carries (base64 of its JSON). */
export interface PathStat {
  name: string;
  size: number;
  /** Go os.FileMode bits, as dockerd sends them. */
  mode: number;
  /** RFC 3339 with nanoseconds, UTC. */
  mtime: string;
  /** For a symlink: the container path it finally resolves to. */
  linkTarget: string;
}

const GO_MODE = {
  dir: 2 ** 31, symlink: 2 ** 27, device: 2 ** 26, namedPipe: 2 ** 25, socket: 2 ** 24,
  setuid: 2 ** 23, setgid: 2 ** 22, charDevice: 2 ** 21, sticky: 2 ** 20,
};

/** Go's os.FileMode for a stat (type bits high, permissions low). Sums, not `|`: bit 31 overflows int32. */
export function goFileMode(st: BigIntStats): number {
  const mode = Number(st.mode);
  let m = mode & 0o777;
  if (mode & 0o4000) m += GO_MODE.setuid;
  if (mode & 0o2000) m += GO_MODE.setgid;
  if (mode & 0o1000) m += GO_MODE.sticky;
  if (st.isDirectory()) m += GO_MODE.dir;
  else if (st.isSymbolicLink()) m += GO_MODE.symlink;
  else if (st.isFIFO()) m += GO_MODE.namedPipe;
  else if (st.isSocket()) m += GO_MODE.socket;
  else if (st.isBlockDevice()) m += GO_MODE.device;
  else if (st.isCharacterDevice()) m += GO_MODE.device + GO_MODE.charDevice;
  return m;
}

/** Go's RFC3339Nano (trailing zeros of the fraction dropped), in UTC. */
export function rfc3339Nano(ns: bigint): string {
  const s = 1_000_000_000n;
  let sec = ns / s;
  let frac = ns % s;
  if (frac < 0n) { frac += s; sec -= 1n; }
  const base = new Date(Number(sec) * 1000).toISOString().slice(0, 19);
  const f = frac === 0n ? '' : '.' + frac.toString().padStart(9, '0').replace(/0+$/, '');
  return `${base}${f}Z`;
}

interface Located {
  place: Place;
  /** Cleaned absolute container path (no trailing slash). */
  absPath: string;
  /** Base name as dockerd reports it and names archive entries: '.', '/' or the last component. */
  name: string;
  /** The path ended in `/` or `/.`: its last symlink was followed and it must be a directory. */
  followed: boolean;
  st: BigIntStats;
}

/** Resolves a container path as dockerd does and stats it; the caller closes `place.dir`. */
async function locate(fs: RootedFs, containerPath: string): Promise<Located> {
  const dot = containerPath === '.' || containerPath.endsWith('/.');
  const followed = dot || containerPath.endsWith('/');
  const absPath = posix.normalize('/' + containerPath).replace(/(.)\/+$/, '$1');
  const name = dot ? '.' : absPath === '/' ? '/' : posix.basename(absPath);
  let place: Place;
  try {
    place = await fs.resolve(absPath, followed);
  } catch (e) {
    if (e instanceof NotFoundError) throw new NotFoundError(`no such file or directory: ${containerPath}`, { cause: e });
    throw e;
  }
  let st: BigIntStats;
  try {
    st = await fs.lstat(place);
  } catch (e) {
    await place.dir.close();
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new NotFoundError(`no such file or directory: ${containerPath}`);
    throw e;
  }
  if (followed && !st.isDirectory()) {
    await place.dir.close();
    throw new InvalidParameterError(`not a directory: ${containerPath}`);
  }
  return { place, absPath, name, followed, st };
}

/** `HEAD /containers/{id}/archive`: the stat dockerd puts in `X-Docker-Container-Path-Stat`. */
export async function statIn(fs: RootedFs, containerPath: string): Promise<PathStat> {
  const loc = await locate(fs, containerPath);
  await loc.place.dir.close();
  return statOf(fs, loc);
}

async function statOf(fs: RootedFs, loc: Located): Promise<PathStat> {
  let linkTarget = '';
  if (loc.st.isSymbolicLink()) {
    const target = await fs.resolve(loc.absPath, true);
    await target.dir.close();
    linkTarget = target.path;
  }
  return { name: loc.name, size: Number(loc.st.size), mode: goFileMode(loc.st), mtime: rfc3339Nano(loc.st.mtimeNs), linkTarget };
}

export interface WalkScope {
  /** Leave kernel file systems (proc, sysfs…) mounted in the tree alone: a running container's view has them. */
  skipPseudoFs?: boolean;
  /** Walk into the mounts the rooted view applies itself (cp does; export, the rootfs alone, does not). */
  withMounts?: boolean;
  /** The container's user namespace maps (`--userns-remap`): owners are written as the container sees them. */
  idMap?: IdMap;
}

/** The entries of a held directory's tree, named by `nameOf`; regular files read from the descriptors the walk opened. */
async function* treeEntries(fs: RootedFs, top: DirHandle, nameOf: (rel: string) => string, includeRoot: boolean, scope: WalkScope): AsyncGenerator<PackEntry> {
  const hardlinks = new HardlinkTracker();
  const mounts = scope.withMounts ? fs.mountsBelow(top.path) : undefined;
  for await (const item of walkTree(top, { includeRoot, xattrs: true, openFiles: true, skipPseudoFs: scope.skipPseudoFs, ...mounts })) {
    let entry: PackEntry | null;
    try {
      entry = await entryFromStat(item.path, nameOf(item.rel), item.st, { xattrs: item.xattrs, hardlinks, fd: item.fd, content: item.content, linkname: item.linkname });
      if (entry && scope.idMap) Object.assign(entry.header, ownerInContainer(scope.idMap, entry.header.uid, entry.header.gid));
    } catch (e) {
      // A symlink replaced since the walk saw it (readlink: EINVAL, ENOENT): left out, like any entry that vanished.
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EINVAL' || code === 'ENOENT') continue;
      throw e;
    }
    if (entry) yield entry;
  }
}

/**
 * What a GET streams, held open from the moment it was stat'ed: the
 * directory's handle or the file's descriptor, so the reply's header and
 * its content describe the same file however the container changes the
 * path meanwhile.
 */
interface Held {
  loc: Located;
  dir?: DirHandle;
  fd?: number;
  /** A symlink's target, read with its stat. */
  linkname?: string;
  release(): Promise<void>;
}

function changed(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP';
}

async function hold(fs: RootedFs, containerPath: string): Promise<Held> {
  for (let attempt = 0; ; attempt++) {
    const loc = await locate(fs, containerPath);
    let dir: DirHandle | undefined;
    let fd: number | undefined;
    let linkname: string | undefined;
    try {
      if (loc.st.isDirectory()) {
        dir = await fs.openDirAt(loc.place);
        loc.st = await fsCb.promises.lstat(dir.self, { bigint: true });
      } else if (loc.st.isSymbolicLink()) {
        linkname = await readlink(loc.place.dir.child(loc.place.name)).catch((e) => {
          throw (e as NodeJS.ErrnoException).code === 'EINVAL' ? Object.assign(new Error('changed'), { code: 'ENOENT' }) : e;
        });
      } else if (loc.st.isFile()) {
        // Swapped for something else since the lstat: looked at again.
        const opened = await openRegularFile(loc.place.dir.child(loc.place.name));
        if (!opened) throw Object.assign(new Error('changed'), { code: 'ENOENT' });
        ({ fd, st: loc.st } = opened);
      }
    } catch (e) {
      await dir?.close();
      if (fd !== undefined) await closeFd(fd);
      await loc.place.dir.close();
      if (changed(e) && attempt < 100) continue;
      if (changed(e)) throw new NotFoundError(`no such file or directory: ${containerPath}`);
      throw e;
    }
    let released = false;
    const held: Held = {
      loc, dir, fd, linkname,
      release: async () => {
        if (released) return;
        released = true;
        await held.dir?.close();
        // Unless the entry took it over (singleEntry clears it): the packer closes it then.
        if (held.fd !== undefined) await closeFd(held.fd);
        await loc.place.dir.close();
      },
    };
    return held;
  }
}

/** The one entry of a non-directory: its content read from the descriptor held since its stat. */
async function singleEntry(held: Held): Promise<PackEntry | null> {
  const { loc } = held;
  const path = loc.place.dir.child(loc.place.name);
  const fd = held.fd;
  held.fd = undefined; // the entry owns it now
  const fsx = new SpecialFs();
  try {
    return await entryFromStat(path, loc.name, loc.st, { xattrs: await fsx.listXattrs(path).catch(() => new Map()), fd, linkname: held.linkname });
  } finally {
    await fsx.close();
  }
}

/**
 * `GET /containers/{id}/archive`: the path's stat and a tar of it,
 * recursive for a directory, its entries named from the requested base name
 * (`foo/…`, `./…` for `dir/.`, `/…` for the root) as dockerd names them.
 * Errors about the path (not found, not a directory) come before the stream.
 */
export async function archiveFrom(fs: RootedFs, containerPath: string, scope: WalkScope = {}): Promise<{ stat: PathStat; tar: Readable }> {
  const held = await hold(fs, containerPath);
  const { loc } = held;
  let stat: PathStat;
  try {
    stat = await statOf(fs, loc);
  } catch (e) {
    await held.release();
    throw e;
  }
  const prefix = loc.name === '/' ? '' : loc.name;
  const tar = packTar(async function* () {
    if (!held.dir) {
      const entry = await singleEntry(held);
      if (entry && scope.idMap) Object.assign(entry.header, ownerInContainer(scope.idMap, entry.header.uid, entry.header.gid));
      if (entry) yield entry;
      return;
    }
    yield* treeEntries(fs, held.dir, (rel) => (rel === '' ? loc.name : `${prefix}/${rel}`), true, { ...scope, withMounts: true });
  });
  // 'close' comes after the walk has finished, and also when the stream is destroyed unread.
  tar.once('close', () => { void held.release(); });
  return { stat, tar };
}

/** `GET /containers/{id}/export`: the whole root, entries named relative to it (`bin/`, `etc/passwd`), no entry for the root. */
export function exportFrom(fs: RootedFs, scope: WalkScope = {}): Readable {
  return packTar(() => treeEntries(fs, fs.rootDir, (rel) => rel, false, scope));
}

/** An archive entry's name relative to the extraction dir; a leading `/` is relative too (dockerd joins it). */
function copyEntryName(raw: string, what: string): string {
  const n = posix.normalize(raw.replace(/^\/+/, '') || '.').replace(/\/+$/, '');
  if (n === '..' || n.startsWith('../')) throw new InvalidParameterError(`${what} ${raw} is outside of the extraction directory`);
  return n === '.' ? '' : n;
}

/** A tar entry's content in one buffer (small files only). */
async function collectBody(body: AsyncIterable<Buffer> | Iterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of body) chunks.push(c);
  return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
}

/**
 * Directories an extraction writes into, held open by container path so
 * that consecutive entries of one directory do not walk the path again.
 * A handle is shared while writes use it and closed only when none does.
 * Anything but a small file may change what names resolve to, so the
 * extraction drops the cache before writing one.
 */
class DirCache {
  private static readonly MAX = 64;
  private readonly dirs = new Map<string, { dir: DirHandle; refs: number }>();
  constructor(private readonly fs: RootedFs) {}

  async get(path: string): Promise<{ dir: DirHandle; release: () => Promise<void> }> {
    let e = this.dirs.get(path);
    if (!e) {
      const dir = await this.fs.ensureDir(path);
      e = this.dirs.get(path); // another caller may have raced us here
      if (e) await dir.close();
      else this.dirs.set(path, e = { dir, refs: 0 });
    }
    const entry = e;
    entry.refs++;
    await this.trim();
    return { dir: entry.dir, release: async () => { entry.refs--; if (this.dirs.get(path) !== entry && entry.refs === 0) await entry.dir.close(); } };
  }

  private async trim(): Promise<void> {
    if (this.dirs.size <= DirCache.MAX) return;
    for (const [path, e] of this.dirs) {
      if (this.dirs.size <= DirCache.MAX / 2) break;
      if (e.refs === 0) { this.dirs.delete(path); await e.dir.close(); }
    }
  }

  /** Forgets every directory; those in use are closed by their last release. */
  async clear(): Promise<void> {
    const all = [...this.dirs.values()];
    this.dirs.clear();
    for (const e of all) if (e.refs === 0) await e.dir.close();
  }
}

/**
 * Small files of an archive written while the next entries are read: one
 * after the other, each file's open/write/chown/chmod/close/utimes waits its
 * thread-pool round trips, most of the time a build context takes to unpack.
 * A name written twice waits for its first write; at most MAX_IN_FLIGHT run.
 */
class PendingWrites {
  static readonly MAX_FILE = 1 << 20;
  private static readonly MAX_IN_FLIGHT = 16;
  private readonly inFlight = new Map<string, Promise<unknown>>();
  private failure: { error: unknown } | undefined;

  async add(target: string, write: () => Promise<unknown>): Promise<void> {
    this.rethrow();
    const earlier = this.inFlight.get(target);
    if (earlier) await earlier;
    while (this.inFlight.size >= PendingWrites.MAX_IN_FLIGHT) await Promise.race(this.inFlight.values());
    this.rethrow();
    const p: Promise<unknown> = write().then(
      () => { if (this.inFlight.get(target) === p) this.inFlight.delete(target); },
      (error: unknown) => { this.failure ??= { error }; if (this.inFlight.get(target) === p) this.inFlight.delete(target); },
    );
    this.inFlight.set(target, p);
  }

  /** Waits for every write; throws the first failure. */
  async settle(): Promise<void> {
    await this.abandon();
    this.rethrow();
  }

  /** Waits for what is still running (after an error), so the caller's clean-up finds nothing being written. */
  async abandon(): Promise<void> {
    while (this.inFlight.size) await Promise.all(this.inFlight.values());
  }

  private rethrow(): void {
    if (this.failure) throw this.failure.error;
  }
}

export interface ExtractOptions {
  /** Refuse to replace a directory with a non-directory or the reverse (the CLI always asks for this). */
  noOverwriteDirNonDir?: boolean;
  /** `docker cp -a`: own every entry by `owner` when given. */
  copyUIDGID?: boolean;
  /** The container user's uid/gid (its `Config.User` resolved), used with `copyUIDGID`. */
  owner?: { uid: number; gid: number };
  /** The container's user namespace maps (`--userns-remap`): the tar's owners are container IDs, written as their host IDs. */
  idMap?: IdMap;
  /**
   * The mount a resolved container path lies on, and whether it may be
   * written. Asked for every entry where its parent finally resolved: a
   * symlink in the tar or the container (`a -> /ro-volume`) must not lead a
   * write into a read-only mount, and a hard link may not cross mounts (the
   * kernel's EXDEV, which a stopped container's mounts, applied by the
   * walker, cannot give).
   */
  mountAt?: (resolvedPath: string) => { id: string; writable: boolean };
}

/**
 * `PUT /containers/{id}/archive`: extracts a tar (gzip accepted) into the
 * existing directory `containerDir`. Every entry's parent is resolved
 * through the rooted view, so symlinks in the container are followed as the
 * container sees them and nothing lands outside the root; names that climb
 * above `containerDir` are refused, as are hard links whose target does.
 * The tar stream is not destroyed on an error: the caller decides what to do
 * with the rest of it (an HTTP request body must still get its reply).
 */
export async function extractInto(fs: RootedFs, containerDir: string, tar: Readable, opts: ExtractOptions = {}): Promise<void> {
  await extractEntriesInto(fs, containerDir, readTar(uncompressed(tar)), opts);
}

/**
 * `extractInto` for entries that come already split, with no tar around
 * them (a BuildKit client's filesync, build/context.ts): each goes through
 * the same checks and the same writer as a tar's entry. A `file` entry's
 * body yields its `size` bytes; the entries stop being read on an error.
 */
export async function extractEntriesInto(fs: RootedFs, containerDir: string, entries: AsyncIterable<TarEntry>, opts: ExtractOptions = {}): Promise<void> {
  const destPlace = await fs.resolve(containerDir, true).catch((e) => {
    throw e instanceof NotFoundError ? new NotFoundError(`no such directory: ${containerDir}`, { cause: e }) : e;
  });
  let st: BigIntStats;
  try {
    st = await fs.lstat(destPlace);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFoundError(`no such directory: ${containerDir}`);
    throw e;
  } finally {
    await destPlace.dir.close();
  }
  if (!st.isDirectory()) throw new InvalidParameterError('extraction point is not a directory');
  const dest = destPlace.path;
  /** The mount an entry's resolved path lies on ('' without `mountAt`); a read-only one is refused. */
  const checkWritable = (resolved: string, name: string): string => {
    if (!opts.mountAt) return '';
    const m = opts.mountAt(resolved);
    if (!m.writable) throw new ForbiddenError(`tar entry ${name} leads to ${resolved}, which is read-only`);
    return m.id;
  };
  const fsx = new SpecialFs();
  const dirs = new DirCache(fs);
  try {
    const writer = new EntryWriter({
      fsx, noOverwriteDirNonDir: opts.noOverwriteDirNonDir, owner: opts.copyUIDGID ? opts.owner : undefined, idMap: opts.idMap,
      relocate: async (display) => {
        const place = await fs.resolve(display, false).catch(() => null);
        if (!place) return null;
        // The root, or a directory that resolves into a read-only mount now: its mtime is not ours to set.
        if (place.name === '' || (opts.mountAt && !opts.mountAt(place.path).writable)) { await place.dir.close(); return null; }
        return { path: place.dir.child(place.name), release: () => place.dir.close() };
      },
    });
    const pending = new PendingWrites();
    try {
      for await (const { header: h, body } of entries) {
        const rel = copyEntryName(h.name, 'tar entry');
        if (rel === '') continue; // "./": the extraction dir keeps its own metadata
        const abs = posix.join(dest, rel);
        // Only small regular files are written in the background; anything else
        // may change what later names resolve to, so it waits for them all.
        const background = h.type === 'file' && h.size <= PendingWrites.MAX_FILE;
        if (!background) { await pending.settle(); await dirs.clear(); }
        if (background) {
          const content = await collectBody(body);
          const parent = await dirs.get(posix.dirname(abs));
          const target = parent.dir.child(posix.basename(abs));
          try {
            checkWritable(posix.join(parent.dir.path, posix.basename(abs)), h.name);
            await pending.add(target, () => writer.write(target, h, [content], abs).finally(parent.release));
          } catch (e) {
            await parent.release(); // refused before it was scheduled: an earlier write failed
            throw e;
          }
          continue;
        }
        const parent = await dirs.get(posix.dirname(abs));
        const target = parent.dir.child(posix.basename(abs));
        let link: Place | undefined;
        try {
          const at = checkWritable(posix.join(parent.dir.path, posix.basename(abs)), h.name);
          if (h.type === 'link') {
            const labs = posix.join(dest, copyEntryName(h.linkname, 'hard link target'));
            link = await fs.resolve(labs, false).catch(() => undefined);
            const lst = link && link.name !== '' ? await fs.lstat(link).catch(() => null) : null;
            if (!lst) throw new InvalidParameterError(`tar entry ${h.name}: hard link target ${h.linkname} does not exist`);
            if (lst.isDirectory()) throw new InvalidParameterError(`tar entry ${h.name}: hard link to a directory`);
            if (opts.mountAt && opts.mountAt(link!.path).id !== at) throw new InvalidParameterError(`tar entry ${h.name}: hard link across mounts to ${h.linkname}`);
          }
          await writer.write(target, h, body, abs, link && link.dir.child(link.name));
        } finally {
          await link?.dir.close();
          await parent.release();
        }
      }
      await pending.settle();
    } finally {
      await pending.abandon();
    }
    await writer.finish();
  } finally {
    await dirs.clear();
    await fsx.close();
  }
}

/** Unpacks a tar into a host directory that berth owns (a build context, an ADD source): `extractInto` over that directory. */
export async function extractToRoot(root: string, containerDir: string, tar: Readable, opts: ExtractOptions = {}): Promise<void> {
  try {
    await extractEntriesToRoot(root, containerDir, readTar(uncompressed(tar)), opts);
  } catch (e) {
    tar.destroy();
    throw e;
  }
}

/** `extractEntriesInto` a host directory that berth owns. */
export async function extractEntriesToRoot(root: string, containerDir: string, entries: AsyncIterable<TarEntry>, opts: ExtractOptions = {}): Promise<void> {
  const fs = await RootedFs.openDir(root);
  try {
    await extractEntriesInto(fs, containerDir, entries, opts);
  } finally {
    await fs.close();
  }
}
