/**
 * Child processes spawned from a worker thread instead of berthd's event
 * loop: the OCI runtime's short commands (start, kill, delete, state…) and
 * conmon, which runs `runtime create`.
 *
 * Node's spawn does not return until the child has exec'd: libuv forks,
 * then reads a pipe that closes at exec. That takes a fork of berthd's
 * whole address space and a turn of the scheduler for the child, 10 ms on
 * an idle two-core machine and 50 ms and more on a busy one, during which
 * the spawning thread answers nothing. Fifty containers started at once are
 * 150 such spawns, which held `/_ping` for seconds (bench: `/_ping` p99
 * under 600 lists + 50 runs).
 *
 * The worker starts at the first command and ends after IDLE_MS with no
 * command in flight and no relayed child open, so an idle berthd does not
 * carry it.
 */
import { PassThrough, type Readable } from 'node:stream';
import { Worker } from 'node:worker_threads';

/** What the thread is asked (internal to this module and exec-thread.ts). */
export type ThreadRequest =
  | { type: 'exec'; id: number; file: string; args: string[]; maxBuffer: number }
  | { type: 'spawn'; id: number; file: string; args: string[]; cwd: string; env: Record<string, string>; stdio: ('ignore' | 'pipe')[]; detached: boolean }
  | { type: 'close'; id: number; fd: number }
  | { type: 'forget'; id: number };

export interface ExecReply {
  type: 'exec';
  id: number;
  stdout: string;
  stderr: string;
  /** Set when the command failed: its exit code (null when it could not run or was killed) and Node's message. */
  failure?: { code: number | null; message: string };
}

/** What the thread reports of a spawned child. */
export type SpawnEvent =
  | { type: 'data'; id: number; fd: number; data: Uint8Array }
  | { type: 'end'; id: number; fd: number }
  | { type: 'exit'; id: number; code: number | null; error?: string };

/** A child spawned by the thread: the parent's ends of its output pipes, and its exit. */
export interface RelayedChild {
  /** By fd: a readable for each `'pipe'` (what the child writes there), null for `'ignore'`. Destroying one closes the pipe. */
  readonly stdio: (Readable | null)[];
  /** Its exit code (null when killed by a signal or when it could not run; then `error` says why). */
  readonly exited: Promise<{ code: number | null; error?: string }>;
}

const IDLE_MS = 10_000;

interface Relay { pipes: (PassThrough | null)[]; open: number; exited: boolean; onExit(e: { code: number | null; error?: string }): void }

let worker: Worker | null = null;
let nextId = 1;
const pending = new Map<number, { resolve(r: ExecReply): void; reject(e: Error): void }>();
const relays = new Map<number, Relay>();
let idleTimer: NodeJS.Timeout | null = null;

function startWorker(): Worker {
  const w = new Worker(new URL('./exec-thread.js', import.meta.url));
  w.on('message', (m: ExecReply | SpawnEvent) => {
    if (m.type === 'exec') {
      const p = pending.get(m.id);
      pending.delete(m.id);
      p?.resolve(m);
    } else {
      const r = relays.get(m.id);
      if (!r) return;
      if (m.type === 'data') r.pipes[m.fd]?.write(Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength));
      else if (m.type === 'end') pipeDone(m.id, r, m.fd, false);
      else { r.exited = true; r.onExit({ code: m.code, error: m.error }); settleRelay(m.id, r); }
    }
    maybeIdle(w);
  });
  const fail = (e: Error) => {
    if (worker === w) worker = null;
    for (const p of pending.values()) p.reject(e);
    pending.clear();
    for (const [id, r] of relays) {
      for (const fd of r.pipes.keys()) pipeDone(id, r, fd, false);
      if (!r.exited) { r.exited = true; r.onExit({ code: null, error: e.message }); }
    }
    relays.clear();
  };
  w.on('error', fail);
  w.on('exit', (code) => fail(new Error(`the process thread exited (${code})`)));
  return w;
}

function use(): Worker {
  if (idleTimer) { clearTimeout(idleTimer); idleTimer = null; }
  worker ??= startWorker();
  return worker;
}

/** Nothing in flight and no relayed child open: the worker no longer keeps berthd alive, and ends after IDLE_MS. */
function maybeIdle(w: Worker): void {
  if (pending.size > 0 || relays.size > 0 || w !== worker || idleTimer) return;
  w.unref();
  idleTimer = setTimeout(() => {
    idleTimer = null;
    if (worker === w && pending.size === 0 && relays.size === 0) {
      worker = null;
      // Its end must not fail the work of the worker that may start before its 'exit' arrives.
      w.removeAllListeners('exit');
      w.removeAllListeners('error');
      w.on('error', () => undefined);
      void w.terminate();
    }
  }, IDLE_MS);
  idleTimer.unref();
}

/** A pipe ended (the child closed it) or was closed by us (`closeIt`). */
function pipeDone(id: number, r: Relay, fd: number, closeIt: boolean): void {
  const p = r.pipes[fd];
  if (!p) return;
  r.pipes[fd] = null;
  r.open--;
  if (closeIt) worker?.postMessage({ type: 'close', id, fd } satisfies ThreadRequest);
  else p.end();
  settleRelay(id, r);
}

function settleRelay(id: number, r: Relay): void {
  if (!r.exited || r.open > 0) return;
  relays.delete(id);
  worker?.postMessage({ type: 'forget', id } satisfies ThreadRequest);
  if (worker) maybeIdle(worker);
}

/** `execFile(file, args)`, spawned from the worker thread; never rejects for the command's own failure (see `failure`). */
export function execFileOffThread(file: string, args: string[], maxBuffer = 16 << 20): Promise<ExecReply> {
  const w = use();
  w.ref();
  const id = nextId++;
  return new Promise<ExecReply>((resolve, reject) => {
    pending.set(id, { resolve, reject });
    w.postMessage({ type: 'exec', id, file, args, maxBuffer } satisfies ThreadRequest);
  });
}

/**
 * Spawns `file` from the worker thread; what the child writes on each
 * `'pipe'` fd is relayed to a readable here. Only output pipes: nothing is
 * written to the child.
 */
export function spawnOffThread(file: string, args: string[], o: { cwd: string; env: Record<string, string>; stdio: ('ignore' | 'pipe')[]; detached: boolean }): RelayedChild {
  const w = use();
  const id = nextId++;
  let onExit!: Relay['onExit'];
  const exited = new Promise<{ code: number | null; error?: string }>((resolve) => { onExit = resolve; });
  const pipes = o.stdio.map((kind) => (kind === 'pipe' ? new PassThrough() : null));
  const relay: Relay = { pipes: [...pipes], open: pipes.filter(Boolean).length, exited: false, onExit };
  relays.set(id, relay);
  // Destroyed here (the reader is done): the thread closes its end too.
  pipes.forEach((p, fd) => p?.once('close', () => { if (relay.pipes[fd] === p) pipeDone(id, relay, fd, true); }));
  // Referenced until it has exited and its pipes are closed: a caller waiting on them keeps the process alive.
  w.ref();
  w.postMessage({ type: 'spawn', id, file, args, cwd: o.cwd, env: o.env, stdio: o.stdio, detached: o.detached } satisfies ThreadRequest);
  return { stdio: pipes, exited };
}
