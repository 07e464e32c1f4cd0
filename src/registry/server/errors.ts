/**
 * Distribution error codes as typed values.
 *
 * The OCI distribution spec v1.1 §"Error Codes" fixes the body shape
 * `{"errors":[{"code","message","detail"}]}` and the fourteen codes (code-1 …
 * code-14); the status that goes with each code follows the endpoint table
 * (end-1 … end-13) and what docker-registry 2.8.2 answers (fact sheet §4.1).
 * Handlers throw a {@link DistributionError}; only `responses.ts` turns it into
 * bytes, so no handler picks a status code on its own.
 */
import { BerthError, type ErrorKind } from '../../errors.js';

export type DistributionErrorCode =
  | 'BLOB_UNKNOWN'
  | 'BLOB_UPLOAD_INVALID'
  | 'BLOB_UPLOAD_UNKNOWN'
  | 'DIGEST_INVALID'
  | 'MANIFEST_BLOB_UNKNOWN'
  | 'MANIFEST_INVALID'
  | 'MANIFEST_UNKNOWN'
  | 'NAME_INVALID'
  | 'NAME_UNKNOWN'
  | 'SIZE_INVALID'
  | 'UNAUTHORIZED'
  | 'DENIED'
  | 'UNSUPPORTED'
  | 'TOOMANYREQUESTS'
  /** Not in the spec's table; its §"Errors" tells clients to treat unknown codes as `UNKNOWN`, which docker-registry sends with a 500. */
  | 'UNKNOWN';

/** Default status and message per code (spec table "Error Codes" for the wording). */
const DEFAULTS: Record<DistributionErrorCode, { status: number; message: string }> = {
  BLOB_UNKNOWN: { status: 404, message: 'blob unknown to registry' },
  BLOB_UPLOAD_INVALID: { status: 400, message: 'blob upload invalid' },
  BLOB_UPLOAD_UNKNOWN: { status: 404, message: 'blob upload unknown to registry' },
  DIGEST_INVALID: { status: 400, message: 'provided digest did not match uploaded content' },
  MANIFEST_BLOB_UNKNOWN: { status: 400, message: 'manifest references a manifest or blob unknown to registry' },
  MANIFEST_INVALID: { status: 400, message: 'manifest invalid' },
  MANIFEST_UNKNOWN: { status: 404, message: 'manifest unknown' },
  NAME_INVALID: { status: 400, message: 'invalid repository name' },
  NAME_UNKNOWN: { status: 404, message: 'repository name not known to registry' },
  SIZE_INVALID: { status: 400, message: 'provided length did not match content length' },
  UNAUTHORIZED: { status: 401, message: 'authentication required' },
  DENIED: { status: 403, message: 'requested access to the resource is denied' },
  UNSUPPORTED: { status: 405, message: 'the operation is unsupported' },
  TOOMANYREQUESTS: { status: 429, message: 'too many requests' },
  UNKNOWN: { status: 500, message: 'unknown error' },
};

function kindForStatus(status: number): ErrorKind {
  if (status === 404) return 'NotFound';
  if (status === 401) return 'Unauthorized';
  if (status === 403) return 'Forbidden';
  if (status === 405) return 'NotImplemented';
  if (status >= 400 && status < 500) return 'InvalidParameter';
  return 'System';
}

/** One entry of the spec's `errors` array. */
export interface DistributionErrorBody {
  code: DistributionErrorCode;
  message: string;
  detail?: unknown;
}

export class DistributionError extends BerthError {
  readonly code: DistributionErrorCode;
  readonly status: number;
  readonly detail: unknown;
  /** Extra response headers (e.g. `Range` on a 416, `WWW-Authenticate` on a 401). */
  readonly headers: Record<string, string>;
  /** Further errors reported in the same response (e.g. several missing manifest blobs). */
  readonly more: DistributionErrorBody[];

  constructor(
    code: DistributionErrorCode,
    opts: { message?: string; detail?: unknown; status?: number; headers?: Record<string, string>; more?: DistributionErrorBody[] } = {},
  ) {
    const d = DEFAULTS[code];
    const status = opts.status ?? d.status;
    super(kindForStatus(status), opts.message ?? d.message);
    this.code = code;
    this.status = status;
    this.detail = opts.detail;
    this.headers = opts.headers ?? {};
    this.more = opts.more ?? [];
  }

  /** The `errors` array of the response body. */
  toBody(): { errors: DistributionErrorBody[] } {
    const first: DistributionErrorBody = { code: this.code, message: this.message };
    if (this.detail !== undefined) first.detail = this.detail;
    return { errors: [first, ...this.more] };
  }
}

export function isDistributionError(err: unknown): err is DistributionError {
  return err instanceof DistributionError;
}
