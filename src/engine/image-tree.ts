/**
 * The parent/child layer tree Docker removed (`docker images --tree` before
 * 1.7): every layer in the store with its parent, its size and the images
 * whose top layer it is. The view is berth's `GET /images/tree`; the CLI
 * draws it.
 */
import type { ImageTree, TreeImage, TreeLayer } from '../api/types/image-tree.js';
import type { ImageService } from './images.js';

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
