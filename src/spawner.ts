/**
 * Child processes spawned by a small helper process (spawner-process.ts)
 * instead of by berthd: the OCI runtime's short commands (start, kill,
 * delete, state…), conmon, which runs `runtime create`, netavark, and every
 * program run-command.ts runs (ip, mount, rm, ps, git…).
 *
 * Spawning forks the process that spawns, and while a fork is under way
 * the kernel holds that process's memory map for writing and glibc holds
 * every malloc arena's lock: any page fault or malloc of any other thread
 * waits for it. Node's spawn also does not return until the child has
 * exec'd (libuv forks, then reads a pipe that closes at exec). A fork of
 * berthd (100+ MiB mapped) takes 10 ms on an idle two-core machine and
 * 50 ms and more on a busy one, and a forking thread that the scheduler
 * preempts holds those locks the whole time. Spawned from berthd's event
 * loop, fifty containers started at once (150 spawns) held `/_ping` for
 * seconds; spawned from a worker thread of berthd, its main thread still
 * stalled behind the locks (profiled under the bench's `/_ping` p99 under
 * 600 lists + 50 runs: 80 waits for a malloc lock and 48 page faults
 * waiting for the memory map, up to 76 ms each, ~2 s in a 15 s run). The
 * helper is a process of its own, so its forks lock nothing of berthd's.
 *
 * The helper starts at the first command and ends after IDLE_MS with no
 * command in flight and no relayed child open — except berthd's, which
 * berthd starts before it serves and keeps (keepSpawner): started at the
 * first command of a burst, its fork (of a berthd grown by the load, which
 * waits for the child's exec) stalled the event loop ~300 ms at the start of
 * the bench's 50 runs under 600 lists. Kept, it costs ~7 MB of private
 * memory (its other ~36 MB are the node binary's pages, berthd's too). It is in a session of
 * its own (a Ctrl-C for berthd does not cut the runtime commands of its
 * shutdown short), and it exits when berthd does (its IPC channel closes).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { PassThrough, type Readable } from 'node:stream';

/** What the helper is asked (internal to this module and spawner-process.ts). */
export type SpawnerRequest =
  | { type: 'exec'; id: number; file: string; args: string[]; maxBuffer: number; cwd?: string; env?: NodeJS.ProcessEnv; input?: string }
  | { type: 'spawn'; id: number; file: string; args: string[]; cwd: string; env: Record<string, string>; stdio: ('ignore' | 'pipe')[]; detached: boolean; input?: string }
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

/** What the helper reports of a spawned child. */
export type SpawnEvent =
  | { type: 'data'; id: number; fd: number; data: Uint8Array }
  | { type: 'end'; id: number; fd: number }
  | { type: 'exit'; id: number; code: number | null; error?: string };

/** A child spawned by the helper: the parent's ends of its output pipes, and its exit. */
export interface RelayedChild {
  /** By fd: a readable for each `'pipe'` (what the child writes there), null for `'ignore'`. Destroying one closes the pipe. */
  readonly stdio: (Readable | null)[];
  /** Its exit code (null when killed by a signal or when it could not run; then `error` says why). */
  readonly exited: Promise<{ code: number | null; error?: string }>;
}

const IDLE_MS = 10_000;

interface Relay { pipes: (PassThrough | null)[]; open: number; exited: boolean; onExit(e: { code: number | null; error?: string }): void }

let helper: ChildProcess | null = null;
let nextId = 1;
const pending = new Map<number, { resolve(r: ExecReply): void; reject(e: Error): void }>();
const relays = new Map<number, Relay>();
let idleTimer: NodeJS.Timeout | null = null;
let kept = false;

function startHelper(): ChildProcess {
  // No Node flags of berthd's (a profiler, a preload): the helper only spawns. Nor NODE_EXTRA_CA_CERTS: it
  // makes no TLS connection, and loading the bundle costs ~85 ms at each start, which a container start waits for.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NODE_EXTRA_CA_CERTS'));
  const h = fork(new URL('./spawner-process.js', import.meta.url), [], {
    env, execArgv: [], serialization: 'advanced', detached: true, stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  h.on('message', (m: ExecReply | SpawnEvent) => {
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
    maybeIdle(h);
  });
  let failed = false;
  const fail = (e: Error) => {
    if (failed) return;
    failed = true;
    if (helper === h) helper = null;
    for (const p of pending.values()) p.reject(e);
    pending.clear();
    for (const [id, r] of relays) {
      for (const fd of r.pipes.keys()) pipeDone(id, r, fd, false);
      if (!r.exited) { r.exited = true; r.onExit({ code: null, error: e.message }); }
    }
    relays.clear();
  };
  h.on('error', fail);
  h.on('exit', (code, signal) => fail(new Error(`the spawner process exited (${signal ?? code})`)));
  return h;
}

/** Keeps berthd alive for the helper (a command in flight) or not (idle). */
function refHelper(h: ChildProcess, on: boolean): void {
  if (on) { h.ref(); h.channel?.ref(); } else { h.unref(); h.channel?.unref(); }
}

/** Sends a request; a helper that is gone fails it through its 'exit' (startHelper's `fail`). */
function send(h: ChildProcess, m: SpawnerRequest): void {
  if (h.connected) h.send(m, (e) => { if (e) h.kill(); });
}

function use(): ChildProcess {
  if (idleTimer) { clearTimeout(idleTimer); idleTimer = null; }
  helper ??= startHelper();
  return helper;
}

/** Nothing in flight and no relayed child open: the helper no longer keeps berthd alive, and ends after IDLE_MS. */
function maybeIdle(h: ChildProcess): void {
  if (pending.size > 0 || relays.size > 0 || h !== helper || idleTimer) return;
  refHelper(h, false);
  if (kept) return;
  idleTimer = setTimeout(() => {
    idleTimer = null;
    if (helper === h && pending.size === 0 && relays.size === 0) {
      helper = null;
      // Its end must not fail the work of the helper that may start before its 'exit' arrives.
      h.removeAllListeners('exit');
      h.removeAllListeners('error');
      h.on('error', () => undefined);
      // It exits when its channel closes.
      h.disconnect();
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
  if (closeIt && helper) send(helper, { type: 'close', id, fd });
  else p.end();
  settleRelay(id, r);
}

function settleRelay(id: number, r: Relay): void {
  if (!r.exited || r.open > 0) return;
  relays.delete(id);
  if (helper) {
    send(helper, { type: 'forget', id });
    maybeIdle(helper);
  }
}

/** How execFileInSpawner runs a command: execFile's options, and what its stdin gets. */
export interface ExecOptions {
  /** Bytes of stdout/stderr kept (execFile's maxBuffer: past it the command is killed and fails); default 16 MiB. */
  maxBuffer?: number;
  /** Default: the helper's, which is berthd's (berthd never changes its own). */
  cwd?: string;
  /** Default: the helper's, berthd's at the helper's start without NODE_EXTRA_CA_CERTS. */
  env?: NodeJS.ProcessEnv;
  /** Written to its stdin, which is closed after it (without it, at once). */
  input?: string;
}

/**
 * Starts the helper now and keeps it for this process's life (berthd's
 * choice, see above): a helper that exits is started again at the next
 * command and kept too. It never keeps this process alive.
 */
export function keepSpawner(): void {
  kept = true;
  maybeIdle(use());
}

/** `execFile(file, args)`, spawned by the helper, output as UTF-8; never rejects for the command's own failure (see `failure`). */
export function execFileInSpawner(file: string, args: string[], o: ExecOptions = {}): Promise<ExecReply> {
  const h = use();
  refHelper(h, true);
  const id = nextId++;
  return new Promise<ExecReply>((resolve, reject) => {
    pending.set(id, { resolve, reject });
    send(h, { type: 'exec', id, file, args, maxBuffer: o.maxBuffer ?? 16 << 20, cwd: o.cwd, env: o.env, input: o.input });
  });
}

/** This process's environment as it is now (what a spawn from here would pass), for spawnInSpawner. */
export function currentEnv(): Record<string, string> {
  return Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined));
}

/**
 * Spawns `file` from the helper; what the child writes on each
 * `'pipe'` fd is relayed to a readable here. Output pipes only, but for
 * `input`: with it, stdin (fd 0, which must be `'pipe'`) gets that text and
 * is closed, and has no readable here.
 */
export function spawnInSpawner(file: string, args: string[], o: { cwd: string; env: Record<string, string>; stdio: ('ignore' | 'pipe')[]; detached: boolean; input?: string }): RelayedChild {
  if (o.input !== undefined && o.stdio[0] !== 'pipe') throw new TypeError('spawnInSpawner: input needs a stdin pipe');
  const h = use();
  const id = nextId++;
  let onExit!: Relay['onExit'];
  const exited = new Promise<{ code: number | null; error?: string }>((resolve) => { onExit = resolve; });
  const pipes = o.stdio.map((kind, fd) => (kind === 'pipe' && !(fd === 0 && o.input !== undefined) ? new PassThrough() : null));
  const relay: Relay = { pipes: [...pipes], open: pipes.filter(Boolean).length, exited: false, onExit };
  relays.set(id, relay);
  // Destroyed here (the reader is done): the helper closes its end too.
  pipes.forEach((p, fd) => p?.once('close', () => { if (relay.pipes[fd] === p) pipeDone(id, relay, fd, true); }));
  // Referenced until it has exited and its pipes are closed: a caller waiting on them keeps the process alive.
  refHelper(h, true);
  send(h, { type: 'spawn', id, file, args, cwd: o.cwd, env: o.env, stdio: o.stdio, detached: o.detached, input: o.input });
  return { stdio: pipes, exited };
}
