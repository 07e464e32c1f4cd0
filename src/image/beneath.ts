/**
 * Whether a path still lies inside its root by its directories alone: no
 * component of `target` below `root`, but the last, is anything but a real
 * directory (a symlink above all); components that do not exist yet pass
 * (what makes them, mkdir, makes directories). For extraction steps that name a path again
 * after other entries were written (a later entry may have turned a parent
 * into a symlink leading out of the root).
 */
import { lstat } from 'node:fs/promises';

export async function parentsAreDirs(root: string, target: string): Promise<boolean> {
  if (!target.startsWith(`${root}/`)) return false;
  let at = root;
  for (const part of target.slice(root.length + 1).split('/').slice(0, -1)) {
    at = `${at}/${part}`;
    const st = await lstat(at).catch(() => null);
    if (!st) return true;
    if (!st.isDirectory()) return false;
  }
  return true;
}
