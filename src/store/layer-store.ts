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
  constructor(private readonly db: Db, private readonly paths: DataPaths) {}

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
  async importLayer(tar: Readable, parent: string | null): Promise<LayerRecord> {
    if (parent && !this.has(parent)) throw new Error(`parent layer ${parent} is not in the layer store`);
    const stage = join(this.paths.tmp, `layer-${randomBytes(8).toString('hex')}`);
    await mkdir(join(stage, 'diff'), { recursive: true });
    try {
      const { diffId, size } = await applyLayer(tar, join(stage, 'diff'));
      const chainId = chainIdOf(parent, diffId);
      const existing = this.get(chainId);
      if (existing) return existing;
      const rec: LayerRecord = { chainId, diffId, parent, size, created: Date.now() };
      await mkdir(this.paths.layers, { recursive: true });
      await rename(stage, this.paths.layerDir(chainId));
      this.db.prepare('INSERT INTO layers (chain_id, diff_id, parent, size, created) VALUES (?, ?, ?, ?, ?)')
        .run(rec.chainId, rec.diffId, rec.parent, rec.size, rec.created);
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
    const tops = this.db.prepare('SELECT top_layer FROM images WHERE top_layer IS NOT NULL').all() as { top_layer: string }[];
    for (const { top_layer } of tops) {
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
