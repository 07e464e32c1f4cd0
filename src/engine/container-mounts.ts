/**
 * Mounts of a container, from `-v`/`Binds`, `--mount`/`Mounts`, `--tmpfs`,
 * `--volumes-from` and the image's VOLUMEs (anonymous volumes), resolved at
 * create time into Docker's `Mounts` list (what inspect shows) and turned into
 * OCI mounts at start.
 */
import { isAbsolute, posix } from 'node:path';
import { existsSync, mkdirSync } from 'node:fs';
import { InvalidParameterError, NotFoundError, NotImplementedError, SystemError } from '../errors.js';
import type { ContainerRecord, MountPoint } from '../store/container-store.js';
import { randomVolumeName, unknownVolumeDriver } from './volumes.js';

export interface MountRequestContext {
  /** Creates (or returns) a named volume; `anonymous` for `-v /path` and image VOLUMEs. */
  ensureVolume(name: string | undefined, anonymous: boolean, labels?: Record<string, string>): Promise<{ Name: string; Mountpoint: string }>;
  /** Finds a container for --volumes-from. */
  lookupContainer(nameOrId: string): ContainerRecord;
}

/**
 * tmpfs destinations keep their options here (Docker keeps them in
 * HostConfig.Tmpfs); a volume mount's `Subpath` (API 1.45
 * `VolumeOptions.Subpath`) names the directory or file inside the volume
 * that is mounted instead of the whole volume (Source stays the volume's
 * mount point, as dockerd's inspect shows it).
 */
export interface ResolvedMount extends MountPoint { TmpfsOptions?: string; NoCopy?: boolean; Subpath?: string }

const PROPAGATIONS = new Set(['private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave']);

function cleanDest(dest: string, raw: string): string {
  if (!dest || !dest.startsWith('/')) throw new InvalidParameterError(`invalid mount config: mount path must be absolute: ${raw}`);
  const d = posix.normalize(dest);
  if (d === '/') throw new InvalidParameterError(`invalid specification: destination can't be '/' in '${raw}'`);
  return d.replace(/\/$/, '');
}

/**
 * Parses one `Binds` entry: `name:/dst[:opts]`, `/host:/dst[:opts]`, or
 * `/dst` alone (an anonymous volume, moby's linux parser; the docker CLI
 * sends `-v /dst` as Config.Volumes, other clients send it here).
 */
function parseBind(spec: string): { source: string; dest: string; opts: string[] } {
  const parts = spec.split(':');
  if (parts.length === 1 && parts[0] !== '') return { source: '', dest: parts[0], opts: [] };
  // An empty source before a colon (`:/dst`) is no anonymous volume: moby's parser refuses it.
  if (parts.length < 2 || parts.length > 3 || parts[0] === '') throw new InvalidParameterError(`invalid volume specification: '${spec}'`);
  return { source: parts[0], dest: parts[1], opts: parts[2] ? parts[2].split(',') : [] };
}

/**
 * Go's filepath.IsLocal: not empty, not absolute, and never above its start
 * once `..` are applied (`a/../b` is local, `a/../../b` is not).
 */
function isLocalPath(p: string): boolean {
  if (p === '' || p.startsWith('/')) return false;
  const clean = posix.normalize(p);
  return clean !== '..' && !clean.startsWith('../');
}

/**
 * The volume driver a volume is made by: the mount's own, else the
 * container's `VolumeDriver`, else local. berth has only the local driver
 * and no plugins: any other name fails where dockerd would fail to find its
 * plugin, when a volume is made or looked up through it (a container that
 * names a driver but mounts no volume is created, as with dockerd).
 */
function checkDriver(driver: string | undefined, volumeName: string | undefined): void {
  if (driver && driver !== 'local') throw unknownVolumeDriver(volumeName ?? randomVolumeName(), driver);
}

/** Mount types the Engine API defines; berth mounts bind, volume and tmpfs. */
const API_MOUNT_TYPES = new Set(['bind', 'volume', 'tmpfs', 'image', 'npipe', 'cluster']);

/**
 * moby's validateMountConfig on what a `Mounts` entry may carry for its type:
 * options of another type (`BindOptions` on a volume, `VolumeOptions` on a
 * bind, a tmpfs `Source`) are refused rather than ignored, as is a
 * propagation mode Linux has not and a type the API does not know.
 */
function checkMountFields(m: Record<string, any>): void {
  const invalid = (why: string) => new InvalidParameterError(`invalid mount config for type "${m.Type ?? ''}": ${why}`);
  const extra = (field: string) => invalid(`field ${field} must not be specified`);
  const given = (v: unknown) => v !== undefined && v !== null;
  switch (m.Type) {
    case 'bind': {
      const propagation = m.BindOptions?.Propagation;
      if (propagation && !PROPAGATIONS.has(propagation)) throw invalid(`invalid propagation mode: ${propagation}`);
      if (given(m.VolumeOptions)) throw extra('VolumeOptions');
      break;
    }
    case 'volume':
      if (given(m.BindOptions)) throw extra('BindOptions');
      break;
    case 'tmpfs':
      if (given(m.BindOptions)) throw extra('BindOptions');
      if (m.Source) throw extra('Source');
      break;
    default:
      if (!API_MOUNT_TYPES.has(m.Type)) throw invalid('mount type unknown');
  }
}

export async function resolveMounts(hc: Record<string, any>, config: Record<string, any>, ctx: MountRequestContext): Promise<ResolvedMount[]> {
  const mounts: ResolvedMount[] = [];
  const containerDriver: string | undefined = hc.VolumeDriver || undefined;
  const taken = new Set<string>();
  const add = (m: ResolvedMount) => {
    if (taken.has(m.Destination)) throw new InvalidParameterError(`Duplicate mount point: ${m.Destination}`);
    taken.add(m.Destination);
    mounts.push(m);
  };

  for (const spec of (hc.Binds ?? []) as string[]) {
    const { source, dest, opts } = parseBind(spec);
    const destination = cleanDest(dest, spec);
    let rw = true;
    let propagation = '';
    let noCopy = false;
    // moby's linuxValidMountMode: each kind of mode at most once (`ro,rw` is refused), in its words (the whole mode).
    const invalidMode = () => new InvalidParameterError(`invalid mode: ${opts.join(',')}`);
    const seen = { rw: 0, propagation: 0, copy: 0 };
    for (const o of opts) {
      if (o === 'ro' || o === 'rw') { rw = o === 'rw'; seen.rw++; }
      else if (PROPAGATIONS.has(o)) { propagation = o; seen.propagation++; }
      else if (o === 'nocopy') { noCopy = true; seen.copy++; }
      else if (o === 'z' || o === 'Z') throw new NotImplementedError(`SELinux relabeling (:${o}) is not supported: SELinux is not enabled`);
      else throw invalidMode();
    }
    if (seen.rw > 1 || seen.propagation > 1 || seen.copy > 1) throw invalidMode();
    if (source === '') {
      checkDriver(containerDriver, undefined);
      const v = await ctx.ensureVolume(undefined, true);
      add({ Type: 'volume', Name: v.Name, Source: v.Mountpoint, Destination: destination, Driver: 'local', Mode: '', RW: true, Propagation: '' });
    } else if (isAbsolute(source)) {
      // nocopy is a volume option: moby turns it into VolumeOptions, which a bind must not have.
      if (noCopy) throw new InvalidParameterError(`invalid volume specification: '${spec}': invalid mount config for type "bind": field VolumeOptions must not be specified`);
      // `-v /host:/dst` creates a missing host directory, like dockerd.
      if (!existsSync(source)) mkdirSync(source, { recursive: true, mode: 0o755 });
      add({ Type: 'bind', Source: source, Destination: destination, Mode: opts.join(','), RW: rw, Propagation: propagation || 'rprivate' });
    } else {
      if (noCopy && propagation) throw new InvalidParameterError(`invalid mode: ${opts.join(',')}`);
      checkDriver(containerDriver, source);
      const v = await ctx.ensureVolume(source, false);
      add({ Type: 'volume', Name: v.Name, Source: v.Mountpoint, Destination: destination, Driver: 'local', Mode: opts.filter((o) => o !== 'nocopy').join(',') || 'z', RW: rw, Propagation: '', NoCopy: noCopy });
    }
  }

  for (const m of (hc.Mounts ?? []) as Record<string, any>[]) {
    checkMountFields(m);
    const destination = cleanDest(m.Target ?? m.Destination ?? '', JSON.stringify(m));
    const rw = !m.ReadOnly;
    switch (m.Type) {
      case 'bind': {
        if (!m.Source || !isAbsolute(m.Source)) throw new InvalidParameterError(`invalid mount config for type "bind": invalid mount path: '${m.Source ?? ''}' mount path must be absolute`);
        if (!existsSync(m.Source)) throw new InvalidParameterError(`invalid mount config for type "bind": bind source path does not exist: ${m.Source}`);
        add({ Type: 'bind', Source: m.Source, Destination: destination, Mode: '', RW: rw, Propagation: m.BindOptions?.Propagation || 'rprivate' });
        break;
      }
      case 'volume': {
        const subpath: string = m.VolumeOptions?.Subpath ?? '';
        if (subpath !== '') {
          // moby volume/mounts linux_parser: lexical checks at create; the path itself is checked at each start.
          if (!m.Source) throw new InvalidParameterError('invalid mount config for type "volume": must not set Subpath when using anonymous volumes');
          if (!isLocalPath(subpath)) throw new InvalidParameterError('invalid mount config for type "volume": subpath must be a relative path within the volume');
        }
        checkDriver(m.VolumeOptions?.DriverConfig?.Name || containerDriver, m.Source || undefined);
        const v = await ctx.ensureVolume(m.Source || undefined, !m.Source, m.VolumeOptions?.Labels);
        add({
          Type: 'volume', Name: v.Name, Source: v.Mountpoint, Destination: destination, Driver: 'local', Mode: 'z', RW: rw, Propagation: '',
          NoCopy: !!m.VolumeOptions?.NoCopy, ...(subpath ? { Subpath: posix.normalize(subpath) } : {}),
        });
        break;
      }
      case 'tmpfs': {
        const opts: string[] = [];
        if (m.TmpfsOptions?.SizeBytes) opts.push(`size=${m.TmpfsOptions.SizeBytes}`);
        if (m.TmpfsOptions?.Mode) opts.push(`mode=${m.TmpfsOptions.Mode.toString(8)}`);
        add({ Type: 'tmpfs', Source: '', Destination: destination, Mode: '', RW: rw, Propagation: '', TmpfsOptions: opts.join(',') });
        break;
      }
      default:
        // A type of the API berth has no support for; checkMountFields refused any other.
        throw new NotImplementedError(`mount type "${m.Type}" is not supported`);
    }
  }

  for (const [dest, opts] of Object.entries((hc.Tmpfs ?? {}) as Record<string, string>)) {
    const destination = cleanDest(dest, dest);
    const list = opts ? opts.split(',') : [];
    add({ Type: 'tmpfs', Source: '', Destination: destination, Mode: '', RW: !list.includes('ro'), Propagation: '', TmpfsOptions: list.filter((o) => o !== 'ro' && o !== 'rw').join(',') });
  }

  for (const spec of (hc.VolumesFrom ?? []) as string[]) {
    const [name, mode] = spec.split(':');
    if (mode && mode !== 'ro' && mode !== 'rw') throw new InvalidParameterError(`invalid mode for volumes-from: ${mode}`);
    let src: ContainerRecord;
    try { src = ctx.lookupContainer(name); } catch (e) {
      if (e instanceof NotFoundError) throw new NotFoundError(`No such container: ${name}`);
      throw e;
    }
    for (const m of src.Mounts) {
      if (m.Type === 'tmpfs' || taken.has(m.Destination)) continue;
      add({ ...m, RW: mode ? mode === 'rw' : m.RW });
    }
  }

  for (const dest of Object.keys((config.Volumes ?? {}) as Record<string, object>)) {
    const destination = cleanDest(dest, dest);
    if (taken.has(destination)) continue;
    checkDriver(containerDriver, undefined);
    const v = await ctx.ensureVolume(undefined, true);
    add({ Type: 'volume', Name: v.Name, Source: v.Mountpoint, Destination: destination, Driver: 'local', Mode: '', RW: true, Propagation: '' });
  }
  return mounts;
}

export interface OciMount { destination: string; type: string; source: string; options: string[] }

/** OCI mounts for a container's user mounts, parents before children. */
/**
 * The runtime's mounts. A mount with a Subpath gets its source from
 * `subpathSources` (engine/volume-subpath.ts bindSubpaths): never the path
 * inside the volume, which a container could change before the runtime mounts it.
 */
export function ociMounts(mounts: ResolvedMount[], subpathSources: ReadonlyMap<ResolvedMount, string> = new Map()): OciMount[] {
  const sorted = [...mounts].sort((a, b) => a.Destination.split('/').length - b.Destination.split('/').length);
  return sorted.map((m) => {
    if (m.Type === 'tmpfs') {
      const opts = ['nosuid', 'nodev', 'noexec', ...(m.TmpfsOptions ? m.TmpfsOptions.split(',') : [])];
      if (!m.RW) opts.push('ro');
      return { destination: m.Destination, type: 'tmpfs', source: 'tmpfs', options: opts };
    }
    const opts = ['rbind', m.RW ? 'rw' : 'ro', m.Propagation || 'rprivate'];
    const source = m.Subpath ? subpathSources.get(m) : m.Source;
    if (source === undefined) throw new SystemError(`the subpath ${m.Subpath} of volume ${m.Name} is not bound for this start`);
    return { destination: m.Destination, type: 'bind', source, options: opts };
  });
}
