/**
 * Where RUN --mount=type=secret files live while a RUN uses them: a tmpfs
 * of this daemon's own at `<exec-root>/build-secrets` (mode 0700, never on
 * a disk). A secret is removed after its RUN; one that a crash left behind
 * goes when berthd next starts, which unmounts the whole tmpfs — a shared
 * place such as /dev/shm could not be swept without touching other
 * daemons' files.
 */
import { randomBytes } from 'node:crypto';
import { chmod, chown, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isMounted, mountTmpfs, unmount } from '../store/mounts.js';

/** Secrets are at most 500 KiB each (buildx's limit); a few RUNs' worth at once. */
const TMPFS_SIZE = 64 << 20;

export class BuildSecretsDir {
  private mounted?: Promise<void>;

  constructor(readonly dir: string) {}

  /** Removes what a previous berthd left (at start-up, before any build). */
  async sweep(): Promise<void> {
    if (await isMounted(this.dir)) await unmount(this.dir);
    await rm(this.dir, { recursive: true, force: true });
  }

  private mount(): Promise<void> {
    this.mounted ??= (async () => {
      await mkdir(this.dir, { recursive: true, mode: 0o700 });
      if (!(await isMounted(this.dir))) await mountTmpfs(this.dir, `mode=0700,size=${TMPFS_SIZE}`);
    })().catch((e: unknown) => {
      this.mounted = undefined;
      throw e;
    });
    return this.mounted;
  }

  /** A secret as a file owned by uid:gid with `mode`, in a directory only root can enter; release removes it. */
  async file(data: Buffer, uid: number, gid: number, mode: number): Promise<{ dir: string; release(): Promise<void> }> {
    await this.mount();
    const base = join(this.dir, randomBytes(12).toString('hex'));
    await mkdir(base, { mode: 0o700 });
    const file = join(base, 'secret');
    try {
      await writeFile(file, data, { mode: 0o600, flag: 'wx' });
      await chown(file, uid, gid);
      await chmod(file, mode);
    } catch (e) {
      await rm(base, { recursive: true, force: true });
      throw e;
    }
    return { dir: file, release: () => rm(base, { recursive: true, force: true }) };
  }
}
