/**
 * Volume records (the `local` driver): data lives in volumes/<name>/_data.
 * Which containers use a volume is derived from container records, never stored
 * twice.
 */
import type { Volume } from '../api/types/volume.js';
import type { Db } from './db.js';

/** A volume as stored: the API's Volume plus berth's own bookkeeping. */
export interface VolumeRecord extends Volume {
  Scope: 'local';
  /** Created implicitly for an image VOLUME or `-v /path`; removed by `rm -v`. */
  Anonymous: boolean;
}

export class VolumeStore {
  constructor(private readonly db: Db) {}

  get(name: string): VolumeRecord | undefined {
    const r = this.db.prepare('SELECT record FROM volumes WHERE name = ?').get(name) as { record: string } | undefined;
    return r && (JSON.parse(r.record) as VolumeRecord);
  }

  list(): VolumeRecord[] {
    return (this.db.prepare('SELECT record FROM volumes ORDER BY name').all() as { record: string }[]).map((r) => JSON.parse(r.record) as VolumeRecord);
  }

  /** Inserts unless present; returns the stored record. */
  insert(rec: VolumeRecord): VolumeRecord {
    this.db.prepare('INSERT OR IGNORE INTO volumes (name, record) VALUES (?, ?)').run(rec.Name, JSON.stringify(rec));
    return this.get(rec.Name)!;
  }

  delete(name: string): void {
    this.db.prepare('DELETE FROM volumes WHERE name = ?').run(name);
  }
}
