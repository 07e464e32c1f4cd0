/**
 * `--cache-from` (type=local, type=registry): a cache artifact made by
 * `--cache-to` (build/cache-manifest.ts), read from a blob source — the
 * client's content store over its session, or a registry repository — and
 * consulted by the builder when its own cache misses.
 *
 * A step is taken from the artifact only when its key and the image it
 * starts from are the build's own; it is then made here as if it had run:
 * its image config is fetched (its digest is the image ID), checked
 * against the parent's rootfs plus the step's layer, the layer is fetched
 * and unpacked on top of the parent's (its diffID must be the one the
 * config names), and the image is stored. Blobs are verified (digest and
 * size) as they arrive; nothing in the artifact names a file before it is
 * checked.
 *
 * Scope: an imported step is a hit for the build that imported the cache,
 * and for no other. Its image (content-addressed, like any image) is
 * stored, but no row goes into the shared build cache: the builder keeps
 * the step's record in its own result (builder.ts `own`, what this
 * build's `--cache-to` exports). What a cache's author says a step made
 * cannot be checked short of running the step, so a row from it would
 * make the author's layer the result of that step for every later build
 * of anyone on this daemon. A later build that wants the hits imports the
 * cache again (or builds the step, whose row is then shared as any
 * step's that ran).
 */
import { Readable } from 'node:stream';
import { InvalidParameterError } from '../errors.js';
import {
  MAX_CACHE_CONFIG_BYTES, MAX_IMAGE_CONFIG_BYTES, MAX_MANIFEST_BYTES, checkDigest, parseCacheConfig, parseCacheManifest, parseInlineCache,
  type CacheStep, type Descriptor,
} from '../build/cache-manifest.js';
import type { ImportedStepQuery } from '../build/builder.js';
import { CacheSources, type SourceMatch } from '../build/cache-from.js';
import type { BuildCacheStore } from '../store/build-cache.js';
import type { ImageRecord, ImageStore } from '../store/image-store.js';
import type { LayerRecord, LayerStore } from '../store/layer-store.js';

/** Where a cache's blobs come from; `read` yields exactly the descriptor's bytes or throws. */
export interface CacheBlobSource {
  read(desc: Descriptor, signal: AbortSignal): AsyncIterable<Buffer>;
}

/** The build's own layer import (under its lease, so nothing collects the layer before its image is stored). */
export type ImportLayer = (tar: Readable, parent: string | null) => Promise<LayerRecord>;

export interface CacheImportStores {
  cache: BuildCacheStore;
  images: ImageStore;
  layers: LayerStore;
}

async function readAll(source: CacheBlobSource, desc: Descriptor, max: number, signal: AbortSignal): Promise<Buffer> {
  if (desc.size > max) throw new InvalidParameterError(`invalid build cache: blob ${desc.digest} is too large (${desc.size} bytes)`);
  const parts: Buffer[] = [];
  let n = 0;
  for await (const c of source.read(desc, signal)) {
    n += c.length;
    if (n > max) throw new InvalidParameterError(`invalid build cache: blob ${desc.digest} is too large`);
    parts.push(c);
  }
  return Buffer.concat(parts);
}

/**
 * One imported cache: an artifact's steps by key and where their blobs
 * are, or an image carrying an inline cache (its steps' keys and history
 * lines).
 */
export interface ImportedCache {
  name: string;
  steps: Map<string, CacheStep>;
  source?: CacheBlobSource;
  inline?: { image: ImageRecord; history: Map<string, number> };
  /** Lets go of the source (a registry connection) once the build is over. */
  close?(): void;
}

/** An image's inline cache (`--cache-to type=inline`) as an imported cache; undefined when it has none of berth's steps. */
export function inlineImportedCache(name: string, image: ImageRecord): ImportedCache | undefined {
  const history = parseInlineCache(image.config as unknown as Record<string, unknown>, Array.isArray(image.config.history) ? image.config.history.length : 0);
  return history.size ? { name, steps: new Map(), inline: { image, history } } : undefined;
}

/** Reads an artifact's manifest (by its descriptor, or as fetched already) and cache config. */
export async function loadImportedCache(name: string, source: CacheBlobSource, manifest: Descriptor | Buffer, signal: AbortSignal): Promise<ImportedCache> {
  let bytes: Buffer;
  if (Buffer.isBuffer(manifest)) {
    bytes = manifest;
  } else {
    checkDigest(manifest.digest, 'manifest');
    bytes = await readAll(source, manifest, MAX_MANIFEST_BYTES, signal);
  }
  const m = parseCacheManifest(bytes);
  const steps = parseCacheConfig(await readAll(source, m.cacheConfig, MAX_CACHE_CONFIG_BYTES, signal), m.blobs);
  return { name, steps, source };
}

function diffIdsOf(img: ImageRecord | undefined): string[] {
  const d: unknown = img?.config.rootfs?.diff_ids;
  return Array.isArray(d) ? d.filter((x): x is string => typeof x === 'string') : [];
}

export class CacheImporter {
  constructor(private readonly stores: CacheImportStores, private readonly caches: readonly ImportedCache[]) {}

  get stepCount(): number {
    return this.caches.reduce((n, c) => n + c.steps.size, 0);
  }

  close(): void {
    for (const c of this.caches) c.close?.();
  }

  /**
   * Step `q.key` on `q.parentImageId` from an imported cache: its image,
   * made here from an artifact; or, from an inline cache, the match in the
   * source image's history that the builder restores (the source must
   * continue the parent's history and write this very line, as with
   * `cachefrom`); undefined when no cache has it.
   */
  async lookup(q: ImportedStepQuery, importLayer: ImportLayer, signal: AbortSignal): Promise<ImageRecord | SourceMatch | undefined> {
    for (const c of this.caches) {
      if (c.inline) {
        const at = c.inline.history.get(q.key);
        const parentHistory = Array.isArray(q.parentConfig.history) ? q.parentConfig.history.length : 0;
        if (at === undefined || at !== parentHistory) continue;
        const m = new CacheSources({ image: (id) => this.stores.images.get(id) }, [c.inline.image]).match(q.parentConfig, q.createdBy);
        if (m) return m;
        continue;
      }
      const step = c.steps.get(q.key);
      if (step && step.parent === q.parentImageId) return this.materialize(c, step, importLayer, signal);
    }
    return undefined;
  }

  private async materialize(c: ImportedCache, step: CacheStep, importLayer: ImportLayer, signal: AbortSignal): Promise<ImageRecord | undefined> {
    const { images, layers } = this.stores;
    const parent = step.parent ? images.get(step.parent) : undefined;
    if (step.parent && !parent) return undefined;
    const what = `invalid build cache ${c.name}: step ${JSON.stringify(step.original.slice(0, 200))}`;
    const want = [...diffIdsOf(parent), ...(step.layer ? [step.layer.diffId] : [])];
    const img = images.get(step.config.digest);
    if (img) {
      // An image here already: it must still be the parent's rootfs plus this step's layer.
      const have = diffIdsOf(img);
      if (have.length !== want.length || have.some((d, i) => d !== want[i])) throw new InvalidParameterError(`${what}: its image's rootfs is not its parent's plus its layer`);
      return img;
    }
    if (!c.source) return undefined;
    const bytes = await readAll(c.source, step.config, MAX_IMAGE_CONFIG_BYTES, signal);
    let config: { rootfs?: { diff_ids?: unknown } };
    try { config = JSON.parse(bytes.toString('utf8')) as typeof config; } catch { throw new InvalidParameterError(`${what}: its image config is not JSON`); }
    const diffIds = Array.isArray(config?.rootfs?.diff_ids) ? config.rootfs.diff_ids : undefined;
    // The config must describe exactly the parent's layers plus this step's: else the image would name one rootfs and hold another.
    if (!diffIds || diffIds.length !== want.length || diffIds.some((d, i) => d !== want[i])) {
      throw new InvalidParameterError(`${what}: its image config's rootfs is not its parent's plus its layer`);
    }
    let topLayer = parent?.topLayer ?? null;
    if (step.layer) {
      const tar = Readable.from(c.source.read(step.layer.blob, signal));
      const rec = await importLayer(tar, topLayer);
      if (rec.diffId !== step.layer.diffId) throw new InvalidParameterError(`${what}: its layer has diffID ${rec.diffId}, not ${step.layer.diffId}`);
      topLayer = rec.chainId;
    }
    const chainSize = layers.chain(topLayer).reduce((n, l) => n + l.size, 0);
    // No row in the shared build cache (see the scope above): the builder records the hit for this build.
    return images.put(bytes, topLayer, chainSize, step.parent);
  }
}
