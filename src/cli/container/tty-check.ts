/**
 * `-t` with stdin attached needs a terminal on our side (Docker's CheckTty):
 * refusing early beats a container whose shell waits on a pipe.
 */
import type { InStream } from '../context.js';
import { StatusError } from '../errors.js';

export function checkTty(stdin: InStream, attachStdin: boolean, tty: boolean): void {
  if (attachStdin && tty && !stdin.isTTY) throw new StatusError(1, 'the input device is not a TTY');
}
