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
import { chmod, chown, lstat, mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidParameterError } from '../errors.js';
import type { CacheMountPlan } from './run-mounts.js';

/** A cache directory as `buildx du` and `builder prune` see it. */
export interface CacheMountRecord {
  /** sha256 hex of the id (the directory's name). */
  hash: string;
  id: string;
  size: number;
  created: number;
  lastUsed: number;
  inUse: boolean;
}

/** What berth keeps next to a cache directory (`<hash>.json`): its id and times. */
interface CacheMountMeta { id: string; created: number; lastUsed: number }

const HASH = /^[0-9a-f]{64}$/;

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

  /**
   * Takes the cache directory of `plan.id` per its sharing mode; `scratch` is where a private one that is busy gets its copy.
   * A `locked` wait ends when `signal` aborts (the build's client went away): it must not sit on its build directory until the holder is done.
   */
  async acquire(plan: CacheMountPlan, scratch: string, signal?: AbortSignal): Promise<HeldCacheDir> {
    const dir = this.dirOf(plan.id);
    if (plan.sharing === 'private' && (this.users.get(dir) ?? 0) > 0) {
      const tmp = join(scratch, `cache-${randomBytes(6).toString('hex')}`);
      await this.create(tmp, plan);
      return { dir: tmp, release: () => rm(tmp, { recursive: true, force: true }) };
    }
    if (plan.sharing === 'locked') {
      while ((this.users.get(dir) ?? 0) > 0) {
        if (signal?.aborted) throw new InvalidParameterError('the build was cancelled');
        await new Promise<void>((resolve) => {
          const wake = () => { signal?.removeEventListener('abort', onAbort); resolve(); };
          const onAbort = () => { this.unwait(dir, wake); resolve(); };
          signal?.addEventListener('abort', onAbort, { once: true });
          this.waitFor(dir, wake);
        });
      }
    }
    this.users.set(dir, (this.users.get(dir) ?? 0) + 1);
    try {
      await mkdir(this.root, { recursive: true, mode: 0o700 });
      await this.create(dir, plan);
      const meta = await this.meta(dir);
      const now = Date.now();
      await writeFile(`${dir}.json`, JSON.stringify({ id: plan.id, created: meta?.created ?? now, lastUsed: now }));
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

  /** Every cache directory with its id, size and times. */
  async list(): Promise<CacheMountRecord[]> {
    const names = await readdir(this.root).catch(() => [] as string[]);
    const out: CacheMountRecord[] = [];
    for (const hash of names.filter((n) => HASH.test(n))) {
      const dir = join(this.root, hash);
      const meta = await this.meta(dir);
      out.push({
        hash, id: meta?.id ?? '', size: await treeSize(dir), created: meta?.created ?? 0, lastUsed: meta?.lastUsed ?? 0,
        inUse: (this.users.get(dir) ?? 0) > 0,
      });
    }
    return out;
  }

  /**
   * Removes the cache directories not in use (and, with `unusedForMs`, not
   * used for that long). Each is renamed away first, so a RUN that takes the
   * id meanwhile gets a new, empty directory and never a half-deleted one.
   */
  async prune(unusedForMs?: number): Promise<CacheMountRecord[]> {
    const now = Date.now();
    const gone: CacheMountRecord[] = [];
    for (const r of await this.list()) {
      if (r.inUse || (unusedForMs !== undefined && r.lastUsed >= now - unusedForMs)) continue;
      const dir = join(this.root, r.hash);
      if ((this.users.get(dir) ?? 0) > 0) continue;
      const trash = join(this.root, `.trash-${randomBytes(8).toString('hex')}`);
      await rename(dir, trash);
      await rm(`${dir}.json`, { force: true });
      gone.push(r);
    }
    // Trash of this and of interrupted earlier prunes.
    for (const n of await readdir(this.root).catch(() => [] as string[])) {
      if (n.startsWith('.trash-')) await rm(join(this.root, n), { recursive: true, force: true });
    }
    return gone;
  }

  private async meta(dir: string): Promise<CacheMountMeta | undefined> {
    try {
      const m = JSON.parse(await readFile(`${dir}.json`, 'utf8')) as CacheMountMeta;
      return typeof m.id === 'string' && Number.isFinite(m.created) && Number.isFinite(m.lastUsed) ? m : undefined;
    } catch {
      return undefined;
    }
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

  private unwait(dir: string, resolve: () => void): void {
    const list = (this.waiters.get(dir) ?? []).filter((w) => w !== resolve);
    if (list.length) this.waiters.set(dir, list); else this.waiters.delete(dir);
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

/** Bytes under `dir` (files' sizes), without following symlinks. */
async function treeSize(dir: string): Promise<number> {
  let total = 0;
  const walk = async (p: string): Promise<void> => {
    const st = await lstat(p).catch(() => undefined);
    if (!st) return;
    if (!st.isDirectory()) { total += st.isFile() ? st.size : 0; return; }
    for (const n of await readdir(p).catch(() => [] as string[])) await walk(join(p, n));
  };
  await walk(dir);
  return total;
}
