/**
 * `berthd --userns-remap` (dockerd's flag): every container gets a user
 * namespace whose root is the remap user's first subordinate ID, unless it
 * asks for the host's (`--userns=host`, HostConfig.UsernsMode "host").
 *
 * How a remapped container sees the shared store:
 * - image layers stay as they are on disk, owned by container IDs, and
 *   are mounted idmapped (store/mounts.ts) where the kernel and the data
 *   root's file system allow it (checked once at start-up); elsewhere the
 *   container uses chowned copies kept per remap (store/remapped-layers.ts,
 *   dockerd's `<root>/<uid>.<gid>` in spirit);
 * - its upper dir, its /etc files and new volumes belong to the remapped
 *   root, so a file container root writes in a volume or bind mount
 *   belongs to the subordinate ID on the host;
 * - the runtime mounts the container's root file system and volumes from
 *   inside the namespace, as the remapped root: the data root, the
 *   container and volume directories and the exec root are group-owned by
 *   the remapped root's group (mode 0710, as dockerd's per-remap root), and
 *   every directory above the roots must let others through (dockerd
 *   refuses to start otherwise, with the same words).
 */
import { chown, chmod, readdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { InvalidParameterError, SystemError, errorMessage } from '../errors.js';
import { deleteUserns } from '../runtime/userns.js';
import { remappedRoot, type IdMap } from '../runtime/id-map.js';
import type { RemapIdentity } from '../runtime/remap-user.js';
import type { DataPaths } from '../store/paths.js';
import { idmappedOverlayWorks } from '../store/mounts.js';
import type { RemappedLayers } from '../store/remapped-layers.js';

/** How remapped containers see image layers. */
export type LayerSharing = 'idmapped' | 'copies';

export class UsernsRemap {
  readonly root: { uid: number; gid: number };
  /** The chowned copies (used when `layers` is 'copies'); the engine sets it once the layer store exists. */
  copies!: RemappedLayers;

  private constructor(readonly identity: RemapIdentity, readonly layers: LayerSharing) {
    this.root = remappedRoot(identity);
  }

  /**
   * Checks and prepares the roots, and decides how layers are shared.
   * `BERTH_USERNS_LAYER_COPIES=1` forces the chowned copies even where
   * idmapped mounts work (a test of that path, and a way out of a kernel
   * bug).
   */
  static async open(identity: RemapIdentity, paths: DataPaths): Promise<UsernsRemap> {
    const root = remappedRoot(identity);
    for (const top of [paths.dataRoot, paths.execRoot]) await checkAncestors(top, root);
    for (const d of [paths.dataRoot, paths.containers, paths.volumes, paths.execRoot]) {
      await chown(d, 0, root.gid);
      await chmod(d, 0o710);
    }
    const forced = process.env.BERTH_USERNS_LAYER_COPIES === '1';
    const idmapped = !forced && await idmappedOverlayWorks(paths.tmp, identity);
    return new UsernsRemap(identity, idmapped ? 'idmapped' : 'copies');
  }

  /** The maps of a container's user namespace, or undefined for one on the host's (`--userns=host`). */
  mapFor(hostConfig: { UsernsMode?: string }): IdMap | undefined {
    return hostConfig.UsernsMode === 'host' ? undefined : this.identity;
  }

  /** `docker info`'s SecurityOptions entry. */
  static readonly securityOption = 'name=userns';
}

/** Without `--userns-remap`: the roots go back to root's group (a daemon once remapped left theirs). */
export async function unremapRoots(paths: DataPaths): Promise<void> {
  for (const d of [paths.dataRoot, paths.containers, paths.volumes, paths.execRoot]) {
    const st = await stat(d).catch(() => undefined);
    if (st && st.gid !== 0) await chown(d, 0, 0);
  }
}

/**
 * HostConfig.UsernsMode, and what a remapped container cannot share with
 * the host (dockerd's verifyPlatformContainerSettings, word for word).
 * '' and 'private' are the daemon's default; 'host' opts out.
 */
export function checkUsernsMode(hc: { UsernsMode?: string; Privileged?: boolean; NetworkMode?: string; PidMode?: string }, remapped: boolean): void {
  const mode = hc.UsernsMode ?? '';
  if (mode !== '' && mode !== 'host' && mode !== 'private') throw new InvalidParameterError('--userns: invalid USER mode');
  if (!remapped || mode === 'host') return;
  if (hc.Privileged) {
    throw new InvalidParameterError('privileged mode is incompatible with user namespaces.  You must run the container in the host namespace when running privileged mode');
  }
  if (hc.NetworkMode === 'host') throw new InvalidParameterError("cannot share the host's network namespace when user namespaces are enabled");
  if (hc.PidMode === 'host') throw new InvalidParameterError('cannot share the host PID namespace when user namespaces are enabled');
}

/** Whether `uid`/`gid` may pass through directory `st` (its x bit for them). */
function traversable(st: { uid: number; gid: number; mode: number }, id: { uid: number; gid: number }): boolean {
  if (st.uid === id.uid) return (st.mode & 0o100) !== 0;
  if (st.gid === id.gid) return (st.mode & 0o010) !== 0;
  return (st.mode & 0o001) !== 0;
}

async function checkAncestors(top: string, root: { uid: number; gid: number }): Promise<void> {
  for (let d = dirname(top); d !== '/' && d !== '.'; d = dirname(d)) {
    const st = await stat(d).catch((e) => { throw new SystemError(`${d}: ${(e as Error).message}`); });
    if (!traversable(st, root)) {
      throw new InvalidParameterError(`a subdirectory in your graphroot path (${top}) restricts access to the remapped root uid/gid; please fix by allowing 'o+x' permissions on existing directories`);
    }
  }
}

/**
 * Start-up: user namespace files of containers not running (a crash
 * between a start and its undo, or an exit berthd did not see) are unbound.
 */
export async function sweepUsernsFiles(paths: DataPaths, running: (id: string) => boolean): Promise<void> {
  for (const id of await readdir(join(paths.execRoot, 'userns')).catch(() => [] as string[])) {
    if (!running(id)) await deleteUserns(paths.usernsFile(id)).catch((e) => console.error(`berthd: user namespace of ${id}: ${errorMessage(e)}`));
  }
}
