/**
 * Container records. The whole record is one JSON column: containers are read
 * far more often than written (`ps` of 1000 containers must be cheap), so all
 * records are held in memory and written through on every change.
 */
import type { Db } from './db.js';

/** Docker's `State` object, as inspect shows it. */
export interface ContainerState {
  Status: 'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead';
  Running: boolean;
  Paused: boolean;
  Restarting: boolean;
  OOMKilled: boolean;
  Dead: boolean;
  Pid: number;
  ExitCode: number;
  Error: string;
  StartedAt: string;
  FinishedAt: string;
  Health?: { Status: string; FailingStreak: number; Log: unknown[] };
}

export interface MountPoint {
  Type: 'bind' | 'volume' | 'tmpfs';
  Name?: string;
  Source: string;
  Destination: string;
  Driver?: string;
  Mode: string;
  RW: boolean;
  Propagation: string;
}

/** Everything berth knows about a container. `Config` and `HostConfig` keep Docker's shapes. */
export interface ContainerRecord {
  Id: string;
  Name: string;                       // without "/"
  Created: string;                    // RFC 3339
  Image: string;                      // image ID
  ImageRef: string;                   // what the user typed (ps shows it)
  Path: string;
  Args: string[];
  Config: Record<string, any>;
  HostConfig: Record<string, any>;
  NetworkingConfig?: Record<string, any>;
  State: ContainerState;
  RestartCount: number;
  Mounts: MountPoint[];
  Runtime: string;
  /** True when the user stopped it: restart policies must not bring it back. */
  ManualStop?: boolean;
  /** Short id of the conmon/runtime instance, used to tell starts apart. */
  StartEpoch?: number;
  /** Set with Status 'removing' by `rm -v`: a removal a crash cut off is redone with its anonymous volumes. */
  RemoveVolumes?: boolean;
  /** conmon's k8s-file log when it is not containers/<id>/ctr.log: a CRI container's log_path. */
  LogPath?: string;
}

export class ContainerStore {
  private readonly byId = new Map<string, ContainerRecord>();
  private readonly byName = new Map<string, string>();
  /** The name each id is filed under in byName (records are mutated in place, so rename needs it). */
  private readonly nameOf = new Map<string, string>();

  constructor(private readonly db: Db) {
    for (const row of db.prepare('SELECT record FROM containers').all() as { record: string }[]) {
      const rec = JSON.parse(row.record) as ContainerRecord;
      this.byId.set(rec.Id, rec);
      this.byName.set(rec.Name, rec.Id);
      this.nameOf.set(rec.Id, rec.Name);
    }
  }

  all(): ContainerRecord[] { return [...this.byId.values()]; }
  get(id: string): ContainerRecord | undefined { return this.byId.get(id); }
  idByName(name: string): string | undefined { return this.byName.get(name); }
  findByPrefix(prefix: string): ContainerRecord[] {
    const out: ContainerRecord[] = [];
    for (const [id, rec] of this.byId) if (id.startsWith(prefix)) out.push(rec);
    return out;
  }
  usesImage(imageId: string): ContainerRecord[] { return this.all().filter((c) => c.Image === imageId); }

  /** Inserts a new record; the UNIQUE name constraint is the final arbiter of conflicts. */
  insert(rec: ContainerRecord): void {
    this.db.prepare('INSERT INTO containers (id, name, image_id, record) VALUES (?, ?, ?, ?)').run(rec.Id, rec.Name, rec.Image, JSON.stringify(rec));
    this.byId.set(rec.Id, rec);
    this.byName.set(rec.Name, rec.Id);
    this.nameOf.set(rec.Id, rec.Name);
  }

  /** Writes the (mutated) record back. */
  save(rec: ContainerRecord): void {
    const prevName = this.nameOf.get(rec.Id);
    this.db.prepare('UPDATE containers SET name = ?, record = ? WHERE id = ?').run(rec.Name, JSON.stringify(rec), rec.Id);
    if (prevName !== undefined && prevName !== rec.Name) this.byName.delete(prevName);
    this.byName.set(rec.Name, rec.Id);
    this.nameOf.set(rec.Id, rec.Name);
    this.byId.set(rec.Id, rec);
  }

  delete(id: string): void {
    const rec = this.byId.get(id);
    this.db.prepare('DELETE FROM containers WHERE id = ?').run(id);
    this.byId.delete(id);
    this.nameOf.delete(id);
    if (rec) this.byName.delete(rec.Name);
  }
}
