/**
 * Committing a finished build step's upper dir in place. A RUN container is
 * removed right after its commit, so instead of applying the layer tar into
 * a fresh directory — one file creation per entry, 5–7 s for 30,000 small
 * files on a disk where reading them for the tar takes well under one — the
 * layer store takes the upper dir itself, as dockerd's overlay2 driver and
 * containerd's overlay snapshotter do. The tar is still made: its digest
 * names the layer and its gzip is the blob a push sends.
 *
 * The directory must then hold what applying that tar to an empty directory
 * would (image/layer-apply.ts), or an image would read differently here than
 * where it is pulled. The diff walk (image/layer-diff.ts) records here
 * everything it leaves out or spells differently, and `settle` makes the
 * directory agree:
 * - paths the tar leaves out (the engine's mount points, sockets) are
 *   removed, with everything below them, and their parent directory's mtime
 *   is put back;
 * - xattrs no layer carries (overlay's own origin/impure/uuid, user.overlay.*,
 *   SELinux labels; anything on a whiteout device or on the root) are
 *   removed;
 * - a directory opaque only through `user.overlay.opaque` gets
 *   `trusted.overlay.opaque`, the spelling applying gives.
 * What stays different, as with dockerd's overlay2: mtimes keep their
 * nanoseconds (a tar carries seconds) and whiteout devices their own mode
 * and times; overlay reads neither.
 *
 * Only for a stopped container whose rootfs is not mounted, without
 * `--userns-remap` (the tar carries container IDs, the dir host IDs) and
 * without SOURCE_DATE_EPOCH (the tar's mtimes are clamped): the caller
 * decides, and applies the tar otherwise.
 */
import type { BigIntStats } from 'node:fs';
import { lutimes, rm } from 'node:fs/promises';
import { SystemError } from '../errors.js';
import { parentsAreDirs } from './beneath.js';
import type { SpecialFs } from './fs-special.js';
import { isContentXattr } from './tar-pack.js';
import { isOpaqueDir, OVERLAY_OPAQUE_XATTR } from './whiteouts.js';

function parentRel(rel: string): string {
  const i = rel.lastIndexOf('/');
  return i === -1 ? '' : rel.slice(0, i);
}

export class UpperDirRemainder {
  /** Paths (relative, '/'-separated) the tar leaves out, each with everything below it. */
  private readonly omitted: string[] = [];
  /** xattrs to remove, by path. */
  private readonly foreign = new Map<string, string[]>();
  /** Directories opaque through user.overlay.opaque only. */
  private readonly toMarkOpaque: string[] = [];
  /** mtimes of the directories the walk passed, as it saw them. */
  private readonly dirTimes = new Map<string, bigint>();
  /** Bytes of file content in the tar (the layer's size). */
  contentBytes = 0;

  /** The walk left `rel` out. */
  omit(rel: string): void {
    this.omitted.push(rel);
  }

  /** A whiteout device: the tar spells it as a bare `.wh.` file, so it keeps no xattrs. */
  whiteout(rel: string, xattrs: Map<string, Buffer>): void {
    if (xattrs.size) this.foreign.set(rel, [...xattrs.keys()]);
  }

  /** An entry the tar has: what it leaves out of the entry's xattrs, its content size, a directory's mtime. */
  entry(rel: string, st: BigIntStats, xattrs: Map<string, Buffer>, contentBytes: number): void {
    this.contentBytes += contentBytes;
    const opaque = st.isDirectory() && isOpaqueDir(xattrs);
    if (st.isDirectory()) this.dirTimes.set(rel, st.mtimeNs);
    const drop: string[] = [];
    for (const name of xattrs.keys()) {
      if (isContentXattr(name)) continue;
      if (opaque && name === OVERLAY_OPAQUE_XATTR && xattrs.get(name)!.equals(Buffer.from('y'))) continue;
      drop.push(name);
    }
    if (drop.length) this.foreign.set(rel, drop);
    if (opaque && !xattrs.get(OVERLAY_OPAQUE_XATTR)?.equals(Buffer.from('y'))) this.toMarkOpaque.push(rel);
  }

  /** Makes `dir` (the walked upper dir, now the layer store's) what applying its tar gives. */
  async settle(dir: string, fsx: SpecialFs): Promise<void> {
    const at = async (rel: string): Promise<string> => {
      const path = rel ? `${dir}/${rel}` : dir;
      // Nothing may change the tree since the walk; a parent that is no longer a directory is a bug to stop on, not to follow.
      if (rel && !(await parentsAreDirs(dir, path))) throw new SystemError(`committing in place: ${rel} is no longer below a directory`);
      return path;
    };
    const touched = new Set<string>();
    for (const rel of this.omitted) {
      await rm(await at(rel), { recursive: true, force: true });
      touched.add(parentRel(rel));
    }
    for (const [rel, names] of this.foreign) {
      const path = await at(rel);
      for (const name of names) await fsx.removeXattr(path, name);
    }
    for (const rel of this.toMarkOpaque) await fsx.setXattr(await at(rel), OVERLAY_OPAQUE_XATTR, 'y');
    // The root is not in the tar: applying leaves it bare.
    for (const name of (await fsx.listXattrs(dir)).keys()) await fsx.removeXattr(dir, name);
    for (const rel of touched) {
      const mtimeNs = this.dirTimes.get(rel);
      if (mtimeNs === undefined) continue; // the root, or below an omitted directory
      const seconds = Number(mtimeNs / 1_000_000_000n);
      await lutimes(await at(rel), seconds, seconds);
    }
  }
}
