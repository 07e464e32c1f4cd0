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
 * that vanish meanwhile are skipped. The walk holds a descriptor per level,
 * so it goes at most MAX_DEPTH levels down (a layer nested deeper is
 * counted down to there): a container cannot make it exhaust berthd's
 * descriptors.
 */
import { join } from 'node:path';
import { walkTree } from '../image/tree-walk.js';
import type { DataPaths } from '../store/paths.js';

const MAX_DEPTH = 512;

function depth(rel: string): number {
  let n = 1;
  for (let i = rel.indexOf('/'); i >= 0; i = rel.indexOf('/', i + 1)) n++;
  return n;
}

/** Bytes in the files of `upperDir`; 0 when it does not exist. */
export async function writableLayerSize(upperDir: string): Promise<number> {
  const seen = new Set<bigint>();
  let total = 0;
  for await (const item of walkTree(upperDir, { skip: (rel) => depth(rel) > MAX_DEPTH })) {
    const st = item.st;
    if (st.isDirectory() || st.size === 0n || seen.has(st.ino)) continue;
    seen.add(st.ino);
    total += Number(st.size);
  }
  return total;
}

/**
 * dockerd's GetContainerLayerSize, the one answer to "how big is this
 * container" (inspect ?size=1, list ?size=1, system df, what prune
 * reclaims): SizeRw is the writable layer's, SizeRootFs that plus the whole
 * layer chain of its image (none when the image is gone).
 */
export async function containerLayerSizes(
  paths: DataPaths, c: { Id: string; Image: string }, imageSize: (imageId: string) => number | undefined,
): Promise<{ SizeRw: number; SizeRootFs: number }> {
  const sizeRw = await writableLayerSize(join(paths.containerDir(c.Id), 'upper'));
  return { SizeRw: sizeRw, SizeRootFs: sizeRw + (imageSize(c.Image) ?? 0) };
}
