/**
 * Exec and Attach behind a streaming URL, whatever carries the streams
 * (SPDY or WebSocket): the exec runs through berth's one exec path
 * (engine/exec.ts, the same as `docker exec` and ExecSync), an attach
 * through the engine's container attach (conmon's attach socket), and the
 * client's stdin, output, terminal resizes and final status are wired to
 * them here.
 *
 * A client that goes away mid-stream leaves nothing behind: an exec's
 * process is killed (nobody can read its output or end its input any
 * more, and kubelet's runtimes end it too when its connection drops), an
 * attach is only detached (the container is not the client's to end).
 */
import type { Readable, Writable } from 'node:stream';
import type { Engine } from '../../engine/engine.js';
import type { AttachHandle } from '../../engine/attach-handle.js';
import { errorMessage } from '../../errors.js';
import { parseTerminalSize, type CommandOutcome } from './command-status.js';

/** What a transport hands a session: the client's streams (null: not opened), and how to end. */
export interface CommandIo {
  stdin: Readable | null;
  stdout: Writable | null;
  stderr: Writable | null;
  resize: Readable | null;
  /** Reports the outcome on the error stream and closes everything. */
  finish(outcome: CommandOutcome): Promise<void>;
  /** Calls `cb` once if the client goes away before `finish`. */
  onGone(cb: () => void): void;
}

export interface ExecSpec { containerId: string; cmd: string[]; tty: boolean; stdin: boolean; stdout: boolean; stderr: boolean }
export interface AttachSpec { containerId: string; tty: boolean; stdin: boolean; stdout: boolean; stderr: boolean }

/** How long an exec with a pty waits for the client's terminal size before it starts without one. */
const FIRST_SIZE_WAIT_MS = 2000;

/** Resize messages are small JSON objects, one per line; a longer line is not one. */
const MAX_RESIZE_LINE = 1024;

/** Calls `apply` with each terminal size the client sends on its resize stream. */
function readResizes(resize: Readable | null, apply: (rows: number, cols: number) => void): void {
  if (!resize) return;
  let pending = '';
  resize.setEncoding('utf8');
  resize.on('data', (text: string) => {
    pending += text;
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const size = parseTerminalSize(pending.slice(0, nl));
      pending = pending.slice(nl + 1);
      if (size && size.width > 0 && size.height > 0) apply(size.height, size.width);
    }
    if (pending.length > MAX_RESIZE_LINE) pending = '';
  });
  resize.on('error', () => undefined);
}

/** Copies the handle's output to the client's streams (without a pty, stderr goes to its own stream). */
function pipeOutput(h: AttachHandle, io: CommandIo): void {
  h.on('output', (n: 1 | 2, chunk: Buffer) => {
    const to = n === 2 && io.stderr ? io.stderr : n === 1 ? io.stdout : null;
    if (to && !to.writableEnded && !to.destroyed) to.write(chunk);
  });
}

/** Feeds the client's stdin to the handle; `onEnd` when the client closes it. */
function pipeStdin(h: AttachHandle, stdin: Readable | null, onEnd: () => void): void {
  if (!stdin) return;
  stdin.on('data', (d: Buffer) => h.writeStdin(d));
  stdin.on('end', onEnd);
  stdin.on('error', () => undefined);
}

function outputEnded(h: AttachHandle): Promise<void> {
  return h.isEnded ? Promise.resolve() : new Promise((resolve) => h.once('end', () => resolve()));
}

export async function runExec(engine: Engine, spec: ExecSpec, io: CommandIo): Promise<void> {
  const exec = engine.exec;
  let execId = '';
  let handle: AttachHandle | null = null;
  let gone = false;
  const kill = () => {
    if (!execId) return;
    let pid = 0;
    try { pid = exec.get(execId).Pid; } catch { return; } // forgotten: long over
    if (pid > 0) { try { process.kill(pid, 'SIGKILL'); } catch { /* ended meanwhile */ } }
  };
  io.onGone(() => {
    gone = true;
    handle?.detach();
    kill();
  });
  // The first size is the pty's at start (client-go sends it as soon as the streams are up); later ones resize it.
  let size: [number, number] | null = null;
  let running = false;
  let firstSize: () => void = () => undefined;
  const sized = new Promise<void>((resolve) => { firstSize = resolve; });
  readResizes(io.resize, (rows, cols) => {
    size = [rows, cols];
    firstSize();
    if (running) void exec.resize(execId, rows, cols).catch(() => undefined);
  });
  let outcome: CommandOutcome;
  try {
    if (spec.tty && io.resize) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([sized, new Promise<void>((resolve) => { timer = setTimeout(resolve, FIRST_SIZE_WAIT_MS); })]);
      clearTimeout(timer);
    }
    execId = (await exec.create(spec.containerId, {
      Cmd: spec.cmd, Tty: spec.tty, AttachStdin: spec.stdin && !!io.stdin, AttachStdout: spec.stdout, AttachStderr: spec.stderr && !spec.tty,
    })).Id;
    if (gone) throw new Error('the client went away');
    const start: [number, number] | null = size;
    handle = await exec.start(execId, { ConsoleSize: start });
    if (!handle) throw new Error('exec started detached');
    const h = handle;
    if (gone) { h.detach(); kill(); }
    running = true;
    if (size && size !== start) void exec.resize(execId, size[0], size[1]).catch(() => undefined);
    pipeOutput(h, io);
    // The end of the client's stdin is the end of the process's (kubelet's runtimes close it too).
    pipeStdin(h, io.stdin, () => h.closeStdin());
    const code = await exec.get(execId).finished;
    await outputEnded(h);
    outcome = code === 0 ? { kind: 'success' } : { kind: 'exit', code, cmd: spec.cmd };
  } catch (e) {
    outcome = { kind: 'error', message: `error executing command in container: ${errorMessage(e)}` };
  }
  if (!gone) await io.finish(outcome);
}

export async function runAttach(engine: Engine, spec: AttachSpec, io: CommandIo): Promise<void> {
  let handle: AttachHandle | null = null;
  let gone = false;
  io.onGone(() => { gone = true; handle?.detach(); });
  let outcome: CommandOutcome;
  try {
    const c = engine.containers.lookup(spec.containerId);
    if (!c.State.Running) throw new Error(`container ${c.Id} is not running`);
    readResizes(io.resize, (rows, cols) => void engine.containers.resize(spec.containerId, rows, cols).catch(() => undefined));
    const h = await engine.containers.attach(spec.containerId, { stdin: spec.stdin && !!io.stdin, stdout: spec.stdout, stderr: spec.stderr });
    handle = h;
    if (gone) { h.detach(); return; }
    pipeOutput(h, io);
    // Only a container that wants its stdin closed after one attach (StdinOnce) sees the client's EOF.
    pipeStdin(h, io.stdin, () => { if (c.Config.StdinOnce) h.closeStdin(); });
    await outputEnded(h);
    outcome = { kind: 'success' };
  } catch (e) {
    outcome = { kind: 'error', message: `error attaching to container: ${errorMessage(e)}` };
  }
  if (!gone) await io.finish(outcome);
}
