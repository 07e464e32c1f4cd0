/**
 * A registry's error answers as berth's typed errors, worded as Docker
 * words them.
 *
 * The body is `{"errors":[{"code","message","detail"}]}` (distribution spec
 * v1.1 §"Error Codes"). Docker prints each entry as its code lowercased with
 * spaces for underscores, a colon, then the message — `unauthorized:
 * authentication required`, `denied: requested access to the resource is
 * denied`, `manifest unknown: manifest unknown`, `blob unknown: blob unknown
 * to registry` — and, for a 401 or 429 without such a body, the code's
 * default message (distribution v2.8.2 `registry/client/errors.go`). A token
 * server's `{"details":"…"}` body (Docker Hub: `incorrect username or
 * password`) becomes the message of an `unauthorized` error.
 *
 * Kinds: 401 / `UNAUTHORIZED` → UnauthorizedError; `DENIED` / 403 →
 * ForbiddenError; `MANIFEST_UNKNOWN`, `NAME_UNKNOWN`, `BLOB_UNKNOWN` / 404 →
 * NotFoundError; everything else SystemError. The registry's answer travels
 * as the `cause` ({@link RegistryResponseError}) so callers can reword by
 * code (Docker's `pull access denied for …` is the pull's business).
 */
import {
  ForbiddenError, NotFoundError, SystemError, UnauthorizedError, type BerthError,
} from '../../errors.js';

export interface RegistryErrorEntry {
  code: string;
  message: string;
  detail?: unknown;
}

/** The registry's answer, attached as `cause` to the typed error. */
export class RegistryResponseError extends Error {
  readonly status: number;
  readonly errors: RegistryErrorEntry[];
  constructor(status: number, errors: RegistryErrorEntry[], message: string) {
    super(message);
    this.name = 'RegistryResponseError';
    this.status = status;
    this.errors = errors;
  }
}

const DEFAULT_MESSAGES: Record<string, string> = {
  UNAUTHORIZED: 'authentication required',
  DENIED: 'requested access to the resource is denied',
  TOOMANYREQUESTS: 'too many requests',
  MANIFEST_UNKNOWN: 'manifest unknown',
  BLOB_UNKNOWN: 'blob unknown to registry',
  NAME_UNKNOWN: 'repository name not known to registry',
};

/** The `errors` array of an error body, or of a token server's `details` body; [] when neither. */
export function parseErrorBody(status: number, body: Buffer | undefined): RegistryErrorEntry[] {
  if (!body?.length) return [];
  let doc: unknown;
  try {
    doc = JSON.parse(body.toString('utf8'));
  } catch {
    return [];
  }
  if (!doc || typeof doc !== 'object') return [];
  const d = doc as { errors?: unknown; details?: unknown };
  if (Array.isArray(d.errors)) {
    return d.errors
      .filter((e): e is Record<string, unknown> => !!e && typeof e === 'object')
      .map((e) => {
        const code = typeof e.code === 'string' && e.code ? e.code.toUpperCase() : 'UNKNOWN';
        const message = typeof e.message === 'string' && e.message ? e.message : (DEFAULT_MESSAGES[code] ?? 'unknown error');
        return e.detail === undefined ? { code, message } : { code, message, detail: e.detail };
      });
  }
  if (typeof d.details === 'string' && d.details && status === 401) return [{ code: 'UNAUTHORIZED', message: d.details }];
  return [];
}

/** `code: message` as Docker prints an errcode (`MANIFEST_UNKNOWN` → `manifest unknown: …`). */
export function describeEntry(e: RegistryErrorEntry): string {
  return `${e.code.toLowerCase().replace(/_/g, ' ')}: ${e.message}`;
}

/** Several entries the way Docker joins them; one entry is just that entry. */
export function describeEntries(entries: readonly RegistryErrorEntry[]): string {
  if (entries.length === 1) return describeEntry(entries[0]);
  return `errors:\n${entries.map((e) => `${describeEntry(e)}\n`).join('')}`;
}

/** The entries a response stands for: its body, or what its status implies when the body says nothing. */
export function entriesFor(status: number, body: Buffer | undefined): RegistryErrorEntry[] {
  const parsed = parseErrorBody(status, body);
  if (parsed.length) return parsed;
  if (status === 401) return [{ code: 'UNAUTHORIZED', message: DEFAULT_MESSAGES.UNAUTHORIZED }];
  if (status === 429) return [{ code: 'TOOMANYREQUESTS', message: DEFAULT_MESSAGES.TOOMANYREQUESTS }];
  return [];
}

/**
 * The typed error for an unsuccessful response. `what` names the request
 * for answers without an error body (`GET https://…/v2/`); `prefix`, when
 * given, is put before the registry's words (`manifest for x:1 not found`).
 */
export function errorFromResponse(
  status: number,
  statusText: string,
  body: Buffer | undefined,
  what: string,
  prefix?: string,
): BerthError {
  const entries = entriesFor(status, body);
  const text = entries.length
    ? describeEntries(entries)
    : `${what}: received unexpected HTTP status: ${status} ${statusText}`.trim();
  const cause = new RegistryResponseError(status, entries, text);
  const message = prefix ? `${prefix}: ${text}` : text;
  const first = entries[0]?.code;
  if (status === 401 || first === 'UNAUTHORIZED') return new UnauthorizedError(message, { cause });
  if (first === 'DENIED' || status === 403) return new ForbiddenError(message, { cause });
  if (first === 'MANIFEST_UNKNOWN' || first === 'NAME_UNKNOWN' || first === 'BLOB_UNKNOWN' || status === 404) {
    return new NotFoundError(message, { cause });
  }
  return new SystemError(message, { cause });
}

/** The registry error code behind a typed error from this client, if any. */
export function registryErrorCode(err: unknown): string | undefined {
  const cause = (err as { cause?: unknown } | undefined)?.cause;
  return cause instanceof RegistryResponseError ? cause.errors[0]?.code : undefined;
}
