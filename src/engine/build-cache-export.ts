/**
 * `--cache-to` (type=local, type=registry): the steps a build used, read
 * from the build cache table (or the build's own records of steps it took
 * from a `--cache-from`) and the stores, written as a cache artifact
 * (build/cache-manifest.ts) to a blob target — the client's content store
 * over its session, or a registry repository.
 *
 * `mode=min` exports the steps of the final stage, `mode=max` those of
 * every stage the build ran, as BuildKit's modes do. A step whose image,
 * layer or compressed blob is no longer here is left out (an importer
 * then misses there and builds the rest of that chain itself).
 *
 * `--cache-to type=inline` (imageWithInlineCache) writes the final stage's
 * keys into the named image's config instead.
 */
import { Readable } from 'node:stream';
import { INLINE_CACHE_FIELD, buildCacheArtifact, inlineCacheValue, type CacheArtifact, type CacheStep, type Descriptor, type InlineStep } from '../build/cache-manifest.js';
import type { BuildCacheStore, CacheEntry } from '../store/build-cache.js';
import type { ContentStore } from '../store/content-store.js';
import type { ImageRecord, ImageStore } from '../store/image-store.js';
import type { LayerStore } from '../store/layer-store.js';
import { NotFoundError } from '../errors.js';

/**
 * A step key the build used, with the index of its stage; `own` is the
 * record of a step the build took from a cache it was given (builder.ts),
 * which is not in the shared build cache.
 */
export interface UsedStep { key: string; stage: number; own?: CacheEntry }

export type CacheMode = 'min' | 'max';

/** Where a cache's blobs go; `write` skips a blob the target has, and may `open` the blob more than once (a retried upload). */
export interface CacheBlobTarget {
  write(desc: Descriptor, open: () => Readable, signal: AbortSignal): Promise<void>;
}

export interface CacheExportStores {
  cache: BuildCacheStore;
  images: ImageStore;
  layers: LayerStore;
  content: ContentStore;
}

/** A step to export, its layer (if it made one) still without the blob a registry gets. */
interface ExportableStep { step: Omit<CacheStep, 'layer'>; layer?: Omit<NonNullable<CacheStep['layer']>, 'blob'> }

/** The steps a build used that are still here to export, in build order, each once. */
function exportableSteps(stores: CacheExportStores, used: readonly UsedStep[], finalStage: number, mode: CacheMode): ExportableStep[] {
  const out: ExportableStep[] = [];
  const seen = new Set<string>();
  for (const u of used) {
    if (seen.has(u.key) || (mode === 'min' && u.stage !== finalStage)) continue;
    seen.add(u.key);
    const row = u.own ?? stores.cache.get(u.key);
    const img = row && stores.images.get(row.imageId);
    if (!row || !img) continue;
    const parent = row.parent ? stores.images.get(row.parent) : undefined;
    if (row.parent && !parent) continue;
    // A step's parent outside the export (a base image) is fine: the importer must have it.
    const parentTop = parent?.topLayer ?? null;
    let layer: ExportableStep['layer'];
    if (img.topLayer !== parentTop) {
      const rec = img.topLayer ? stores.layers.get(img.topLayer) : undefined;
      if (!rec || rec.parent !== parentTop) continue;
      layer = { diffId: rec.diffId, chainId: rec.chainId, parentChainId: rec.parent, created: rec.created };
    }
    let context = row.context;
    try {
      // The copied files' list explains misses; it is not needed for hits and can be long.
      const c = JSON.parse(row.context) as Record<string, unknown>;
      delete c.files;
      context = JSON.stringify(c);
    } catch { /* kept as it is */ }
    out.push({
      step: {
        key: row.key, parent: row.parent, kind: row.kind, original: row.original, inputs: row.inputs, context,
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: img.id, size: img.configBytes.length },
        created: row.created,
      },
      ...(layer ? { layer } : {}),
    });
  }
  return out;
}

/**
 * The steps to export for a build, in build order, each once, each layer
 * with the blob a registry gets (pushBlob: a layer made here is gzipped at
 * its first export). A step whose layer has no blob left is left out.
 */
export async function stepsToExport(stores: CacheExportStores, used: readonly UsedStep[], finalStage: number, mode: CacheMode): Promise<CacheStep[]> {
  const out: CacheStep[] = [];
  for (const { step, layer } of exportableSteps(stores, used, finalStage, mode)) {
    if (!layer) { out.push(step); continue; }
    const blob = await stores.layers.pushBlob(layer.diffId).catch((e: unknown) => { if (e instanceof NotFoundError) return undefined; throw e; });
    if (!blob) continue;
    out.push({ ...step, layer: { ...layer, blob: { mediaType: blob.mediaType, digest: blob.digest, size: blob.size } } });
  }
  return out;
}

/**
 * Writes the artifact's blobs (layers from the content store, image
 * configs from the image store), then the cache config and the manifest;
 * `progress` hears of each. Returns the artifact (its manifest descriptor
 * is what the client's index.json or the registry tag points at).
 */
export async function writeCacheArtifact(
  stores: CacheExportStores, steps: readonly CacheStep[], target: CacheBlobTarget, signal: AbortSignal,
  progress: (what: string) => () => void = () => () => undefined,
): Promise<CacheArtifact> {
  const artifact = buildCacheArtifact(steps);
  for (const d of artifact.blobs) {
    const isConfig = d.mediaType === 'application/vnd.oci.image.config.v1+json';
    const done = progress(`writing ${isConfig ? 'image config' : 'layer'} ${d.digest}`);
    if (isConfig) {
      const img = stores.images.get(d.digest);
      if (!img) throw new Error(`image ${d.digest} is gone`);
      await target.write(d, () => Readable.from([img.configBytes]), signal);
    } else {
      await target.write(d, () => stores.content.open(d.digest), signal);
    }
    done();
  }
  let done = progress(`writing config ${artifact.cacheConfigDesc.digest}`);
  await target.write(artifact.cacheConfigDesc, () => Readable.from([artifact.cacheConfig]), signal);
  done();
  done = progress(`writing cache image manifest ${artifact.manifestDesc.digest}`);
  await target.write(artifact.manifestDesc, () => Readable.from([artifact.manifest]), signal);
  done();
  return artifact;
}

/**
 * `--cache-to type=inline`: the built image with its inline cache — the
 * final stage's steps (BuildKit's inline cache is `mode=min`), each with
 * the history line it wrote — in its config (`moby.buildkit.cache.v0`).
 * That is a new image (a new config), whose parent is the built one.
 */
export function imageWithInlineCache(stores: CacheExportStores, imageId: string, used: readonly UsedStep[], finalStage: number): ImageRecord {
  const img = stores.images.get(imageId);
  if (!img) throw new Error(`image ${imageId} is gone`);
  const steps: InlineStep[] = [];
  for (const { step: s, layer } of exportableSteps(stores, used, finalStage, 'min')) {
    const stepImage = stores.images.get(s.config.digest);
    const history = stepImage?.config.history;
    if (!Array.isArray(history) || history.length === 0) continue;
    const layers = history.filter((h) => !h.empty_layer).length;
    steps.push({ key: s.key, history: history.length - 1, ...(layer ? { layer: layers - 1 } : {}) });
  }
  const config = JSON.parse(img.configBytes.toString('utf8')) as Record<string, unknown>;
  config[INLINE_CACHE_FIELD] = inlineCacheValue(steps);
  return stores.images.put(Buffer.from(JSON.stringify(config)), img.topLayer, img.size, img.id);
}
