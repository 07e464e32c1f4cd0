/**
 * The body of berth's `GET /images/tree` (the layer tree `berth images
 * --tree` draws). A wire type: the engine builds it, the API sends it, the
 * CLI reads it; it imports nothing.
 */

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
