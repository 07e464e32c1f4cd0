/**
 * The size of a container's writable layer (its overlay upper dir), as
 * dockerd counts it for `SizeRw` and for what `container prune` reclaims
 * (moby internal/directory: the apparent size of every entry that is not a
 * directory, each inode once, so hard links count once).
 *
 * The tree is the container's own making: it is walked with lstat only
 * (never following a symlink), and entries that vanish meanwhile (the
 * container is running) are skipped.
 */
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { DataPaths } from '../store/paths.js';

function gone(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** Bytes in the files of `upperDir`; 0 when it does not exist. */
export async function writableLayerSize(upperDir: string): Promise<number> {
  const seen = new Set<number>();
  let total = 0;
  const dirs = [upperDir];
  while (dirs.length) {
    const dir = dirs.pop()!;
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (e) {
      if (gone(e)) continue;
      throw e;
    }
    for (const ent of entries) {
      const path = join(dir, ent.name);
      if (ent.isDirectory()) { dirs.push(path); continue; }
      let st;
      try { st = await lstat(path); } catch (e) {
        if (gone(e)) continue;
        throw e;
      }
      if (st.isDirectory()) { dirs.push(path); continue; } // replaced by a directory since the listing
      if (st.size === 0 || seen.has(st.ino)) continue;
      seen.add(st.ino);
      total += st.size;
    }
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
