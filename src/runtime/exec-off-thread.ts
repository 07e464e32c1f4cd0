/**
 * Short commands (the OCI runtime's start, kill, delete, state…) run from a
 * worker thread instead of berthd's event loop.
 *
 * Node's spawn does not return until the child has exec'd: libuv forks,
 * then reads a pipe that closes at exec. That takes a fork of berthd's
 * whole address space and a turn of the scheduler for the child, 10 ms on
 * an idle two-core machine and 50 ms and more on a busy one, during which
 * the spawning thread answers nothing. Fifty containers started at once are
 * 100 such spawns, which held `/_ping` for seconds (bench: `/_ping` p99
 * under 600 lists + 50 runs).
 *
 * The worker starts at the first command and ends after IDLE_MS without
 * one, so an idle berthd does not carry it.
 */
import { Worker } from 'node:worker_threads';

export interface ExecRequest { id: number; file: string; args: string[]; maxBuffer: number }
export interface ExecReply {
  id: number;
  stdout: string;
  stderr: string;
  /** Set when the command failed: its exit code (null when it could not run or was killed) and Node's message. */
  failure?: { code: number | null; message: string };
}

const IDLE_MS = 10_000;

let worker: Worker | null = null;
let nextId = 1;
const pending = new Map<number, { resolve(r: ExecReply): void; reject(e: Error): void }>();
let idleTimer: NodeJS.Timeout | null = null;

function startWorker(): Worker {
  const w = new Worker(new URL('./exec-thread.js', import.meta.url));
  w.on('message', (r: ExecReply) => {
    const p = pending.get(r.id);
    pending.delete(r.id);
    p?.resolve(r);
    if (pending.size === 0) idle(w);
  });
  const fail = (e: Error) => {
    if (worker === w) worker = null;
    for (const p of pending.values()) p.reject(e);
    pending.clear();
  };
  w.on('error', fail);
  w.on('exit', (code) => fail(new Error(`the command thread exited (${code})`)));
  return w;
}

/** No command in flight: the worker no longer keeps berthd alive, and ends after IDLE_MS. */
function idle(w: Worker): void {
  w.unref();
  idleTimer = setTimeout(() => {
    if (worker === w && pending.size === 0) {
      worker = null;
      void w.terminate();
    }
  }, IDLE_MS);
  idleTimer.unref();
}

/** `execFile(file, args)`, spawned from the worker thread; never rejects for the command's own failure (see `failure`). */
export function execFileOffThread(file: string, args: string[], maxBuffer = 16 << 20): Promise<ExecReply> {
  if (idleTimer) { clearTimeout(idleTimer); idleTimer = null; }
  worker ??= startWorker();
  worker.ref();
  const id = nextId++;
  const w = worker;
  return new Promise<ExecReply>((resolve, reject) => {
    pending.set(id, { resolve, reject });
    w.postMessage({ id, file, args, maxBuffer } satisfies ExecRequest);
  });
}
