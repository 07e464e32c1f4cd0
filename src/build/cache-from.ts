/**
 * `--cache-from` (`cachefrom=`): images named as cache sources, used the way
 * dockerd's classic builder uses them (moby image/cache/cache.go,
 * `ImageCache.GetCache`):
 *
 * - a hit of the local build cache counts only when the image it found is
 *   one of the sources or an ancestor of one (the build then reproduces a
 *   source's chain, never an unrelated image that happens to match);
 * - otherwise a source matches a step when its history starts with the
 *   current image's history and its rootfs with the current image's layers,
 *   and its next history line was written by this very step (`created_by`,
 *   the classic builder's cache probe). A source whose history ends there
 *   *is* the step's result; else the step's image is rebuilt from the
 *   source's next history line and layer, with no command run. That is how
 *   an image pulled or loaded from elsewhere, which has no local cache
 *   entries and no parent chain, still gives hits;
 * - once a source has matched, only that source is followed; once no source
 *   matches, none is consulted again (a miss is a miss for the rest of the
 *   build).
 *
 * Names that do not resolve to a local image are skipped, as dockerd does.
 */
import type { HistoryEntry, ImageConfig } from '../image/config.js';
import type { ImageRecord } from '../store/image-store.js';

/** What the cache sources need to read from the image store. */
export interface CacheSourceStore {
  image(id: string): ImageRecord | undefined;
}

/** A source that gives a step's result from its history. */
export type SourceMatch =
  /** The source itself is the step's result. */
  | { kind: 'image'; image: ImageRecord }
  /**
   * The step's image is to be made from the source's history line `entry`
   * and, unless that line is an empty layer, its layer `diffId`, which is
   * the top of the first `layerCount` layers of the source's chain.
   */
  | { kind: 'restore'; source: ImageRecord; entry: HistoryEntry; diffId?: string; layerCount: number };

/** Parent links are followed at most this far (a corrupt store must not loop). */
const MAX_DEPTH = 10_000;

/**
 * An image's history and rootfs as the cache reads them; undefined when
 * either is malformed (an image loaded or pulled from elsewhere may carry
 * anything there), which makes the image no cache source and no parent a
 * source can continue.
 */
function chainOf(c: ImageConfig | undefined): { history: HistoryEntry[]; diffIds: string[] } | undefined {
  const history: unknown = c?.history ?? [];
  const diffIds: unknown = c?.rootfs?.diff_ids;
  if (!Array.isArray(history) || !history.every((h) => typeof h === 'object' && h !== null && !Array.isArray(h))) return undefined;
  if (!Array.isArray(diffIds) || !diffIds.every((d) => typeof d === 'string')) return undefined;
  return { history: history as HistoryEntry[], diffIds: diffIds as string[] };
}

/** A history line as dockerd's reflect.DeepEqual compares it: every field, absent ones empty. */
function sameEntry(a: HistoryEntry, b: HistoryEntry): boolean {
  const norm = (h: HistoryEntry) => [h.created ?? '', h.created_by ?? '', h.author ?? '', h.comment ?? '', Boolean(h.empty_layer)];
  const x = norm(a);
  const y = norm(b);
  return x.every((v, i) => v === y[i]);
}

type Chain = NonNullable<ReturnType<typeof chainOf>>;

/** dockerd's isValidParent: `img` continues `parent` (history and layers are a strict extension). */
function continues(img: Chain, parent: Chain): boolean {
  const ih = img.history;
  const ph = parent.history;
  if (ih.length === 0) return false;
  if (ph.length === 0 && parent.diffIds.length === 0) return true;
  if (ph.length >= ih.length) return false;
  if (parent.diffIds.length > img.diffIds.length) return false;
  return ph.every((h, i) => sameEntry(h, ih[i])) && parent.diffIds.every((d, i) => d === img.diffIds[i]);
}

export class CacheSources {
  private sources: ImageRecord[];

  constructor(private readonly store: CacheSourceStore, sources: readonly ImageRecord[]) {
    this.sources = [...sources];
  }

  /** Whether a local cache hit `imageId` lies on a source's chain (the source itself or an ancestor). */
  accepts(imageId: string): boolean {
    for (const s of this.sources) {
      let id = s.id;
      for (let depth = 0; id && depth < MAX_DEPTH; depth++) {
        if (id === imageId) return true;
        id = this.store.image(id)?.parent ?? '';
      }
    }
    return false;
  }

  /**
   * The source that continues `parent` (the config of the image the step
   * starts from; an empty history for scratch) with a line `createdBy`.
   */
  match(parentConfig: ImageConfig, createdBy: string): SourceMatch | undefined {
    const parent = chainOf(parentConfig);
    const at = parent?.history.length ?? 0;
    for (const source of parent ? this.sources : []) {
      const c = chainOf(source.config);
      if (!c || !continues(c, parent!)) continue;
      const entry = c.history[at];
      if ((entry.created_by ?? '') !== createdBy) continue;
      // Follow this source alone from now on (dockerd: "avoid jumping to a different target").
      this.sources = [source];
      if (at === c.history.length - 1) return { kind: 'image', image: source };
      // The source's layer for this line: one per history line that is not an empty layer.
      const layerCount = c.history.slice(0, at + 1).filter((h) => !h.empty_layer).length;
      if (entry.empty_layer) return { kind: 'restore', source, entry, layerCount };
      // The step's image is the parent's rootfs plus this layer, and its filesystem the source's
      // first layerCount layers: the same chain only when the parent's history counts its own
      // layers. A history that does not (a hostile or history-less image) would give an image
      // whose config names one rootfs and whose files are another; dockerd fails there.
      const diffId = c.diffIds[layerCount - 1];
      if (!diffId || layerCount - 1 !== parent!.diffIds.length) { this.sources = []; return undefined; }
      return { kind: 'restore', source, entry, diffId, layerCount };
    }
    this.sources = [];
    return undefined;
  }
}
