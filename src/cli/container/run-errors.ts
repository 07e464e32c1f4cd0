/**
 * How `run` and `create` report failures (toStatusError, withHelp and
 * runStartContainerErr in Docker's run.go): 125 for the CLI or daemon,
 * 127 when the command was not found, 126 when it could not be invoked —
 * decided, as Docker does, from the daemon's error text.
 */
import { PROGRAM } from '../command.js';
import { StatusError } from '../errors.js';

export function withHelp(message: string, command: string): string {
  return `${PROGRAM}: ${message}\n\nRun '${PROGRAM} ${command} --help' for more information`;
}

/** 127 / 126 / 125 from an error message. */
export function runFailureStatus(message: string): number {
  const m = message.replace(/^Error response from daemon: /, '');
  if (/executable file not found|no such file or directory|system cannot find the file specified/.test(m)) return 127;
  if (/permission denied|is a directory/.test(m)) return 126;
  return 125;
}

/** A create/attach failure in `run`: printed with the help hint. */
export function toRunStatusError(e: unknown, command = 'run'): StatusError {
  if (e instanceof StatusError) return e;
  const msg = (e as Error).message;
  return new StatusError(runFailureStatus(msg), withHelp(msg, command));
}
