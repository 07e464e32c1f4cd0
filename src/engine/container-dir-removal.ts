/**
 * Removing a container's directory (its writable layer among it). The
 * layer is the container's own making and may nest directories far past
 * PATH_MAX, where Node's recursive rm, which names every entry by its full
 * path, fails with ENAMETOOLONG (or runs out of stack or descriptors): the
 * container would make itself unremovable, and a record left 'removing'
 * would fail again at every start-up. GNU rm walks with openat and has no
 * depth limit; it is the fallback, confined to this file system
 * (--one-file-system: nothing left mounted below is entered). The
 * container is stopped by then, so nothing changes the tree meanwhile.
 */
import { rm } from 'node:fs/promises';
import { runCommand } from '../run-command.js';

function tooDeep(e: unknown): boolean {
  if (e instanceof RangeError) return true;
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'ENAMETOOLONG' || code === 'EMFILE' || code === 'ENFILE' || code === 'ELOOP';
}

/** Removes `dir` and everything below it, however deep; nothing when it does not exist. */
export async function removeContainerDir(dir: string): Promise<void> {
  try {
    await rm(dir, { recursive: true, force: true });
  } catch (e) {
    if (!tooDeep(e)) throw e;
    await runCommand(['rm', '-rf', '--one-file-system', '--', dir]);
  }
}
