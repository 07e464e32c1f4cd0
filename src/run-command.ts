/**
 * Runs a helper program to completion (mount, ip, cp, git, ps…): argv only,
 * never a shell; its stdout on success, a CommandError carrying its exit
 * status and stderr otherwise.
 */
import { execFile } from 'node:child_process';
import { CommandError } from './errors.js';

export interface RunCommandOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Bytes of stdout/stderr kept (execFile's maxBuffer); default 1 MiB. */
  maxBuffer?: number;
  /** Written to the program's stdin (which is closed after it; without it, stdin is closed at once). */
  input?: string;
}

export function runCommand(argv: readonly string[], o: RunCommandOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(argv[0], argv.slice(1), { cwd: o.cwd, env: o.env, maxBuffer: o.maxBuffer ?? 1 << 20, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) reject(new CommandError(argv, typeof err.code === 'number' ? err.code : null, stderr || err.message));
      else resolve(stdout);
    });
    child.stdin?.on('error', () => undefined); // a program that exits without reading: its status tells
    child.stdin?.end(o.input);
  });
}
