/**
 * The layer store: unpacked layers, one directory each, named by chain ID and
 * shared as read-only overlay lower dirs by every image and container above
 * them. A layer is unpacked into tmp/, checked, renamed into layers/ and then
 * recorded; a directory without a row is garbage (swept at start-up).
 *
 * Vocabulary (OCI image spec): diffId = sha256 of a layer's uncompressed tar;
 * chainId(L0) = diffId(L0), chainId(Ln) = sha256(chainId(Ln-1) + " " + diffId(Ln)).
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, rename, rm, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { Db } from './db.js';
import { DataPaths, hex } from './paths.js';
import { applyLayer } from '../image/layer-apply.js';
import { createGzip } from 'node:zlib';
import type { ContentStore, BlobInfo } from './content-store.js';
import { tee } from './tee.js';

export const LAYER_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';
export const DOCKER_LAYER_GZIP = 'application/vnd.docker.image.rootfs.diff.tar.gzip';

export interface LayerBlob { digest: string; size: number; mediaType: string }

/** How an imported layer's blob is known: already in the content store (pull), or to be kept from the stream. */
export interface ImportLayerOptions { blob?: LayerBlob; lease?: Lease }

/**
 * Layers an operation in flight (a pull, a load, a build) has imported but no
 * image references yet: garbage collection must not take them.
 */
export interface Lease { readonly layers: Set<string>; release(): void }

function isGzip(first: Buffer): boolean { return first.length >= 2 && first[0] === 0x1f && first[1] === 0x8b; }

/** Reads the first bytes without consuming them. */
async function peek(src: Readable, n: number): Promise<Buffer> {
  for (;;) {
    const chunk = src.read() as Buffer | null;
    if (chunk) { src.unshift(chunk); return chunk.subarray(0, n); }
    if (src.readableEnded) return Buffer.alloc(0);
    await new Promise<void>((resolve, reject) => {
      const done = () => { src.off('readable', done); src.off('end', done); src.off('error', fail); resolve(); };
      const fail = (e: Error) => { src.off('readable', done); src.off('end', done); reject(e); };
      src.once('readable', done); src.once('end', done); src.once('error', fail);
    });
  }
}

export interface LayerRecord {
  chainId: string;
  diffId: string;
  parent: string | null;
  size: number;
  created: number;
}

export function chainIdOf(parentChainId: string | null, diffId: string): string {
  if (!parentChainId) return diffId;
  return 'sha256:' + createHash('sha256').update(`${parentChainId} ${diffId}`).digest('hex');
}

export function chainIds(diffIds: string[]): string[] {
  const out: string[] = [];
  let parent: string | null = null;
  for (const d of diffIds) {
    parent = chainIdOf(parent, d);
    out.push(parent);
  }
  return out;
}

interface LayerRow { chain_id: string; diff_id: string; parent: string | null; size: number; created: number }

export class LayerStore {
  private readonly leases = new Set<Lease>();

  constructor(private readonly db: Db, private readonly paths: DataPaths, private readonly content: ContentStore) {}

  lease(): Lease {
    const l: Lease = { layers: new Set(), release: () => { this.leases.delete(l); } };
    this.leases.add(l);
    return l;
  }

  /** The compressed blob kept for a layer (push sends it; digests stay stable). */
  blobOf(diffId: string): LayerBlob | undefined {
    const r = this.db.prepare('SELECT digest, size, media_type FROM layer_blobs WHERE diff_id = ? LIMIT 1').get(diffId) as { digest: string; size: number; media_type: string } | undefined;
    return r && { digest: r.digest, size: r.size, mediaType: r.media_type };
  }

  blobReferenced(digest: string): boolean {
    return this.db.prepare('SELECT 1 FROM layer_blobs WHERE digest = ? UNION SELECT 1 FROM image_manifests WHERE digest = ?').get(digest, digest) !== undefined;
  }

  recordBlob(diffId: string, b: LayerBlob): void {
    this.db.prepare('INSERT OR IGNORE INTO layer_blobs (diff_id, digest, size, media_type) VALUES (?, ?, ?, ?)').run(diffId, b.digest, b.size, b.mediaType);
  }

  get(chainId: string): LayerRecord | undefined {
    const r = this.db.prepare('SELECT * FROM layers WHERE chain_id = ?').get(chainId) as LayerRow | undefined;
    return r && { chainId: r.chain_id, diffId: r.diff_id, parent: r.parent, size: r.size, created: r.created };
  }

  has(chainId: string): boolean {
    return this.db.prepare('SELECT 1 FROM layers WHERE chain_id = ?').get(chainId) !== undefined;
  }

  /**
   * Unpacks a layer tar on top of `parent` and records it. The tar is streamed;
   * the layer only becomes visible after its diffId is known and the directory
   * is renamed into place. An identical layer already present is reused.
   */
  async importLayer(tar: Readable, parent: string | null, o: ImportLayerOptions = {}): Promise<LayerRecord> {
    if (parent && !this.has(parent)) throw new Error(`parent layer ${parent} is not in the layer store`);
    const stage = join(this.paths.tmp, `layer-${randomBytes(8).toString('hex')}`);
    await mkdir(join(stage, 'diff'), { recursive: true });
    try {
      let blob: Promise<BlobInfo> | undefined;
      let source: Readable = tar;
      if (!o.blob) {
        // Keep a gzip blob of the layer as it streams in: push sends exactly these bytes later.
        const compressed = isGzip(await peek(tar, 2));
        const [forApply, forBlob] = tee(tar);
        source = forApply;
        blob = this.content.put(compressed ? forBlob : forBlob.pipe(createGzip()));
      }
      const [{ diffId, size }, blobInfo] = await Promise.all([applyLayer(source, join(stage, 'diff')), blob]);
      const chainId = chainIdOf(parent, diffId);
      const layerBlob: LayerBlob = o.blob ?? { digest: blobInfo!.digest, size: blobInfo!.size, mediaType: LAYER_GZIP };
      o.lease?.layers.add(chainId);
      const existing = this.get(chainId);
      if (existing) {
        this.recordBlob(diffId, layerBlob);
        return existing;
      }
      const rec: LayerRecord = { chainId, diffId, parent, size, created: Date.now() };
      await mkdir(this.paths.layers, { recursive: true });
      await rename(stage, this.paths.layerDir(chainId));
      this.db.transaction(() => {
        this.db.prepare('INSERT INTO layers (chain_id, diff_id, parent, size, created) VALUES (?, ?, ?, ?, ?)')
          .run(rec.chainId, rec.diffId, rec.parent, rec.size, rec.created);
        this.recordBlob(diffId, layerBlob);
      })();
      return rec;
    } finally {
      await rm(stage, { recursive: true, force: true });
    }
  }

  /** Lower dirs for an overlay mount, top-most first (overlayfs order). */
  lowerDirs(topChainId: string | null): string[] {
    const dirs: string[] = [];
    let cur = topChainId;
    while (cur) {
      const rec = this.get(cur);
      if (!rec) throw new Error(`layer ${cur} missing from the layer store`);
      dirs.push(this.paths.layerDiff(cur));
      cur = rec.parent;
    }
    return dirs;
  }

  /** Chain of layers from the base up to `topChainId`. */
  chain(topChainId: string | null): LayerRecord[] {
    const out: LayerRecord[] = [];
    let cur = topChainId;
    while (cur) {
      const rec = this.get(cur);
      if (!rec) break;
      out.unshift(rec);
      cur = rec.parent;
    }
    return out;
  }

  /**
   * Deletes every layer that no image references (directly or as an
   * ancestor of a referenced layer). Decided from the database alone.
   * Returns the bytes freed.
   */
  async collectGarbage(): Promise<number> {
    const referenced = new Set<string>();
    const tops = (this.db.prepare('SELECT top_layer FROM images WHERE top_layer IS NOT NULL').all() as { top_layer: string }[]).map((r) => r.top_layer);
    for (const l of this.leases) tops.push(...l.layers);
    for (const top_layer of tops) {
      let cur: string | null = top_layer;
      while (cur && !referenced.has(cur)) {
        referenced.add(cur);
        cur = this.get(cur)?.parent ?? null;
      }
    }
    const all = this.db.prepare('SELECT chain_id, size FROM layers').all() as { chain_id: string; size: number }[];
    const dead = all.filter((l) => !referenced.has(l.chain_id));
    if (dead.length === 0) return 0;
    // Children before parents so the parent FK-like order stays consistent.
    const del = this.db.prepare('DELETE FROM layers WHERE chain_id = ?');
    this.db.transaction(() => { for (const l of dead) del.run(l.chain_id); })();
    let freed = 0;
    for (const l of dead) {
      freed += l.size;
      await rm(this.paths.layerDir(l.chain_id), { recursive: true, force: true });
    }
    return freed + (await this.collectBlobs());
  }

  /**
   * Deletes blobs that neither a remaining layer (by diffId) nor an image
   * manifest references. Returns the bytes freed.
   */
  async collectBlobs(): Promise<number> {
    const dead = this.db.prepare(`SELECT diff_id, digest, size FROM layer_blobs
      WHERE diff_id NOT IN (SELECT diff_id FROM layers)`).all() as { diff_id: string; digest: string; size: number }[];
    if (dead.length === 0) return 0;
    this.db.transaction(() => { for (const b of dead) this.db.prepare('DELETE FROM layer_blobs WHERE diff_id = ? AND digest = ?').run(b.diff_id, b.digest); })();
    let freed = 0;
    for (const b of dead) {
      const still = this.db.prepare('SELECT 1 FROM layer_blobs WHERE digest = ? UNION SELECT 1 FROM image_manifests WHERE digest = ?').get(b.digest, b.digest);
      if (still) continue;
      freed += b.size;
      await this.content.delete(b.digest);
    }
    return freed;
  }

  /** Removes layer directories that have no row (an import cut off by a crash). */
  async sweepOrphans(): Promise<void> {
    let names: string[] = [];
    try { names = await readdir(this.paths.layers); } catch { return; }
    const known = new Set((this.db.prepare('SELECT chain_id FROM layers').all() as { chain_id: string }[]).map((r) => hex(r.chain_id)));
    for (const n of names) if (!known.has(n)) await rm(join(this.paths.layers, n), { recursive: true, force: true });
  }
}
