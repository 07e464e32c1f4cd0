/**
 * One request/response pair and the response forms the distribution API uses.
 *
 * Every response carries `Docker-Distribution-Api-Version: registry/2.0`
 * (spec §"API Version Check": SHOULD be set on 200 and 401 of `/v2/`;
 * docker-registry sets it everywhere). Errors are Docker's JSON body
 * (`errors.ts`), without a body for HEAD.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DistributionError } from './errors.js';

export const API_VERSION_HEADER = 'Docker-Distribution-Api-Version';
export const API_VERSION = 'registry/2.0';

export class Exchange {
  /** Set by basic auth, for the access log. */
  user: string | undefined;
  readonly url: URL;

  constructor(readonly req: IncomingMessage, readonly res: ServerResponse) {
    this.url = new URL(req.url ?? '/', 'http://registry.invalid');
    res.setHeader(API_VERSION_HEADER, API_VERSION);
  }

  get method(): string {
    return this.req.method ?? 'GET';
  }

  /** True when the request announces a body (RFC 9112 §6.3: Content-Length > 0 or Transfer-Encoding). */
  hasBody(): boolean {
    const len = this.req.headers['content-length'];
    if (len !== undefined) return Number(len) > 0;
    return this.req.headers['transfer-encoding'] !== undefined;
  }

  /** Reads a body of at most `limit` bytes; larger is 413 with `code`. */
  async readBody(limit: number, code: DistributionError['code']): Promise<Buffer> {
    const tooLarge = () => new DistributionError(code, { status: 413, message: `body larger than ${limit} bytes` });
    const declared = Number(this.req.headers['content-length'] ?? 0);
    if (declared > limit) throw tooLarge();
    const chunks: Buffer[] = [];
    let total = 0;
    for await (const chunk of this.req as AsyncIterable<Buffer>) {
      total += chunk.length;
      if (total > limit) throw tooLarge();
      chunks.push(chunk);
    }
    return Buffer.concat(chunks);
  }

  /** A response without a body (`Content-Length: 0`). */
  empty(status: number, headers: Record<string, string | number> = {}): void {
    this.res.writeHead(status, { ...headers, 'Content-Length': 0 });
    this.res.end();
  }

  json(status: number, value: unknown, headers: Record<string, string | number> = {}): void {
    const body = Buffer.from(JSON.stringify(value));
    this.res.writeHead(status, { 'Content-Type': 'application/json', ...headers, 'Content-Length': body.length });
    this.res.end(this.method === 'HEAD' ? undefined : body);
  }

  /** Exact bytes with their own type (manifests). */
  bytes(status: number, body: Buffer, headers: Record<string, string | number>): void {
    this.res.writeHead(status, { ...headers, 'Content-Length': body.length });
    this.res.end(this.method === 'HEAD' ? undefined : body);
  }

  /** Streams `body` after the headers; HEAD sends headers only. */
  async stream(status: number, body: () => Readable, headers: Record<string, string | number>): Promise<void> {
    this.res.writeHead(status, headers);
    if (this.method === 'HEAD') {
      this.res.end();
      return;
    }
    await pipeline(body(), this.res);
  }

  error(err: DistributionError): void {
    if (this.res.headersSent) {
      this.res.destroy(err);
      return;
    }
    this.json(err.status, err.toBody(), err.headers);
  }
}
