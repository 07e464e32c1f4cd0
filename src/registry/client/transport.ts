/**
 * One HTTP exchange with a registry (or its token server, or the storage a
 * blob redirects to), over node:http/https rather than fetch: uploads need
 * a streamed body with an exact `Content-Length`, insecure registries need
 * `rejectUnauthorized: false` per agent, and redirects must be followed by
 * hand so credentials never reach another origin.
 *
 * - Timeouts are idle timeouts on the socket (no bytes either way for
 *   `timeoutMs`), so a slow but moving multi-gigabyte layer never times out
 *   while a stalled connection does, during headers or body alike.
 * - Redirects (GET/HEAD only): blob GETs are commonly answered with a 307 to
 *   object storage (S3, GCS; distribution spec §"Pulling blobs": "MAY
 *   redirect"). `Authorization` is dropped when the redirect leaves the
 *   registry's origin, as Go's http.Client does for Docker; presigned URLs
 *   carry their own credentials and storage rejects foreign ones.
 * - Network failures become {@link NetworkError} (a SystemError) naming the
 *   method and URL, with the errno `code` kept for the retry policy.
 */
import http from 'node:http';
import https from 'node:https';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { PassThrough, Readable } from 'node:stream';
import { BerthError, SystemError } from '../../errors.js';

export interface HttpRequest {
  method: string;
  url: URL;
  headers?: Record<string, string>;
  /** A Buffer (replayable) or a stream (sent once). */
  body?: Buffer | Readable;
  /** Follow 301/302/303/307/308 (GET and HEAD only). */
  followRedirects?: boolean;
}

export interface HttpResponse {
  method: string;
  status: number;
  statusText: string;
  headers: IncomingHttpHeaders;
  body: IncomingMessage;
  /** The URL that answered (after redirects). */
  url: URL;
  /** Why the transport cut the connection after the headers (an idle timeout), if it did. */
  abortReason?: Error;
}

export interface TransportOptions {
  insecureTls?: boolean;
  /** Socket idle timeout. */
  timeoutMs?: number;
  userAgent?: string;
  /**
   * Cancels the client's work: aborting it cuts every request in flight
   * (bodies being streamed included) and fails any new one at once.
   */
  signal?: AbortSignal;
}

export const DEFAULT_TIMEOUT_MS = 60_000;
const MAX_REDIRECTS = 10;

/** A request that got no HTTP response: refused, reset, timed out, TLS failure. */
export class NetworkError extends SystemError {
  readonly code: string | undefined;
  constructor(method: string, url: URL, cause: unknown) {
    const c = cause as NodeJS.ErrnoException | undefined;
    super(`${method} ${redact(url)}: ${c?.message ?? String(cause)}`, { cause });
    this.code = c?.code;
  }
}

/** The request timed out (no bytes moved for the idle timeout). */
export class TimeoutError extends Error {
  readonly code = 'ETIMEDOUT';
  constructor(ms: number) {
    super(`timeout: no response for ${ms / 1000}s`);
  }
}

/** A URL for messages: no query (upload `_state` tokens, presigned signatures). */
export function redact(url: URL): string {
  return `${url.origin}${url.pathname}`;
}

export class Transport {
  private readonly httpAgent: http.Agent;
  private readonly httpsAgent: https.Agent;
  readonly timeoutMs: number;
  readonly userAgent: string | undefined;
  private readonly signal: AbortSignal | undefined;

  constructor(opts: TransportOptions = {}) {
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.userAgent = opts.userAgent;
    this.signal = opts.signal;
    this.httpAgent = new http.Agent({ keepAlive: true });
    this.httpsAgent = new https.Agent({ keepAlive: true, rejectUnauthorized: !opts.insecureTls });
  }

  /** Sends one request (following redirects when asked); resolves once response headers arrive. */
  async send(req: HttpRequest): Promise<HttpResponse> {
    let url = req.url;
    let headers = { ...req.headers };
    for (let hop = 0; ; hop++) {
      const res = await this.once({ ...req, url, headers });
      const location = res.headers.location;
      const redirect = req.followRedirects && [301, 302, 303, 307, 308].includes(res.status) && location;
      if (!redirect) return res;
      res.body.resume();
      if (hop >= MAX_REDIRECTS) throw new NetworkError(req.method, req.url, new Error(`stopped after ${MAX_REDIRECTS} redirects`));
      const next = new URL(location, url);
      if (next.origin !== url.origin) {
        headers = Object.fromEntries(Object.entries(headers).filter(([k]) => k.toLowerCase() !== 'authorization'));
      }
      url = next;
    }
  }

  private once(req: HttpRequest): Promise<HttpResponse> {
    const { method, url } = req;
    const headers: Record<string, string> = { ...req.headers };
    if (this.userAgent && !hasHeader(headers, 'user-agent')) headers['User-Agent'] = this.userAgent;
    if (Buffer.isBuffer(req.body) && !hasHeader(headers, 'content-length')) headers['Content-Length'] = String(req.body.length);
    if (!req.body && (method === 'POST' || method === 'PUT' || method === 'PATCH') && !hasHeader(headers, 'content-length')) {
      headers['Content-Length'] = '0';
    }
    const mod = url.protocol === 'https:' ? https : http;
    const agent = url.protocol === 'https:' ? this.httpsAgent : this.httpAgent;
    return new Promise<HttpResponse>((resolve, reject) => {
      let settled = false;
      const fail = (err: unknown) => {
        if (req.body instanceof Readable) req.body.destroy();
        if (settled) return;
        settled = true;
        // The body's own failure (a VerificationError) is the caller's error, not the network's.
        reject(err instanceof BerthError ? err : new NetworkError(method, url, err));
      };
      let response: HttpResponse | undefined;
      const r = mod.request(url, { method, headers, agent, signal: this.signal }, (res) => {
        settled = true;
        response = { method, status: res.statusCode ?? 0, statusText: res.statusMessage ?? '', headers: res.headers, body: res, url };
        resolve(response);
      });
      r.setTimeout(this.timeoutMs, () => {
        const err = new TimeoutError(this.timeoutMs);
        if (response) response.abortReason = err;
        r.destroy(err);
      });
      r.on('error', fail);
      if (req.body instanceof Readable) {
        const body = req.body;
        body.on('error', (err) => {
          r.destroy(err);
          fail(err);
        });
        body.pipe(r);
      } else {
        r.end(req.body);
      }
    });
  }

  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}

function hasHeader(headers: Record<string, string>, name: string): boolean {
  return Object.keys(headers).some((k) => k.toLowerCase() === name);
}

/** Reads a whole (small) body; SystemError when it exceeds `limit` bytes. */
export async function readBody(res: HttpResponse, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > limit) {
        res.body.destroy();
        throw new SystemError(`response from ${redact(res.url)} exceeds ${limit} bytes`);
      }
      chunks.push(chunk);
    }
  } catch (err) {
    if (err instanceof SystemError) throw err;
    throw new NetworkError(res.method, res.url, res.abortReason ?? err);
  }
  return Buffer.concat(chunks);
}

/** Throws a response body away so the connection can be reused. */
export function discard(res: HttpResponse): void {
  res.body.resume();
  res.body.on('error', () => undefined);
}

export function header(res: HttpResponse, name: string): string | undefined {
  const v = res.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * A response body for a caller to stream: failures mid-body (reset, idle
 * timeout, early close) arrive as {@link NetworkError}s naming the request,
 * and a caller that stops reading (destroys the stream) closes the
 * connection instead of leaving it half-read.
 */
export function streamBody(res: HttpResponse): Readable {
  const out = new PassThrough();
  res.body.on('error', (err) => out.destroy(err instanceof BerthError ? err : new NetworkError(res.method, res.url, res.abortReason ?? err)));
  out.on('close', () => {
    if (!res.body.complete) res.body.destroy();
  });
  res.body.pipe(out);
  return out;
}
