/**
 * One lock, across test files, for the host's user database. Some tests
 * must add a user to the host (rootless berthd, `--userns-remap default`,
 * a remap user of their own): useradd and userdel rewrite /etc/passwd,
 * /etc/shadow, /etc/group, /etc/subuid and /etc/subgid. The fuzzers, in
 * other test processes, fingerprint those files to prove that no request
 * reached the host. So the fuzzers hold the lock shared (they only read
 * the files and may overlap one another) and a test that changes users
 * holds it exclusively: neither needs to know the other.
 *
 * Files under /run/berth-test-locks/host-users: `gate` (a directory;
 * mkdir is atomic) is held by an exclusive holder for its whole hold, and
 * by a shared one only while it registers `shared-<pid>-<n>`. Every entry
 * holds its owner's pid; entries of processes that are gone (a test
 * process that died) are removed by the next one to look.
 */
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const LOCK_DIR = '/run/berth-test-locks/host-users';
const GATE = join(LOCK_DIR, 'gate');
/** Long enough for the longest holder (the rootless test) on a loaded machine. */
const WAIT_LIMIT_MS = 20 * 60_000;
let sharedSeq = 0;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const pause = () => new Promise((r) => setTimeout(r, 250));

function deadlineCheck(deadline: number, what: string): void {
  if (Date.now() > deadline) throw new Error(`the host-users test lock (${LOCK_DIR}) is still held: ${what}`);
}

/** Takes the gate (waiting while another live process holds it). */
async function takeGate(deadline: number): Promise<void> {
  await mkdir(LOCK_DIR, { recursive: true });
  for (;;) {
    const made = await mkdir(GATE).then(() => true, (e: NodeJS.ErrnoException) => {
      if (e.code === 'EEXIST') return false;
      throw e;
    });
    if (made) {
      await writeFile(join(GATE, 'pid'), String(process.pid));
      return;
    }
    const owner = Number(await readFile(join(GATE, 'pid'), 'utf8').catch(() => ''));
    // No pid yet: the owner is between its mkdir and its write; wait for it.
    if (owner > 0 && owner !== process.pid && !alive(owner)) {
      await rm(GATE, { recursive: true, force: true });
      continue;
    }
    deadlineCheck(deadline, `gate held by pid ${owner || '?'}`);
    await pause();
  }
}

const releaseGate = () => rm(GATE, { recursive: true, force: true });

function once(f: () => Promise<void>): () => Promise<void> {
  let done = false;
  return async () => {
    if (done) return;
    done = true;
    await f();
  };
}

/** For a test that changes the host's users: waits until no one else holds the lock; returns its release. */
export async function lockHostUsers(): Promise<() => Promise<void>> {
  const deadline = Date.now() + WAIT_LIMIT_MS;
  await takeGate(deadline);
  try {
    for (;;) {
      const readers: number[] = [];
      for (const n of await readdir(LOCK_DIR)) {
        const m = /^shared-(\d+)-\d+$/.exec(n);
        if (!m) continue;
        if (alive(Number(m[1]))) readers.push(Number(m[1]));
        else await rm(join(LOCK_DIR, n), { force: true });
      }
      if (!readers.length) break;
      deadlineCheck(deadline, `shared by pid ${readers.join(', ')}`);
      await pause();
    }
  } catch (e) {
    await releaseGate();
    throw e;
  }
  return once(releaseGate);
}

/** For a test that only reads the host's users (and must see them unchanged): returns its release. */
export async function shareHostUsers(): Promise<() => Promise<void>> {
  await takeGate(Date.now() + WAIT_LIMIT_MS);
  const entry = join(LOCK_DIR, `shared-${process.pid}-${sharedSeq++}`);
  try {
    await writeFile(entry, '');
  } finally {
    await releaseGate();
  }
  return once(() => rm(entry, { force: true }));
}
