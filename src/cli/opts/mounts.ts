/**
 * Storage flags of run/create: `--mount` (Docker's `opts.MountOpt`), `-v`
 * (compose's `ParseVolume`, deciding what is a bind/named volume for
 * `HostConfig.Binds` and what is an anonymous volume for `Config.Volumes`),
 * and `--tmpfs`.
 */
import { resolve } from 'node:path';
import { parseGoBool } from '../flags.js';
import { parseCsvRecord } from './csv.js';
import { ramInBytes } from './units.js';

/** mount.Mount as the API takes it; built with fields in Docker's order so bodies compare. */
export interface Mount {
  Type: string;
  Source?: string;
  Target?: string;
  ReadOnly?: boolean;
  Consistency?: string;
  BindOptions?: { Propagation?: string; NonRecursive?: boolean; CreateMountpoint?: boolean; ReadOnlyNonRecursive?: boolean; ReadOnlyForceRecursive?: boolean };
  VolumeOptions?: { NoCopy?: boolean; Labels?: Record<string, string>; Subpath?: string; DriverConfig?: { Name?: string; Options?: Record<string, string> } };
  ImageOptions?: { Subpath?: string };
  TmpfsOptions?: { SizeBytes?: number; Mode?: number };
}

/** Parses one `--mount` value (opts.MountOpt.Set). */
export function parseMountOpt(value: string): Mount {
  const fields = parseCsvRecord(value);
  let type = 'volume';
  let source: string | undefined;
  let target: string | undefined;
  let readOnly: boolean | undefined;
  let consistency: string | undefined;
  let bind: NonNullable<Mount['BindOptions']> | undefined;
  let vol: { NoCopy?: boolean; Labels: Record<string, string>; Subpath?: string; DriverConfig: { Name?: string; Options?: Record<string, string> } } | undefined;
  let image: NonNullable<Mount['ImageOptions']> | undefined;
  let tmpfs: NonNullable<Mount['TmpfsOptions']> | undefined;
  const volumeOptions = () => (vol ??= { Labels: {}, DriverConfig: {} });
  const bindOptions = () => (bind ??= {});
  const tmpfsOptions = () => (tmpfs ??= {});
  const setOnMap = (m: Record<string, string>, v: string) => {
    const eq = v.indexOf('=');
    const k = eq >= 0 ? v.slice(0, eq) : v;
    if (k !== '') m[k] = eq >= 0 ? v.slice(eq + 1) : '';
  };
  const bool = (key: string, v: string) => {
    try {
      return parseGoBool(v);
    } catch {
      throw new Error(`invalid value for ${key}: ${v}`);
    }
  };
  for (const field of fields) {
    const eq = field.indexOf('=');
    const key = (eq >= 0 ? field.slice(0, eq) : field).toLowerCase();
    const val = eq >= 0 ? field.slice(eq + 1) : '';
    if (eq < 0) {
      switch (key) {
        case 'readonly': case 'ro': readOnly = true; continue;
        case 'volume-nocopy': volumeOptions().NoCopy = true; continue;
        case 'bind-nonrecursive': bindOptions().NonRecursive = true; continue;
        default: throw new Error(`invalid field '${field}' must be a key=value pair`);
      }
    }
    switch (key) {
      case 'type': type = val.toLowerCase(); break;
      case 'source': case 'src':
        source = val === '.' || val.startsWith('./') ? resolve(val) : val;
        break;
      case 'target': case 'dst': case 'destination': target = val; break;
      case 'readonly': case 'ro': readOnly = bool(key, val); break;
      case 'consistency': consistency = val.toLowerCase(); break;
      case 'bind-propagation': bindOptions().Propagation = val.toLowerCase(); break;
      case 'bind-nonrecursive': bindOptions().NonRecursive = bool(key, val); break;
      case 'bind-create-mountpoint': bindOptions().CreateMountpoint = bool(key, val); break;
      case 'bind-recursive':
        switch (val) {
          case 'enabled': break;
          case 'disabled': bindOptions().NonRecursive = true; break;
          case 'writable': bindOptions().ReadOnlyNonRecursive = true; break;
          case 'readonly': bindOptions().ReadOnlyForceRecursive = true; break;
          default: throw new Error(`invalid value for ${key}: ${val} (must be "enabled", "disabled", "writable", or "readonly")`);
        }
        break;
      case 'volume-subpath': volumeOptions().Subpath = val; break;
      case 'volume-nocopy': volumeOptions().NoCopy = bool(key, val); break;
      case 'volume-label': setOnMap(volumeOptions().Labels, val); break;
      case 'volume-driver': volumeOptions().DriverConfig.Name = val; break;
      case 'volume-opt': setOnMap(volumeOptions().DriverConfig.Options ??= {}, val); break;
      case 'image-subpath': (image ??= {}).Subpath = val; break;
      case 'tmpfs-size':
        try {
          tmpfsOptions().SizeBytes = ramInBytes(val);
        } catch {
          throw new Error(`invalid value for ${key}: ${val}`);
        }
        break;
      case 'tmpfs-mode':
        if (!/^[0-7]+$/.test(val)) throw new Error(`invalid value for ${key}: ${val}`);
        tmpfsOptions().Mode = parseInt(val, 8);
        break;
      default: throw new Error(`unexpected key '${key}' in '${field}'`);
    }
  }
  if (type === '') throw new Error('type is required');
  if (!target) throw new Error('target is required');
  if (vol && type !== 'volume') throw new Error(`cannot mix 'volume-*' options with mount type '${type}'`);
  if (image && type !== 'image') throw new Error(`cannot mix 'image-*' options with mount type '${type}'`);
  if (bind && type !== 'bind') throw new Error(`cannot mix 'bind-*' options with mount type '${type}'`);
  if (tmpfs && type !== 'tmpfs') throw new Error(`cannot mix 'tmpfs-*' options with mount type '${type}'`);
  if (bind?.ReadOnlyNonRecursive && !readOnly) throw new Error("option 'bind-recursive=writable' requires 'readonly' to be specified in conjunction");
  if (bind?.ReadOnlyForceRecursive) {
    if (!readOnly) throw new Error("option 'bind-recursive=readonly' requires 'readonly' to be specified in conjunction");
    if (bind.Propagation !== 'rprivate') throw new Error("option 'bind-recursive=readonly' requires 'bind-propagation=rprivate' to be specified in conjunction");
  }
  // Docker's JSON field order, empty maps left out like `omitempty`.
  const m: Mount = { Type: type };
  if (source) m.Source = source;
  m.Target = target;
  if (readOnly) m.ReadOnly = true;
  if (consistency) m.Consistency = consistency;
  if (bind) {
    const b: NonNullable<Mount['BindOptions']> = {};
    if (bind.Propagation) b.Propagation = bind.Propagation;
    if (bind.NonRecursive) b.NonRecursive = true;
    if (bind.CreateMountpoint) b.CreateMountpoint = true;
    if (bind.ReadOnlyNonRecursive) b.ReadOnlyNonRecursive = true;
    if (bind.ReadOnlyForceRecursive) b.ReadOnlyForceRecursive = true;
    m.BindOptions = b;
  }
  if (vol) {
    const v: NonNullable<Mount['VolumeOptions']> = {};
    if (vol.NoCopy) v.NoCopy = true;
    if (Object.keys(vol.Labels).length) v.Labels = sortedRecord(vol.Labels);
    if (vol.Subpath) v.Subpath = vol.Subpath;
    const d: { Name?: string; Options?: Record<string, string> } = {};
    if (vol.DriverConfig.Name) d.Name = vol.DriverConfig.Name;
    if (vol.DriverConfig.Options && Object.keys(vol.DriverConfig.Options).length) d.Options = sortedRecord(vol.DriverConfig.Options);
    v.DriverConfig = d;
    m.VolumeOptions = v;
  }
  if (image) m.ImageOptions = image.Subpath ? { Subpath: image.Subpath } : {};
  if (tmpfs) {
    const t: NonNullable<Mount['TmpfsOptions']> = {};
    if (tmpfs.SizeBytes) t.SizeBytes = tmpfs.SizeBytes;
    if (tmpfs.Mode) t.Mode = tmpfs.Mode;
    m.TmpfsOptions = t;
  }
  return m;
}

/** Go marshals maps with sorted keys; so do we, for byte-identical bodies. */
export function sortedRecord<T>(m: Record<string, T>): Record<string, T> {
  const out: Record<string, T> = {};
  for (const k of Object.keys(m).sort()) out[k] = m[k];
  return out;
}

export interface VolumeSpec {
  source: string;
  target: string;
  type: 'bind' | 'volume';
}

/** compose's ParseVolume (Linux): `[source:]target[:options]`. */
export function parseVolumeSpec(spec: string): VolumeSpec {
  if (spec.length === 0) throw new Error('invalid empty volume spec');
  if (spec.length <= 2) return { source: '', target: spec, type: 'volume' };
  const parts = spec.split(':');
  let source = '';
  let target = '';
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i];
    const last = i === parts.length - 1;
    if (p.length === 0) throw new Error(`invalid spec: ${spec}: empty section between colons`);
    if (source === '' && last && i === 0) { target = p; break; }
    if (source === '') { source = p; continue; }
    if (target === '') { target = p; continue; }
    if (!last) throw new Error(`invalid spec: ${spec}: too many colons`);
  }
  const isPath = source !== '' && ['.', '/', '~'].includes(source[0]);
  return { source, target, type: source === '' ? 'volume' : isPath ? 'bind' : 'volume' };
}

export interface VolumeFlags {
  /** HostConfig.Binds: everything with a source. */
  binds: string[];
  /** Config.Volumes: anonymous volumes (target only). */
  volumes: Record<string, Record<string, never>>;
}

/** Splits `-v` values the way opts.go `parse` does; relative `./x` sources become absolute. */
export function splitVolumes(values: readonly string[]): VolumeFlags {
  const binds: string[] = [];
  const volumes: Record<string, Record<string, never>> = {};
  const seen = new Set<string>();
  for (const v of values) {
    if (seen.has(v)) continue; // opts.ListOpts.GetMap de-duplicates
    seen.add(v);
    const parsed = parseVolumeSpec(v);
    if (parsed.source === '') {
      volumes[v] = {};
      continue;
    }
    let toBind = v;
    if (parsed.type === 'bind') {
      const colon = v.indexOf(':');
      let host = v.slice(0, colon);
      if (!host.startsWith('/') && host.startsWith('.')) host = resolve(host);
      toBind = `${host}:${v.slice(colon + 1)}`;
    }
    binds.push(toBind);
  }
  return { binds, volumes: sortedRecord(volumes) };
}

/** `--tmpfs /run:rw,size=64m` → {"/run": "rw,size=64m"}. */
export function parseTmpfs(values: readonly string[]): Record<string, string> {
  const m: Record<string, string> = {};
  for (const t of values) {
    const colon = t.indexOf(':');
    m[colon >= 0 ? t.slice(0, colon) : t] = colon >= 0 ? t.slice(colon + 1) : '';
  }
  return sortedRecord(m);
}
