/**
 * One process at a time per storage root. `registry serve` holds the lock for
 * as long as it runs, `registry garbage-collect` for one collection: a
 * collection beside a running server could delete a blob a client has just
 * uploaded and whose manifest it is about to push (until then nothing
 * references the blob), and the server's start-up cleaning of `_tmp` and
 * `_uploads` must not meet a collection either.
 *
 * The lock is the file `_lock` (`layout.ts`): the holder's pid on the first
 * line, then what it is (`registry serve`), its start time (field 22 of
 * /proc/<pid>/stat) and its pid namespace, so that a pid reused by another
 * process (after a reboot, or pid 1 of a new container) is not taken for the
 * holder. The file is born whole: written and fsynced under a private name,
 * then hard-linked to `_lock`. link(2) fails with EEXIST when `_lock` exists —
 * the same all-or-nothing test as open(2) with O_CREAT|O_EXCL — and no reader
 * ever sees a lock file that is still empty.
 *
 * A lock whose holder is gone (killed, crashed, a zombie) is stale and taken
 * over: it is renamed aside and, when what got renamed is not the file judged
 * stale (another inode or other content: another process took it over in
 * between), linked back. What is left
 * is three processes taking over one stale lock at the same instant. A holder
 * in another pid namespace cannot be judged from here; its lock is never
 * taken over (the error says which file to remove).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import { ConflictError } from '../../errors.js';
import { fsyncDir } from './durable-fs.js';
import type { StorageLayout } from './layout.js';

/** Who holds a root, as its lock file says. */
export interface LockHolder {
  pid: number;
  /** `registry serve`, `registry garbage-collect`. */
  command: string;
  /** Clock ticks after boot at which the process started (/proc/<pid>/stat field 22). */
  startTime?: string;
  /** `pid:[4026531836]` (readlink /proc/self/ns/pid): a pid means nothing outside its namespace. */
  pidNamespace?: string;
}

export interface RootLock {
  readonly holder: LockHolder;
  /** Removes `_lock` if it is still this one; idempotent. */
  release(): Promise<void>;
}

export function formatLockHolder(h: LockHolder): string {
  const lines = [String(h.pid), h.command];
  if (h.startTime !== undefined) lines.push(`start-time=${h.startTime}`);
  if (h.pidNamespace !== undefined) lines.push(`pid-namespace=${h.pidNamespace}`);
  return `${lines.join('\n')}\n`;
}

/** Undefined when the first line is not a pid. */
export function parseLockHolder(text: string): LockHolder | undefined {
  const [pidLine, command = '', ...rest] = text.split('\n');
  if (!/^[1-9][0-9]{0,9}$/.test(pidLine)) return undefined;
  const h: LockHolder = { pid: Number(pidLine), command };
  for (const line of rest) {
    const eq = line.indexOf('=');
    const key = line.slice(0, eq);
    if (key === 'start-time') h.startTime = line.slice(eq + 1);
    else if (key === 'pid-namespace') h.pidNamespace = line.slice(eq + 1);
  }
  return h;
}

/** State and start time of a process (proc(5), /proc/<pid>/stat fields 3 and 22), if it exists. */
function processStat(pid: number): { state: string; startTime: string } | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 2, the command name, is in parentheses and may itself hold spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0], startTime: fields[19] };
  } catch {
    return undefined;
  }
}

function ownPidNamespace(): string | undefined {
  try {
    return fs.readlinkSync('/proc/self/ns/pid');
  } catch {
    return undefined;
  }
}

type Liveness = 'running' | 'gone' | 'unknowable';

function liveness(h: LockHolder): Liveness {
  const ns = ownPidNamespace();
  if (h.pidNamespace !== undefined && ns !== undefined && h.pidNamespace !== ns) return 'unknowable';
  try {
    process.kill(h.pid, 0);
  } catch (err) {
    // EPERM: the process exists but belongs to another user.
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return 'gone';
  }
  const stat = processStat(h.pid);
  if (stat?.state === 'Z') return 'gone';
  if (stat && h.startTime !== undefined && stat.startTime !== h.startTime) return 'gone';
  return 'running';
}

const errnoCode = (err: unknown) => (err as NodeJS.ErrnoException).code;

/** Lock files this process holds (path → inode), removed by the exit hook if nobody released them. */
const held = new Map<string, number>();
let exitHookInstalled = false;

function releaseHeldSync(): void {
  for (const [file, ino] of held) {
    try {
      if (fs.statSync(file).ino === ino) fs.unlinkSync(file);
    } catch { /* gone already */ }
  }
  held.clear();
}

/**
 * Moves `_lock` out of the way when its holder is gone; throws
 * `ConflictError` naming the holder when it runs (or cannot be judged).
 * Returns quietly when there is no lock any more: the caller tries again.
 */
async function takeOverIfStale(layout: StorageLayout, log?: (line: string) => void): Promise<void> {
  let text: string;
  let ino: number;
  try {
    const fh = await fsp.open(layout.lockFile, 'r');
    try {
      ino = (await fh.stat()).ino;
      text = await fh.readFile('utf8');
    } finally {
      await fh.close();
    }
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return;
    throw err;
  }
  const holder = parseLockHolder(text);
  if (!holder) {
    throw new ConflictError(`registry storage ${layout.root} is locked by ${layout.lockFile}, which names no process; `
      + 'remove it if no berth registry uses this directory');
  }
  const state = liveness(holder);
  if (state === 'running') {
    throw new ConflictError(`registry storage ${layout.root} is in use by berth ${holder.command || 'registry'} (pid ${holder.pid})`);
  }
  if (state === 'unknowable') {
    throw new ConflictError(`registry storage ${layout.root} is locked by berth ${holder.command || 'registry'} (pid ${holder.pid}) `
      + `of another pid namespace; remove ${layout.lockFile} if it no longer runs`);
  }
  const aside = layout.lockFileAside(`stale-${process.pid}-${crypto.randomUUID()}`);
  try {
    await fsp.rename(layout.lockFile, aside);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return;
    throw err;
  }
  try {
    // Inode numbers are reused at once, so the content (pid, start time) must match too.
    if ((await fsp.stat(aside)).ino !== ino || (await fsp.readFile(aside, 'utf8')) !== text) {
      // Someone took the stale lock over between our read and our rename: what we moved is theirs.
      await fsp.link(aside, layout.lockFile).catch(() => undefined);
      return;
    }
    log?.(`registry: took over the lock of berth ${holder.command || 'registry'} (pid ${holder.pid}), which is no longer running`);
  } finally {
    await fsp.rm(aside, { force: true });
  }
}

/**
 * Takes the root's lock for `command`, or throws `ConflictError` naming the
 * process that holds it. The root must exist.
 */
export async function lockRoot(layout: StorageLayout, command: string, log?: (line: string) => void): Promise<RootLock> {
  const self: LockHolder = { pid: process.pid, command };
  const stat = processStat(process.pid);
  if (stat) self.startTime = stat.startTime;
  const ns = ownPidNamespace();
  if (ns !== undefined) self.pidNamespace = ns;

  const mine = layout.lockFileAside(`${process.pid}-${crypto.randomUUID()}`);
  let ino: number;
  const fh = await fsp.open(mine, 'wx', 0o644);
  try {
    await fh.writeFile(formatLockHolder(self));
    await fh.sync();
    ino = (await fh.stat()).ino;
  } finally {
    await fh.close();
  }
  let linked = false;
  try {
    for (let attempt = 0; attempt < 5 && !linked; attempt++) {
      try {
        await fsp.link(mine, layout.lockFile);
        linked = true;
      } catch (err) {
        if (errnoCode(err) !== 'EEXIST') throw err;
        await takeOverIfStale(layout, log);
      }
    }
  } finally {
    await fsp.rm(mine, { force: true });
  }
  if (!linked) throw new ConflictError(`registry storage ${layout.root}: could not take its lock, other processes keep taking it`);

  const file = layout.lockFile;
  held.set(file, ino);
  if (!exitHookInstalled) {
    // A server that ends without close() (process.exit, an uncaught error) still frees its root.
    process.on('exit', releaseHeldSync);
    exitHookInstalled = true;
  }
  await fsyncDir(layout.root);
  return {
    holder: self,
    async release() {
      if (held.get(file) !== ino) return;
      held.delete(file);
      try {
        if ((await fsp.stat(file)).ino === ino) await fsp.unlink(file);
      } catch (err) {
        if (errnoCode(err) !== 'ENOENT') throw err;
      }
    },
  };
}
