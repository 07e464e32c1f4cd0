/**
 * Images and tags. An image row holds the exact config bytes (its ID is their
 * sha256) and the chain ID of its top layer; tags map a normalised reference
 * to an image. Layers are pinned by images: nothing here deletes a layer —
 * the caller runs `LayerStore.collectGarbage` after removing images.
 */
import { createHash } from 'node:crypto';
import type { Db } from './db.js';
import type { ImageConfig } from '../image/config.js';

export interface ImageRecord {
  id: string;
  configBytes: Buffer;
  config: ImageConfig;
  topLayer: string | null;
  parent: string;
  size: number;
  created: number;
  lastTag: number | null;
}

interface ImageRow { id: string; config: Buffer; top_layer: string | null; parent: string; size: number; created: number; last_tag: number | null }

export function imageIdOf(configBytes: Buffer): string {
  return 'sha256:' + createHash('sha256').update(configBytes).digest('hex');
}

export class ImageStore {
  private cache = new Map<string, ImageRecord>();

  constructor(private readonly db: Db) {}

  private fromRow(r: ImageRow): ImageRecord {
    const cached = this.cache.get(r.id);
    if (cached && cached.lastTag === r.last_tag) return cached;
    const rec: ImageRecord = {
      id: r.id, configBytes: r.config, config: JSON.parse(r.config.toString('utf8')) as ImageConfig,
      topLayer: r.top_layer, parent: r.parent, size: r.size, created: r.created, lastTag: r.last_tag,
    };
    this.cache.set(r.id, rec);
    return rec;
  }

  get(id: string): ImageRecord | undefined {
    const r = this.db.prepare('SELECT * FROM images WHERE id = ?').get(id) as ImageRow | undefined;
    return r && this.fromRow(r);
  }

  list(): ImageRecord[] {
    return (this.db.prepare('SELECT * FROM images ORDER BY created DESC').all() as ImageRow[]).map((r) => this.fromRow(r));
  }

  /** IDs starting with the given hex prefix (for short-ID lookups). */
  findByPrefix(prefix: string): string[] {
    const p = prefix.startsWith('sha256:') ? prefix : `sha256:${prefix}`;
    return (this.db.prepare("SELECT id FROM images WHERE id >= ? AND id < ? || 'g'").all(p, p) as { id: string }[]).map((r) => r.id);
  }

  /** Stores an image (idempotent on the ID). Its layers must already be in the layer store. */
  put(configBytes: Buffer, topLayer: string | null, size: number, parent = ''): ImageRecord {
    const id = imageIdOf(configBytes);
    this.db.prepare('INSERT OR IGNORE INTO images (id, config, top_layer, parent, size, created) VALUES (?, ?, ?, ?, ?, ?)')
      .run(id, configBytes, topLayer, parent, size, Date.now());
    return this.get(id)!;
  }

  delete(id: string): void {
    this.deleteMany([id]);
  }

  /** Deletes images and their tags in one transaction (one write to the database however many go). */
  deleteMany(ids: readonly string[]): void {
    const untag = this.db.prepare('DELETE FROM tags WHERE image_id = ?');
    const del = this.db.prepare('DELETE FROM images WHERE id = ?');
    this.db.transaction(() => { for (const id of ids) { untag.run(id); del.run(id); } })();
    for (const id of ids) this.cache.delete(id);
  }

  /** Points `ref` (normalised) at `imageId`; returns the image it pointed at before, if any. */
  tag(ref: string, imageId: string): string | undefined {
    const prev = this.resolveTag(ref);
    this.db.transaction(() => {
      this.db.prepare('INSERT INTO tags (ref, image_id) VALUES (?, ?) ON CONFLICT(ref) DO UPDATE SET image_id = excluded.image_id').run(ref, imageId);
      this.db.prepare('UPDATE images SET last_tag = ? WHERE id = ?').run(Date.now(), imageId);
    })();
    return prev;
  }

  untag(ref: string): boolean {
    return this.db.prepare('DELETE FROM tags WHERE ref = ?').run(ref).changes > 0;
  }

  resolveTag(ref: string): string | undefined {
    const r = this.db.prepare('SELECT image_id FROM tags WHERE ref = ?').get(ref) as { image_id: string } | undefined;
    return r?.image_id;
  }

  tagsOf(imageId: string): string[] {
    return (this.db.prepare('SELECT ref FROM tags WHERE image_id = ? ORDER BY ref').all(imageId) as { ref: string }[]).map((r) => r.ref);
  }

  allTags(): Map<string, string[]> {
    const m = new Map<string, string[]>();
    for (const { ref, image_id } of this.db.prepare('SELECT ref, image_id FROM tags ORDER BY ref').all() as { ref: string; image_id: string }[]) {
      const l = m.get(image_id) ?? [];
      l.push(ref);
      m.set(image_id, l);
    }
    return m;
  }

  /** Records that `imageId` is known to a registry repository by this manifest (RepoDigests). */
  addManifest(imageId: string, repository: string, digest: string, mediaType: string): void {
    this.db.prepare('INSERT OR IGNORE INTO image_manifests (image_id, repository, digest, media_type) VALUES (?, ?, ?, ?)').run(imageId, repository, digest, mediaType);
  }

  manifestsOf(imageId: string): { repository: string; digest: string; mediaType: string }[] {
    return (this.db.prepare('SELECT repository, digest, media_type FROM image_manifests WHERE image_id = ?').all(imageId) as { repository: string; digest: string; media_type: string }[])
      .map((r) => ({ repository: r.repository, digest: r.digest, mediaType: r.media_type }));
  }

  /** The image a digest reference (`repository@digest`) names, if one is known by it. */
  resolveDigest(repository: string, digest: string): string | undefined {
    const r = this.db.prepare('SELECT image_id FROM image_manifests WHERE repository = ? AND digest = ?').get(repository, digest) as { image_id: string } | undefined;
    return r?.image_id;
  }

  /** Forgets a digest reference of the image (`rmi name@digest`, or the last tag of its repository going). */
  removeManifest(imageId: string, repository: string, digest: string): boolean {
    return this.db.prepare('DELETE FROM image_manifests WHERE image_id = ? AND repository = ? AND digest = ?').run(imageId, repository, digest).changes > 0;
  }

  repositoriesOf(imageId: string): string[] {
    return [...new Set(this.manifestsOf(imageId).map((m) => m.repository))];
  }

  /** Images whose parent is `id` (local build/commit lineage). */
  children(id: string): string[] {
    return (this.db.prepare('SELECT id FROM images WHERE parent = ?').all(id) as { id: string }[]).map((r) => r.id);
  }
}
