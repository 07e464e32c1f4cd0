/**
 * A build step that failed, pinned to its Dockerfile line
 * (`Dockerfile:7: The command '/bin/sh -c exit 7' returned a non-zero code: 7`).
 * It keeps the category of its cause (a missing COPY source is the client's
 * fault, a failing mount is the system's) and, for RUN, the command's exit
 * code, which `POST /build` sends as `errorDetail.code` so `docker build`
 * exits with it.
 */
import { BerthError, errorKind, errorMessage } from '../errors.js';

export class BuildStepError extends BerthError {
  readonly file: string;
  readonly line: number;
  /** RUN's exit status (the CLI's exit code), when a command failed. */
  readonly exitCode?: number;
  constructor(file: string, line: number, cause: unknown, exitCode?: number) {
    const msg = errorMessage(cause);
    super(errorKind(cause), msg.startsWith(`${file}:`) ? msg : `${file}:${line}: ${msg}`, { cause });
    this.name = 'BuildStepError';
    this.file = file;
    this.line = line;
    if (exitCode !== undefined) this.exitCode = exitCode;
  }
}

/** A RUN whose command exited non-zero: dockerd's exact wording. */
export class CommandFailedError extends BerthError {
  constructor(readonly argv: readonly string[], readonly exitCode: number) {
    super('InvalidParameter', `The command '${argv.join(' ')}' returned a non-zero code: ${exitCode}`);
    this.name = 'CommandFailedError';
  }
}
