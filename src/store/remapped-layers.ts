/**
 * Chowned copies of layers for `--userns-remap` where idmapped mounts do
 * not work (kernel < 5.19, or a data root on a file system without them):
 * `remapped/<root uid>.<root gid>/<chain hex>/diff`, each a copy of the
 * layer whose owners are shifted into the remap's host IDs, as dockerd
 * keeps a whole data root per remap. A copy is made on first use, in tmp/
 * and renamed into place when complete, and goes with its layer
 * (LayerStore's garbage collection and start-up sweep).
 */
import { chmod, lchown, lstat, mkdir, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { SystemError } from '../errors.js';
import { mapDirName, toHost, type IdMap } from '../runtime/id-map.js';
import { copyTree } from './copy.js';
import type { LayerStore } from './layer-store.js';
import { hex, type DataPaths } from './paths.js';

export class RemappedLayers {
  private readonly inFlight = new Map<string, Promise<string>>();

  constructor(private readonly layers: LayerStore, private readonly paths: DataPaths) {}

  /** The copy's directory of one layer under one map. */
  diffOf(chainId: string, map: IdMap): string {
    return join(this.paths.remapped, mapDirName(map), hex(chainId), 'diff');
  }

  /** Overlay lower dirs (top-most first) of the chain up to `top`, copied for `map` where not yet. */
  async lowerDirs(top: string | null, map: IdMap): Promise<string[]> {
    const out: string[] = [];
    for (const rec of this.layers.chain(top)) out.unshift(await this.ensure(rec.chainId, map));
    return out;
  }

  /** One copy at a time per layer and map: two containers starting together share it. */
  private ensure(chainId: string, map: IdMap): Promise<string> {
    const key = `${mapDirName(map)}/${hex(chainId)}`;
    let p = this.inFlight.get(key);
    if (!p) {
      p = this.copy(chainId, map).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, p);
    }
    return p;
  }

  private async copy(chainId: string, map: IdMap): Promise<string> {
    const diff = this.diffOf(chainId, map);
    if (await lstat(diff).then(() => true, () => false)) return diff;
    const stage = join(this.paths.tmp, `remap-${randomBytes(8).toString('hex')}`);
    try {
      await mkdir(join(stage, 'diff'), { recursive: true });
      await copyTree(this.paths.layerDiff(chainId), join(stage, 'diff'));
      await shiftOwners(join(stage, 'diff'), map);
      await mkdir(join(this.paths.remapped, mapDirName(map)), { recursive: true, mode: 0o700 });
      await rename(stage, join(diff, '..'));
      return diff;
    } finally {
      await rm(stage, { recursive: true, force: true });
    }
  }
}

/**
 * Every file's owner moved from container IDs to the map's host IDs.
 * chown clears setuid/setgid bits: they are put back. An ID the map cannot
 * carry fails the copy (dockerd: "Container ID … cannot be mapped to a
 * host ID").
 */
async function shiftOwners(dir: string, map: IdMap): Promise<void> {
  const st = await lstat(dir);
  const uid = toHost(map.uidMappings, st.uid);
  const gid = toHost(map.gidMappings, st.gid);
  if (uid === undefined || gid === undefined) {
    throw new SystemError(`Container ID ${uid === undefined ? st.uid : st.gid} cannot be mapped to a host ID`);
  }
  await lchown(dir, uid, gid);
  if (!st.isSymbolicLink() && (st.mode & 0o6000)) await chmod(dir, st.mode & 0o7777);
  if (!st.isDirectory()) return;
  for (const name of await readdir(dir)) await shiftOwners(join(dir, name), map);
}
