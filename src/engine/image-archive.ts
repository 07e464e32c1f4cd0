/**
 * `docker save` / `docker load` archives. Save writes what Docker ≥ 25
 * writes: an OCI image layout (oci-layout, index.json, blobs/sha256/…) that
 * is at the same time a classic Docker archive (manifest.json, repositories),
 * with uncompressed layer tars named by their diffId — so both `docker load`
 * and OCI tools read it. Load accepts either form, plain or gzip-compressed,
 * and trusts no name inside it: digests, paths and entry types are checked
 * before anything is read (image/unpacked-archive.ts, image/load-plan.ts).
 * Configs travel as their exact bytes, so a loaded image keeps its ID.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tarStream from 'tar-stream';
import { InvalidParameterError, NotFoundError } from '../errors.js';
import { familiarString, formatReference, parseReference, repositoryName } from '../image/reference.js';
import { planLoad, type ImageToLoad } from '../image/load-plan.js';
import { UnpackedArchive, openArchiveFile, type ArchiveFile } from '../image/unpacked-archive.js';
import type { ImageRecord } from '../store/image-store.js';
import type { Lease } from '../store/layer-store.js';
import type { ImageService } from './images.js';
import type { DataPaths } from '../store/paths.js';
import { hex } from '../store/paths.js';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
const OCI_LAYER_TAR = 'application/vnd.oci.image.layer.v1.tar';

const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** Streams a save archive of the named images (`names` as given: refs or IDs). */
export function saveImages(images: ImageService, names: string[]): Readable {
  return saveArchive(images, saveTargets(images, names));
}

/**
 * Streams a save archive of images under the given tags (familiar or full
 * references), whether or not the store has those tags: what a build's
 * `--output type=docker|oci,dest=…` writes.
 */
export function saveArchive(images: ImageService, resolved: SaveTarget[]): Readable {
  const pack = tarStream.pack();
  const out = new PassThrough();
  void (async () => {
    const addFile = (name: string, data: Buffer) => new Promise<void>((res, rej) => pack.entry({ name, size: data.length, mtime: new Date(0), mode: 0o644 }, data, (e) => (e ? rej(e) : res())));
    const written = new Set<string>();
    const manifestJson: Record<string, unknown>[] = [];
    const indexManifests: Record<string, unknown>[] = [];
    const repositories: Record<string, Record<string, string>> = {};
    await addFile('oci-layout', Buffer.from('{"imageLayoutVersion":"1.0.0"}'));
    for (const { img, tags } of resolved) {
      const configName = `blobs/sha256/${hex(img.id)}`;
      if (!written.has(configName)) { await addFile(configName, img.configBytes); written.add(configName); }
      const layerDescs: { mediaType: string; digest: string; size: number }[] = [];
      for (const layer of images.layers.chain(img.topLayer)) {
        const layerName = `blobs/sha256/${hex(layer.diffId)}`;
        const tar = await images.layers.layerTar(layer.diffId);
        if (!written.has(layerName)) {
          await pipeline(tar.open(), pack.entry({ name: layerName, size: tar.size, mtime: new Date(0), mode: 0o644 }));
          written.add(layerName);
        }
        const size = tar.size;
        layerDescs.push({ mediaType: OCI_LAYER_TAR, digest: layer.diffId, size });
      }
      const manifest = Buffer.from(JSON.stringify({
        schemaVersion: 2, mediaType: OCI_MANIFEST,
        config: { mediaType: OCI_CONFIG, digest: img.id, size: img.configBytes.length },
        layers: layerDescs,
      }));
      const mDigest = sha256(manifest);
      const mName = `blobs/sha256/${hex(mDigest)}`;
      if (!written.has(mName)) { await addFile(mName, manifest); written.add(mName); }
      for (const t of tags) {
        indexManifests.push({ mediaType: OCI_MANIFEST, digest: mDigest, size: manifest.length, annotations: { 'io.containerd.image.name': formatReference(parseReference(t)), 'org.opencontainers.image.ref.name': parseReference(t).tag } });
        const ref = parseReference(t);
        const repo = familiarString({ ...ref, tag: undefined });
        repositories[repo] = { ...(repositories[repo] ?? {}), [ref.tag ?? 'latest']: hex(img.id) };
      }
      if (tags.length === 0) indexManifests.push({ mediaType: OCI_MANIFEST, digest: mDigest, size: manifest.length });
      manifestJson.push({ Config: configName, RepoTags: tags, Layers: layerDescs.map((l) => `blobs/sha256/${hex(l.digest)}`) });
    }
    await addFile('index.json', Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: indexManifests })));
    await addFile('manifest.json', Buffer.from(JSON.stringify(manifestJson)));
    await addFile('repositories', Buffer.from(JSON.stringify(repositories)));
    pack.finalize();
  })().catch((e) => pack.destroy(e));
  pack.on('error', (e) => out.destroy(e));
  pack.pipe(out);
  // A reader that goes away (a client hanging up) ends the writing too: nothing waits on a full buffer with layer files open.
  out.once('close', () => { if (!pack.destroyed) pack.destroy(); });
  return out;
}

/** One image of a save archive and the tags it is saved with (familiar form). */
export interface SaveTarget { img: ImageRecord; tags: string[] }

/**
 * What each name given to save stands for, the way dockerd's tarexport
 * reads them (moby image/tarexport/save.go parseNames): an image ID saves
 * the image with no RepoTags (`docker save <id>` then `docker load` gives an
 * untagged image, whatever tags it had); `name:tag` saves that tag; a name
 * without a tag saves every tag of that repository (and, when it has none,
 * is looked up as a short ID, again without tags); `name@digest` saves the
 * image without tags. Names meaning the same image share one entry.
 */
export function saveTargets(images: ImageService, names: string[]): SaveTarget[] {
  const byId = new Map<string, SaveTarget>();
  const add = (img: ImageRecord, tag?: string) => {
    let t = byId.get(img.id);
    if (!t) { t = { img, tags: [] }; byId.set(img.id, t); }
    if (tag && !t.tags.includes(tag)) t.tags.push(tag);
  };
  for (const name of names) {
    if (/^(sha256:)?[a-f0-9]{64}$/.test(name)) { add(images.resolve(name.startsWith('sha256:') ? name : `sha256:${name}`)); continue; }
    let ref;
    try { ref = parseReference(name); } catch { ref = undefined; }
    if (ref && !ref.tag && !ref.digest) {
      const repo = repositoryName(ref);
      const tagged = [...images.store.allTags()].flatMap(([id, refs]) => refs.map((r) => ({ id, ref: parseReference(r) })))
        .filter((x) => repositoryName(x.ref) === repo && x.ref.tag);
      for (const x of tagged) {
        const img = images.store.get(x.id);
        if (img) add(img, familiarString(x.ref));
      }
      if (tagged.length === 0) add(images.resolve(name));
      continue;
    }
    const img = images.resolve(name);
    add(img, ref?.tag && !ref.digest ? familiarString(ref) : undefined);
  }
  return [...byId.values()];
}

export interface LoadedImage { id: string; tags: string[] }

/**
 * `docker load`. The archive is unpacked into a private tmp/ directory
 * under names of ours (unpacked-archive.ts), its index read and checked
 * whole (load-plan.ts: digests, paths, sizes, configs, tags), then each
 * image's layers imported (verified against the config's diff_ids), and
 * only when every layer of every image is in do the images and their tags
 * appear. A load that fails leaves nothing listed: its layers are garbage
 * once the lease goes, and the directory is removed.
 */
/** How a load that is not `docker load` itself narrows what an archive may do. */
export interface LoadLimits {
  /** Sees the archive's images before anything is imported; throws to refuse them. */
  check?(plan: readonly ImageToLoad[]): void;
  /** Tags already naming another image stay as they are (the archive is not the importer's word on names). */
  keepExistingTags?: boolean;
}

export async function loadImages(images: ImageService, paths: DataPaths, archive: Readable, onProgress: (msg: string) => void, limits: LoadLimits = {}): Promise<LoadedImage[]> {
  await mkdir(paths.tmp, { recursive: true });
  const dir = await mkdtemp(join(paths.tmp, 'load-'));
  const lease = images.layers.lease();
  let failed = false;
  try {
    const unpacked = await UnpackedArchive.unpack(archive, dir);
    const plan = await planLoad(unpacked);
    limits.check?.(plan);
    const tops: (string | null)[] = [];
    for (const img of plan) tops.push(await importLayers(images, img, lease, onProgress));
    const loaded: LoadedImage[] = [];
    // From here on only our own files are read (an I/O error could still stop it between two images).
    for (const [i, img] of plan.entries()) {
      const size = images.layers.chain(tops[i]).reduce((n, l) => n + l.size, 0);
      const configBytes = await unpacked.read(img.config);
      const tags = limits.keepExistingTags
        ? img.tags.filter((t) => { const had = images.store.resolveTag(t.ref); return !had || had === img.config.digest; })
        : img.tags;
      // An image and its tags in one transaction: a crash never lists it with only some of its names.
      const rec = images.store.atomically(() => {
        const r = images.store.put(configBytes, tops[i], size);
        for (const t of tags) images.tag(r.id, t.ref);
        return r;
      });
      loaded.push({ id: rec.id, tags: tags.map((t) => t.familiar) });
    }
    return loaded;
  } catch (e) {
    failed = true;
    throw e;
  } finally {
    lease.release();
    // Layers of an image that did not make it are garbage now.
    if (failed) await images.layers.collectGarbage().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Imports an image's layers bottom up and returns its top chain ID. Each is
 * read and checked even when its chain is already in the store (dockerd
 * skips those): what the archive claims is never taken on trust.
 */
async function importLayers(images: ImageService, img: ImageToLoad, lease: Lease, onProgress: (msg: string) => void): Promise<string | null> {
  let parent: string | null = null;
  for (const [i, file] of img.layers.entries()) {
    const tar = archiveOf(file);
    let rec;
    try {
      rec = await images.layers.importLayer(tar, parent, { lease });
    } catch (e) {
      // Ends what still reads the file (the layer store's blob writer), so its temp blob goes too.
      tar.destroy(e instanceof Error ? e : new Error(String(e)));
      throw e;
    }
    if (rec.diffId !== img.diffIds[i]) {
      throw new InvalidParameterError(`invalid diffID for layer ${i}: calculated ${rec.diffId}, expected ${img.diffIds[i]}`);
    }
    onProgress(`Loading layer ${rec.diffId.slice(7, 19)}`);
    parent = rec.chainId;
  }
  return parent;
}

/** A layer file's bytes as a stream whose errors are ours to report (never an unhandled 'error'). */
function archiveOf(file: ArchiveFile): Readable {
  const s = openArchiveFile(file);
  s.on('error', () => undefined);
  return s;
}
