/**
 * Bytes a tree takes as `du -sb` counts them: the apparent size (st_size) of
 * every entry — directories and symlinks included — with each inode counted
 * once. berth reports and frees space in these units so that `system df`,
 * `image prune --dry-run` and what `prune` frees agree with `du` of the data
 * root.
 */
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/** `du -sb path`; 0 when the path does not exist. `seen` (dev:ino) lets callers count hard links once across several trees. */
export async function apparentSize(path: string, seen: Set<string> = new Set()): Promise<number> {
  let st;
  try { st = await lstat(path); } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw e;
  }
  const key = `${st.dev}:${st.ino}`;
  if (seen.has(key)) return 0;
  seen.add(key);
  let total = st.size;
  if (st.isDirectory()) {
    const sizes = await Promise.all((await readdir(path)).map((name) => apparentSize(join(path, name), seen)));
    for (const n of sizes) total += n;
  }
  return total;
}
