/**
 * What a `docker load` archive holds, read from its index: manifest.json
 * (docker save's format, with configs and layers named by path) when there
 * is one, else index.json (an OCI image layout, with blobs named by digest
 * and checked against their descriptors' size and digest). Every name is
 * checked (archive-names.ts) and every file found through the unpacked
 * archive's table (unpacked-archive.ts), so the plan names regular files of
 * the archive only. Configs and references are checked here too, so that a
 * load fails before anything is imported rather than half-way.
 *
 * The `repositories` file and the legacy `<id>/json` files of pre-1.10
 * archives are never read.
 */
import { InvalidParameterError } from '../errors.js';
import { blobPath, parseArchivePath, parseDigest, quoteName } from './archive-names.js';
import { checkNameLength, familiarString, formatReference, parseReference, withDefaultTag } from './reference.js';
import type { ArchiveFile, UnpackedArchive } from './unpacked-archive.js';

export interface TagToLoad {
  /** As the tag table stores it: `docker.io/library/busybox:latest`. */
  ref: string;
  /** As `docker load` prints it: `busybox:latest`. */
  familiar: string;
}

export interface ImageToLoad {
  /** The config file, whose exact bytes are stored (the image ID is their sha256). Checked, and under the JSON cap. */
  config: ArchiveFile;
  /** From the config's rootfs, checked. */
  diffIds: string[];
  /** One per diffId, bottom first. */
  layers: ArchiveFile[];
  tags: TagToLoad[];
}

const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const DOCKER_MANIFEST_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
const MANIFESTS = new Set(['application/vnd.oci.image.manifest.v1+json', 'application/vnd.docker.distribution.manifest.v2+json']);

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Reads the archive's index into a list of images to load. Only names and
 * small metadata are kept: configs are parsed once per file for their
 * diff_ids (an index may name one config a thousand times) and read again
 * when stored, so memory stays bounded by one JSON file at a time.
 */
export async function planLoad(archive: UnpackedArchive): Promise<ImageToLoad[]> {
  const reader = new PlanReader(archive);
  if (archive.has('manifest.json')) return merged(await reader.fromManifestJson());
  if (archive.has('index.json')) return merged(await reader.fromOciIndex());
  throw new InvalidParameterError('invalid archive: it has neither manifest.json nor index.json');
}

/** Layer references a plan may hold in all (an image has at most ~125: overlay's depth). */
export const MAX_PLAN_LAYERS = 100_000;

/** Reads the index, parsing each JSON file once however often it is named. */
class PlanReader {
  private readonly diffIds = new Map<ArchiveFile, string[]>();
  private readonly manifests = new Map<ArchiveFile, Omit<ImageToLoad, 'tags'>>();
  private layerCount = 0;
  constructor(private readonly archive: UnpackedArchive) {}

  private counted(layers: number): void {
    this.layerCount += layers;
    if (this.layerCount > MAX_PLAN_LAYERS) throw new InvalidParameterError(`invalid archive: more than ${MAX_PLAN_LAYERS} layers in all`);
  }

  /** The checked diff_ids of a config file, parsed once. */
  private async diffIdsOf(config: ArchiveFile, where: string): Promise<string[]> {
    let ids = this.diffIds.get(config);
    if (!ids) {
      ids = diffIdsOf((await this.archive.readJson(config)).value, where);
      this.diffIds.set(config, ids);
    }
    return ids;
  }

  /**
   * docker save's manifest.json names files by path. No digest is promised
   * (even for `blobs/sha256/<hex>` paths dockerd checks none): a layer is
   * checked against the config's diff_ids as it is imported, and the
   * config's own hash is the image ID.
   */
  async fromManifestJson(): Promise<ImageToLoad[]> {
    const archive = this.archive;
    const { value } = await archive.readJson(archive.file('manifest.json'));
    if (!Array.isArray(value)) throw new InvalidParameterError('invalid manifest.json: not a list of images');
    const images: ImageToLoad[] = [];
    for (const [i, entry] of value.entries()) {
      const where = `manifest.json (image ${i})`;
      if (!isObject(entry)) throw new InvalidParameterError(`invalid ${where}: not an object`);
      const configPath = parseArchivePath(entry.Config, where);
      if (!Array.isArray(entry.Layers)) throw new InvalidParameterError(`invalid ${where}: Layers is not a list`);
      this.counted(entry.Layers.length);
      const layerPaths = entry.Layers.map((l) => parseArchivePath(l, where));
      if (entry.RepoTags !== undefined && entry.RepoTags !== null && !Array.isArray(entry.RepoTags)) {
        throw new InvalidParameterError(`invalid ${where}: RepoTags is not a list`);
      }
      const tags = ((entry.RepoTags ?? []) as unknown[]).map((t) => tagOf(t, where));
      const config = archive.file(configPath);
      const diffIds = await this.diffIdsOf(config, configPath);
      if (diffIds.length !== layerPaths.length) throw new InvalidParameterError(`invalid manifest: ${layerPaths.length} layers for ${diffIds.length} diff_ids`);
      images.push({ config, diffIds, layers: layerPaths.map((p) => archive.file(p)), tags });
    }
    return images;
  }

  async fromOciIndex(): Promise<ImageToLoad[]> {
    const archive = this.archive;
    const { value: index } = await archive.readJson(archive.file('index.json'));
    if (!isObject(index) || !Array.isArray(index.manifests)) throw new InvalidParameterError('invalid index.json: no manifests list');
    const images: ImageToLoad[] = [];
    for (const desc of index.manifests as unknown[]) {
      const d = descriptor(desc, 'index.json');
      if (d.mediaType === OCI_INDEX || d.mediaType === DOCKER_MANIFEST_LIST) {
        throw new InvalidParameterError(`unsupported media type ${d.mediaType} for ${d.digest} in index.json: nested image indexes are not supported`);
      }
      const image = await this.manifest(archive.blob(blobPath(d.digest), d), d.digest);
      this.counted(image.layers.length);
      // containerd's annotation carries the full name; the OCI ref.name one is often a bare tag, which names no repository.
      const annotations = isObject(d.annotations) ? d.annotations : {};
      const name = annotations['io.containerd.image.name'];
      const tags = name === undefined ? [] : [tagOf(name, 'index.json')];
      images.push({ ...image, tags });
    }
    return images;
  }

  /** An OCI image manifest's config and layers, every blob held to its descriptor. */
  private async manifest(file: ArchiveFile, digest: string): Promise<Omit<ImageToLoad, 'tags'>> {
    const known = this.manifests.get(file);
    if (known) return known;
    const archive = this.archive;
    const { value: manifest } = await archive.readJson(file);
    if (!isObject(manifest) || !isObject(manifest.config) || !Array.isArray(manifest.layers)) {
      throw new InvalidParameterError(`unsupported manifest ${digest} in index.json: not an image manifest`);
    }
    if (manifest.mediaType !== undefined && !MANIFESTS.has(manifest.mediaType as string)) {
      throw new InvalidParameterError(`unsupported manifest ${digest} in index.json: media type ${quoteName(manifest.mediaType)}`);
    }
    const where = `manifest ${digest}`;
    const c = descriptor(manifest.config, where);
    const config = archive.blob(blobPath(c.digest), c);
    const diffIds = await this.diffIdsOf(config, blobPath(c.digest));
    const layers = (manifest.layers as unknown[]).map((l) => {
      const ld = descriptor(l, where);
      return archive.blob(blobPath(ld.digest), ld);
    });
    if (diffIds.length !== layers.length) throw new InvalidParameterError(`invalid manifest: ${layers.length} layers for ${diffIds.length} diff_ids`);
    const image = { config, diffIds, layers };
    this.manifests.set(file, image);
    return image;
  }
}

/** A checked OCI descriptor. */
function descriptor(value: unknown, where: string): { mediaType?: string; digest: string; size: number; annotations?: unknown } {
  if (!isObject(value)) throw new InvalidParameterError(`invalid descriptor in ${where}: not an object`);
  const digest = parseDigest(value.digest, where);
  const size = value.size;
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    throw new InvalidParameterError(`invalid size ${quoteName(size)} for ${digest} in ${where}`);
  }
  if (value.mediaType !== undefined && typeof value.mediaType !== 'string') throw new InvalidParameterError(`invalid media type for ${digest} in ${where}`);
  return { mediaType: value.mediaType as string | undefined, digest, size, annotations: value.annotations };
}

function diffIdsOf(config: unknown, where: string): string[] {
  if (!isObject(config) || !isObject(config.rootfs) || !Array.isArray(config.rootfs.diff_ids)) {
    throw new InvalidParameterError(`invalid image config ${quoteName(where)}: no rootfs.diff_ids`);
  }
  return (config.rootfs.diff_ids as unknown[]).map((d) => parseDigest(d, `image config ${where}`));
}

function tagOf(value: unknown, where: string): TagToLoad {
  if (typeof value !== 'string') throw new InvalidParameterError(`invalid tag ${quoteName(value)} in ${where}`);
  let ref;
  try {
    ref = withDefaultTag(checkNameLength(parseReference(value)));
  } catch {
    throw new InvalidParameterError(`invalid tag ${quoteName(value)} in ${where}: invalid reference format`);
  }
  if (ref.digest) throw new InvalidParameterError(`invalid tag ${quoteName(value)} in ${where}: a digest reference cannot be a tag`);
  return { ref: formatReference(ref), familiar: familiarString(ref) };
}

/** One entry per image: docker save lists an image once per tag in index.json. */
function merged(images: ImageToLoad[]): ImageToLoad[] {
  const byConfig = new Map<string, ImageToLoad>();
  for (const img of images) {
    const key = `${img.config.digest} ${img.layers.map((l) => l.digest).join(',')}`;
    const seen = byConfig.get(key);
    if (!seen) { byConfig.set(key, { ...img, tags: [...img.tags] }); continue; }
    for (const t of img.tags) if (!seen.tags.some((s) => s.ref === t.ref)) seen.tags.push(t);
  }
  return [...byConfig.values()];
}
