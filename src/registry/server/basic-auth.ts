/**
 * HTTP basic auth in front of every `/v2/` route (RFC 7617).
 *
 * Distribution spec v1.1 §"API Version Check": a 401 tells the client to act
 * on `WWW-Authenticate` and retry; the body is Docker's error JSON with code
 * `UNAUTHORIZED` (code-11). docker-registry's htpasswd mode answers the same
 * way (fact sheet §4.2, "Basic (htpasswd) registries").
 */
import { DistributionError } from './errors.js';
import type { Credentials } from './htpasswd.js';

export const BASIC_REALM = 'berth-registry';

/** Decodes `Authorization: Basic base64(user:password)`; null when absent or malformed. */
export function parseBasicAuthorization(header: string | undefined): { user: string; password: string } | null {
  if (!header) return null;
  const m = /^\s*Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!m) return null;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return null;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/**
 * Returns the authenticated user, or throws `UNAUTHORIZED` (401) carrying the
 * `WWW-Authenticate: Basic realm="berth-registry"` challenge.
 */
export function authenticate(credentials: Credentials, header: string | undefined): string {
  const given = parseBasicAuthorization(header);
  if (given && credentials.verify(given.user, given.password)) return given.user;
  throw new DistributionError('UNAUTHORIZED', {
    message: given ? 'invalid username or password' : 'authentication required',
    headers: { 'WWW-Authenticate': `Basic realm="${BASIC_REALM}"` },
  });
}
