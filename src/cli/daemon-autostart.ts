/**
 * Starting berthd on demand. When the socket is missing (or nobody listens)
 * and the user is root, the CLI launches `bin/berthd` from its own install
 * (found through `import.meta.url`, so a symlinked `berth` on PATH still finds
 * its daemon), detached and logging to a file, then waits for `/_ping`.
 * Non-root users get Docker's "Cannot connect…" message instead: berthd needs
 * root, and a failed sudo-less spawn would only hide the real problem.
 */
import { spawn } from 'node:child_process';
import { accessSync, closeSync, constants, mkdirSync, openSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DaemonAddress } from './host.js';

const WAIT_MS = 10_000;

/** `<repo>/bin/berthd` relative to this compiled module (`dist/src/cli/`). */
export function berthdPath(): string {
  return fileURLToPath(new URL('../../../bin/berthd', import.meta.url));
}

function logPath(addr: DaemonAddress): string {
  try {
    accessSync('/var/log', constants.W_OK);
    return '/var/log/berthd.log';
  } catch {
    return `${dirname(addr.socketPath)}/berthd.log`;
  }
}

function tail(path: string, lines: number): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/**
 * Spawns berthd for `addr` and resolves once `isUp()` says it answers.
 * Rejects with the end of the daemon's log when it exits or stays silent.
 */
export interface StartOptions {
  debug?: (line: string) => void;
  /** The daemon program (tests use a fake). */
  bin?: string;
  waitMs?: number;
  /** Where its output goes; /var/log/berthd.log or next to the socket by default. */
  logFile?: string;
}

export async function startDaemon(addr: DaemonAddress, isUp: () => Promise<boolean>, opts: StartOptions = {}): Promise<void> {
  const { debug, bin = berthdPath(), waitMs = WAIT_MS } = opts;
  const log = opts.logFile ?? logPath(addr);
  mkdirSync(dirname(log), { recursive: true });
  const fd = openSync(log, 'a');
  debug?.(`starting ${bin} -H ${addr.host} (log ${log})`);
  const child = spawn(process.execPath, [bin, '-H', addr.host], { detached: true, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  let exited: number | null | undefined;
  child.on('exit', (code) => { exited = code; });
  child.on('error', () => { exited = -1; });
  child.unref();
  const deadline = Date.now() + waitMs;
  while (Date.now() < deadline) {
    if (await isUp()) return;
    if (exited !== undefined) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const why = exited !== undefined ? `berthd exited with status ${exited}` : `berthd did not answer within ${waitMs / 1000}s`;
  const last = tail(log, 5);
  throw new Error(`failed to start the berth daemon at ${addr.host}: ${why} (log: ${log})${last ? `\n${last}` : ''}`);
}
