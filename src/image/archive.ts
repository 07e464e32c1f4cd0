/**
 * The `docker cp` and `docker export` side: archives of a container's
 * mounted root filesystem (the overlay `merged` dir, a plain host path) and
 * extraction into it.
 *
 * Paths (dockerd's `ResolvePath`): a container path is made absolute and
 * cleaned; every symlink in its parent directories is followed inside the
 * root; the last component is followed only when the path ends in `/` or
 * `/.` — so `cp c:/link -` copies the link itself and `cp c:/link/ -` what
 * it points to.
 *
 * Ownership on extraction (dockerd's behaviour, which differs from its
 * docs): entries keep the uid/gid in the tar — the CLI sends the local
 * owner. With `copyUIDGID` (`cp -a`) and an `owner`, every entry is owned by
 * `owner` instead: the caller passes the container's `Config.User` resolved
 * to ids, as dockerd does; without `owner` (no `User`) it is the same as the
 * default.
 *
 * Limits: a running container can swap a directory for a symlink between
 * our check of a parent and the write below it (dockerd avoids that with a
 * chroot). The final component is never followed, but callers that care
 * should pause the container around `extractToRoot`.
 */
import type { BigIntStats } from 'node:fs';
import { lstat, mkdir } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { Readable } from 'node:stream';
import { InvalidParameterError, NotFoundError } from '../errors.js';
import { uncompressed } from './decompress.js';
import { EntryWriter } from './entry-write.js';
import { SpecialFs } from './fs-special.js';
import { containerPathOf, resolveInRoot } from './root-path.js';
import { readTar } from './tar-format.js';
import { entryFromStat, HardlinkTracker, packTar, type PackEntry } from './tar-pack.js';
import { walkTree } from './tree-walk.js';

export { resolveInRoot } from './root-path.js';

/** What `X-Docker-Container-Path-Stat` carries (base64 of its JSON). */
export interface PathStat {
  name: string;
  size: number;
  /** Go os.FileMode bits, as dockerd sends them. */
  mode: number;
  /** RFC 3339 with nanoseconds, UTC. */
  mtime: string;
  /** For a symlink: the container path it finally resolves to. */
  linkTarget: string;
}

const GO_MODE = {
  dir: 2 ** 31, symlink: 2 ** 27, device: 2 ** 26, namedPipe: 2 ** 25, socket: 2 ** 24,
  setuid: 2 ** 23, setgid: 2 ** 22, charDevice: 2 ** 21, sticky: 2 ** 20,
};

/** Go's os.FileMode for a stat (type bits high, permissions low). Sums, not `|`: bit 31 overflows int32. */
export function goFileMode(st: BigIntStats): number {
  const mode = Number(st.mode);
  let m = mode & 0o777;
  if (mode & 0o4000) m += GO_MODE.setuid;
  if (mode & 0o2000) m += GO_MODE.setgid;
  if (mode & 0o1000) m += GO_MODE.sticky;
  if (st.isDirectory()) m += GO_MODE.dir;
  else if (st.isSymbolicLink()) m += GO_MODE.symlink;
  else if (st.isFIFO()) m += GO_MODE.namedPipe;
  else if (st.isSocket()) m += GO_MODE.socket;
  else if (st.isBlockDevice()) m += GO_MODE.device;
  else if (st.isCharacterDevice()) m += GO_MODE.device + GO_MODE.charDevice;
  return m;
}

/** Go's RFC3339Nano (trailing zeros of the fraction dropped), in UTC. */
export function rfc3339Nano(ns: bigint): string {
  const s = 1_000_000_000n;
  let sec = ns / s;
  let frac = ns % s;
  if (frac < 0n) { frac += s; sec -= 1n; }
  const base = new Date(Number(sec) * 1000).toISOString().slice(0, 19);
  const f = frac === 0n ? '' : '.' + frac.toString().padStart(9, '0').replace(/0+$/, '');
  return `${base}${f}Z`;
}

interface Located {
  hostPath: string;
  /** Cleaned absolute container path (no trailing slash). */
  absPath: string;
  /** Base name as dockerd reports it and names archive entries: '.', '/' or the last component. */
  name: string;
  /** The path ended in `/` or `/.`: its last symlink was followed and it must be a directory. */
  followed: boolean;
}

function locate(root: string, containerPath: string): Located {
  const dot = containerPath === '.' || containerPath.endsWith('/.');
  const followed = dot || containerPath.endsWith('/');
  const absPath = posix.normalize('/' + containerPath).replace(/(.)\/+$/, '$1');
  const name = dot ? '.' : absPath === '/' ? '/' : posix.basename(absPath);
  const hostPath = followed || absPath === '/'
    ? resolveInRoot(root, absPath)
    : join(resolveInRoot(root, posix.dirname(absPath)), posix.basename(absPath));
  return { hostPath, absPath, name, followed };
}

async function statLocated(loc: Located, containerPath: string): Promise<BigIntStats> {
  let st: BigIntStats;
  try {
    st = await lstat(loc.hostPath, { bigint: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new NotFoundError(`no such file or directory: ${containerPath}`);
    throw e;
  }
  if (loc.followed && !st.isDirectory()) throw new InvalidParameterError(`not a directory: ${containerPath}`);
  return st;
}

/** `HEAD /containers/{id}/archive`: the stat dockerd puts in `X-Docker-Container-Path-Stat`. */
export async function statInRoot(root: string, containerPath: string): Promise<PathStat> {
  const loc = locate(root, containerPath);
  const st = await statLocated(loc, containerPath);
  return {
    name: loc.name,
    size: Number(st.size),
    mode: goFileMode(st),
    mtime: rfc3339Nano(st.mtimeNs),
    linkTarget: st.isSymbolicLink() ? containerPathOf(root, resolveInRoot(root, loc.absPath)) : '',
  };
}

async function* treeEntries(top: string, nameOf: (rel: string) => string, includeRoot: boolean): AsyncGenerator<PackEntry> {
  const fsx = new SpecialFs();
  const hardlinks = new HardlinkTracker();
  try {
    for await (const item of walkTree(top, { includeRoot, xattrs: fsx })) {
      const entry = await entryFromStat(item.path, nameOf(item.rel), item.st, { xattrs: item.xattrs, hardlinks });
      if (entry) yield entry;
    }
  } finally {
    await fsx.close();
  }
}

/**
 * `GET /containers/{id}/archive`: a tar of the path, recursive for a
 * directory, its entries named from the requested base name (`foo/…`,
 * `./…` for `dir/.`, `/…` for the root) as dockerd names them.
 */
export function archiveFromRoot(root: string, containerPath: string): Readable {
  return packTar(async function* () {
    const loc = locate(root, containerPath);
    await statLocated(loc, containerPath);
    const prefix = loc.name === '/' ? '' : loc.name;
    yield* treeEntries(loc.hostPath, (rel) => (rel === '' ? loc.name : `${prefix}/${rel}`), true);
  });
}

/** `GET /containers/{id}/export`: the whole root, entries named relative to it (`bin/`, `etc/passwd`), no entry for the root. */
export function exportRoot(root: string): Readable {
  return packTar(() => treeEntries(root, (rel) => rel, false));
}

/** An archive entry's name relative to the extraction dir; a leading `/` is relative too (dockerd joins it). */
function copyEntryName(raw: string, what: string): string {
  const n = posix.normalize(raw.replace(/^\/+/, '') || '.').replace(/\/+$/, '');
  if (n === '..' || n.startsWith('../')) throw new InvalidParameterError(`${what} ${raw} is outside of the extraction directory`);
  return n === '.' ? '' : n;
}

/** The host path of a container directory, creating missing directories (0755, root) inside the root. */
async function ensureDirInRoot(root: string, absDir: string): Promise<string> {
  const host = resolveInRoot(root, absDir);
  let st;
  try {
    st = await lstat(host);
  } catch (e) {
    // Work on the resolved path: its missing tail has no symlinks left to follow.
    const resolved = containerPathOf(root, host);
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || resolved === '/') throw e;
    await ensureDirInRoot(root, posix.dirname(resolved));
    await mkdir(host, { mode: 0o755 });
    return host;
  }
  if (!st.isDirectory()) throw new InvalidParameterError(`cannot extract below ${absDir}: not a directory`);
  return host;
}

/** A tar entry's content in one buffer (small files only). */
async function collectBody(body: AsyncIterable<Buffer> | Iterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of body) chunks.push(c);
  return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
}

/**
 * Small files of an archive written while the next entries are read: one
 * after the other, each file's open/write/chown/chmod/close/utimes waits its
 * thread-pool round trips, most of the time a build context takes to unpack.
 * A name written twice waits for its first write; at most MAX_IN_FLIGHT run.
 */
class PendingWrites {
  static readonly MAX_FILE = 1 << 20;
  private static readonly MAX_IN_FLIGHT = 16;
  private readonly inFlight = new Map<string, Promise<unknown>>();
  private failure: { error: unknown } | undefined;

  async add(target: string, write: () => Promise<unknown>): Promise<void> {
    this.rethrow();
    const earlier = this.inFlight.get(target);
    if (earlier) await earlier;
    while (this.inFlight.size >= PendingWrites.MAX_IN_FLIGHT) await Promise.race(this.inFlight.values());
    this.rethrow();
    const p: Promise<unknown> = write().then(
      () => { if (this.inFlight.get(target) === p) this.inFlight.delete(target); },
      (error: unknown) => { this.failure ??= { error }; if (this.inFlight.get(target) === p) this.inFlight.delete(target); },
    );
    this.inFlight.set(target, p);
  }

  /** Waits for every write; throws the first failure. */
  async settle(): Promise<void> {
    await this.abandon();
    this.rethrow();
  }

  /** Waits for what is still running (after an error), so the caller's clean-up finds nothing being written. */
  async abandon(): Promise<void> {
    while (this.inFlight.size) await Promise.all(this.inFlight.values());
  }

  private rethrow(): void {
    if (this.failure) throw this.failure.error;
  }
}

export interface ExtractOptions {
  /** Refuse to replace a directory with a non-directory or the reverse (the CLI always asks for this). */
  noOverwriteDirNonDir?: boolean;
  /** `docker cp -a`: own every entry by `owner` when given. */
  copyUIDGID?: boolean;
  /** The container user's uid/gid (its `Config.User` resolved), used with `copyUIDGID`. */
  owner?: { uid: number; gid: number };
}

/**
 * `PUT /containers/{id}/archive`: extracts a tar (gzip accepted) into the
 * existing directory `containerDir`. Every entry's parent is resolved with
 * `resolveInRoot`, so symlinks in the container are followed as the
 * container sees them and nothing lands outside `root`; names that climb
 * above `containerDir` are refused, as are hard links whose target does.
 */
export async function extractToRoot(root: string, containerDir: string, tar: Readable, opts: ExtractOptions = {}): Promise<void> {
  const fsx = new SpecialFs();
  try {
    const destHost = resolveInRoot(root, containerDir);
    let st;
    try {
      st = await lstat(destHost);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFoundError(`no such directory: ${containerDir}`);
      throw e;
    }
    if (!st.isDirectory()) throw new InvalidParameterError('extraction point is not a directory');
    const dest = containerPathOf(root, destHost);
    const writer = new EntryWriter({
      fsx, noOverwriteDirNonDir: opts.noOverwriteDirNonDir, owner: opts.copyUIDGID ? opts.owner : undefined,
    });
    const pending = new PendingWrites();
    try {
      for await (const { header: h, body } of readTar(uncompressed(tar))) {
        const rel = copyEntryName(h.name, 'tar entry');
        if (rel === '') continue; // "./": the extraction dir keeps its own metadata
        const abs = posix.join(dest, rel);
        // Only small regular files are written in the background; anything else
        // may change what later names resolve to, so it waits for them all.
        const background = h.type === 'file' && h.size <= PendingWrites.MAX_FILE;
        if (!background) await pending.settle();
        const target = join(await ensureDirInRoot(root, posix.dirname(abs)), posix.basename(abs));
        if (background) {
          const content = await collectBody(body);
          await pending.add(target, () => writer.write(target, h, [content], abs));
          continue;
        }
        let linkTarget: string | undefined;
        if (h.type === 'link') {
          const lrel = copyEntryName(h.linkname, 'hard link target');
          const labs = posix.join(dest, lrel);
          linkTarget = join(resolveInRoot(root, posix.dirname(labs)), posix.basename(labs));
          const lst = await lstat(linkTarget).catch(() => null);
          if (!lst) throw new InvalidParameterError(`tar entry ${h.name}: hard link target ${h.linkname} does not exist`);
          if (lst.isDirectory()) throw new InvalidParameterError(`tar entry ${h.name}: hard link to a directory`);
        }
        await writer.write(target, h, body, abs, linkTarget);
      }
      await pending.settle();
    } finally {
      await pending.abandon();
    }
    await writer.finish();
  } catch (e) {
    tar.destroy();
    throw e;
  } finally {
    await fsx.close();
  }
}
