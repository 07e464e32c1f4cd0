/**
 * Error categories shared by every layer, after moby's `errdefs`. Each kind maps
 * to one HTTP status in `api/status.ts` (`statusFromError`); nobody sniffs
 * messages. Messages that clients parse keep Docker's exact wording
 * (`No such container: x`).
 */
export type ErrorKind =
  | 'NotFound'
  | 'InvalidParameter'
  | 'Conflict'
  | 'Unauthorized'
  | 'Forbidden'
  | 'NotImplemented'
  | 'NotModified'
  | 'PayloadTooLarge'
  | 'Unavailable'
  | 'System';

export class BerthError extends Error {
  readonly kind: ErrorKind;
  constructor(kind: ErrorKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.kind = kind;
    this.name = `${kind}Error`;
  }
}

export class NotFoundError extends BerthError {
  constructor(message: string, options?: { cause?: unknown }) { super('NotFound', message, options); }
}
export class InvalidParameterError extends BerthError {
  constructor(message: string, options?: { cause?: unknown }) { super('InvalidParameter', message, options); }
}
export class ConflictError extends BerthError {
  constructor(message: string, options?: { cause?: unknown }) { super('Conflict', message, options); }
}
export class UnauthorizedError extends BerthError {
  constructor(message: string, options?: { cause?: unknown }) { super('Unauthorized', message, options); }
}
export class ForbiddenError extends BerthError {
  constructor(message: string, options?: { cause?: unknown }) { super('Forbidden', message, options); }
}
export class NotImplementedError extends BerthError {
  constructor(message: string, options?: { cause?: unknown }) { super('NotImplemented', message, options); }
}
/** 304 in Docker's API: start of a running container, stop of a stopped one. */
export class NotModifiedError extends BerthError {
  constructor(message: string, options?: { cause?: unknown }) { super('NotModified', message, options); }
}
/** 413: a request body over what berthd reads for its kind (a JSON body over its limit). */
export class PayloadTooLargeError extends BerthError {
  constructor(message: string, options?: { cause?: unknown }) { super('PayloadTooLarge', message, options); }
}
/** 503 in Docker's API (errdefs `Unavailable`): what this node cannot do in its state, e.g. swarm calls on a node outside a swarm. */
export class UnavailableError extends BerthError {
  constructor(message: string, options?: { cause?: unknown }) { super('Unavailable', message, options); }
}
export class SystemError extends BerthError {
  constructor(message: string, options?: { cause?: unknown }) { super('System', message, options); }
}

/** A failed external command (runc, crun, conmon, mount…): argv and stderr travel with it. */
export class CommandError extends SystemError {
  readonly argv: readonly string[];
  readonly stderr: string;
  readonly exitCode: number | null;
  constructor(argv: readonly string[], exitCode: number | null, stderr: string) {
    super(`${argv[0]} ${argv[1] ?? ''}: ${stderr.trim() || `exit status ${exitCode}`}`);
    this.argv = argv;
    this.stderr = stderr;
    this.exitCode = exitCode;
  }
}

export function errorKind(err: unknown): ErrorKind {
  return err instanceof BerthError ? err.kind : 'System';
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
