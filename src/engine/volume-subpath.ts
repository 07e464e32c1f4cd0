/**
 * `VolumeOptions.Subpath` (API 1.45): a volume mount of one directory or
 * file inside the volume. The volume's content is written by containers, so
 * the subpath is untrusted: a component swapped for a symlink could lead the
 * bind mount to any host path (the CVE-2018-15664 class). dockerd opens it
 * with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS) and mounts the
 * descriptor (moby `volume/safepath`); berth walks it the same way, one
 * component at a time from a descriptor of the volume's `_data`, each opened
 * O_PATH | O_NOFOLLOW through `/proc/self/fd/<dir>/<name>`, and refuses any
 * symlink on the way, with dockerd's words.
 *
 * The runtime is never handed that path, which a container running at the
 * same time with the same volume could change between the check and the
 * runtime's mount: the start binds the descriptor the walk ends on (through
 * its magic link `/proc/<berthd>/fd/<n>`, which names the opened inode, not
 * a path) to a private mount point under the exec root, gives the runtime
 * that, and unmounts it once the runtime has made its own mounts (moby
 * `volume/safepath`'s way).
 */
import { closeSync, constants, fstatSync, openSync } from 'node:fs';
import { mkdir, readdir, rmdir, unlink, writeFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { InvalidParameterError, NotFoundError } from '../errors.js';
import { sharedSpecialFs, specialFsSupported } from '../image/fs-special.js';
import { runCommand } from '../run-command.js';
import { unmount } from '../store/mounts.js';
import type { ResolvedMount } from './container-mounts.js';

const O_PATH = 0o10000000;

/** moby safepath.ErrNotAccessible (a 404). */
function notAccessible(path: string, cause: string): NotFoundError {
  return new NotFoundError(`cannot access path ${path}: ${cause}`);
}

/**
 * An O_PATH descriptor of `subpath` of the volume mounted from `volumeDir`,
 * once every component of it is known to be a real directory (or, for the
 * last, a directory or file) inside the volume. The caller closes it.
 */
function openSubpath(volumeDir: string, subpath: string): number {
  const clean = posix.normalize(subpath);
  if (clean.startsWith('/') || clean === '..' || clean.startsWith('../')) {
    throw new InvalidParameterError(`path concatenation escapes the base directory, base: ${volumeDir}, subpath: ${subpath}`);
  }
  const full = posix.join(volumeDir, clean);
  let fd: number;
  try {
    fd = openSync(volumeDir, O_PATH | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  } catch (e) {
    throw notAccessible(volumeDir, errText(e));
  }
  try {
    for (const name of clean.split('/').filter((c) => c !== '' && c !== '.')) {
      let next: number;
      try {
        next = openSync(`/proc/self/fd/${fd}/${name}`, O_PATH | constants.O_NOFOLLOW);
      } catch (e) {
        throw notAccessible(full, errText(e));
      }
      closeSync(fd);
      fd = next;
      // O_PATH | O_NOFOLLOW opens a symlink itself: never follow it (openat2's RESOLVE_NO_SYMLINKS gives ELOOP).
      if (fstatSync(fd).isSymbolicLink()) throw notAccessible(full, 'too many levels of symbolic links');
    }
    return fd;
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}

const MS_BIND = 4096;

/**
 * Binds the checked `subpath` of the volume at `volumeDir` to `target`
 * (made here: a directory or an empty file, as the subpath is). The mount's
 * source is the descriptor's magic link, so whatever is renamed or swapped
 * in the volume after the walk, `target` shows the inode that was checked.
 */
export async function bindSubpath(volumeDir: string, subpath: string, target: string): Promise<void> {
  const fd = openSubpath(volumeDir, subpath);
  try {
    if (fstatSync(fd).isDirectory()) await mkdir(target, { mode: 0o700 });
    else await writeFile(target, '', { flag: 'wx', mode: 0o600 });
    // The helper is another process: our descriptor is reached through our pid, not /proc/self.
    const source = `/proc/${process.pid}/fd/${fd}`;
    if (specialFsSupported()) await sharedSpecialFs().mount(source, target, '', MS_BIND, '');
    // mount(8) would otherwise resolve the magic link to a path and mount that (the race again).
    else await runCommand(['mount', '--no-canonicalize', '--bind', source, target]);
  } finally {
    closeSync(fd);
  }
}

/** The private mount points of one start's Subpath mounts. */
export interface SubpathBinds {
  /** The source the runtime gets for each mount with a Subpath. */
  sources: Map<ResolvedMount, string>;
  /** Unmounts and removes the mount points (idempotent); the runtime's mounts stay. */
  release(): Promise<void>;
}

/**
 * Binds every Subpath mount of `mounts` below `dir` (one entry per mount;
 * a start's own directory, e.g. `<exec root>/subpaths/<id>`), after clearing
 * what a crashed start may have left there.
 */
export async function bindSubpaths(mounts: readonly ResolvedMount[], dir: string): Promise<SubpathBinds> {
  const sources = new Map<ResolvedMount, string>();
  const release = () => clearMountPoints(dir);
  if (!mounts.some((m) => m.Subpath)) return { sources, release: async () => undefined };
  await release();
  await mkdir(dir, { recursive: true, mode: 0o700 });
  try {
    for (const [i, m] of mounts.entries()) {
      if (!m.Subpath) continue;
      const target = join(dir, String(i));
      await bindSubpath(m.Source, m.Subpath, target);
      sources.set(m, target);
    }
  } catch (e) {
    await release().catch(() => undefined);
    throw e;
  }
  return { sources, release };
}

/**
 * Unmounts and removes each entry of `dir`, then `dir`. Never recursively:
 * a mount point that is still mounted must fail to go, not have the
 * volume's content deleted through it.
 */
async function clearMountPoints(dir: string): Promise<void> {
  let names: string[];
  try { names = await readdir(dir); } catch (e) { if ((e as NodeJS.ErrnoException).code === 'ENOENT') return; throw e; }
  for (const name of names) {
    const p = join(dir, name);
    await unmount(p);
    await rmdir(p).catch(async (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOTDIR') await unlink(p);
      else if (e.code !== 'ENOENT') throw e;
    });
  }
  await rmdir(dir).catch((e: NodeJS.ErrnoException) => { if (e.code !== 'ENOENT') throw e; });
}

function errText(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file or directory';
  if (code === 'ENOTDIR') return 'not a directory';
  if (code === 'ELOOP') return 'too many levels of symbolic links';
  return (e as Error).message;
}
