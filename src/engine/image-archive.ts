/**
 * `docker save` / `docker load` archives. Save writes what Docker ≥ 25
 * writes: an OCI image layout (oci-layout, index.json, blobs/sha256/…) that
 * is at the same time a classic Docker archive (manifest.json, repositories),
 * with uncompressed layer tars named by their diffId — so both `docker load`
 * and OCI tools read it. Load accepts either form. Configs travel as their
 * exact bytes, so a loaded image keeps its ID.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, rm, stat } from 'node:fs/promises';
import { dirname, join, normalize } from 'node:path';
import { randomBytes, createHash } from 'node:crypto';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import tarStream from 'tar-stream';
import { InvalidParameterError, NotFoundError } from '../errors.js';
import { familiarString, formatReference, parseReference, withDefaultTag } from '../image/reference.js';
import type { ImageConfig } from '../image/config.js';
import type { ImageRecord } from '../store/image-store.js';
import type { ImageService } from './images.js';
import type { ContentStore } from '../store/content-store.js';
import type { DataPaths } from '../store/paths.js';
import { hex } from '../store/paths.js';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
const OCI_LAYER_TAR = 'application/vnd.oci.image.layer.v1.tar';

const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** Streams a save archive of the named images (`names` as given: refs or IDs). */
export function saveImages(images: ImageService, content: ContentStore, names: string[]): Readable {
  const resolved = names.map((n) => ({ name: n, img: images.resolve(n) }));
  const pack = tarStream.pack();
  const out = new PassThrough();
  void (async () => {
    const addFile = (name: string, data: Buffer) => new Promise<void>((res, rej) => pack.entry({ name, size: data.length, mtime: new Date(0), mode: 0o644 }, data, (e) => (e ? rej(e) : res())));
    const written = new Set<string>();
    const manifestJson: Record<string, unknown>[] = [];
    const indexManifests: Record<string, unknown>[] = [];
    const repositories: Record<string, Record<string, string>> = {};
    await addFile('oci-layout', Buffer.from('{"imageLayoutVersion":"1.0.0"}'));
    for (const { name, img } of resolved) {
      const configName = `blobs/sha256/${hex(img.id)}`;
      if (!written.has(configName)) { await addFile(configName, img.configBytes); written.add(configName); }
      const layerDescs: { mediaType: string; digest: string; size: number }[] = [];
      for (const layer of images.layers.chain(img.topLayer)) {
        const blob = images.layers.blobOf(layer.diffId);
        if (!blob) throw new NotFoundError(`layer ${layer.diffId} has no stored blob`);
        const layerName = `blobs/sha256/${hex(layer.diffId)}`;
        // The uncompressed tar's size is only known by reading it; stream it through a counting pass first.
        let size = 0;
        await pipeline(content.open(blob.digest), createGunzip(), async function* (src) { for await (const c of src) size += (c as Buffer).length; yield* []; });
        if (!written.has(layerName)) {
          const entry = pack.entry({ name: layerName, size, mtime: new Date(0), mode: 0o644 });
          await pipeline(content.open(blob.digest), createGunzip(), entry);
          written.add(layerName);
        }
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
      const tags = tagsToSave(images, name, img);
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
  return out;
}

/** Tags to record for a saved name: the named tag, or all tags when saved by ID. */
function tagsToSave(images: ImageService, name: string, img: ImageRecord): string[] {
  const byId = name.startsWith('sha256:') || /^[0-9a-f]{12,64}$/.test(name);
  if (byId) return images.repoTags(img.id);
  return [familiarString(withDefaultTag(parseReference(name)))];
}

export interface LoadedImage { id: string; tags: string[] }

/**
 * Unpacks an archive into tmp/ (regular files only, names confined to the
 * directory), then imports each image: layers verified against the config's
 * diff_ids, the config stored byte for byte.
 */
export async function loadImages(images: ImageService, paths: DataPaths, archive: Readable, onProgress: (msg: string) => void): Promise<LoadedImage[]> {
  const dir = join(paths.tmp, `load-${randomBytes(8).toString('hex')}`);
  await mkdir(dir, { recursive: true });
  const lease = images.layers.lease();
  let failed = false;
  try {
    await extractFiles(archive, dir);
    const fileOf = (name: string) => {
      const n = normalize(name);
      if (n.startsWith('..') || n.startsWith('/')) throw new InvalidParameterError(`invalid path in archive: ${name}`);
      return join(dir, n);
    };
    let entries: { Config: string; RepoTags: string[] | null; Layers: string[] }[];
    try {
      entries = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8'));
    } catch {
      entries = await entriesFromOciIndex(dir);
    }
    const loaded: LoadedImage[] = [];
    for (const e of entries) {
      const configBytes = await readFile(fileOf(e.Config));
      const config = JSON.parse(configBytes.toString('utf8')) as ImageConfig;
      const diffIds = config.rootfs?.diff_ids ?? [];
      if (diffIds.length !== e.Layers.length) throw new InvalidParameterError(`invalid manifest: ${e.Layers.length} layers for ${diffIds.length} diff_ids`);
      let parent: string | null = null;
      for (let i = 0; i < e.Layers.length; i++) {
        const rec = await images.layers.importLayer(createReadStream(fileOf(e.Layers[i])), parent, { lease });
        if (rec.diffId !== diffIds[i]) {
          throw new InvalidParameterError(`invalid diffID for layer ${i}: calculated ${rec.diffId}, expected ${diffIds[i]}`);
        }
        onProgress(`Loading layer ${rec.diffId.slice(7, 19)}`);
        parent = rec.chainId;
      }
      const size = images.layers.chain(parent).reduce((n, l) => n + l.size, 0);
      const img = images.store.put(configBytes, parent, size);
      const tags: string[] = [];
      for (const t of e.RepoTags ?? []) {
        images.tag(img.id, t);
        tags.push(familiarString(withDefaultTag(parseReference(t))));
      }
      loaded.push({ id: img.id, tags });
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

async function entriesFromOciIndex(dir: string): Promise<{ Config: string; RepoTags: string[]; Layers: string[] }[]> {
  let index: { manifests?: { digest: string; annotations?: Record<string, string> }[] };
  try { index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')); } catch {
    throw new InvalidParameterError('archive has neither manifest.json nor index.json');
  }
  const out: { Config: string; RepoTags: string[]; Layers: string[] }[] = [];
  for (const m of index.manifests ?? []) {
    const manifest = JSON.parse(await readFile(join(dir, 'blobs/sha256', hex(m.digest)), 'utf8'));
    if (!manifest.config) throw new InvalidParameterError(`unsupported manifest ${m.digest} in index.json`);
    const name = m.annotations?.['io.containerd.image.name'];
    out.push({
      Config: `blobs/sha256/${hex(manifest.config.digest)}`,
      RepoTags: name ? [name] : [],
      Layers: manifest.layers.map((l: { digest: string }) => `blobs/sha256/${hex(l.digest)}`),
    });
  }
  return out;
}

/** Extracts the regular files of a tar stream under `dir`; anything else is skipped. */
async function extractFiles(archive: Readable, dir: string): Promise<void> {
  const extract = tarStream.extract();
  const done = new Promise<void>((resolve, reject) => {
    extract.on('entry', (header, stream, next) => {
      const name = normalize(header.name);
      if (header.type !== 'file' || name.startsWith('..') || name.startsWith('/')) {
        stream.resume();
        stream.on('end', next);
        return;
      }
      const target = join(dir, name);
      mkdir(dirname(target), { recursive: true })
        .then(() => pipeline(stream, createWriteStream(target)))
        .then(() => next(), (e) => { stream.resume(); next(e); });
    });
    extract.on('finish', resolve);
    extract.on('error', reject);
  });
  archive.on('error', (e) => extract.destroy(e));
  archive.pipe(extract);
  await done;
  await stat(dir);
}
