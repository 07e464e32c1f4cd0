/**
 * One authenticated request to a registry: scheme, credentials, retries.
 *
 * - Before the first request the session pings `GET /v2/` once, as Docker
 *   does before every pull and push: the answer settles the scheme (an
 *   insecure registry that fails HTTPS at the connection or TLS level is
 *   spoken to over plain HTTP from then on, like dockerd's fallback
 *   endpoint) and its 401 challenge tells which credentials to send, so even
 *   a streamed upload carries them on its first try.
 * - {@link RegistrySession.call} sends `Authorization` only to the
 *   registry's own host; on a 401 it lets the authenticator learn and retries
 *   once (the body is rebuilt from its factory).
 * - Idempotent requests are retried on connection failures and 5xx
 *   (`retry.ts`).
 */
import type { Readable } from 'node:stream';
import { Authenticator, type AuthenticatorOptions, type RegistryCredentials } from './auth.js';
import type { RegistryEndpoint } from './endpoint.js';
import { DEFAULT_RETRY, withRetries, type RetryPolicy } from './retry.js';
import type { Scope } from './scope.js';
import { NetworkError, Transport, discard, type HttpResponse } from './transport.js';

export interface SessionOptions {
  userAgent?: string;
  /** Socket idle timeout (ms). */
  timeoutMs?: number;
  retry?: RetryPolicy;
  tokenCache?: AuthenticatorOptions['cache'];
  now?: () => number;
  /** Cancels every request of the session, in flight or to come (`TransportOptions.signal`). */
  signal?: AbortSignal;
}

export interface Call {
  method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Path under the registry (`/v2/…`), or an absolute URL (an upload `Location`). */
  target: string | URL;
  headers?: Record<string, string>;
  /** A Buffer, or a factory for a stream (called again for a retry). */
  body?: Buffer | (() => Readable);
  scopes: readonly Scope[];
  /** Safe to repeat: retried on connection failures and 5xx. */
  idempotent?: boolean;
  followRedirects?: boolean;
  /** Ask the token server for a refresh token (login). */
  offline?: boolean;
}

export const DEFAULT_USER_AGENT = 'berth';

export class RegistrySession {
  readonly transport: Transport;
  readonly auth: Authenticator;
  private scheme: 'https' | 'http';
  private ready: Promise<void> | undefined;
  private readonly retry: RetryPolicy;

  constructor(readonly endpoint: RegistryEndpoint, creds: RegistryCredentials = {}, opts: SessionOptions = {}) {
    this.scheme = endpoint.scheme;
    this.retry = opts.retry ?? DEFAULT_RETRY;
    this.transport = new Transport({
      insecureTls: endpoint.insecureTls,
      timeoutMs: opts.timeoutMs,
      userAgent: opts.userAgent ?? DEFAULT_USER_AGENT,
      signal: opts.signal,
    });
    this.auth = new Authenticator(`${endpoint.host}`, creds, this.transport, { cache: opts.tokenCache, retry: this.retry, now: opts.now });
  }

  /** `https://host` or, after a fallback, `http://host`. */
  get origin(): string {
    return `${this.scheme}://${this.endpoint.host}`;
  }

  url(path: string): URL {
    return new URL(path, this.origin);
  }

  /** The first `GET /v2/`: settles the scheme and learns the challenge. Retried on the next call if it failed. */
  private ensureReady(): Promise<void> {
    this.ready ??= this.probe().catch((err) => {
      this.ready = undefined;
      throw err;
    });
    return this.ready;
  }

  private async probe(): Promise<void> {
    const ping = () => withRetries(this.retry, () => this.transport.send({ method: 'GET', url: this.url('/v2/') }), discard);
    let res: HttpResponse;
    try {
      res = await ping();
    } catch (err) {
      if (!(err instanceof NetworkError) || !this.endpoint.httpFallback || this.scheme !== 'https') throw err;
      this.scheme = 'http';
      try {
        res = await ping();
      } catch (httpErr) {
        this.scheme = 'https';
        // err's message already names GET https://…; keep its cause so that prefix is said once.
        const httpsCause = err.cause instanceof Error ? err.cause.message : err.message;
        throw new NetworkError('GET', this.url('/v2/'), new Error(`${httpsCause}; over plain HTTP: ${(httpErr as Error).message}`));
      }
    }
    if (res.status === 401) this.auth.learn(res.headers['www-authenticate']);
    discard(res);
  }

  private isRegistry(url: URL): boolean {
    return url.host === this.endpoint.host || url.host === new URL(this.origin).host;
  }

  /** Sends `c`, authenticating and retrying as described above; any status is returned to the caller. */
  async call(c: Call): Promise<HttpResponse> {
    await this.ensureReady();
    let scopes = c.scopes;
    for (let attempt = 0; ; attempt++) {
      const url = typeof c.target === 'string' ? this.url(c.target) : c.target;
      const headers: Record<string, string> = { ...c.headers };
      const authorization = this.isRegistry(url) ? await this.auth.authorization(scopes, { offline: c.offline }) : undefined;
      if (authorization) headers.Authorization = authorization;
      const send = () => this.transport.send({
        method: c.method, url, headers,
        body: typeof c.body === 'function' ? c.body() : c.body,
        followRedirects: c.followRedirects,
      });
      const res = c.idempotent ? await withRetries(this.retry, send, discard) : await send();
      if (res.status !== 401 || attempt > 0) return res;
      const next = this.auth.challenged(res.headers['www-authenticate'], scopes, authorization);
      if (!next) return res;
      discard(res);
      scopes = next;
    }
  }

  close(): void {
    this.transport.close();
  }
}
