/**
 * Runs a helper program to completion (mount, ip, cp, git, ps…): argv only,
 * never a shell; its stdout on success, a CommandError carrying its exit
 * status and stderr otherwise.
 *
 * The program is spawned by the spawner process (spawner.ts), not
 * by this one: a fork of berthd stalls all its threads (its event loop
 * among them) for as long as the fork takes. The CLI spawns its own
 * (`inThisProcess`): it is small, and its bundle carries no spawner process
 * to start.
 */
import { execFile } from 'node:child_process';
import { CommandError } from './errors.js';
import { execFileInSpawner } from './spawner.js';

export interface RunCommandOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Bytes of stdout/stderr kept (execFile's maxBuffer); default 1 MiB. */
  maxBuffer?: number;
  /** Written to the program's stdin (which is closed after it; without it, stdin is closed at once). */
  input?: string;
  /** Spawned by this process, not the spawner's (the CLI's choice; see above). */
  inThisProcess?: boolean;
}

export async function runCommand(argv: readonly string[], o: RunCommandOptions = {}): Promise<string> {
  const maxBuffer = o.maxBuffer ?? 1 << 20;
  if (o.inThisProcess) return runHere(argv, o, maxBuffer);
  // This process's environment as it is now, as execFile here would pass it (the spawner's dates from its start).
  const env = { ...(o.env ?? process.env) };
  const r = await execFileInSpawner(argv[0], argv.slice(1), { cwd: o.cwd, env, maxBuffer, input: o.input });
  if (r.failure) throw new CommandError(argv, r.failure.code, r.stderr || r.failure.message);
  return r.stdout;
}

function runHere(argv: readonly string[], o: RunCommandOptions, maxBuffer: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(argv[0], argv.slice(1), { cwd: o.cwd, env: o.env, maxBuffer, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) reject(new CommandError(argv, typeof err.code === 'number' ? err.code : null, stderr || err.message));
      else resolve(stdout);
    });
    child.stdin?.on('error', () => undefined); // a program that exits without reading: its status tells
    child.stdin?.end(o.input);
  });
}
