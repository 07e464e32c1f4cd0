/**
 * Exec sessions: a process started in a running container through its own
 * conmon (`-e`), so that it, too, survives the daemon and reports its exit.
 *
 * Attached sessions follow conmon's handshake, which guarantees no output is
 * produced before the client listens:
 *
 *   1. we write a byte to the start pipe (conmon may fork and set up)
 *   2. conmon writes `{"data": 0}` to the attach pipe: `<dir>/attach` exists
 *   3. we connect to the attach socket
 *   4. we write a second byte: conmon runs `runtime exec`
 *   5. conmon writes `{"data": <pid>}` (or a negative number and the
 *      runtime's error) to the sync pipe
 *   6. conmon writes `{"data": <exit code>}` to the sync pipe when the process
 *      exits; the same number lands in `<dir>/exit/<container id>`
 *
 * Detached sessions skip 1–4.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SystemError } from '../errors.js';
import { attachContainer, type AttachStream } from './attach.js';
import { endFailedConmon, spawnExecMonitor, type ConmonMessage, type ConmonProcess } from './conmon.js';
import { readExitCode } from './exit-watcher.js';
import { lastRuntimeError, type OciRuntime } from './oci-runtime.js';

export interface ExecOptions {
  containerId: string;
  sessionId: string;
  /** Session's own dir (short path: it holds the attach socket). Created if missing. */
  sessionDir: string;
  runtime: OciRuntime;
  /** OCI `process` object: args, env, cwd, user, terminal, capabilities… */
  process: object;
  tty: boolean;
  stdin: boolean;
  /** Initial pty size (with `tty`); goes into the process spec's `consoleSize`. */
  consoleSize?: [rows: number, cols: number];
  /** No attach socket client: the session runs on its own. */
  detach?: boolean;
}

export interface ExecSession {
  pid: number;
  /** Connected before the process started; null when detached. */
  attach: AttachStream | null;
  /** Exit code; -1 when conmon vanished without recording one. */
  exited: Promise<number>;
}

const GO = Buffer.from([0]);

/**
 * Starts the process and resolves once it runs. When the runtime cannot start
 * it (no such executable, container not running…) rejects with a SystemError
 * worded like Docker's: `OCI runtime exec failed: <runtime's message>: unknown`.
 */
export async function startExec(o: ExecOptions): Promise<ExecSession> {
  const dir = o.sessionDir;
  await mkdir(join(dir, 'exit'), { recursive: true });
  await Promise.all(['oci-log', 'exec_pid', 'conmon.pid', join('exit', o.containerId)].map((f) => rm(join(dir, f), { force: true })));
  const specPath = join(dir, 'process.json');
  // The pty only exists once `runtime exec` made it, too late for a resize through
  // conmon to beat the process; runc and crun size it from the spec instead.
  const spec = o.tty && o.consoleSize
    ? { ...o.process, consoleSize: { height: o.consoleSize[0], width: o.consoleSize[1] } }
    : o.process;
  await writeFile(specPath, JSON.stringify(spec));
  const attach = !o.detach;
  const conmon = spawnExecMonitor({
    containerId: o.containerId, sessionId: o.sessionId, sessionDir: dir, runtime: o.runtime,
    processSpecPath: specPath, tty: o.tty, stdin: o.stdin && attach, attach,
  });

  let stream: AttachStream | null = null;
  let pid: number;
  try {
    if (attach) {
      conmon.start!.write(GO);
      const ready = await conmon.attachReady!.next();
      if (!ready || ready.data !== 0) throw await failure(conmon, dir, ready);
      stream = await attachContainer(dir);
      conmon.start!.write(GO);
    }
    const started = await conmon.sync.next();
    if (!started || started.data <= 0) throw await failure(conmon, dir, started);
    pid = started.data;
  } catch (e) {
    stream?.close();
    // Before releasing the start pipe: its EOF would let a waiting conmon run the process.
    await endFailedConmon(conmon, join(dir, 'conmon.pid'));
    conmon.release();
    conmon.sync.close();
    throw e;
  }
  conmon.release();
  return { pid, attach: stream, exited: awaitExit(conmon, dir, o.containerId) };
}

/** The runtime's own error (its JSON log), else what conmon relayed, else conmon's stderr. */
async function failure(conmon: ConmonProcess, dir: string, msg: ConmonMessage | null): Promise<SystemError> {
  let timer: NodeJS.Timeout | undefined;
  const code = await Promise.race([conmon.launched, new Promise<null>((r) => { timer = setTimeout(r, 1000, null); })]);
  clearTimeout(timer);
  const why = lastRuntimeError(join(dir, 'oci-log')) ?? msg?.message?.trim()
    ?? (conmon.stderr() || `conmon exited (status ${code}) without reporting`);
  return new SystemError(`OCI runtime exec failed: ${why}: unknown`);
}

/**
 * The exit code from the sync pipe; if conmon died without writing it, the
 * exit file it may still have left, else -1. The pipe closes when conmon
 * exits, so this never outlives conmon.
 */
async function awaitExit(conmon: ConmonProcess, dir: string, containerId: string): Promise<number> {
  const msg = await conmon.sync.next();
  conmon.sync.close();
  if (msg && msg.data >= 0) return msg.data;
  return readExitCode(join(dir, 'exit'), containerId) ?? -1;
}
