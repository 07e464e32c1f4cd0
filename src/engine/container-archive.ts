/**
 * A container's files as the container sees them: what `docker cp` (archive
 * HEAD, GET, PUT) and `docker export` work on, and what `docker diff` lists. The API handlers only
 * translate HTTP; the view, the container's state, read-only rootfs and
 * mounts, and clean-up are decided here.
 *
 * The view (image/rooted-fs.ts explains the race-free walk):
 * - running or paused: the root of the container's init process,
 *   `/proc/<pid>/root`, so volumes, binds, tmpfs and the /etc files are the
 *   ones the container has mounted. The pid is checked to still be the
 *   container's (its cgroup) through the same `/proc/<pid>` handle the root
 *   was opened from, so a reused pid cannot hand us another process's root.
 * - created or stopped: the overlay (mounted for the call, the container's
 *   operation queue held so it cannot start meanwhile) with its volumes,
 *   binds and the /etc files applied by the walker, as dockerd mounts them
 *   for cp. A container that never started gets its /etc files written now
 *   (without addresses, which only start assigns). tmpfs mounts of a
 *   container that is not running have no content and are not there. A
 *   volume mount with a Subpath shows that subpath only, opened and bound
 *   for the call as a start binds it (engine/volume-subpath.ts: symlinks
 *   refused, the checked inode mounted, never a joined path).
 * - export: the container's rootfs alone (the overlay, without volumes or
 *   binds), as dockerd exports it; walked through the same rooted walker.
 */
import * as fsCb from 'node:fs';
import { constants } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { ForbiddenError, NotFoundError } from '../errors.js';
import { archiveFrom, exportFrom, extractInto, statIn, type PathStat } from '../image/archive.js';
import { containerDiffOptions, listChanges, type Change } from '../image/layer-diff.js';
import { O_PATH, openFd, RootedFs, type RootMount } from '../image/rooted-fs.js';
import type { ContainerRecord, MountPoint } from '../store/container-store.js';
import type { DataPaths } from '../store/paths.js';
import { etcFilePaths, writeEtcFiles } from './container-files.js';
import type { ContainerService } from './containers.js';
import type { ImageService } from './images.js';
import type { ResolvedMount } from './container-mounts.js';
import { bindSubpaths, subpathDir } from './volume-subpath.js';
import { cgroupOfContainer, inCgroup } from '../runtime/cgroup-path.js';

const closeFd = promisify(fsCb.close);

/** Ends a tar stream and waits until its walk has let go of every descriptor (before the view's root is closed). */
async function ended(tar: Readable): Promise<void> {
  if (tar.closed) return;
  await new Promise<void>((resolve) => { tar.once('close', () => resolve()); tar.destroy(); });
}

export interface PutOptions {
  noOverwriteDirNonDir?: boolean;
  copyUIDGID?: boolean;
}

interface View {
  fs: RootedFs;
  c: ContainerRecord;
  /** The container's processes run in this view (kernel file systems such as /proc are mounted in it). */
  live: boolean;
}

/**
 * The root of process `pid` if it is still container `id`'s: opened through
 * a `/proc/<pid>` descriptor, which stops working when that process exits,
 * and its cgroup read through the same descriptor afterwards.
 */
async function openProcessRoot(pid: number, cgroupsPath: string): Promise<number | null> {
  let proc: number;
  try {
    proc = await openFd(`/proc/${pid}`, O_PATH | constants.O_DIRECTORY);
  } catch {
    return null;
  }
  try {
    const root = await openFd(`/proc/self/fd/${proc}/root`, O_PATH | constants.O_DIRECTORY).catch(() => null);
    if (root === null) return null;
    // The same test as the engine's inContainerCgroup (containers.ts): the process is in the container's own cgroup.
    const cgroup = await readFile(`/proc/self/fd/${proc}/cgroup`, 'utf8').catch(() => '');
    if (!inCgroup(cgroup, cgroupsPath)) { await closeFd(root); return null; }
    return root;
  } finally {
    await closeFd(proc);
  }
}

/** The mount that holds container path `path` (the deepest destination at or above it), dockerd's `HasResource`. */
function mountHolding(mounts: MountPoint[], path: string): MountPoint | undefined {
  let best: MountPoint | undefined;
  for (const m of mounts) {
    const d = posix.normalize(m.Destination);
    if ((path === d || path.startsWith(d === '/' ? '/' : d + '/')) && (!best || d.length > best.Destination.length)) best = m;
  }
  return best;
}

export class ContainerArchive {
  constructor(private readonly containers: ContainerService, private readonly images: ImageService, private readonly paths: DataPaths) {}

  /**
   * The mounts a stopped container's view applies: its /etc files, then its
   * volumes and binds. `release` unmounts the Subpath binds made for them
   * (after the view is closed); the caller holds the container's queue.
   */
  private async stoppedMounts(c: ContainerRecord): Promise<{ mounts: RootMount[]; release: () => Promise<void> }> {
    const dir = this.paths.containerDir(c.Id);
    const etc = etcFilePaths(dir);
    if (!(await stat(etc.hosts).catch(() => null))) {
      await writeEtcFiles(dir, { hostname: c.Config.Hostname, domainname: c.Config.Domainname, networkMode: c.HostConfig.NetworkMode });
    }
    const mounts: RootMount[] = [];
    const user = new Set(c.Mounts.map((m) => posix.normalize(m.Destination)));
    for (const [destination, source] of [['/etc/resolv.conf', etc.resolvConf], ['/etc/hostname', etc.hostname], ['/etc/hosts', etc.hosts]]) {
      if (!user.has(destination)) mounts.push({ destination, source, file: true });
    }
    // A Subpath is the container's to change: walked and bound as a start does (a refusal fails the call, as in dockerd).
    const subpaths = await bindSubpaths(c.Mounts as ResolvedMount[], subpathDir(this.paths.execRoot, c.Id));
    try {
      for (const m of c.Mounts as ResolvedMount[]) {
        if (m.Type === 'tmpfs' || !m.Source) continue;
        const source = subpaths.sources.get(m) ?? m.Source;
        const st = await stat(source).catch(() => null);
        if (!st) continue; // a bind whose source is gone: dockerd would fail to start it; cp sees the mount point
        mounts.push({ destination: posix.normalize(m.Destination), source, file: !st.isDirectory() });
      }
    } catch (e) {
      await subpaths.release();
      throw e;
    }
    return { mounts, release: subpaths.release };
  }

  /** Runs `fn` on the container's own view and closes it afterwards. */
  private async withView<T>(nameOrId: string, fn: (v: View) => Promise<T>): Promise<T> {
    const c = this.containers.lookup(nameOrId);
    if (c.State.Running && c.State.Pid > 0) {
      const root = await openProcessRoot(c.State.Pid, cgroupOfContainer(c));
      if (root !== null) {
        const fs = new RootedFs(root);
        try {
          return await fn({ fs, c, live: true });
        } finally {
          await fs.close();
        }
      }
    }
    return this.containers.withRootfs(nameOrId, async (rootfs, cur) => {
      const { mounts, release } = await this.stoppedMounts(cur);
      try {
        const fs = await RootedFs.openDir(rootfs, mounts);
        try {
          return await fn({ fs, c: cur, live: false });
        } finally {
          await fs.close();
        }
      } finally {
        await release();
      }
    });
  }

  /** dockerd's "Could not find the file" for whatever was not found in the container. */
  private notFound(e: unknown, path: string, nameOrId: string): unknown {
    if (e instanceof NotFoundError && !e.message.startsWith('No such container')) {
      return new NotFoundError(`Could not find the file ${path} in container ${nameOrId}`, { cause: e });
    }
    return e;
  }

  /** `HEAD /containers/{id}/archive`. */
  async stat(nameOrId: string, path: string): Promise<PathStat> {
    return this.withView(nameOrId, ({ fs }) => statIn(fs, path)).catch((e) => { throw this.notFound(e, path, nameOrId); });
  }

  /**
   * `GET /containers/{id}/archive`: `send` gets the path's stat and its tar
   * (errors about the path come before it is called) and must consume the
   * tar before it returns; the view is closed afterwards.
   */
  async get(nameOrId: string, path: string, send: (stat: PathStat, tar: Readable) => Promise<void>): Promise<void> {
    await this.withView(nameOrId, async ({ fs, live, c }) => {
      let found: { stat: PathStat; tar: Readable };
      try {
        found = await archiveFrom(fs, path, { skipPseudoFs: live, idMap: this.containers.idMapOf(c) });
      } catch (e) {
        throw this.notFound(e, path, nameOrId);
      }
      try {
        await send(found.stat, found.tar);
      } finally {
        await ended(found.tar);
      }
    });
  }

  /**
   * `PUT /containers/{id}/archive`: extracts `tar` into the directory
   * `path`. Refused (403, as dockerd) when the directory lies in a
   * read-only volume or bind, or on a read-only rootfs outside any mount.
   * On an error `tar` is left as it is, for the caller to drain.
   */
  async put(nameOrId: string, path: string, tar: Readable, opts: PutOptions = {}): Promise<void> {
    await this.withView(nameOrId, async ({ fs, c }) => {
      let resolved: string;
      try {
        const place = await fs.resolve(path, true);
        await place.dir.close();
        resolved = place.path;
      } catch (e) {
        throw this.notFound(e, path, nameOrId);
      }
      // The mount a resolved path lies on, asked for the destination and again for every entry.
      const mountAt = (p: string) => {
        const m = mountHolding(c.Mounts, p);
        return { id: m ? m.Destination : '', writable: m ? m.RW : !c.HostConfig.ReadonlyRootfs };
      };
      const at = mountAt(resolved);
      if (!at.writable) throw new ForbiddenError(at.id ? 'mounted volume is marked read-only' : 'container rootfs is marked read-only');
      await extractInto(fs, path, tar, { noOverwriteDirNonDir: opts.noOverwriteDirNonDir, copyUIDGID: opts.copyUIDGID, mountAt, idMap: this.containers.idMapOf(c) })
        .catch((e) => {
          if ((e as NodeJS.ErrnoException).code === 'EROFS') throw new ForbiddenError('container rootfs is marked read-only', { cause: e });
          throw this.notFound(e, path, nameOrId);
        });
    });
  }

  /** `GET /containers/{id}/changes`: what the container changed, without its mount points and what exists only for them. */
  async changes(nameOrId: string): Promise<Change[]> {
    const c = this.containers.lookup(nameOrId);
    const img = this.images.store.get(c.Image);
    const lowers = img ? this.images.layers.lowerDirs(img.topLayer) : [];
    const upper = join(this.paths.containerDir(c.Id), 'upper');
    return listChanges(upper, lowers, containerDiffOptions(c.Mounts.map((m) => m.Destination), lowers));
  }

  /** `GET /containers/{id}/export`: `send` consumes the tar of the container's rootfs (no volumes, no binds). */
  async export(nameOrId: string, send: (tar: Readable) => Promise<void>): Promise<void> {
    const idMap = this.containers.idMapOf(this.containers.lookup(nameOrId));
    await this.containers.withRootfs(nameOrId, async (rootfs) => {
      const fs = await RootedFs.openDir(rootfs);
      const tar = exportFrom(fs, { idMap });
      try {
        await send(tar);
      } finally {
        await ended(tar);
        await fs.close();
      }
    });
  }
}
