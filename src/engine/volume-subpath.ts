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
 * Known limit: the runtime is then handed the checked path, not the
 * descriptor, so a container running at the same time with the same volume
 * could still swap a component between this check and the runtime's mount.
 * Closing that needs the start to bind the descriptor itself to a private
 * mount point (as moby's safepath does) and to remove it after the runtime's
 * create.
 */
import { closeSync, constants, fstatSync, openSync } from 'node:fs';
import { posix } from 'node:path';
import { InvalidParameterError, NotFoundError } from '../errors.js';

const O_PATH = 0o10000000;

/** moby safepath.ErrNotAccessible (a 404). */
function notAccessible(path: string, cause: string): NotFoundError {
  return new NotFoundError(`cannot access path ${path}: ${cause}`);
}

/**
 * The host path to bind for `subpath` of the volume mounted from
 * `volumeDir`, once every component of it is known to be a real directory
 * (or, for the last, a directory or file) inside the volume.
 */
export function subpathSource(volumeDir: string, subpath: string): string {
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
    return full;
  } finally {
    closeSync(fd);
  }
}

function errText(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file or directory';
  if (code === 'ENOTDIR') return 'not a directory';
  if (code === 'ELOOP') return 'too many levels of symbolic links';
  return (e as Error).message;
}
