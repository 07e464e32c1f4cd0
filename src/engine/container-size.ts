/**
 * The size of a container's writable layer (its overlay upper dir), as
 * dockerd counts it for `SizeRw` and for what `container prune` reclaims
 * (moby internal/directory: the apparent size of every entry that is not a
 * directory, each inode once, so hard links count once).
 *
 * The tree is the container's own making, and a running container changes
 * it during the walk: it is walked by image/tree-walk.ts, which holds each
 * directory open and names entries through it with O_NOFOLLOW, so a
 * directory swapped for a symlink between its listing and its reading
 * cannot lead the walk (and the total it reports) out of the layer. Entries
 * that vanish meanwhile are skipped.
 */
import { walkTree } from '../image/tree-walk.js';

/** Bytes in the files of `upperDir`; 0 when it does not exist. */
export async function writableLayerSize(upperDir: string): Promise<number> {
  const seen = new Set<bigint>();
  let total = 0;
  for await (const item of walkTree(upperDir)) {
    const st = item.st;
    if (st.isDirectory() || st.size === 0n || seen.has(st.ino)) continue;
    seen.add(st.ino);
    total += Number(st.size);
  }
  return total;
}
