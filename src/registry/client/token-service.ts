/**
 * Asking a token server (the `realm` of a Bearer challenge) for a token.
 *
 * - GET (distribution v2.8.2 `docs/spec/auth/token.md` §"Requesting a
 *   Token"): `realm?service=S&scope=A&scope=B`, with `Authorization: Basic`
 *   when there are credentials (anonymous otherwise: public pulls). When
 *   `offline` (docker login) it adds `offline_token=true&client_id=…`, and a
 *   `refresh_token` in the answer becomes the identity token Docker stores.
 * - POST (`oauth.md`): with an identity (refresh) token, a form
 *   `grant_type=refresh_token&refresh_token=…&service=…&client_id=…&scope=A B`.
 *
 * The answer is `{"token"|"access_token", "expires_in", "issued_at",
 * "refresh_token"}`; either token field may be used (token.md). A refusal
 * (401 with `{"details": …}` from Docker Hub, or an `errors` body) is an
 * UnauthorizedError worded like Docker's: `unauthorized: incorrect username
 * or password`.
 */
import { SystemError } from '../../errors.js';
import { errorFromResponse } from './registry-errors.js';
import { DEFAULT_RETRY, withRetries, type RetryPolicy } from './retry.js';
import { discard, readBody, redact, type Transport } from './transport.js';

/** `client_id` sent to token servers (Docker sends `docker`). */
export const CLIENT_ID = 'berth';
const MAX_TOKEN_RESPONSE = 1 << 20;

export interface TokenRequest {
  realm: string;
  service?: string;
  scopes: readonly string[];
  username?: string;
  password?: string;
  /** A refresh token from an earlier login: use the OAuth2 POST flow. */
  identityToken?: string;
  /** Ask for a refresh token too (login). */
  offline?: boolean;
}

export interface TokenAnswer {
  token: string;
  /** Seconds; undefined when the server did not say. */
  expiresIn?: number;
  refreshToken?: string;
}

function realmUrl(realm: string): URL {
  let url: URL;
  try {
    url = new URL(realm);
  } catch {
    throw new SystemError(`invalid token realm: ${realm}`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new SystemError(`unsupported token realm scheme: ${realm}`);
  return url;
}

function basic(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}

export async function fetchToken(transport: Transport, req: TokenRequest, retry: RetryPolicy = DEFAULT_RETRY): Promise<TokenAnswer> {
  const url = realmUrl(req.realm);
  let res;
  if (req.identityToken) {
    const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: req.identityToken, client_id: CLIENT_ID });
    if (req.service) form.set('service', req.service);
    if (req.scopes.length) form.set('scope', req.scopes.join(' '));
    res = await transport.send({
      method: 'POST', url,
      headers: { 'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8' },
      body: Buffer.from(form.toString()),
    });
  } else {
    if (req.service) url.searchParams.set('service', req.service);
    for (const s of req.scopes) url.searchParams.append('scope', s);
    if (req.offline) {
      url.searchParams.set('offline_token', 'true');
      url.searchParams.set('client_id', CLIENT_ID);
    }
    const headers: Record<string, string> = {};
    if (req.username || req.password) headers.Authorization = basic(req.username ?? '', req.password ?? '');
    res = await withRetries(retry, () => transport.send({ method: 'GET', url, headers, followRedirects: true }), discard);
  }
  const body = await readBody(res, MAX_TOKEN_RESPONSE);
  if (res.status !== 200) {
    throw errorFromResponse(res.status, res.statusText, body, `${res.method} ${redact(res.url)}`);
  }
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
  } catch {
    throw new SystemError(`token server ${redact(url)} answered with invalid JSON`);
  }
  const token = typeof doc.access_token === 'string' && doc.access_token ? doc.access_token
    : typeof doc.token === 'string' && doc.token ? doc.token : undefined;
  if (!token) throw new SystemError(`token server ${redact(url)} answered without a token`);
  const out: TokenAnswer = { token };
  if (typeof doc.expires_in === 'number' && doc.expires_in > 0) out.expiresIn = doc.expires_in;
  if (typeof doc.refresh_token === 'string' && doc.refresh_token) out.refreshToken = doc.refresh_token;
  return out;
}
