/**
 * The parent/child layer tree Docker removed (`docker images --tree` before
 * 1.7): every layer in the store with its parent, its size and the images
 * whose top layer it is. The view is berth's `GET /images/tree`; the CLI
 * draws it.
 */
import type { ImageService } from './images.js';

export interface TreeImage { Id: string; RepoTags: string[]; Containers: number }

export interface TreeLayer {
  /** Chain ID: names the layer together with everything beneath it. */
  ChainID: string;
  DiffID: string;
  /** Chain ID of the layer beneath, '' for a base layer. */
  Parent: string;
  /** Bytes of the layer's content (what `history` shows for its step). */
  Size: number;
  /** Unix ms the layer was unpacked. */
  Created: number;
  /** Images whose top layer this is. */
  Images: TreeImage[];
}

export interface ImageTree {
  Layers: TreeLayer[];
  /** Images with no layer at all (`FROM scratch` with only metadata). */
  ImagesWithoutLayers: TreeImage[];
}

export function imageTree(images: ImageService): ImageTree {
  const layers = new Map<string, TreeLayer>();
  const withoutLayers: TreeImage[] = [];
  const tags = images.store.allTags();
  const used = images.containerCounts();
  for (const img of images.store.list()) {
    const entry: TreeImage = {
      Id: img.id,
      RepoTags: (tags.get(img.id) ?? []).map((t) => images.familiarTag(t)),
      Containers: used.get(img.id) ?? 0,
    };
    const chain = images.layers.chain(img.topLayer);
    if (chain.length === 0) { withoutLayers.push(entry); continue; }
    for (const l of chain) {
      if (!layers.has(l.chainId)) {
        layers.set(l.chainId, { ChainID: l.chainId, DiffID: l.diffId, Parent: l.parent ?? '', Size: l.size, Created: l.created, Images: [] });
      }
    }
    layers.get(chain[chain.length - 1].chainId)!.Images.push(entry);
  }
  const byCreated = (a: TreeLayer, b: TreeLayer) => a.Created - b.Created || (a.ChainID < b.ChainID ? -1 : 1);
  return { Layers: [...layers.values()].sort(byCreated), ImagesWithoutLayers: withoutLayers };
}
