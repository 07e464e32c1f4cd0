/**
 * Race-free file access below a root directory: the one way berth touches a
 * container's files (`docker cp`, archive HEAD/GET/PUT, export) and unpacks
 * archives into directories (build contexts).
 *
 * The problem (CVE-2018-15664): resolving a path in userspace and opening it
 * later is a race. A process in the container swaps a directory on the path
 * for a symlink to `/` between the check and the use, and the engine, running
 * as root on the host, reads or writes host files.
 *
 * The mechanism: Node has no openat(2), but `/proc/self/fd/<dirfd>/<name>`
 * is one. The kernel follows the magic link of our own descriptor (which
 * names the directory we hold, wherever it has been moved) and then looks up
 * exactly one component, `<name>`, which is opened with O_NOFOLLOW: a symlink
 * there is never followed by the kernel. So a path is walked one component
 * at a time, holding an O_PATH descriptor for every directory reached. A
 * symlink met on the way is read (readlink of that one name) and resolved
 * here with securejoin's rules: an absolute target restarts at the root
 * descriptor, `..` returns to the parent descriptor already held and never
 * above the root, and at most MAX_LINKS links are followed. Every later
 * operation (stat, open, mkdir, symlink, link, chown, utimes, rename,
 * unlink, xattrs, mknod) names its file as `<held dir>/<one name>`. A
 * directory swapped for a symlink during the operation can therefore only
 * redirect it to another place inside the root: the root descriptor is the
 * only way up and `/` of the host is never named.
 *
 * The root descriptor is "the container's own view" (engine/container-
 * archive.ts picks it):
 * - a running or paused container: `/proc/<init pid>/root`. Component
 *   look-ups from it cross the container's own mounts (volumes, binds,
 *   tmpfs, /etc/hosts…), exactly what the container sees.
 * - a created or stopped container: its overlay (mounted by berthd) plus
 *   `RootMount`s applied by this walker: when a component's resolved
 *   container path is a mount's destination, the walk continues from a
 *   descriptor of the mount's source (the volume's `_data`, a bind's host
 *   path, berth's /etc files), as the kernel's mount table would. Why not a
 *   private mount namespace made by a helper process (runc's way)? The walker
 *   already resolves every component itself, so applying the few mounts a
 *   stopped container has is a table look-up with the same semantics (`..`
 *   at a mount's root returns to the directory that holds the mount point);
 *   it needs no mounts, so nothing can be left mounted when berthd is killed,
 *   and no extra process per copy. tmpfs mounts of a stopped container have
 *   no content (dockerd does not mount them for cp either) and are left out.
 */
import { constants, type BigIntStats } from 'node:fs';
import { lstat, readdir, readlink, rmdir, unlink } from 'node:fs/promises';
import { dirname, basename, posix } from 'node:path';
import { promisify } from 'node:util';
import * as fsCb from 'node:fs';
import { InvalidParameterError, NotFoundError } from '../errors.js';

/** O_PATH (Linux): a descriptor that names a file without opening it for I/O. */
export const O_PATH = 0o10000000;
/** How a directory is held: never through a symlink, never opened for I/O. */
export const DIR_FLAGS = O_PATH | constants.O_DIRECTORY | constants.O_NOFOLLOW;

/** Linux's own limit on symlinks followed in one lookup is 40; securejoin allows 255. */
const MAX_LINKS = 255;
/** How often one look-up starts a component again because it changed between two calls. */
const MAX_RETRIES = 1000;
/**
 * How many directories deep below its root a resolution or a walk may go.
 * Each directory it is in stays open (a descriptor) until it comes back up,
 * and a container nests directories without end at one rename a level: a
 * tree 26,000 deep ran berthd out of descriptors (and a walk's paths grew
 * with the square of the depth). With one-byte names a path this deep is
 * already PATH_MAX long: dockerd, which names paths whole, copies none deeper.
 */
export const MAX_DEPTH = 2048;

/** The error for a path or tree that leads deeper than MAX_DEPTH. */
export function tooDeep(what: string): InvalidParameterError {
  return new InvalidParameterError(`${what.length > 80 ? `${what.slice(0, 80)}…` : what}: more than ${MAX_DEPTH} directories deep`);
}

export const closeFd = promisify(fsCb.close);
export const fstatFd = promisify(fsCb.fstat) as (fd: number, o: { bigint: true }) => Promise<BigIntStats>;
const readFd = promisify(fsCb.read);
/**
 * Raw descriptors, not FileHandles: a FileHandle that is garbage-collected
 * closes its number, which by then may name another of our directories.
 */
export const openFd = promisify(fsCb.open) as (path: string, flags: number, mode?: number) => Promise<number>;

/**
 * Opens for reading the regular file `path` names (its last component never
 * followed), or gives null when something else is there. Nothing but a
 * regular file is ever opened: the name is first held by an O_PATH
 * descriptor and checked, then that inode is reopened through the
 * descriptor's magic link. Opening a device node of the container's
 * (a watchdog, a tape drive) has effects of its own, and a FIFO blocks.
 */
export async function openRegularFile(path: string): Promise<{ fd: number; st: BigIntStats } | null> {
  const held = await openFd(path, O_PATH | constants.O_NOFOLLOW);
  try {
    const st = await fstatFd(held, { bigint: true });
    if (!st.isFile()) return null;
    return { fd: await openFd(`/proc/self/fd/${held}`, constants.O_RDONLY), st };
  } finally {
    await closeFd(held);
  }
}

/** A directory held open (O_PATH), with the container path it was reached by. */
export class DirHandle {
  private closed = false;
  constructor(readonly fd: number, readonly path: string, private readonly owned = true) {}

  /** `/proc/self/fd/<fd>/<name>`: `name` (one component) inside this directory, its last component never followed by callers that pass O_NOFOLLOW or use l* calls. */
  child(name: string): string {
    if (name === '' || name === '.' || name === '..' || name.includes('/')) throw new InvalidParameterError(`invalid file name: ${name}`);
    return `/proc/self/fd/${this.fd}/${name}`;
  }

  /** `/proc/self/fd/<fd>/.`: the directory itself (readdir, lstat, statfs, xattrs; `.` so l* calls see the directory, not the magic link). */
  get self(): string {
    return `/proc/self/fd/${this.fd}/.`;
  }

  async close(): Promise<void> {
    if (!this.owned || this.closed) return;
    this.closed = true;
    await closeFd(this.fd);
  }
}

/** A mount the walker applies itself (a stopped container's volumes, binds and /etc files). */
export interface RootMount {
  /** Cleaned absolute container path. */
  destination: string;
  /** Host path of the source: a directory, or a file when `file`. Trusted (berth's own or the admin's). */
  source: string;
  file: boolean;
}

/** Where a name lives: a held parent directory and one component, or the root itself (`name` ''). */
export interface Place {
  dir: DirHandle;
  name: string;
  /** The resolved container path of the place. */
  path: string;
}

/** A directory on the way does not exist; `path` is where it was looked for (symlinks resolved), for callers that create it. */
export class MissingDirError extends NotFoundError {
  constructor(readonly path: string) { super(`no such file or directory: ${path}`); }
}

function components(p: string): string[] {
  return p.split('/').filter((c) => c !== '' && c !== '.');
}

function errCode(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException).code;
}

export class RootedFs {
  private readonly root: DirHandle;

  /** `rootFd` is owned by this object from now on (closed by `close()`). */
  constructor(private readonly rootFd: number, private readonly mounts: RootMount[] = []) {
    this.root = new DirHandle(rootFd, '/', false);
  }

  /** A rooted view of a host directory that berth controls (a build context, a container's overlay). */
  static async openDir(hostDir: string, mounts: RootMount[] = []): Promise<RootedFs> {
    return new RootedFs(await openRawDir(hostDir), mounts);
  }

  /** `readRegularFile` of one file below a host directory: open, read, close. */
  static async readFileIn(hostDir: string, containerPath: string, limit: number): Promise<Buffer | undefined> {
    const fs = await RootedFs.openDir(hostDir);
    try {
      return await fs.readRegularFile(containerPath, limit);
    } finally {
      await fs.close();
    }
  }

  async close(): Promise<void> {
    await closeFd(this.rootFd);
  }

  get rootDir(): DirHandle {
    return this.root;
  }

  private mountAt(path: string): RootMount | undefined {
    return this.mounts.find((m) => m.destination === path);
  }

  /**
   * For a walk of the directory at container path `top`: the mount standing
   * at a path relative to it, and the names of the mounts directly in a
   * directory (a container that never ran has no mount points yet).
   */
  mountsBelow(top: string): { mountAt(rel: string): RootMount | undefined; mountNamesIn(rel: string): string[] } | undefined {
    if (this.mounts.length === 0) return undefined;
    return {
      mountAt: (rel) => this.mountAt(posix.join(top, rel)),
      mountNamesIn: (rel) => {
        const dir = posix.join(top, rel);
        return this.mounts.filter((m) => posix.dirname(m.destination) === dir).map((m) => posix.basename(m.destination));
      },
    };
  }

  /**
   * Resolves `containerPath` to a place: every symlink in its directories
   * followed inside the root, the last component followed too when
   * `followLast`. The last component need not exist; its parents must
   * (MissingDirError for a missing one, which callers may create; a plain
   * NotFoundError for one that is not a directory). A component that changes between two of our
   * calls is looked at again, a bounded number of times. The caller owns
   * `place.dir` and closes it (a no-op for the root).
   */
  async resolve(containerPath: string, followLast: boolean): Promise<Place> {
    const stack: DirHandle[] = [this.root];
    const pending = components(containerPath);
    let links = 0;
    let retries = 0;
    const top = () => stack[stack.length - 1];
    const pop = async () => { if (stack.length > 1) await stack.pop()!.close(); };
    try {
      while (pending.length) {
        const c = pending.shift()!;
        if (c === '..') { await pop(); continue; }
        const last = pending.length === 0;
        const dir = top();
        const path = posix.join(dir.path, c);
        const mount = this.mountAt(path);
        if (mount) {
          if (mount.file) {
            if (!last) throw new NotFoundError(`not a directory: ${path}`);
            const parent = new DirHandle(await openRawDir(dirname(mount.source)), posix.dirname(path));
            stack.push(parent);
            return { dir: parent, name: basename(mount.source), path };
          }
          stack.push(new DirHandle(await openRawDir(mount.source), path));
          if (stack.length > MAX_DEPTH) throw tooDeep(containerPath);
          continue;
        }
        if (last && !followLast) return { dir, name: c, path };
        let fd: number;
        try {
          fd = await openFd(dir.child(c), DIR_FLAGS);
        } catch (e) {
          const code = errCode(e);
          if (code === 'ENOENT') {
            if (last) return { dir, name: c, path };
            throw new MissingDirError(path);
          }
          if (code !== 'ENOTDIR' && code !== 'ELOOP') throw e;
          // Not a directory: a symlink to follow here, or a file (which ends the path).
          let target: string;
          try {
            target = await readlink(dir.child(c));
          } catch (e2) {
            const code2 = errCode(e2);
            if (code2 !== 'EINVAL' && code2 !== 'ENOENT') throw e2;
            // Not a symlink (EINVAL) or gone (ENOENT): a file ends the path; anything else changed
            // since the open, so the component is looked at again (a bounded number of times).
            const now = code2 === 'EINVAL' ? await lstat(dir.child(c)).catch(() => null) : null;
            if (now && !now.isDirectory()) {
              if (last) return { dir, name: c, path };
              throw new NotFoundError(`not a directory: ${path}`);
            }
            if (++retries > MAX_RETRIES) throw new NotFoundError(`${path} keeps changing`);
            pending.unshift(c);
            continue;
          }
          if (++links > MAX_LINKS) throw new InvalidParameterError(`too many levels of symbolic links: ${containerPath}`);
          if (target.startsWith('/')) while (stack.length > 1) await pop();
          pending.unshift(...components(target));
          continue;
        }
        stack.push(new DirHandle(fd, path));
        if (stack.length > MAX_DEPTH) throw tooDeep(containerPath);
      }
      // The whole path resolved to a directory (or the root): name it by its parent when there is one.
      const dir = top();
      if (stack.length === 1) return { dir, name: '', path: '/' };
      stack.pop();
      const parent = top();
      await dir.close();
      return this.relocate(parent, dir.path);
    } catch (e) {
      // Nothing is returned: the top of the stack goes too (a container can make every look-up fail).
      await stack.pop()!.close();
      throw e;
    } finally {
      // Everything but the returned parent is closed; the root is never owned.
      for (const d of stack.slice(0, -1)) await d.close();
    }
  }

  /**
   * After the loop ended on a directory: its parent stays open, the place
   * named by the last component. A directory mount's root is such a place
   * too; `lstat` and `openDirAt` go to the mount's source for it.
   */
  private relocate(parent: DirHandle, path: string): Place {
    return { dir: parent, name: posix.basename(path), path };
  }

  /**
   * Opens a place that is a directory (O_PATH, never through a symlink).
   * The caller owns the handle.
   */
  async openDirAt(place: Place): Promise<DirHandle> {
    if (place.name === '') return this.root;
    const mount = this.mountAt(place.path);
    if (mount && !mount.file) return new DirHandle(await openRawDir(mount.source), place.path);
    return new DirHandle(await openFd(place.dir.child(place.name), DIR_FLAGS), place.path);
  }

  /**
   * The content of the regular file `containerPath` (symlinks followed inside
   * the root), or undefined when it does not exist. Anything else there — a
   * FIFO that would block, a device, a directory — and a file over `limit`
   * bytes are InvalidParameterErrors: a container's /etc/passwd is read by
   * berthd, and the container chooses what it is.
   */
  async readRegularFile(containerPath: string, limit: number): Promise<Buffer | undefined> {
    let place: Place;
    try {
      place = await this.resolve(containerPath, true);
    } catch (e) {
      if (e instanceof NotFoundError) return undefined;
      throw e;
    }
    try {
      const mount = this.mountAt(place.path);
      const path = mount?.file ? mount.source : place.name === '' ? place.dir.self : place.dir.child(place.name);
      let opened: { fd: number; st: BigIntStats } | null;
      try {
        opened = await openRegularFile(path);
      } catch (e) {
        if (errCode(e) === 'ENOENT' || errCode(e) === 'ENOTDIR') return undefined;
        throw e;
      }
      if (!opened) throw new InvalidParameterError(`${containerPath} is not a regular file`);
      const { fd, st } = opened;
      try {
        if (st.size > BigInt(limit)) throw new InvalidParameterError(`${containerPath} is too large (${st.size} bytes, at most ${limit})`);
        const buf = Buffer.alloc(Number(st.size));
        let got = 0;
        while (got < buf.length) {
          const { bytesRead: n } = await readFd(fd, buf, got, buf.length - got, got);
          if (n === 0) break;
          got += n;
        }
        return buf.subarray(0, got);
      } finally {
        await closeFd(fd);
      }
    } finally {
      await place.dir.close();
    }
  }

  /** lstat of a place (the root's own stat for the root). */
  async lstat(place: Place): Promise<BigIntStats> {
    if (place.name === '') return lstat(place.dir.self, { bigint: true });
    const mount = this.mountAt(place.path);
    if (mount && !mount.file) return lstat(mount.source, { bigint: true });
    return lstat(place.dir.child(place.name), { bigint: true });
  }

  /**
   * The directory `containerPath`, made (0755, root) where missing, every
   * symlink on the way followed inside the root. The caller owns the handle.
   */
  async ensureDir(containerPath: string): Promise<DirHandle> {
    for (let attempt = 0; ; attempt++) {
      let place: Place;
      try {
        place = await this.resolve(containerPath, true);
      } catch (e) {
        if (!(e instanceof MissingDirError) || attempt > 8) throw e;
        // Made where the resolution found it missing: below the symlinks already followed.
        await (await this.ensureDir(e.path)).close();
        continue;
      }
      try {
        return await this.openDirAt(place);
      } catch (e) {
        const code = errCode(e);
        if (code === 'ENOENT' && attempt < 8) {
          try {
            await fsCb.promises.mkdir(place.dir.child(place.name), { mode: 0o755 });
          } catch (e2) {
            if (errCode(e2) !== 'EEXIST') throw e2;
          }
          continue;
        }
        if (code === 'ENOTDIR' || code === 'ELOOP') throw new InvalidParameterError(`cannot extract below ${containerPath}: not a directory`);
        throw e;
      } finally {
        if (place.name !== '') await place.dir.close();
      }
    }
  }
}

async function openRawDir(path: string): Promise<number> {
  return openFd(path, O_PATH | constants.O_DIRECTORY);
}

/**
 * Removes `path` (a `/proc/self/fd/<dir>/<name>` place or a host path whose
 * parents are trusted) and, for a directory, everything below it, never
 * following a symlink: a directory is opened O_NOFOLLOW and emptied through
 * its own descriptor, so swapping it for a symlink meanwhile cannot make the
 * removal reach elsewhere. Each directory it is in stays open: a tree more
 * than MAX_DEPTH deep is refused (what is above that depth stays).
 */
export async function removeTree(path: string, depth = 0): Promise<void> {
  let fd: number;
  try {
    fd = await openFd(path, DIR_FLAGS);
  } catch (e) {
    const code = errCode(e);
    if (code === 'ENOENT') return;
    if (code !== 'ENOTDIR' && code !== 'ELOOP') throw e;
    try { await unlink(path); } catch (e2) { if (errCode(e2) !== 'ENOENT') throw e2; }
    return;
  }
  const dir = new DirHandle(fd, '');
  try {
    if (depth >= MAX_DEPTH) throw tooDeep('the tree to remove');
    for (const name of await readdir(dir.self)) await removeTree(dir.child(name), depth + 1);
  } finally {
    await dir.close();
  }
  try { await rmdir(path); } catch (e) { if (errCode(e) !== 'ENOENT') throw e; }
}
