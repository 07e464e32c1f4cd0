/**
 * One berthd per data root and per exec root. Two daemons on one data root
 * each believe they own its containers (the second reconciles, stops and
 * restarts the first's), and on one exec root the second removes the first's
 * pid file, socket and exit files. So berthd locks both roots before it
 * touches anything in them, and holds the locks for its whole life.
 *
 * The lock is a kernel lock, flock(2) LOCK_EX on `<root>/berthd.lock`, held
 * through an open file description that only berthd holds. Node has no
 * flock(), so berthd opens the file itself and lends the descriptor (as fd 3)
 * to util-linux `flock --nonblock 3`, which locks it and exits. A flock lock
 * belongs to the open file description, not to a process: it outlives the
 * short helper because berthd's descriptor still refers to the description,
 * and it goes away when the last descriptor does — when berthd exits or is
 * killed, kill -9 included, at that instant, with nothing left to judge.
 * Node opens files with O_CLOEXEC, so no child berthd starts later (conmon,
 * the runtime, netavark) inherits the descriptor and keeps the root locked
 * after berthd is gone.
 *
 * Why not the others:
 * - a pid file with stale detection (what `registry serve` uses,
 *   registry/server/root-lock.ts) must guess whether a pid still names the
 *   holder, and takes a stale lock over by rename, which races;
 * - a long-lived helper holding the lock outlives a killed berthd until it
 *   notices, so a restart right after kill -9 could be refused;
 * - fcntl(2) record locks belong to a process, so a helper's lock dies with the
 *   helper; open-file-description locks (F_OFD_SETLK) would do, but need a
 *   helper that can call fcntl with a struct, while flock(1) is in util-linux
 *   (Essential on Debian);
 * - a unix socket bound in the root needs stale detection as well, and an
 *   abstract one is per network namespace.
 *
 * The file keeps the holder's pid, only to name it in the refusal; the lock is
 * the flock, never the content. The file is not removed at exit: unlinking a
 * lock file lets a newcomer lock a fresh inode while someone still holds the
 * old one.
 */
import { closeSync, constants, ftruncateSync, mkdirSync, openSync, readFileSync, realpathSync, writeSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ConflictError, SystemError } from '../errors.js';

export const ROOT_LOCK_FILE = 'berthd.lock';

/** flock(1)'s exit status when the lock is held elsewhere (`--conflict-exit-code`). */
const CONFLICT = 75;

/** A held root lock: the open descriptor is the lock. */
export interface RootLock {
  readonly root: string;
  readonly file: string;
}

/** Descriptors of the locks this process holds, by lock file: a second lock of the same file would conflict with the first. */
const held = new Map<string, number>();

export interface LockRootOptions {
  /** The lock file's name in the root: a rootless berthd's launcher locks its own, beside its inner berthd's. */
  name?: string;
  /** The pid written for a refusal to name, when the one to signal is not this process (a rootless berthd's launcher). */
  holderPid?: number;
}

/**
 * Takes the exclusive lock of `root` (created when missing) for the rest of
 * this process's life, or throws ConflictError naming the berthd that holds it.
 */
export function lockRoot(root: string, opts: LockRootOptions = {}): RootLock {
  mkdirSync(root, { recursive: true, mode: 0o710 });
  const file = join(realpathSync(root), opts.name ?? ROOT_LOCK_FILE);
  if (held.has(file)) return { root, file };
  const fd = openSync(file, constants.O_RDWR | constants.O_CREAT, 0o600);
  let ok = false;
  try {
    // Spawned here, not by the spawner process (spawner.ts): flock(1) locks this process's own fd 3, at start-up.
    const r = spawnSync('flock', ['--exclusive', '--nonblock', '--conflict-exit-code', String(CONFLICT), '3'], {
      stdio: ['ignore', 'ignore', 'pipe', fd], encoding: 'utf8',
    });
    if (r.error) throw new SystemError(`locking ${file}: cannot run flock: ${r.error.message}`, { cause: r.error });
    if (r.status === CONFLICT) {
      const pid = holderPid(file);
      throw new ConflictError(`another berthd (${pid ? `pid ${pid}` : 'pid unknown'}) holds ${root} (lock file ${file})`);
    }
    if (r.status !== 0) throw new SystemError(`locking ${file}: flock exited with ${r.status ?? r.signal}: ${(r.stderr ?? '').trim()}`);
    ftruncateSync(fd, 0);
    writeSync(fd, `${opts.holderPid ?? process.pid}\n`, 0);
    held.set(file, fd);
    ok = true;
    return { root, file };
  } finally {
    if (!ok) closeSync(fd);
  }
}

/** The pid the holder wrote into the lock file, if it did yet. */
function holderPid(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}
