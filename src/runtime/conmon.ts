/**
 * The one module that runs conmon, the per-container monitor.
 *
 * conmon daemonizes (fork + setsid) so containers outlive berthd; it runs
 * `runtime create` (or `exec`), holds the container's stdio, writes the
 * k8s-file log, serves the attach socket and `ctl` fifo in the bundle, and
 * writes the exit code to `<exit-dir>/<id>`. It reports to its spawner over
 * inherited pipes named in its environment (api-version 1, one JSON line per
 * message, `{"data": N}` or `{"data": N, "message": "…"}`):
 *
 * - `_OCI_SYNCPIPE`: container/exec pid after the runtime succeeded, or a
 *   negative number with the runtime's stderr; for exec also the exit code.
 * - `_OCI_STARTPIPE`: conmon waits for one byte before forking (and, for an
 *   attached exec, for a second one before running `runtime exec`).
 * - `_OCI_ATTACHPIPE`: exec only; `{"data": 0}` once the attach socket exists.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { constants as fsConstants } from 'node:fs';
import { open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { findExecutable } from '../executable.js';
import { SystemError } from '../errors.js';
import { lastRuntimeError, type OciRuntime } from './oci-runtime.js';
import { criuErrors } from './criu.js';
import { spawnInSpawner, type RelayedChild } from '../spawner.js';

export interface CreateOptions {
  id: string;
  name: string;
  /** Holds config.json; conmon puts `attach`, `ctl`, `winsz`, pid files here. Keep it short (sun_path). */
  bundleDir: string;
  runtime: OciRuntime;
  /** conmon writes `<exitDir>/<id>` with the exit code. */
  exitDir: string;
  /** k8s-file log; `/dev/null` means no log (conmon `-l none`). */
  logPath: string;
  tty: boolean;
  /** Keep a stdin pipe fed from the attach socket (ignored with a tty, which always takes input). */
  stdin: boolean;
  /**
   * Keep that stdin open when an attach client goes (conmon `--leave-stdin-open`).
   * Without it conmon closes the container's stdin when any attach client ends:
   * Docker's `StdinOnce`; a container without it keeps its stdin across attaches.
   */
  leaveStdinOpen?: boolean;
  consoleSize?: [rows: number, cols: number];
  /** conmon replaces the log with an empty file when a write would pass this many bytes. */
  logSizeMax?: number;
  /**
   * A checkpoint's images to restore from (conmon `--restore`): conmon runs
   * `runtime restore --detach` instead of `create`, and the container is
   * running, not created, once this resolves.
   */
  restoreFrom?: { imagePath: string; tcpEstablished: boolean };
}

export interface CreatedContainer { pid: number; conmonPid: number }

/** One message from a conmon pipe. */
export interface ConmonMessage { data: number; message?: string }

const CONMON_DIRS = ['/usr/bin', '/usr/libexec/podman', '/usr/local/bin', '/usr/local/libexec/podman', '/usr/sbin'];
let conmonPath: string | null = null;

function findConmon(): string {
  conmonPath ??= findExecutable('conmon', CONMON_DIRS) ?? null;
  if (!conmonPath) throw new SystemError(`conmon not found in ${CONMON_DIRS.join(', ')}`);
  return conmonPath;
}

/**
 * Reads conmon's JSON-line messages from one pipe. `next()` resolves with the
 * next message, or null once conmon closed the pipe (it exited).
 */
export class ConmonPipe {
  private buffered = '';
  private readonly messages: ConmonMessage[] = [];
  private waiter: ((m: ConmonMessage | null) => void) | null = null;
  private ended = false;
  private onEnded: (() => void)[] = [];

  constructor(private readonly stream: Readable) {
    stream.setEncoding('utf8');
    stream.on('data', (s: string) => {
      this.buffered += s;
      for (let nl = this.buffered.indexOf('\n'); nl >= 0; nl = this.buffered.indexOf('\n')) {
        const line = this.buffered.slice(0, nl).trim();
        this.buffered = this.buffered.slice(nl + 1);
        if (line) this.push(parseMessage(line));
      }
    });
    const end = (): void => {
      if (this.ended) return;
      this.ended = true;
      if (this.buffered.trim()) this.push(parseMessage(this.buffered.trim()));
      this.buffered = '';
      this.wake();
      for (const f of this.onEnded.splice(0)) f();
    };
    stream.on('end', end);
    stream.on('close', end);
    stream.on('error', end);
  }

  next(): Promise<ConmonMessage | null> {
    if (this.waiter) throw new Error('ConmonPipe.next() called twice');
    const m = this.messages.shift();
    if (m) return Promise.resolve(m);
    if (this.ended) return Promise.resolve(null);
    return new Promise((resolve) => { this.waiter = resolve; });
  }

  /** Resolves when conmon closed the pipe (it exited), or after `ms`; true if closed. */
  closed(ms: number): Promise<boolean> {
    if (this.ended) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), ms);
      this.onEnded.push(() => { clearTimeout(timer); resolve(true); });
    });
  }

  /** Stops reading; the pipe no longer keeps the event loop alive. */
  close(): void {
    this.stream.destroy();
  }

  private push(m: ConmonMessage): void {
    this.messages.push(m);
    this.wake();
  }

  private wake(): void {
    const w = this.waiter;
    if (!w) return;
    const m = this.messages.shift();
    if (!m && !this.ended) return;
    this.waiter = null;
    w(m ?? null);
  }
}

function parseMessage(line: string): ConmonMessage {
  try {
    const o = JSON.parse(line) as { data?: unknown; message?: unknown };
    if (typeof o.data === 'number') return { data: o.data, message: typeof o.message === 'string' ? o.message : undefined };
  } catch {
    // fall through
  }
  return { data: -1, message: line };
}

/** A freshly spawned conmon and the parent ends of its pipes. */
export interface ConmonProcess {
  /** `_OCI_SYNCPIPE`. */
  sync: ConmonPipe;
  /** `_OCI_STARTPIPE`, when asked for. */
  start: Writable | null;
  /** `_OCI_ATTACHPIPE`, when asked for. */
  attachReady: ConmonPipe | null;
  /** Exit status of the process we spawned (it exits once conmon daemonized; non-zero = bad arguments). */
  launched: Promise<number | null>;
  /** What conmon printed before it detached from its stderr. */
  stderr(): string;
  /** Lets go of everything but the sync pipe (which the caller closes when done). */
  release(): void;
}

interface SpawnPipes { start: boolean; attach: boolean }

/**
 * Spawns conmon detached, cwd = `cwd` (conmon drops an `oom` marker into its
 * working directory), with only PATH from our environment.
 */
function spawnConmon(args: string[], cwd: string, pipes: SpawnPipes): ConmonProcess {
  const env: Record<string, string> = {
    PATH: process.env.PATH || '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    _OCI_SYNCPIPE: '3',
  };
  const stdio: ('ignore' | 'pipe')[] = ['ignore', 'ignore', 'pipe', 'pipe'];
  if (pipes.start || pipes.attach) { stdio.push('pipe'); env._OCI_STARTPIPE = '4'; }
  if (pipes.attach) { stdio.push('pipe'); env._OCI_ATTACHPIPE = '5'; }
  // Without pipes to write (a container's create), conmon is spawned by the spawner process (spawner.ts), not by berthd.
  if (!pipes.start && !pipes.attach) return relayedConmon(spawnInSpawner(findConmon(), args, { cwd, env, stdio, detached: true }));
  const child: ChildProcess = spawn(findConmon(), args, { cwd, env, stdio, detached: true });
  let stderrText = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (s: string) => { if (stderrText.length < 16384) stderrText += s; });
  child.stderr!.on('error', () => undefined);
  const launched = new Promise<number | null>((resolve) => {
    child.once('error', (e) => { stderrText += `${e.message}\n`; resolve(null); });
    child.once('exit', (code) => resolve(code));
  });
  const fds = child.stdio as unknown as (Readable | Writable | null)[];
  const start = pipes.start || pipes.attach ? (fds[4] as Writable) : null;
  start?.on('error', () => undefined); // conmon gone: its sync pipe tells the story
  const attachReady = pipes.attach ? new ConmonPipe(fds[5] as Readable) : null;
  return {
    sync: new ConmonPipe(fds[3] as Readable),
    start,
    attachReady,
    launched,
    stderr: () => stderrText.trim(),
    release: () => {
      start?.destroy();
      attachReady?.close();
      child.stderr!.destroy();
      child.unref();
    },
  };
}

/** A conmon spawned by the spawner process: its stderr (fd 2) and sync pipe (fd 3) relayed. */
function relayedConmon(child: RelayedChild): ConmonProcess {
  const stderr = child.stdio[2]!;
  let stderrText = '';
  stderr.setEncoding('utf8');
  stderr.on('data', (s: string) => { if (stderrText.length < 16384) stderrText += s; });
  stderr.on('error', () => undefined);
  return {
    sync: new ConmonPipe(child.stdio[3]!),
    start: null,
    attachReady: null,
    launched: child.exited.then((r) => {
      if (r.error) stderrText += `${r.error}\n`;
      return r.code;
    }),
    stderr: () => stderrText.trim(),
    release: () => { stderr.destroy(); },
  };
}

/** conmon flags for log level and the runtime's own flags (state root, JSON error log). */
function commonArgs(runtime: OciRuntime, ociLogPath: string): string[] {
  const args = ['--log-level', 'warning'];
  for (const a of runtime.monitorArgs(ociLogPath)) args.push(`--runtime-arg=${a}`);
  return args;
}

/**
 * Runs conmon, which runs `runtime create`; resolves once the container
 * exists (state `created`, not started). On failure conmon exits, the
 * runtime's state is removed, and a SystemError carries the runtime's message.
 */
export async function createContainer(o: CreateOptions): Promise<CreatedContainer> {
  const b = o.bundleDir;
  const ociLog = join(b, 'oci-log');
  // Leftovers of a previous run of this bundle would be mistaken for this one's.
  await Promise.all(['oci-log', 'pidfile', 'conmon.pid', 'exit', 'oom'].map((f) => rm(join(b, f), { force: true })));
  const args = [
    '--api-version', '1', '-c', o.id, '-u', o.id, '-n', o.name,
    '-r', o.runtime.path, '-b', b, '-p', join(b, 'pidfile'),
    '--persist-dir', b, '--conmon-pidfile', join(b, 'conmon.pid'),
    '--exit-dir', o.exitDir, '--full-attach',
    '-l', o.logPath === '/dev/null' ? 'none' : `k8s-file:${o.logPath}`,
    ...commonArgs(o.runtime, ociLog),
  ];
  if (o.logSizeMax && o.logSizeMax > 0 && o.logPath !== '/dev/null') args.push('--log-size-max', String(o.logSizeMax));
  if (o.tty) args.push('-t');
  else if (o.stdin) args.push('-i', ...(o.leaveStdinOpen ? ['--leave-stdin-open'] : []));
  if (o.restoreFrom) {
    args.push('--restore', o.restoreFrom.imagePath);
    if (o.restoreFrom.tcpEstablished) args.push('--runtime-opt=--tcp-established');
  }

  const conmon = spawnConmon(args, b, { start: false, attach: false });
  try {
    const msg = await conmon.sync.next();
    if (!msg || msg.data <= 0) {
      const launchedCode = await conmon.launched;
      let why = lastRuntimeError(ociLog) ?? msg?.message?.trim() ?? (conmon.stderr() || `conmon exited (status ${launchedCode}) without reporting`);
      // CRIU's own reason is in its log in the bundle (the work path), which the caller's clean-up removes.
      if (o.restoreFrom) why = [why, await criuErrors(join(b, 'restore.log'))].filter(Boolean).join(': ');
      await endFailedConmon(conmon, join(b, 'conmon.pid'));
      await o.runtime.delete(o.id, true).catch(() => undefined);
      throw new SystemError(`OCI runtime ${o.restoreFrom ? 'restore' : 'create'} failed: ${why}: unknown`);
    }
    await conmon.launched; // the first process has written conmon.pid before exiting
    const conmonPid = await readPid(join(b, 'conmon.pid'));
    if (o.tty && o.consoleSize) await resizeTerminal(b, o.consoleSize[0], o.consoleSize[1]);
    return { pid: msg.data, conmonPid };
  } finally {
    conmon.release();
    conmon.sync.close();
  }
}

export interface ExecMonitorOptions {
  containerId: string;
  sessionId: string;
  /** Gets `attach`, `ctl`, `exec_pid`, `conmon.pid`, `oci-log` and `exit/<containerId>`. */
  sessionDir: string;
  runtime: OciRuntime;
  /** File holding the OCI process object. */
  processSpecPath: string;
  tty: boolean;
  stdin: boolean;
  /** Hold `runtime exec` until the caller attached (the handshake in exec.ts). */
  attach: boolean;
}

/**
 * Spawns conmon for an exec session (`-e`); its pid goes to `<sessionDir>/conmon.pid`.
 * With `attach`, conmon waits on the
 * start pipe twice (fork, then exec) and reports on the attach pipe when its
 * socket is up; see exec.ts for the sequence.
 */
export function spawnExecMonitor(o: ExecMonitorOptions): ConmonProcess {
  const d = o.sessionDir;
  const args = [
    '--api-version', '1', '-c', o.containerId, '-u', o.sessionId, '-n', o.containerId,
    '-r', o.runtime.path, '-b', d, '-p', join(d, 'exec_pid'),
    '--exit-dir', join(d, 'exit'), '--full-attach', '-l', 'none', '--conmon-pidfile', join(d, 'conmon.pid'),
    ...commonArgs(o.runtime, join(d, 'oci-log')),
  ];
  // With a tty, -i would make a client's half-close close the pty master.
  if (o.tty) args.push('-t');
  else if (o.stdin) args.push('-i');
  args.push('-e');
  if (o.attach) args.push('--exec-attach');
  args.push('--exec-process-spec', o.processSpecPath);
  return spawnConmon(args, d, { start: o.attach, attach: o.attach });
}

/**
 * Resizes the container's (or exec session's) pty through conmon's `ctl`
 * fifo: `1 <rows> <cols>\n`. Without a listening conmon (container gone, or
 * no tty) there is nothing to resize and that is not an error.
 */
export async function resizeTerminal(dir: string, rows: number, cols: number): Promise<void> {
  await sendCtl(dir, `1 ${Math.max(0, Math.trunc(rows))} ${Math.max(0, Math.trunc(cols))}\n`);
}

/**
 * Has conmon close and reopen its log file (`2 0 0\n` on `ctl`), so a log
 * rotated by renaming goes on in a new file at the same path (the CRI's
 * ReopenContainerLog). Returns false when no conmon listens.
 */
export function reopenLog(dir: string): Promise<boolean> {
  return sendCtl(dir, '2 0 0\n');
}

async function sendCtl(dir: string, message: string): Promise<boolean> {
  let fh;
  try {
    fh = await open(join(dir, 'ctl'), fsConstants.O_WRONLY | fsConstants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENXIO' || code === 'ENOENT') return false;
    throw e;
  }
  try {
    await fh.write(message);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EAGAIN' && (e as NodeJS.ErrnoException).code !== 'EPIPE') throw e;
    return false;
  } finally {
    await fh.close();
  }
}

async function readPid(path: string): Promise<number> {
  const n = Number.parseInt(await readFile(path, 'utf8'), 10);
  if (!(n > 0)) throw new SystemError(`no pid in ${path}`);
  return n;
}

/**
 * Makes sure a conmon that reported failure is gone: it exits by itself
 * right after reporting (closing its sync pipe); one that does not is killed.
 */
export async function endFailedConmon(conmon: ConmonProcess, pidFile: string): Promise<void> {
  if (await conmon.sync.closed(2000)) return;
  const pid = await readPid(pidFile).catch(() => 0);
  if (pid && (await isConmonAlive(pid))) {
    try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
  }
}

/**
 * True while `pid` is a live conmon. A conmon that exited may linger as a
 * zombie (it is nobody's child once daemonized, and not every init reaps), so
 * `kill(pid, 0)` is not enough; checking the name guards against pid reuse.
 */
export async function isConmonAlive(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const close = stat.lastIndexOf(')');
    return stat.slice(stat.indexOf('(') + 1, close) === 'conmon' && stat[close + 2] !== 'Z';
  } catch {
    return false;
  }
}
