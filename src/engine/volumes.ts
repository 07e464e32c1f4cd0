/**
 * Volumes with the `local` driver: a directory under the data root, created
 * on demand by `-v name:/path`, by image VOLUMEs (anonymous) or by
 * `volume create`. In use = referenced by some container record, or held
 * by a container create in flight (its record is written last).
 */
import { randomBytes } from 'node:crypto';
import { chown, mkdir, rm, readdir, stat } from 'node:fs/promises';
import { ConflictError, InvalidParameterError, NotFoundError, NotImplementedError } from '../errors.js';
import type { DataPaths } from '../store/paths.js';
import type { VolumeRecord, VolumeStore } from '../store/volume-store.js';
import type { ContainerStore } from '../store/container-store.js';
import type { EventBus } from './events.js';
import type { Volume } from '../api/types/volume.js';

const nameRe = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

/**
 * moby `volume/service.AnonymousLabel`: set on every volume created without
 * a name (an image VOLUME, `-v /path`, `--mount type=volume` without a
 * source, `POST /volumes/create` without `Name`). Since API 1.42 `volume
 * prune` removes only volumes that carry it, unless `all=true`.
 */
export const ANONYMOUS_LABEL = 'com.docker.volume.anonymous';

/** The error dockerd gives when a volume would be made by a driver it has no plugin for (a 404). */
export function unknownVolumeDriver(volumeName: string, driver: string): NotFoundError {
  return new NotFoundError(`create ${volumeName}: error looking up volume plugin ${driver}: plugin "${driver}" not found`);
}

/** A fresh anonymous volume's name: 64 hex digits, as moby's stringid. */
export function randomVolumeName(): string {
  return randomBytes(32).toString('hex');
}

export interface VolumeCreateRequest {
  Name?: string;
  Driver?: string;
  DriverOpts?: Record<string, string>;
  Labels?: Record<string, string>;
}

/** The options dockerd's local volume driver knows (type, o and device mount a filesystem; size sets a quota). */
const LOCAL_DRIVER_OPTS = new Set(['type', 'o', 'device', 'size']);

export class VolumeService {
  constructor(
    private readonly store: VolumeStore,
    private readonly containers: ContainerStore,
    private readonly paths: DataPaths,
    private readonly events: EventBus,
  ) {}

  /**
   * Who owns a new volume's `_data`: root, or the remapped root under
   * `--userns-remap` (dockerd creates its volumes under the remapped root
   * the same way), so container root may write into a fresh volume.
   */
  dataOwner: { uid: number; gid: number } = { uid: 0, gid: 0 };

  /**
   * Volumes a container create in flight will mount, by that container's
   * ID: its record, which makes them in use, is written only at its end,
   * and a `volume rm` or `volume prune` meanwhile would leave it mounting
   * a volume that is gone. `create(…, holder)` takes the hold in the same
   * step that finds or makes the volume; `release(holder)` ends it.
   */
  private readonly holds = new Map<string, Set<string>>();

  /**
   * Creates a volume, or returns the existing one of that name. A volume
   * made without a name gets ANONYMOUS_LABEL, as in moby
   * `VolumesService.Create` (prune goes by it). `anonymous` says the volume
   * is a container mount's own, made for a mount without a source: `rm -v`
   * of that container removes it (moby `removeMountPoints` goes by the
   * mount, not the label, so a volume made by `POST /volumes/create` without
   * a name and mounted by its name is not one).
   */
  async create(req: VolumeCreateRequest, anonymous = false, holder?: string): Promise<VolumeRecord> {
    const unnamed = !req.Name;
    const name = req.Name || randomVolumeName();
    const driver = req.Driver || 'local';
    if (driver !== 'local') throw unknownVolumeDriver(name, driver);
    const opts = req.DriverOpts ?? {};
    if (!nameRe.test(name)) {
      throw new InvalidParameterError(`create ${name}: "${name}" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path`);
    }
    // The name first, then the options, as dockerd's local driver checks them; one it does not know is a typo, in its words.
    const unknown = Object.keys(opts).find((k) => !LOCAL_DRIVER_OPTS.has(k));
    if (unknown !== undefined) throw new InvalidParameterError(`create ${name}: invalid option: ${JSON.stringify(unknown)}`);
    if (Object.keys(opts).length > 0) {
      throw new NotImplementedError(`create ${name}: volume options (${Object.keys(opts).sort().join(', ')}) are not supported yet by berth's local driver`);
    }
    const existing = this.store.get(name);
    if (existing) return this.hold(existing, holder);
    await mkdir(this.paths.volumeData(name), { recursive: true, mode: 0o755 });
    if (this.dataOwner.uid !== 0 || this.dataOwner.gid !== 0) await chown(this.paths.volumeData(name), this.dataOwner.uid, this.dataOwner.gid);
    const rec = this.store.insert({
      Name: name, Driver: 'local', Mountpoint: this.paths.volumeData(name), CreatedAt: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      Labels: unnamed ? { ...(req.Labels ?? {}), [ANONYMOUS_LABEL]: '' } : (req.Labels ?? {}), Options: opts, Scope: 'local', Anonymous: anonymous,
    });
    this.events.emit('volume', 'create', name, { driver: 'local' });
    return this.hold(rec, holder);
  }

  private hold(v: VolumeRecord, holder: string | undefined): VolumeRecord {
    if (holder) {
      const held = this.holds.get(holder) ?? new Set<string>();
      held.add(v.Name);
      this.holds.set(holder, held);
    }
    return v;
  }

  /** Ends the holds of a container create (its record now says which volumes it uses, or it failed). */
  release(holder: string): void {
    this.holds.delete(holder);
  }

  inspect(name: string): VolumeRecord {
    const v = this.store.get(name);
    if (!v) throw new NotFoundError(`get ${name}: no such volume`);
    return v;
  }

  list(): VolumeRecord[] { return this.store.list(); }

  /** Names of containers whose mounts reference the volume. */
  users(name: string): string[] {
    const ids = this.containers.all().filter((c) => c.Mounts.some((m) => m.Type === 'volume' && m.Name === name)).map((c) => c.Id);
    for (const [holder, held] of this.holds) if (held.has(name) && !ids.includes(holder)) ids.push(holder);
    return ids;
  }

  /** Removes a volume no container uses; `exceptUser` is a container being removed itself (`rm -v`). */
  async remove(name: string, force = false, exceptUser?: string): Promise<void> {
    const v = this.store.get(name);
    if (!v) {
      if (force) return;
      throw new NotFoundError(`get ${name}: no such volume`);
    }
    const users = this.users(name).filter((id) => id !== exceptUser);
    if (users.length > 0) throw new ConflictError(`remove ${name}: volume is in use - [${users.join(', ')}]`);
    this.store.delete(name);
    await rm(this.paths.volumeDir(name), { recursive: true, force: true });
    this.events.emit('volume', 'destroy', name, { driver: 'local' });
  }

  /**
   * Removes unused volumes, like `volume prune [-a]`: without `all` only the
   * anonymous ones (those labelled ANONYMOUS_LABEL, and records from before
   * berth set it); `label` must all match, `labelNot` none (moby's `label!`).
   */
  async prune(filters: { all?: boolean; label?: string[]; labelNot?: string[] } = {}): Promise<{ VolumesDeleted: string[]; SpaceReclaimed: number }> {
    const deleted: string[] = [];
    let space = 0;
    for (const v of this.store.list()) {
      if (!filters.all && !v.Anonymous && v.Labels?.[ANONYMOUS_LABEL] === undefined) continue;
      if (filters.label && !filters.label.every((l) => matchLabel(v.Labels, l))) continue;
      if (filters.labelNot && filters.labelNot.some((l) => matchLabel(v.Labels, l))) continue;
      if (this.users(v.Name).length > 0) continue;
      space += await duBytes(v.Mountpoint);
      await this.remove(v.Name);
      deleted.push(v.Name);
    }
    return { VolumesDeleted: deleted, SpaceReclaimed: space };
  }
}

/** The Engine API's view of a volume record (berth's own bookkeeping, `Anonymous`, stays out). */
export function volumeView(v: VolumeRecord): Volume {
  return { CreatedAt: v.CreatedAt, Driver: v.Driver, Labels: v.Labels, Mountpoint: v.Mountpoint, Name: v.Name, Options: v.Options, Scope: v.Scope };
}

export function matchLabel(labels: Record<string, string> | null | undefined, filter: string): boolean {
  const eq = filter.indexOf('=');
  if (eq < 0) return labels?.[filter] !== undefined;
  return labels?.[filter.slice(0, eq)] === filter.slice(eq + 1);
}

/** Bytes of regular files under `dir` (apparent size, like `du -sb`). */
export async function duBytes(dir: string): Promise<number> {
  let total = 0;
  let entries: import('node:fs').Dirent[];
  try { entries = await readdir(dir, { withFileTypes: true }); } catch { return 0; }
  for (const e of entries) {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory()) total += await duBytes(p);
    else if (e.isFile()) total += (await stat(p)).size;
  }
  return total;
}
