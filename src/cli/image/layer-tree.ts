/**
 * `berth images --tree`: the parent/child layer tree Docker once drew and
 * then removed. Each line is a layer (its chain ID), with its own size, the
 * size of everything from the base up to it, and the images that end there:
 *
 *   └─6f2a1b0c9d8e Size: 4.26MB Virtual Size: 4.26MB Tags: busybox:latest
 *     ├─0a1b2c3d4e5f Size: 2.1MB Virtual Size: 6.36MB Tags: app:latest
 *     └─9f8e7d6c5b4a Size: 12B Virtual Size: 4.26MB Image: 1c2d3e4f5a6b
 */
import { humanSize } from '../format/units.js';

import type { ImageTree, TreeImage, TreeLayer } from '../../api/types/image-tree.js';

export type { ImageTree, TreeImage, TreeLayer };

function short(id: string, trunc: boolean): string {
  const hex = id.startsWith('sha256:') ? id.slice(7) : id;
  return trunc ? hex.slice(0, 12) : id;
}

function imagesText(images: readonly TreeImage[], trunc: boolean): string {
  const tags = images.flatMap((i) => i.RepoTags);
  const untagged = images.filter((i) => i.RepoTags.length === 0).map((i) => short(i.Id, trunc));
  let s = '';
  if (tags.length) s += ` Tags: ${tags.join(', ')}`;
  if (untagged.length) s += ` ${untagged.length > 1 ? 'Images' : 'Image'}: ${untagged.join(', ')}`;
  return s;
}

/**
 * Draws the tree. `only` limits it to the branches that lead to these image
 * IDs (the images a filter or the default listing selects) and to naming
 * only them.
 */
export function renderLayerTree(tree: ImageTree, o: { trunc: boolean; only?: ReadonlySet<string> }): string {
  const keep = (img: TreeImage) => !o.only || o.only.has(img.Id);
  const byId = new Map(tree.Layers.map((l) => [l.ChainID, l]));
  const wanted = new Set<string>();
  for (const l of tree.Layers) {
    if (!l.Images.some(keep)) continue;
    for (let cur: TreeLayer | undefined = l; cur && !wanted.has(cur.ChainID); cur = byId.get(cur.Parent)) wanted.add(cur.ChainID);
  }
  const children = new Map<string, TreeLayer[]>();
  for (const l of tree.Layers) {
    if (!wanted.has(l.ChainID)) continue;
    const siblings = children.get(l.Parent) ?? [];
    siblings.push(l);
    children.set(l.Parent, siblings);
  }
  let out = '';
  const draw = (parent: string, indent: string, below: number) => {
    const kids = children.get(parent) ?? [];
    kids.forEach((l, i) => {
      const last = i === kids.length - 1;
      const virtual = below + l.Size;
      out += `${indent}${last ? '└─' : '├─'}${short(l.ChainID, o.trunc)} Size: ${humanSize(l.Size)} Virtual Size: ${humanSize(virtual)}${imagesText(l.Images.filter(keep), o.trunc)}\n`;
      draw(l.ChainID, indent + (last ? '  ' : '│ '), virtual);
    });
  };
  draw('', '', 0);
  const empty = tree.ImagesWithoutLayers.filter(keep);
  if (empty.length) out += `(no layers)${imagesText(empty, o.trunc)}\n`;
  return out;
}
