/**
 * `berth-checkpoint.json`, the index of a checkpoint archive
 * (engine/checkpoint-archive.ts), and its check on import. The archive is
 * hostile input: every field is checked for type and shape before it
 * names anything, and every file the archive carries must be listed here
 * with its size and sha256 (no more, no fewer).
 *
 * An archive holds:
 * - `image.tar`: the container's image in `docker save` format (berth
 *   decided to carry the image rather than require it on the target: two
 *   daemons rarely share image IDs, and a restore needs exactly the lower
 *   layers the process saw; load checks its digests as any load does);
 * - `rootfs.tar`: the container's read-write layer (its upper dir as a
 *   layer diff, mount points left out, whiteouts as `.wh.` files);
 * - `checkpoint/<file>`: the CRIU images of one checkpoint, a flat
 *   directory;
 * - `berth-checkpoint.json`: this manifest, first.
 */
import { InvalidParameterError } from '../errors.js';
import { checkCheckpointName } from './checkpoints.js';

export const MANIFEST_NAME = 'berth-checkpoint.json';
export const IMAGE_FILE = 'image.tar';
export const ROOTFS_FILE = 'rootfs.tar';
export const CHECKPOINT_PREFIX = 'checkpoint/';
export const SCHEMA_VERSION = 1;

/** A CRIU image file's name (`inventory.img`, `pages-1.img`, `descriptors.json`): one component, no dot start. */
const CRIU_FILE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$/;
const DIGEST = /^sha256:[0-9a-f]{64}$/;
/** More CRIU image files than any dump has (a few per process and per mapping). */
export const MAX_CHECKPOINT_FILES = 10_000;

export interface ManifestFile { size: number; digest: string }

export interface CheckpointManifest {
  SchemaVersion: 1;
  /** The checkpoint's name (a checkpoint ID as dockerd checks them). */
  Checkpoint: string;
  /** The image the container was created from: its ID (what `image.tar` must load as) and the reference used. */
  Image: { Id: string; Ref: string };
  /** The container as created: its name, Config and HostConfig, as `GET /containers/{id}/json` shows them. */
  Container: { Name: string; Config: Record<string, unknown>; HostConfig: Record<string, unknown> };
  /** Every other file of the archive by its archive path. */
  Files: Record<string, ManifestFile>;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function bad(why: string): InvalidParameterError {
  return new InvalidParameterError(`invalid checkpoint archive: ${why}`);
}

/** Whether an archive path is one a checkpoint archive may carry besides the manifest. */
export function isArchiveFileName(path: string): boolean {
  if (path === IMAGE_FILE || path === ROOTFS_FILE) return true;
  return path.startsWith(CHECKPOINT_PREFIX) && CRIU_FILE.test(path.slice(CHECKPOINT_PREFIX.length));
}

/** The manifest's JSON, checked field by field. */
export function parseManifest(value: unknown): CheckpointManifest {
  if (!isObject(value)) throw bad(`${MANIFEST_NAME} is not a JSON object`);
  if (value.SchemaVersion !== SCHEMA_VERSION) throw bad(`unsupported SchemaVersion ${JSON.stringify(value.SchemaVersion)} (berth reads ${SCHEMA_VERSION})`);
  let checkpoint: string;
  try {
    checkpoint = checkCheckpointName(value.Checkpoint);
  } catch (e) {
    throw bad((e as Error).message);
  }
  const image = value.Image;
  if (!isObject(image) || typeof image.Id !== 'string' || !DIGEST.test(image.Id) || typeof image.Ref !== 'string' || image.Ref.length > 1024) {
    throw bad('Image must be {Id: "sha256:<hex>", Ref: string}');
  }
  const ctr = value.Container;
  if (!isObject(ctr) || typeof ctr.Name !== 'string' || !isObject(ctr.Config) || !isObject(ctr.HostConfig)) {
    throw bad('Container must be {Name, Config, HostConfig}');
  }
  const files = value.Files;
  if (!isObject(files)) throw bad('Files must be an object');
  const names = Object.keys(files);
  if (names.length > MAX_CHECKPOINT_FILES + 2) throw bad(`more than ${MAX_CHECKPOINT_FILES} files`);
  const out: Record<string, ManifestFile> = {};
  for (const name of names) {
    if (!isArchiveFileName(name)) throw bad(`unexpected file name ${JSON.stringify(name.slice(0, 200))}`);
    const f = files[name];
    if (!isObject(f) || !Number.isSafeInteger(f.size) || (f.size as number) < 0 || typeof f.digest !== 'string' || !DIGEST.test(f.digest)) {
      throw bad(`file ${JSON.stringify(name)} needs a size and a sha256 digest`);
    }
    out[name] = { size: f.size as number, digest: f.digest };
  }
  for (const required of [IMAGE_FILE, ROOTFS_FILE, `${CHECKPOINT_PREFIX}inventory.img`]) {
    if (!out[required]) throw bad(`${required} is missing`);
  }
  return {
    SchemaVersion: SCHEMA_VERSION, Checkpoint: checkpoint, Image: { Id: image.Id, Ref: image.Ref },
    Container: { Name: ctr.Name, Config: ctr.Config, HostConfig: ctr.HostConfig }, Files: out,
  };
}

/** Namespace modes that join the host's or another container's namespace. */
const JOINS = (v: unknown) => typeof v === 'string' && (v === 'host' || v.startsWith('container:'));
/** `--security-opt` values that keep the default confinement (the rest loosen it or name host files). */
const SAFE_SECURITY_OPT = /^no-new-privileges(?:[:=]true)?$/;

/**
 * The archive's HostConfig settings that reach beyond a default container:
 * host paths (binds, volumes, volumes of other containers), devices,
 * privileges and capabilities, loosened confinement, the host's or another
 * container's namespaces, another cgroup. The manifest is written by
 * whoever made the archive; a container it describes must not get these
 * because someone imported it (`docker run` gives them only when its
 * caller asks), so import refuses them unless the importer says it trusts
 * the archive (`?trust=1`, `berth checkpoint import --trust`).
 */
export function hostReachingSettings(hc: Record<string, unknown>): string[] {
  const set = (v: unknown) => v !== undefined && v !== null && v !== '' && v !== false && !(Array.isArray(v) && v.length === 0)
    && !(isObject(v) && Object.keys(v).length === 0);
  const out: string[] = [];
  for (const k of ['Binds', 'VolumesFrom', 'Devices', 'DeviceCgroupRules', 'DeviceRequests', 'CapAdd', 'Privileged', 'CgroupParent', 'VolumeDriver', 'Links']) {
    if (set(hc[k])) out.push(k);
  }
  if (Array.isArray(hc.Mounts) && hc.Mounts.some((m) => !isObject(m) || m.Type !== 'tmpfs')) out.push('Mounts');
  else if (set(hc.Mounts) && !Array.isArray(hc.Mounts)) out.push('Mounts');
  if (Array.isArray(hc.SecurityOpt) && hc.SecurityOpt.some((s) => typeof s !== 'string' || !SAFE_SECURITY_OPT.test(s))) out.push('SecurityOpt');
  else if (set(hc.SecurityOpt) && !Array.isArray(hc.SecurityOpt)) out.push('SecurityOpt');
  for (const k of ['NetworkMode', 'PidMode', 'IpcMode', 'UTSMode', 'UsernsMode']) if (JOINS(hc[k])) out.push(`${k} ${String(hc[k])}`);
  if (hc.CgroupnsMode === 'host') out.push('CgroupnsMode host');
  // Masked and read-only paths the archive narrows (an empty list unmasks /proc/kcore and the like).
  for (const k of ['MaskedPaths', 'ReadonlyPaths']) if (hc[k] !== undefined && hc[k] !== null) out.push(k);
  return out;
}
