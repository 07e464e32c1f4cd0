/**
 * The build cache as one list of records, the single source of `GET
 * /system/df`'s BuildCache (`berth system df`, `docker system df`),
 * BuildKit's DiskUsage (`docker buildx du`) and the IDs `builder prune` and
 * `buildx prune` report — so the views count the same things:
 *
 * - `regular`: one per build cache row (a step's key and the image it
 *   made). Its size is what the step's layer takes on disk (directory and
 *   compressed blob, as `system df` measures layers), counted for one
 *   record only; a metadata step's is 0. It is `Shared` when an image that
 *   outlives the cache (tagged, used by a container, or not made by a
 *   build) has the layer too: pruning the cache would not free it. This is
 *   how dockerd counts: the build cache's own bytes are reclaimable, the
 *   layers images share are not.
 * - `exec.cachemount`: one per `RUN --mount=type=cache` directory, its
 *   size the files in it, in use while a RUN holds it.
 */
import type { CacheMountDirs } from '../build/cache-mounts.js';
import type { BuildCacheStore } from '../store/build-cache.js';
import type { ContainerStore } from '../store/container-store.js';
import type { ImageStore } from '../store/image-store.js';
import type { LayerStore } from '../store/layer-store.js';

export interface BuildCacheRecord {
  /** BuildKit-style ID: the step key's hex, or `cachemount-<hash>`. */
  id: string;
  parents: string[];
  type: 'regular' | 'exec.cachemount';
  description: string;
  inUse: boolean;
  shared: boolean;
  /** Mutable (a cache mount): buildx marks its ID with `*`. */
  mutable: boolean;
  size: number;
  /** ms since the epoch. */
  createdAt: number;
  lastUsedAt: number;
  usageCount: number;
}

export interface BuildCacheUsageStores {
  cache: BuildCacheStore;
  cacheMounts: CacheMountDirs;
  images: ImageStore;
  containers: ContainerStore;
  layers: LayerStore;
}

/** The record ID of a build cache row (`builder prune` reports it in CachesDeleted). */
export function cacheRecordId(key: string): string {
  return key.replace(/^sha256:/, '');
}

/** The record ID of a cache mount directory. */
export function cacheMountRecordId(hash: string): string {
  return `cachemount-${hash}`;
}

export async function buildCacheUsage(s: BuildCacheUsageStores): Promise<BuildCacheRecord[]> {
  const rows = s.cache.all();
  const cached = new Set(rows.map((r) => r.imageId));
  // Layers kept by images that are not the cache's alone.
  const kept = new Set<string>();
  for (const img of s.images.list()) {
    const own = cached.has(img.id) && s.images.tagsOf(img.id).length === 0 && s.containers.usesImage(img.id).length === 0;
    if (own) continue;
    for (const l of s.layers.chain(img.topLayer)) kept.add(l.chainId);
  }
  const usage = rows.length ? await s.layers.usage() : { layers: new Map<string, number>() };
  const counted = new Set<string>();
  const recordOfImage = new Map<string, string>();
  for (const r of rows) if (!recordOfImage.has(r.imageId)) recordOfImage.set(r.imageId, cacheRecordId(r.key));
  const out: BuildCacheRecord[] = rows.map((r) => {
    const img = s.images.get(r.imageId);
    const parentTop = r.parent ? s.images.get(r.parent)?.topLayer ?? null : null;
    const layer = img && img.topLayer !== parentTop ? img.topLayer : null;
    let size = 0;
    if (layer && !counted.has(layer)) {
      counted.add(layer);
      size = usage.layers.get(layer) ?? 0;
    }
    const parent = r.parent ? recordOfImage.get(r.parent) : undefined;
    return {
      id: cacheRecordId(r.key), parents: parent ? [parent] : [], type: 'regular', description: r.original, inUse: false,
      shared: layer !== null && kept.has(layer), mutable: false, size, createdAt: r.created, lastUsedAt: r.lastUsed, usageCount: 1,
    };
  });
  for (const m of await s.cacheMounts.list()) {
    out.push({
      id: cacheMountRecordId(m.hash), parents: [], type: 'exec.cachemount', description: `cached mount ${m.id.slice(0, 200)}`, inUse: m.inUse,
      shared: false, mutable: true, size: m.size, createdAt: m.created, lastUsedAt: m.lastUsed, usageCount: 1,
    });
  }
  return out;
}
