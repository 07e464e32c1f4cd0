/**
 * Whether a path still lies inside its root by its directories alone: no
 * component of `target` below `root`, but the last, is anything but a real
 * directory (a symlink above all); components that do not exist yet pass
 * (what makes them, mkdir, makes directories). For extraction steps that name a path again
 * after other entries were written (a later entry may have turned a parent
 * into a symlink leading out of the root).
 */
import { lstatSync } from 'node:fs';
import { lstat } from 'node:fs/promises';

/** The components between `root` and `target`'s last one, as paths; null when `target` is not below `root`. */
function parentPaths(root: string, target: string): string[] | null {
  if (!target.startsWith(`${root}/`)) return null;
  const out: string[] = [];
  let at = root;
  for (const part of target.slice(root.length + 1).split('/').slice(0, -1)) {
    at = `${at}/${part}`;
    out.push(at);
  }
  return out;
}

export async function parentsAreDirs(root: string, target: string): Promise<boolean> {
  const parents = parentPaths(root, target);
  if (!parents) return false;
  for (const at of parents) {
    const st = await lstat(at).catch(() => null);
    if (!st) return true;
    if (!st.isDirectory()) return false;
  }
  return true;
}

/**
 * parentsAreDirs with blocking lstat calls: for a writer that does nothing
 * else meanwhile (the CLI's `cp` extraction), where a few microseconds of
 * lstat beat a thread-pool round trip per component.
 */
export function parentsAreDirsSync(root: string, target: string): boolean {
  const parents = parentPaths(root, target);
  if (!parents) return false;
  for (const at of parents) {
    const st = lstatSync(at, { throwIfNoEntry: false });
    if (!st) return true;
    if (!st.isDirectory()) return false;
  }
  return true;
}
