/**
 * How a berth command ends badly. Docker's CLI has one rule that scripts rely
 * on: the exit status says who failed — 125 the CLI or daemon in run/create
 * (and any flag error), 126/127 the container command could not be invoked or
 * found, otherwise the container's own status; 1 for every other failure.
 */

/** Exit with `status`; print `message` on stderr first when it is not empty (Docker's cli.StatusError). */
export class StatusError extends Error {
  readonly status: number;
  constructor(status: number, message = '') {
    super(message);
    this.name = 'StatusError';
    this.status = status;
  }
}

/** The wrong number of positional arguments: printed with the usage line, exit 1. */
export class ArgsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ArgsError';
  }
}

/**
 * A flag berth accepts for compatibility but does not implement: refused
 * loudly (STYLE.md habit 9) instead of silently ignored.
 */
export class UnsupportedFlagError extends Error {
  constructor(flag: string, why: string) {
    super(`${flag} is not supported by berth: ${why}`);
    this.name = 'UnsupportedFlagError';
  }
}

/** A non-2xx/3xx answer from the daemon (client.ts). */
export class ApiError extends Error {
  readonly statusCode: number;
  /** The daemon's own message, without the "Error response from daemon: " prefix. */
  readonly daemonMessage: string;
  constructor(statusCode: number, daemonMessage: string, message = `Error response from daemon: ${daemonMessage}`) {
    super(message);
    this.name = 'ApiError';
    this.statusCode = statusCode;
    this.daemonMessage = daemonMessage;
  }
}

/** The daemon's socket could not be reached at all: no daemon, no permission (client.ts). */
export class ConnectError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'ConnectError';
    this.code = code;
  }
}
