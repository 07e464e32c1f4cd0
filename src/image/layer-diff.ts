/**
 * What a container (or build step) changed, read from its overlay upper dir:
 * as an OCI layer tar (`commit`, builds) and as Docker's change list
 * (`GET /containers/{id}/changes`).
 *
 * An upper-dir walk is a correct diff only while overlayfs runs without
 * `redirect_dir` and `metacopy` (true on this kernel, see the interfaces
 * notes §3.5); an upper dir that uses either is refused rather than turned
 * into a wrong layer.
 *
 * Mount-point artefacts: Docker keeps the files and directories that exist
 * only to be mounted over out of commits and diffs with its init layer.
 * berth has no init layer; the runtime creates missing mount points in the
 * upper dir instead. So by default paths for which `isEngineMountPoint`
 * holds are left out (with everything below them): the files berth
 * bind-mounts (/etc/hostname, /etc/hosts, /etc/resolv.conf) plus
 * /.dockerenv, and /proc, /sys, /dev, which are always mounted over (tmpfs,
 * proc, sysfs), so nothing a container writes there reaches the upper dir.
 * Pass `exclude` to change that (`() => false` keeps everything);
 * `mountPointExclusions` adds a container's own mounts and the /etc/mtab
 * link. With `lowerDirs`, a directory that is in the upper dir only because
 * such a mount point was made in it (its entries are all left out, and it
 * is new or differs from the image's only in times) is left out as well —
 * runc making /etc/hosts must not show as `C /etc`.
 */
import { closeSync, type BigIntStats } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { RootedFs } from './rooted-fs.js';
import { join, posix } from 'node:path';
import type { Readable } from 'node:stream';
import { SystemError } from '../errors.js';
import { SpecialFs, withSpecialFs } from './fs-special.js';
import { newHeader } from './tar-format.js';
import { ownerInContainer, type IdMap } from '../runtime/id-map.js';
import { entryFromStat, HardlinkTracker, packTar, type PackEntry } from './tar-pack.js';
import { byteOrder, walkTree, type TreeItem } from './tree-walk.js';
import type { UpperDirRemainder } from './upper-remainder.js';
import { isOpaqueDir, isWhiteoutDevice, OPAQUE_MARKER, WHITEOUT_PREFIX } from './whiteouts.js';

export interface Change {
  Path: string;
  /** Docker's kinds: 0 modified, 1 added, 2 deleted. */
  Kind: 0 | 1 | 2;
}

export interface DiffOptions {
  /** Clamp every mtime to this many seconds since the epoch (SOURCE_DATE_EPOCH). */
  sourceDateEpoch?: number;
  /** Container paths ("/etc/hostname") to leave out with everything below them; default `isEngineMountPoint`. */
  exclude?: Exclusion;
  /** The image's layer dirs (top-most first): lets directories changed only by mount points be left out too. */
  lowerDirs?: string[];
  /** Mount points whose parents may exist only for them; default the engine's files (/etc/hosts…). */
  mountPoints?: string[];
  /**
   * The user namespace maps the upper dir was written through
   * (`--userns-remap`): owners are written as the container saw them, so a
   * commit or build step of a remapped container makes the same layer as
   * one on the host. A host ID outside the maps becomes 65534 (the
   * overflow ID the container saw it as).
   */
  idMap?: IdMap;
  /**
   * Filled by the walk with what the upper dir holds that the tar leaves
   * out or spells differently, for committing the dir in place
   * (image/upper-remainder.ts).
   */
  remainder?: UpperDirRemainder;
}

const DEFAULT_MOUNT_POINTS = ['/etc/hostname', '/etc/hosts', '/etc/resolv.conf', '/etc/mtab', '/.dockerenv'];

/**
 * What a container's diff and commit leave out: the engine's mount points,
 * the container's own mounts (`destinations`), the /etc/mtab link, and the
 * directories that changed only because of them (judged against the
 * image's `lowerDirs`).
 */
export function containerDiffOptions(destinations: string[], lowerDirs: string[]): Required<Pick<DiffOptions, 'exclude' | 'lowerDirs' | 'mountPoints'>> {
  return { exclude: mountPointExclusions(destinations), lowerDirs, mountPoints: [...DEFAULT_MOUNT_POINTS, ...destinations] };
}

/** Whether a container path (its upper-dir entry's stat given) is left out of diffs and commits. */
export type Exclusion = (path: string, st?: BigIntStats) => boolean;

const ENGINE_MOUNT_FILES = new Set(['/etc/hostname', '/etc/hosts', '/etc/resolv.conf', '/.dockerenv']);
const ENGINE_MOUNT_TREES = ['/proc', '/sys', '/dev'];

/** Paths that exist in an upper dir only because the engine or runtime mounts something there. */
export function isEngineMountPoint(path: string): boolean {
  return ENGINE_MOUNT_FILES.has(path) || ENGINE_MOUNT_TREES.some((t) => path === t || path.startsWith(t + '/'));
}

/**
 * A container's exclusions: the engine's mount points, its own mounts'
 * destinations (volumes, binds, tmpfs) with everything below them, and
 * the /etc/mtab → /proc/mounts link every container gets (a link there;
 * an image's own file would be a change like any other).
 */
export function mountPointExclusions(destinations: string[]): Exclusion {
  const dests = destinations.map((d) => posix.normalize('/' + d).replace(/(.)\/+$/, '$1'));
  return (path, st) => isEngineMountPoint(path)
    || dests.some((d) => path === d || path.startsWith(d === '/' ? '/' : d + '/'))
    || (path === '/etc/mtab' && !!st?.isSymbolicLink());
}

/**
 * Directories of the upper dir that are there only to hold excluded mount
 * points: every entry in them is excluded (or such a directory itself), and
 * the image either lacks them or has them with the same mode and owner.
 * Only the parents of paths that `candidates` names can qualify.
 */
async function mountOnlyDirs(upperDir: string, lowers: LowerView, exclude: Exclusion, candidates: string[]): Promise<Set<string>> {
  const out = new Set<string>();
  const parents = new Set<string>();
  for (const c of candidates) for (let p = posix.dirname(c); p !== '/'; p = posix.dirname(p)) parents.add(p);
  // Deepest first, so a parent sees its mount-only children decided.
  const ordered = [...parents].sort((a, b) => b.split('/').length - a.split('/').length);
  const fs = await RootedFs.openDir(upperDir);
  try {
    for (const dir of ordered) {
      let place;
      try { place = await fs.resolve(dir, false); } catch { continue; }
      try {
        const st = await fs.lstat(place).catch(() => null);
        if (!st?.isDirectory() || place.path !== dir) continue;
        const handle = await fs.openDirAt(place);
        let names: string[];
        try { names = await readdir(handle.self); } finally { await handle.close(); }
        const onlyMounts = names.length > 0 && await everyAsync(names, async (n) => {
          const path = `${dir}/${n}`;
          if (out.has(path)) return true;
          const cst = await lstat(join(upperDir, path), { bigint: true }).catch(() => undefined);
          return exclude(path, cst);
        });
        if (!onlyMounts) continue;
        const lower = await lowers.stat(dir.slice(1));
        if (!lower || (lower.isDirectory() && lower.mode === st.mode && lower.uid === st.uid && lower.gid === st.gid)) out.add(dir);
      } finally {
        await place.dir.close();
      }
    }
  } finally {
    await fs.close();
  }
  return out;
}

async function everyAsync<T>(items: T[], pred: (t: T) => Promise<boolean>): Promise<boolean> {
  for (const i of items) if (!(await pred(i))) return false;
  return true;
}

/** The exclusion, widened by the directories that hold only excluded mount points (needs the lower dirs). */
async function withMountParents(upperDir: string, lowerDirs: string[] | undefined, exclude: Exclusion, candidates: string[], fsx: SpecialFs): Promise<Exclusion> {
  if (!lowerDirs) return exclude;
  const dirs = await mountOnlyDirs(upperDir, new LowerView(lowerDirs, fsx), exclude, candidates);
  return dirs.size ? (path, st) => dirs.has(path) || exclude(path, st) : exclude;
}

/** Upper-dir features whose presence makes a plain walk a wrong diff. */
const UNSUPPORTED_OVERLAY_XATTRS = ['trusted.overlay.redirect', 'trusted.overlay.metacopy', 'user.overlay.redirect', 'user.overlay.metacopy'];

function refuseUnsupported(item: TreeItem): void {
  for (const x of UNSUPPORTED_OVERLAY_XATTRS) {
    if (item.xattrs.has(x)) throw new SystemError(`cannot diff ${item.path}: overlay ${x.split('.').pop()} is in use (a walk of the upper dir would give a wrong layer)`);
  }
}

/** Whiteouts before their siblings (the OCI spec's advice), each group in byte order. */
function whiteoutsFirst(a: TreeItem, b: TreeItem): number {
  const wa = isWhiteoutDevice(a.st);
  const wb = isWhiteoutDevice(b.st);
  if (wa !== wb) return wa ? -1 : 1;
  return byteOrder(a.name, b.name);
}

function clamp(mtime: number, epoch: number | undefined): number {
  return epoch !== undefined && mtime > epoch ? epoch : mtime;
}

function parentOf(rel: string): string {
  const i = rel.lastIndexOf('/');
  return i === -1 ? '' : rel.slice(0, i + 1);
}

/**
 * The upper dir as an OCI layer tar, deterministic: sorted walk, whiteouts
 * first, no atime/ctime, no uname/gname. overlay whiteouts (0/0 char
 * devices) become empty regular files `.wh.X` (mode 0600, the device's
 * owner and mtime); an opaque directory D is followed at once by
 * `D/.wh..wh..opq` (D's permission bits and owner, mtime 0), as dockerd
 * writes them. Hard links inside the layer stay hard links. xattrs travel
 * as PAX records, except overlayfs' own and SELinux labels.
 */
export function diffUpperDir(upperDir: string, opts: DiffOptions = {}): Readable {
  const map = opts.idMap;
  if (!map) return packTar(() => diffEntries(upperDir, opts));
  return packTar(async function* (): AsyncGenerator<PackEntry> {
    for await (const e of diffEntries(upperDir, opts)) {
      Object.assign(e.header, ownerInContainer(map, e.header.uid, e.header.gid));
      yield e;
    }
  });
}

function diffEntries(upperDir: string, opts: DiffOptions): AsyncGenerator<PackEntry> {
  const exclude = opts.exclude ?? isEngineMountPoint;
  const epoch = opts.sourceDateEpoch;
  return (async function* (): AsyncGenerator<PackEntry> {
    const fsx = new SpecialFs();
    const hardlinks = new HardlinkTracker();
    try {
      const skip = await withMountParents(upperDir, opts.lowerDirs, exclude, opts.mountPoints ?? DEFAULT_MOUNT_POINTS, fsx);
      const remainder = opts.remainder;
      const skipped = (rel: string, st: BigIntStats) => {
        const out = skip('/' + rel, st);
        if (out) remainder?.omit(rel);
        return out;
      };
      const walk = walkTree(upperDir, { xattrs: true, skip: skipped, compare: whiteoutsFirst, openFiles: true });
      for await (const item of walk) {
        if (isWhiteoutDevice(item.st)) {
          remainder?.whiteout(item.rel, item.xattrs);
          yield {
            header: newHeader({
              name: parentOf(item.rel) + WHITEOUT_PREFIX + item.name, type: 'file', mode: 0o600,
              uid: Number(item.st.uid), gid: Number(item.st.gid), mtime: clamp(Number(item.st.mtimeNs / 1_000_000_000n), epoch),
            }),
          };
          continue;
        }
        try {
          refuseUnsupported(item);
        } catch (e) {
          if (item.fd !== undefined) closeSync(item.fd);
          throw e;
        }
        const entry = await entryFromStat(item.path, item.rel, item.st, { xattrs: item.xattrs, hardlinks, maxMtime: epoch, fd: item.fd, content: item.content, linkname: item.linkname });
        if (!entry) {
          remainder?.omit(item.rel);
          continue;
        }
        remainder?.entry(item.rel, item.st, item.xattrs, entry.header.type === 'file' ? entry.header.size : 0);
        yield entry;
        if (item.st.isDirectory() && isOpaqueDir(item.xattrs)) {
          yield {
            header: newHeader({
              name: `${item.rel}/${OPAQUE_MARKER}`, type: 'file', mode: Number(item.st.mode) & 0o777,
              uid: Number(item.st.uid), gid: Number(item.st.gid), mtime: 0,
            }),
          };
        }
      }
    } finally {
      await fsx.close();
    }
  })();
}

async function lstatOrNull(path: string): Promise<BigIntStats | null> {
  try {
    return await lstat(path, { bigint: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw e;
  }
}

/**
 * The merged view of a stack of lower dirs (top-most first) as overlayfs
 * shows it: a name whited out, or below an opaque directory or a
 * non-directory in a higher layer, is not there. (dockerd only asks whether
 * any lower layer has the name; this is the view the container saw.)
 */
class LowerView {
  private opaque = new Map<string, boolean>();
  constructor(private readonly layers: string[], private readonly fsx: SpecialFs) {}

  private async isOpaque(path: string): Promise<boolean> {
    let v = this.opaque.get(path);
    if (v === undefined) {
      v = isOpaqueDir(await this.fsx.listXattrs(path));
      this.opaque.set(path, v);
    }
    return v;
  }

  async stat(rel: string): Promise<BigIntStats | undefined> {
    const parts = rel.split('/');
    for (const layer of this.layers) {
      let ancestorsHere = true;
      let hidesBelow = false;
      for (let i = 1; i < parts.length; i++) {
        const p = join(layer, ...parts.slice(0, i));
        const st = await lstatOrNull(p);
        if (!st) { ancestorsHere = false; break; }
        if (!st.isDirectory()) return undefined; // a file, link or whiteout hides everything below
        if (await this.isOpaque(p)) hidesBelow = true;
      }
      if (ancestorsHere) {
        const st = await lstatOrNull(join(layer, rel));
        if (st) return isWhiteoutDevice(st) ? undefined : st;
      }
      if (hidesBelow) return undefined;
    }
    return undefined;
  }
}

/** dockerd's sameFsTime: equal, or equal seconds when either side lacks nanoseconds. */
function sameTime(a: bigint, b: bigint): boolean {
  const s = 1_000_000_000n;
  return a === b || (a / s === b / s && (a % s === 0n || b % s === 0n));
}

const MODIFIED = 0;
const ADDED = 1;
const DELETED = 2;

/**
 * Docker's change list for an upper dir over `lowerDirs` (top-most first),
 * in walk order: D for whiteouts and for opaque directories that hide
 * something below; A for names the lower layers do not have (or hide, below
 * an opaque directory); C for the
 * rest, except directories whose mode, size and mtime match the lower
 * directory. The parent of an A or D is listed as C unless already listed
 * (dockerd's rule, so `rm /etc/x` shows `C /etc` and `D /etc/x`).
 */
export async function listChanges(upperDir: string, lowerDirs: string[], opts: { exclude?: Exclusion; mountPoints?: string[] } = {}): Promise<Change[]> {
  return withSpecialFs(async (fsx) => {
    const exclude = await withMountParents(upperDir, lowerDirs, opts.exclude ?? isEngineMountPoint, opts.mountPoints ?? DEFAULT_MOUNT_POINTS, fsx);
    const lowers = new LowerView(lowerDirs, fsx);
    const changes: Change[] = [];
    const changedDirs = new Set<string>();
    /** Upper dirs that are opaque: nothing below them comes from the lower layers. */
    const opaqueUpper = new Set<string>();
    const belowOpaque = (rel: string) => {
      for (let i = rel.indexOf('/'); i !== -1; i = rel.indexOf('/', i + 1)) if (opaqueUpper.has(rel.slice(0, i))) return true;
      return false;
    };
    for await (const item of walkTree(upperDir, { xattrs: true, skip: (rel, st) => exclude('/' + rel, st) })) {
      const path = '/' + item.rel;
      const isDir = item.st.isDirectory();
      let kind: 0 | 1 | 2;
      if (isWhiteoutDevice(item.st)) {
        kind = DELETED;
      } else {
        const lower = belowOpaque(item.rel) ? undefined : await lowers.stat(item.rel);
        const opaque = isDir && isOpaqueDir(item.xattrs);
        if (opaque) opaqueUpper.add(item.rel);
        if (opaque && lower) kind = DELETED;
        else if (!lower) kind = ADDED;
        else if (isDir && lower.isDirectory() && lower.mode === item.st.mode && lower.size === item.st.size && sameTime(lower.mtimeNs, item.st.mtimeNs)) continue;
        else kind = MODIFIED;
      }
      if (isDir) changedDirs.add(path);
      if (kind !== MODIFIED) {
        const parent = posix.dirname(path);
        if (parent !== '/' && !changedDirs.has(parent)) {
          changes.push({ Path: parent, Kind: MODIFIED });
          changedDirs.add(parent);
        }
      }
      changes.push({ Path: path, Kind: kind });
    }
    return changes;
  });
}
