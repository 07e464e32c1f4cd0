/**
 * Where RUN --mount=type=secret files live while a RUN uses them: a tmpfs
 * of this daemon's own at `<exec-root>/build-secrets` (mode 0700, never on
 * a disk), mounted while any secret is in use. A secret is removed after
 * its RUN; one that a crash left behind goes when berthd next starts, which
 * unmounts the whole tmpfs — a shared place such as /dev/shm could not be
 * swept without touching other daemons' files.
 */
import { randomBytes } from 'node:crypto';
import { chmod, chown, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isMounted, mountTmpfs, unmount } from '../store/mounts.js';

/** Secrets are at most 500 KiB each (buildx's limit); a few RUNs' worth at once. */
const TMPFS_SIZE = 64 << 20;

export class BuildSecretsDir {
  /** Secrets in use; the tmpfs is mounted while there are any. */
  private users = 0;
  /** Mounts and unmounts, one at a time. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(readonly dir: string) {}

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Removes what a previous berthd left (at start-up, before any build) and, at close, what is still there. */
  sweep(): Promise<void> {
    return this.serial(async () => {
      if (await isMounted(this.dir)) await unmount(this.dir);
      await rm(this.dir, { recursive: true, force: true });
    });
  }

  private acquire(): Promise<void> {
    return this.serial(async () => {
      if (this.users === 0) {
        await mkdir(this.dir, { recursive: true, mode: 0o700 });
        if (!(await isMounted(this.dir))) await mountTmpfs(this.dir, `mode=0700,size=${TMPFS_SIZE}`);
      }
      this.users++;
    });
  }

  private release(): Promise<void> {
    return this.serial(async () => {
      if (--this.users > 0) return;
      await unmount(this.dir);
      await rm(this.dir, { recursive: true, force: true });
    });
  }

  /** A secret as a file owned by uid:gid with `mode`, in a directory only root can enter; release removes it. */
  async file(data: Buffer, uid: number, gid: number, mode: number): Promise<{ dir: string; release(): Promise<void> }> {
    await this.acquire();
    const base = join(this.dir, randomBytes(12).toString('hex'));
    let released = false;
    const release = async () => {
      if (released) return;
      released = true;
      await rm(base, { recursive: true, force: true }).catch(() => undefined);
      await this.release();
    };
    try {
      await mkdir(base, { mode: 0o700 });
      const file = join(base, 'secret');
      await writeFile(file, data, { mode: 0o600, flag: 'wx' });
      await chown(file, uid, gid);
      await chmod(file, mode);
      return { dir: file, release };
    } catch (e) {
      await release();
      throw e;
    }
  }
}
