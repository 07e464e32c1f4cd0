/**
 * The build cache: one row per build step that produced an image, keyed by
 * the step's cache key (build/cache-key.ts: parent image + inputs). The row
 * keeps the inputs and what the builder knew besides them (the instruction
 * as written, the stage's base), so a later miss can say what changed.
 *
 * Rows point at images; they never keep an image alive. An entry whose image
 * is gone is a miss (and is dropped). `builder prune` deletes rows, then the
 * intermediate images only the cache wanted.
 */
import type { Db } from './db.js';

export interface CacheEntryInput {
  key: string;
  /** Image the step ran on ('' for scratch). */
  parent: string;
  /** Instruction name (RUN, COPY…). */
  kind: string;
  /** The instruction as written in the Dockerfile. */
  original: string;
  /** JSON of the step's inputs (StepInputs). */
  inputs: string;
  /** JSON of the step's context (StepContext: base image, file list). */
  context: string;
  /** The image the step produced. */
  imageId: string;
  /** Bytes of the layer the step added (0 for metadata steps). */
  size: number;
}

export interface CacheEntry extends CacheEntryInput {
  created: number;
  lastUsed: number;
}

interface Row {
  key: string; parent: string; kind: string; original: string; inputs: string; context: string;
  image_id: string; size: number; created: number; last_used: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS build_cache (
  key        TEXT PRIMARY KEY,      -- sha256 of the step's parent image and inputs
  parent     TEXT NOT NULL,         -- image id the step ran on, '' for scratch
  kind       TEXT NOT NULL,         -- instruction name
  original   TEXT NOT NULL,         -- the instruction as written
  inputs     TEXT NOT NULL,         -- JSON: the keyed inputs
  context    TEXT NOT NULL,         -- JSON: base image, copied files (for explaining misses)
  image_id   TEXT NOT NULL,         -- the image the step produced
  size       INTEGER NOT NULL,      -- bytes of the layer it added
  created    INTEGER NOT NULL,      -- unix ms
  last_used  INTEGER NOT NULL       -- unix ms
);
CREATE INDEX IF NOT EXISTS build_cache_parent ON build_cache(parent, kind);
CREATE INDEX IF NOT EXISTS build_cache_original ON build_cache(kind, original);
CREATE INDEX IF NOT EXISTS build_cache_image ON build_cache(image_id);
`;

function fromRow(r: Row): CacheEntry {
  return {
    key: r.key, parent: r.parent, kind: r.kind, original: r.original, inputs: r.inputs, context: r.context,
    imageId: r.image_id, size: r.size, created: r.created, lastUsed: r.last_used,
  };
}

export class BuildCacheStore {
  constructor(private readonly db: Db) {
    db.exec(SCHEMA);
  }

  get(key: string): CacheEntry | undefined {
    const r = this.db.prepare('SELECT * FROM build_cache WHERE key = ?').get(key) as Row | undefined;
    return r && fromRow(r);
  }

  put(e: CacheEntryInput): void {
    const now = Date.now();
    this.db.prepare(`INSERT INTO build_cache (key, parent, kind, original, inputs, context, image_id, size, created, last_used)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT(key) DO UPDATE SET image_id = excluded.image_id, inputs = excluded.inputs, context = excluded.context,
        original = excluded.original, size = excluded.size, last_used = excluded.last_used`)
      .run(e.key, e.parent, e.kind, e.original, e.inputs, e.context, e.imageId, e.size, now, now);
  }

  touch(key: string): void {
    this.db.prepare('UPDATE build_cache SET last_used = ? WHERE key = ?').run(Date.now(), key);
  }

  latestOnParent(parent: string, kind: string, exceptKey: string): CacheEntry | undefined {
    const r = this.db.prepare('SELECT * FROM build_cache WHERE parent = ? AND kind = ? AND key != ? ORDER BY last_used DESC, created DESC LIMIT 1')
      .get(parent, kind, exceptKey) as Row | undefined;
    return r && fromRow(r);
  }

  latestForInstruction(kind: string, original: string, exceptKey: string): CacheEntry | undefined {
    const r = this.db.prepare('SELECT * FROM build_cache WHERE kind = ? AND original = ? AND key != ? ORDER BY last_used DESC, created DESC LIMIT 1')
      .get(kind, original, exceptKey) as Row | undefined;
    return r && fromRow(r);
  }

  delete(key: string): void {
    this.db.prepare('DELETE FROM build_cache WHERE key = ?').run(key);
  }

  deleteByImage(imageId: string): number {
    return this.db.prepare('DELETE FROM build_cache WHERE image_id = ?').run(imageId).changes;
  }

  all(): CacheEntry[] {
    return (this.db.prepare('SELECT * FROM build_cache ORDER BY created').all() as Row[]).map(fromRow);
  }

  /** Deletes the given rows in one transaction. */
  deleteMany(keys: readonly string[]): void {
    const del = this.db.prepare('DELETE FROM build_cache WHERE key = ?');
    this.db.transaction(() => { for (const k of keys) del.run(k); })();
  }
}
