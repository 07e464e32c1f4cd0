/**
 * The one mapping from error categories to HTTP status codes (moby's
 * `httpstatus.FromError`). Docker clients decide on status codes — a 404 on
 * create makes the CLI pull — so nothing else may pick a status.
 */
import { errorKind } from '../errors.js';

export function statusFromError(err: unknown): number {
  switch (errorKind(err)) {
    case 'NotFound': return 404;
    case 'InvalidParameter': return 400;
    case 'Conflict': return 409;
    case 'Unauthorized': return 401;
    case 'Forbidden': return 403;
    case 'NotImplemented': return 501;
    case 'NotModified': return 304;
    case 'PayloadTooLarge': return 413;
    case 'Unavailable': return 503;
    default: return 500;
  }
}
