/**
 * Writes one tar entry at a path whose parent directory the caller has
 * already resolved: the last step shared by applying a layer and extracting a
 * `docker cp` archive. For a container (and any tree someone else may change
 * meanwhile) the path is `/proc/self/fd/<held dir>/<name>` from
 * image/rooted-fs.ts, so only the last component is ever looked up.
 *
 * Nothing here follows a symlink at the final component: an existing path is
 * removed (not written through), files are created O_EXCL|O_NOFOLLOW and
 * their owner and mode set on the open descriptor, directories are opened
 * O_NOFOLLOW before fchown/fchmod, device nodes get their mode at mknod time,
 * and owners, xattrs and times use the l* calls. Directory mtimes are set by
 * `finish()`, after everything inside them has been written.
 */
import type { BigIntStats } from 'node:fs';
import { constants } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { lchown, link, lstat, lutimes, mkdir, open, symlink } from 'node:fs/promises';
import { parentsAreDirs } from './beneath.js';
import { InvalidParameterError } from '../errors.js';
import { SpecialFsError, type SpecialFs } from './fs-special.js';
import { removeTree } from './rooted-fs.js';
import type { TarHeader } from './tar-format.js';
import { ownerOnHost, type IdMap } from '../runtime/id-map.js';
import { isWhiteoutDevice, OVERLAY_OPAQUE_XATTR } from './whiteouts.js';

export interface EntryWriterOptions {
  fsx: SpecialFs;
  /** Owner of every entry instead of the tar's uid/gid. */
  owner?: { uid: number; gid: number };
  /** The target's user namespace maps: owners (the tar's or `owner`) are container IDs, written as their host IDs. */
  idMap?: IdMap;
  /** Refuse to replace a directory with a non-directory or the reverse (`docker cp`'s default). */
  noOverwriteDirNonDir?: boolean;
  /**
   * The target is an overlay layer or upper dir: a directory that replaces a
   * whiteout is made opaque, or lower contents would reappear under it.
   */
  overlay?: boolean;
  /** Drop these xattrs from entries (e.g. overlay's own, which a layer must not smuggle in). */
  dropXattr?: (name: string) => boolean;
  /**
   * Names a directory again by its `display` name when `finish()` sets its
   * mtime (a rooted target's parent descriptor is closed by then). Without
   * it, the `target` path given to `write` is used again.
   */
  relocate?: (display: string) => Promise<{ path: string; release(): Promise<void> } | null>;
  /**
   * Without `relocate`: the directory every `target` lies in. A directory's
   * mtime is set at the end only while each component between it and its
   * target is still a real directory — a later entry may have replaced one
   * with a symlink, and the path would then lead out of the root.
   */
  root?: string;
}

export interface WriteResult {
  /** Something that was not merged into (a non-directory, or a directory replaced by a non-directory) was removed first. */
  replaced: boolean;
  /** Bytes of file content written. */
  bytes: number;
}

async function lstatOrNull(path: string): Promise<BigIntStats | null> {
  try {
    return await lstat(path, { bigint: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

async function writeAll(fh: import("node:fs/promises").FileHandle, body: AsyncIterable<Buffer> | Iterable<Buffer>): Promise<number> {
  let total = 0;
  for await (const chunk of body) {
    let off = 0;
    while (off < chunk.length) off += (await fh.write(chunk, off, chunk.length - off)).bytesWritten;
    total += chunk.length;
  }
  return total;
}

/**
 * An mtime the kernel takes: a header may carry any number (base-256 fields
 * reach 2^95), and utimensat refuses what does not fit. Like moby's
 * `Chtimes`, a time outside the range is the epoch.
 */
function settableTime(mtime: number): number {
  return Number.isFinite(mtime) && mtime >= 0 && mtime < 2 ** 33 ? mtime : 0;
}

/** errno codes an entry's own name, type or metadata causes: the archive's fault (400), not berthd's (500). EROFS stays a system error: a read-only file system is the target's state (403 for cp). */
const ENTRY_ERRNOS = new Set(['ENAMETOOLONG', 'EINVAL', 'EEXIST', 'ENOTDIR', 'EISDIR', 'ELOOP', 'E2BIG', 'ERANGE', 'ENOTSUP', 'EOPNOTSUPP', 'EPERM', 'EACCES', 'EMLINK', 'EXDEV']);
const ENTRY_ERRNO_NUMBERS = new Set([...ENTRY_ERRNOS].map((c) => osConstants.errno[c as keyof typeof osConstants.errno]).filter((n) => n !== undefined));

/** A write refused because of what the entry is becomes an InvalidParameterError naming the entry, not a host path. */
function refusedByEntry(e: unknown, display: string): unknown {
  if (e instanceof InvalidParameterError) return e;
  const code = (e as NodeJS.ErrnoException).code;
  // Node's message is "CODE: what, syscall 'path'": the path is ours (/proc/self/fd/…), the entry's name says more.
  if (code && ENTRY_ERRNOS.has(code)) return new InvalidParameterError(`tar entry ${display}: ${(e as Error).message.split(', ')[0]}`, { cause: e });
  if (e instanceof SpecialFsError && ENTRY_ERRNO_NUMBERS.has(e.errno)) return new InvalidParameterError(`tar entry ${display}: ${e.op}: ${e.message.slice(e.message.lastIndexOf(': ') + 2)}`, { cause: e });
  return e;
}

export class EntryWriter {
  private dirTimes: [string, string, number][] = [];
  constructor(private readonly opts: EntryWriterOptions) {}

  /**
   * Writes `h` at `target`. `display` names the entry in errors; `linkTarget`
   * is the host path a hard link points at (checked by the caller).
   * `knownAbsent` skips the lstat of `target` when the caller knows nothing
   * is there (an entry in a directory this same job created).
   */
  async write(target: string, h: TarHeader, body: AsyncIterable<Buffer> | Iterable<Buffer>, display: string, linkTarget?: string, knownAbsent = false): Promise<WriteResult> {
    try {
      return await this.writeEntry(target, h, body, display, linkTarget, knownAbsent);
    } catch (e) {
      throw refusedByEntry(e, display);
    }
  }

  private async writeEntry(target: string, h: TarHeader, body: AsyncIterable<Buffer> | Iterable<Buffer>, display: string, linkTarget: string | undefined, knownAbsent: boolean): Promise<WriteResult> {
    const existing = knownAbsent ? null : await lstatOrNull(target);
    const isDir = h.type === 'dir';
    let replaced = false;
    let makeOpaque = false;
    if (existing && !(existing.isDirectory() && isDir)) {
      if (this.opts.noOverwriteDirNonDir && existing.isDirectory() !== isDir) {
        throw new InvalidParameterError(existing.isDirectory()
          ? `cannot overwrite directory ${display} with non-directory`
          : `cannot overwrite non-directory ${display} with directory`);
      }
      if (h.type === 'link' && linkTarget === target) throw new InvalidParameterError(`tar entry ${display} is a hard link to itself`);
      makeOpaque = !!this.opts.overlay && isDir && isWhiteoutDevice(existing);
      await removeTree(target);
      replaced = true;
    }

    const asInContainer = { uid: this.opts.owner?.uid ?? h.uid, gid: this.opts.owner?.gid ?? h.gid };
    const { uid, gid } = this.opts.idMap ? ownerOnHost(this.opts.idMap, asInContainer.uid, asInContainer.gid) : asInContainer;
    let bytes = 0;
    switch (h.type) {
      case 'file': {
        const fh = await open(target, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
        try {
          bytes = await writeAll(fh, body);
          await fh.chown(uid, gid);
          await fh.chmod(h.mode & 0o7777); // after chown, which clears setuid/setgid
        } finally {
          await fh.close();
        }
        break;
      }
      case 'dir': {
        if (!existing || replaced) await mkdir(target, { mode: 0o700 });
        const fh = await open(target, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
        try {
          await fh.chown(uid, gid);
          await fh.chmod(h.mode & 0o7777);
        } finally {
          await fh.close();
        }
        if (makeOpaque) await this.opts.fsx.setXattr(target, OVERLAY_OPAQUE_XATTR, 'y');
        break;
      }
      case 'symlink':
        await symlink(h.linkname, target);
        await lchown(target, uid, gid);
        break;
      case 'link':
        if (!linkTarget) throw new InvalidParameterError(`tar entry ${display}: hard link without a target`);
        // link(2) does not follow a symlink at linkTarget; the new name shares the target's inode and metadata.
        await link(linkTarget, target);
        return { replaced, bytes: 0 };
      case 'char':
      case 'block':
      case 'fifo':
        await this.opts.fsx.mknod(target, h.type, h.mode & 0o7777, h.devmajor, h.devminor);
        await lchown(target, uid, gid);
        break;
    }

    for (const [name, value] of h.xattrs) {
      if (this.opts.dropXattr?.(name)) continue;
      await this.opts.fsx.setXattr(target, name, value, { ignoreUnsupported: true });
    }
    if (isDir) this.dirTimes.push([target, display, h.mtime]);
    else await lutimes(target, settableTime(h.mtime), settableTime(h.mtime));
    return { replaced, bytes };
  }

  /** Sets the directories' mtimes, now that nothing more is created inside them. */
  async finish(): Promise<void> {
    for (let i = this.dirTimes.length - 1; i >= 0; i--) {
      const [target, display, mtime] = this.dirTimes[i];
      let place: { path: string; release(): Promise<void> } | null;
      if (this.opts.relocate) place = await this.opts.relocate(display);
      else if (this.opts.root !== undefined && !(await parentsAreDirs(this.opts.root, target))) place = null;
      else place = { path: target, release: async () => undefined };
      if (!place) continue;
      try {
        await lutimes(place.path, settableTime(mtime), settableTime(mtime));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e; // replaced later in the archive
      } finally {
        await place.release();
      }
    }
    this.dirTimes = [];
  }
}
