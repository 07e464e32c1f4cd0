/**
 * `-t` with stdin attached needs a terminal on our side (Docker's CheckTty):
 * refusing early beats a container whose shell waits on a pipe.
 */
import type { CliContext } from '../context.js';
import { StatusError } from '../errors.js';

/** Takes the context rather than its stdin, which is opened only when this check needs it. */
export function checkTty(ctx: Pick<CliContext, 'in'>, attachStdin: boolean, tty: boolean): void {
  if (attachStdin && tty && !ctx.in.isTTY) throw new StatusError(1, 'the input device is not a TTY');
}
