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
import { mkdir, rename, rm, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, pipeline as pipe } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Db } from './db.js';
import { DataPaths, hex } from './paths.js';
import { applyLayer, type AppliedLayer } from '../image/layer-apply.js';
import { withSpecialFs } from '../image/fs-special.js';
import type { UpperDirRemainder } from '../image/upper-remainder.js';
import { createGzip } from 'node:zlib';
import { uncompressed } from '../image/decompress.js';
import { NotFoundError } from '../errors.js';
import type { ContentStore, BlobWriter } from './content-store.js';
import { tee } from './tee.js';
import { apparentSize } from './disk-usage.js';

export const LAYER_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';
export const DOCKER_LAYER_GZIP = 'application/vnd.docker.image.rootfs.diff.tar.gzip';
/** A layer's tar as it is: the blob kept for a layer made here (a build, a commit, an import, a load), whose digest is its diffId. */
export const LAYER_TAR = 'application/vnd.oci.image.layer.v1.tar';

export interface LayerBlob { digest: string; size: number; mediaType: string }

/**
 * How an imported layer's blob is known: already in the content store
 * (pull), or to be kept from the stream.
 */
export interface ImportLayerOptions {
  blob?: LayerBlob;
  lease?: Lease;
  /**
   * Awaited once the tar is unpacked (into a staging directory nobody sees),
   * before the layer becomes visible; a rejection discards it. A pull that
   * unpacks while it downloads verifies the blob's digest and the diffID
   * here, and waits for the parent layer, still being imported when the
   * unpacking began: with this hook the parent is looked for only after it.
   */
  beforeCommit?: (diffId: string) => Promise<void>;
  /**
   * The directory the tar was made from becomes the layer (moved, then
   * settled to what applying the tar would give) instead of the tar being
   * applied — when it is on the layer store's file system; otherwise the
   * tar is applied as usual.
   */
  adopt?: AdoptedDir;
}

/** A stopped build step's upper dir, and what its diff walk recorded (image/upper-remainder.ts). */
export interface AdoptedDir { dir: string; remainder: UpperDirRemainder }

/**
 * The layer an adopted directory's tar describes: its content is the
 * directory, moved to `diffDir`; its diffId is the digest of `tar`, read
 * from the writer the tar was kept by (its one reader: one hash, no copy).
 */
async function adoptDir(tar: Promise<BlobWriter>, adopt: AdoptedDir, diffDir: string): Promise<AppliedLayer> {
  const { digest } = await (await tar).digest();
  await rename(adopt.dir, diffDir);
  await withSpecialFs((fsx) => adopt.remainder.settle(diffDir, fsx));
  return { diffId: digest, size: adopt.remainder.contentBytes };
}

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

/** What garbage collection would delete: layer chain IDs and blob digests. */
export interface GarbagePlan { layers: string[]; blobs: string[] }

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
  private readonly diskSizes = new Map<string, number>();
  /** Gzips being made for a push, by diffId: two pushes of one layer make it once. */
  private readonly compressing = new Map<string, Promise<LayerBlob>>();

  constructor(private readonly db: Db, private readonly paths: DataPaths, private readonly content: ContentStore) {}

  lease(): Lease {
    const l: Lease = { layers: new Set(), release: () => { this.leases.delete(l); } };
    this.leases.add(l);
    return l;
  }

  /**
   * The blobs kept for a layer: the one it was pulled as (compressed, or not,
   * as the registry had it), or — for a layer made here — its tar, plus the
   * gzip made of it at its first push.
   */
  blobsOf(diffId: string): LayerBlob[] {
    const rows = this.db.prepare('SELECT digest, size, media_type FROM layer_blobs WHERE diff_id = ? ORDER BY rowid').all(diffId) as { digest: string; size: number; media_type: string }[];
    return rows.map((r) => ({ digest: r.digest, size: r.size, mediaType: r.media_type }));
  }

  /**
   * The blob a registry gets for a layer (a push, a cache export): a
   * compressed one kept for it, or else the gzip of its tar, made now and
   * kept, so every later push sends the same bytes. Layers are compressed
   * only here, when something leaves the machine, as dockerd does: a build
   * or an import pays no compression.
   */
  async pushBlob(diffId: string): Promise<LayerBlob> {
    const kept = this.blobsOf(diffId);
    const compressed = kept.find((b) => b.mediaType !== LAYER_TAR);
    if (compressed) return compressed;
    const tar = kept[0];
    if (!tar) throw new NotFoundError(`layer ${diffId} has no stored blob`);
    let making = this.compressing.get(diffId);
    if (!making) {
      making = (async () => {
        const info = await this.content.put(pipe(this.content.open(tar.digest), createGzip(), () => undefined));
        const blob: LayerBlob = { digest: info.digest, size: info.size, mediaType: LAYER_GZIP };
        // The layer may have gone meanwhile (rmi during a push): no row then, and the file goes unless something names it.
        const kept = this.db.prepare('INSERT OR IGNORE INTO layer_blobs (diff_id, digest, size, media_type) SELECT ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM layers WHERE diff_id = ?)')
          .run(diffId, blob.digest, blob.size, blob.mediaType, diffId).changes > 0;
        if (!kept && !this.blobReferenced(blob.digest)) await this.content.delete(blob.digest);
        return blob;
      })().finally(() => this.compressing.delete(diffId));
      this.compressing.set(diffId, making);
    }
    return making;
  }

  /**
   * A layer's uncompressed tar, for a save archive: its kept tar, or its
   * compressed blob decompressed (read once first to learn the size, which
   * an archive entry's header needs).
   */
  async layerTar(diffId: string): Promise<{ size: number; open: () => Readable }> {
    const kept = this.blobsOf(diffId);
    const tar = kept.find((b) => b.mediaType === LAYER_TAR);
    if (tar) return { size: tar.size, open: () => this.content.open(tar.digest) };
    const blob = kept[0];
    if (!blob) throw new NotFoundError(`layer ${diffId} has no stored blob`);
    const open = () => Readable.from(uncompressed(this.content.open(blob.digest)));
    let size = 0;
    for await (const c of open()) size += (c as Buffer).length;
    return { size, open };
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
    if (parent && !o.beforeCommit && !this.has(parent)) throw new Error(`parent layer ${parent} is not in the layer store`);
    const stage = join(this.paths.tmp, `layer-${randomBytes(8).toString('hex')}`);
    await mkdir(stage, { recursive: true });
    try {
      // The layer's bytes are kept as they come, a gzip as gzip and a tar as its tar: nothing is
      // compressed until a push needs it (pushBlob). A tar's blob is its diffId.
      const compressed = !o.blob && isGzip(await peek(tar, 2));
      // An adopted directory (a tar, ours, of it) needs only the tar's digest, which the blob writer
      // computes anyway. rename(2) moves a directory only within one file system.
      const adopt = o.adopt && !o.blob && !compressed && (await stat(o.adopt.dir)).dev === (await stat(stage)).dev ? o.adopt : undefined;
      if (!adopt) await mkdir(join(stage, 'diff'));
      let written: Promise<BlobWriter> | undefined;
      let source: Readable | undefined = tar;
      if (!o.blob) {
        const [forApply, forBlob] = adopt ? [undefined, tar] : tee(tar);
        source = forApply;
        const w = await this.content.writer();
        // pipeline, not .pipe(): an error of the branch (the client went away) must reach the blob
        // writer. The blob is committed only once the layer applied: a tar the layer refuses leaves
        // no blob behind.
        written = pipeline(forBlob, w).then(() => w, async (e: unknown) => {
          await w.abort();
          throw e;
        });
      }
      // Both settle before the stage is removed: a failed layer leaves no blob being written in tmp/.
      const [applied, stored] = await Promise.allSettled([
        adopt ? adoptDir(written!, adopt, join(stage, 'diff')) : applyLayer(source!, join(stage, 'diff')),
        written,
      ]);
      if (applied.status === 'rejected') {
        if (stored.status === 'fulfilled') await stored.value?.abort();
        throw applied.reason;
      }
      if (stored.status === 'rejected') throw stored.reason;
      const { diffId, size } = applied.value;
      if (o.beforeCommit) {
        try {
          await o.beforeCommit(diffId);
          if (parent && !this.has(parent)) throw new Error(`parent layer ${parent} is not in the layer store`);
        } catch (e) {
          await stored.value?.abort();
          throw e;
        }
      }
      const blobInfo = stored.value ? await stored.value.commit(compressed ? undefined : { digest: diffId }) : undefined;
      const chainId = chainIdOf(parent, diffId);
      const layerBlob: LayerBlob = o.blob ?? { digest: blobInfo!.digest, size: blobInfo!.size, mediaType: compressed ? LAYER_GZIP : LAYER_TAR };
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

  /** Bytes the layer's directory takes on disk (`du -sb`); layers never change, so this is measured once. */
  async diskSize(chainId: string): Promise<number> {
    let n = this.diskSizes.get(chainId);
    if (n === undefined) {
      n = await apparentSize(this.paths.layerDir(chainId));
      this.diskSizes.set(chainId, n);
    }
    return n;
  }

  /** Bytes a blob file takes (0 when it is not in the content store). */
  private async blobFileSize(digest: string): Promise<number> {
    return apparentSize(this.content.path(digest));
  }

  /**
   * What each layer costs on disk — its directory plus the compressed blob
   * kept for it (a blob shared by layers with the same diffId is counted for
   * the first) — and the manifest blobs besides; `system df` adds these up.
   */
  async usage(): Promise<{ layers: Map<string, number>; manifests: number }> {
    const layers = new Map<string, number>();
    const counted = new Set<string>();
    const blobsOf = this.db.prepare('SELECT digest FROM layer_blobs WHERE diff_id = ?');
    for (const r of this.db.prepare('SELECT chain_id, diff_id FROM layers').all() as { chain_id: string; diff_id: string }[]) {
      let n = await this.diskSize(r.chain_id);
      for (const { digest } of blobsOf.all(r.diff_id) as { digest: string }[]) {
        if (counted.has(digest)) continue;
        counted.add(digest);
        n += await this.blobFileSize(digest);
      }
      layers.set(r.chain_id, n);
    }
    let manifests = 0;
    for (const { digest } of this.db.prepare('SELECT DISTINCT digest FROM image_manifests').all() as { digest: string }[]) {
      if (counted.has(digest)) continue;
      counted.add(digest);
      manifests += await this.blobFileSize(digest);
    }
    return { layers, manifests };
  }

  /**
   * What garbage collection would delete if the images in `without` were
   * gone: layers that no other image (directly or as an ancestor) and no
   * operation in flight references, the blobs kept for them, and the
   * manifests only those images were known by. Decided from the database
   * alone; `sizeOf` measures it.
   */
  planGarbage(without: ReadonlySet<string> = new Set()): GarbagePlan {
    const tops: string[] = [];
    for (const r of this.db.prepare('SELECT id, top_layer FROM images').all() as { id: string; top_layer: string | null }[]) {
      if (r.top_layer && !without.has(r.id)) tops.push(r.top_layer);
    }
    for (const l of this.leases) tops.push(...l.layers);
    const live = new Set<string>();
    for (const top of tops) {
      let cur: string | null = top;
      while (cur && !live.has(cur)) {
        live.add(cur);
        cur = this.get(cur)?.parent ?? null;
      }
    }
    const rows = this.db.prepare('SELECT chain_id, diff_id, parent FROM layers').all() as Pick<LayerRow, 'chain_id' | 'diff_id' | 'parent'>[];
    const liveDiffs = new Set(rows.filter((r) => live.has(r.chain_id)).map((r) => r.diff_id));
    const layers = rows.filter((r) => !live.has(r.chain_id)).map((r) => r.chain_id);

    const liveManifests = new Set<string>();
    const goneManifests = new Set<string>();
    for (const m of this.db.prepare('SELECT image_id, digest FROM image_manifests').all() as { image_id: string; digest: string }[]) {
      (without.has(m.image_id) ? goneManifests : liveManifests).add(m.digest);
    }
    const liveBlobs = new Set(liveManifests);
    const blobRows = this.db.prepare('SELECT diff_id, digest FROM layer_blobs').all() as { diff_id: string; digest: string }[];
    for (const b of blobRows) if (liveDiffs.has(b.diff_id)) liveBlobs.add(b.digest);
    const blobs = new Set<string>();
    for (const b of blobRows) if (!liveDiffs.has(b.diff_id) && !liveBlobs.has(b.digest)) blobs.add(b.digest);
    for (const d of goneManifests) if (!liveBlobs.has(d)) blobs.add(d);
    return { layers, blobs: [...blobs] };
  }

  /** Bytes a plan's layers and blobs take on disk (`du -sb`). */
  async sizeOf(plan: GarbagePlan): Promise<number> {
    let bytes = 0;
    for (const c of plan.layers) bytes += await this.diskSize(c);
    for (const d of plan.blobs) bytes += await this.blobFileSize(d);
    return bytes;
  }

  /**
   * Deletes what `planGarbage` names for the images as they are now, plus
   * `manifests` (digests of manifests whose images were just deleted, if no
   * image still refers to them). With `measure`, first measures what goes
   * and returns those bytes (a prune reports them); otherwise nothing is
   * walked and 0 is returned (rmi, clean-up after a failure).
   */
  async collectGarbage(o: { manifests?: readonly string[]; measure?: boolean } = {}): Promise<number> {
    const plan = this.planGarbage();
    const blobs = new Set(plan.blobs);
    const referenced = this.db.prepare('SELECT 1 FROM layer_blobs WHERE digest = ? UNION SELECT 1 FROM image_manifests WHERE digest = ?');
    for (const d of o.manifests ?? []) if (!referenced.get(d, d)) blobs.add(d);
    if (plan.layers.length === 0 && blobs.size === 0) return 0;
    const freed = o.measure ? await this.sizeOf({ layers: plan.layers, blobs: [...blobs] }) : 0;
    const diffIds = new Set<string>();
    const delLayer = this.db.prepare('DELETE FROM layers WHERE chain_id = ? RETURNING diff_id');
    this.db.transaction(() => {
      for (const c of plan.layers) diffIds.add((delLayer.get(c) as { diff_id: string }).diff_id);
      // Blob rows of diffIds no remaining layer has: the blob goes with them.
      const stillUsed = this.db.prepare('SELECT 1 FROM layers WHERE diff_id = ?');
      const delBlobs = this.db.prepare('DELETE FROM layer_blobs WHERE diff_id = ?');
      for (const d of diffIds) if (!stillUsed.get(d)) delBlobs.run(d);
    })();
    const remaps = await readdir(this.paths.remapped).catch(() => [] as string[]);
    for (const c of plan.layers) {
      this.diskSizes.delete(c);
      await rm(this.paths.layerDir(c), { recursive: true, force: true });
      for (const m of remaps) await rm(join(this.paths.remapped, m, hex(c)), { recursive: true, force: true });
    }
    for (const d of blobs) if (!referenced.get(d, d)) await this.content.delete(d);
    return freed;
  }

  /**
   * Start-up clean-up of what a crash (kill -9 mid-pull, mid-build) cut off,
   * run before anything is in flight, so no lease protects anything: layer
   * directories that have no row (an import), layers no image references
   * (an operation that never got to its image), and blob files no layer or
   * manifest references (downloads a pull had already committed).
   */
  async sweepOrphans(): Promise<void> {
    const names = await readdir(this.paths.layers).catch(() => [] as string[]);
    const known = new Set((this.db.prepare('SELECT chain_id FROM layers').all() as { chain_id: string }[]).map((r) => hex(r.chain_id)));
    for (const n of names) if (!known.has(n)) await rm(join(this.paths.layers, n), { recursive: true, force: true });
    // Chowned copies for --userns-remap (store/remapped-layers.ts) of layers that are gone.
    for (const m of await readdir(this.paths.remapped).catch(() => [] as string[])) {
      for (const n of await readdir(join(this.paths.remapped, m)).catch(() => [] as string[])) {
        if (!known.has(n)) await rm(join(this.paths.remapped, m, n), { recursive: true, force: true });
      }
    }
    await this.collectGarbage();
    for (const n of await readdir(this.paths.blobs).catch(() => [] as string[])) {
      if (!this.blobReferenced(`sha256:${n}`)) await this.content.delete(`sha256:${n}`);
    }
  }
}
