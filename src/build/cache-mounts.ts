/**
 * The directories behind `RUN --mount=type=cache`: one per cache id, kept
 * under berth's data root (`build-cache/<sha256(id)>`), so they outlive a
 * build and are shared by every build on this daemon. The id is hashed:
 * whatever it says (`../..`, `/etc`), it can only name a directory directly
 * under the cache root.
 *
 * Sharing, as BuildKit defines it: `shared` lets concurrent RUNs use the
 * directory together; `locked` makes a RUN wait until no other holds it;
 * `private` gives a RUN that finds it in use a fresh, throw-away directory.
 */
import { createHash, randomBytes } from 'node:crypto';
import { chmod, chown, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { CacheMountPlan } from './run-mounts.js';

export interface HeldCacheDir {
  dir: string;
  release(): Promise<void>;
}

export class CacheMountDirs {
  private readonly users = new Map<string, number>();
  private readonly waiters = new Map<string, Array<() => void>>();

  constructor(readonly root: string) {}

  /** The directory of a cache id. */
  dirOf(id: string): string {
    return join(this.root, createHash('sha256').update(id).digest('hex'));
  }

  /** Takes the cache directory of `plan.id` per its sharing mode; `scratch` is where a private one that is busy gets its copy. */
  async acquire(plan: CacheMountPlan, scratch: string): Promise<HeldCacheDir> {
    const dir = this.dirOf(plan.id);
    if (plan.sharing === 'private' && (this.users.get(dir) ?? 0) > 0) {
      const tmp = join(scratch, `cache-${randomBytes(6).toString('hex')}`);
      await this.create(tmp, plan);
      return { dir: tmp, release: () => rm(tmp, { recursive: true, force: true }) };
    }
    if (plan.sharing === 'locked') {
      while ((this.users.get(dir) ?? 0) > 0) await new Promise<void>((resolve) => this.waitFor(dir, resolve));
    }
    this.users.set(dir, (this.users.get(dir) ?? 0) + 1);
    try {
      await mkdir(this.root, { recursive: true, mode: 0o700 });
      await this.create(dir, plan);
    } catch (e) {
      this.leave(dir);
      throw e;
    }
    let released = false;
    return {
      dir,
      release: async () => {
        if (released) return;
        released = true;
        this.leave(dir);
      },
    };
  }

  /** Creates the directory with the mount's owner and mode the first time only (later RUNs find what earlier ones left). */
  private async create(dir: string, plan: CacheMountPlan): Promise<void> {
    const made = await mkdir(dir, { mode: 0o700 }).then(() => true, (e: NodeJS.ErrnoException) => {
      if (e.code === 'EEXIST') return false;
      throw e;
    });
    if (!made) return;
    await chown(dir, plan.uid, plan.gid);
    await chmod(dir, plan.mode);
  }

  private waitFor(dir: string, resolve: () => void): void {
    const list = this.waiters.get(dir) ?? [];
    list.push(resolve);
    this.waiters.set(dir, list);
  }

  private leave(dir: string): void {
    const n = (this.users.get(dir) ?? 1) - 1;
    if (n > 0) { this.users.set(dir, n); return; }
    this.users.delete(dir);
    const list = this.waiters.get(dir);
    this.waiters.delete(dir);
    for (const w of list ?? []) w();
  }
}
