/**
 * What an API handler gets: the request, the parsed query, path parameters,
 * the negotiated API version, and helpers to answer in Docker's formats.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { InvalidParameterError } from '../errors.js';

export const API_VERSION = '1.50';
export const MIN_API_VERSION = '1.24';

export const COMMON_HEADERS: Record<string, string> = {
  'Api-Version': API_VERSION,
  'Docker-Experimental': 'false',
  'Ostype': 'linux',
  'Server': 'berth/0.1.0 (linux)',
};

export interface RequestContext {
  req: IncomingMessage;
  /** Present for ordinary requests. */
  res?: ServerResponse;
  /** Present for hijacked (Upgrade: tcp) requests: the raw socket and bytes already read past the headers. */
  socket?: Duplex;
  head?: Buffer;
  params: Record<string, string>;
  query: URLSearchParams;
  /** Negotiated API version as a number (e.g. 1.5 for "1.50" is wrong: use `versionAtLeast`). */
  version: string;
}

export function versionAtLeast(v: string, min: string): boolean {
  const [a, b] = v.split('.').map(Number);
  const [c, d] = min.split('.').map(Number);
  return a > c || (a === c && b >= d);
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body) + '\n';
  res.writeHead(status, { ...COMMON_HEADERS, 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

export function sendNoContent(res: ServerResponse, status = 204): void {
  res.writeHead(status, COMMON_HEADERS);
  res.end();
}

/** Reads and parses a JSON body; empty body → {}. */
export async function readJson<T = Record<string, any>>(req: IncomingMessage): Promise<T> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (!text) return {} as T;
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new InvalidParameterError(`invalid JSON: ${(e as Error).message}`);
  }
}

/** Docker's boolean query values: 1/true/True → true; 0/false/"" → false. */
export function boolParam(q: URLSearchParams, name: string, dflt = false): boolean {
  const v = q.get(name);
  if (v === null) return dflt;
  const l = v.toLowerCase();
  return !(l === '' || l === '0' || l === 'false' || l === 'no');
}

export function intParam(q: URLSearchParams, name: string): number | undefined {
  const v = q.get(name);
  if (v === null || v === '') return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new InvalidParameterError(`invalid value for ${name}: ${v}`);
  return n;
}

export function need(ctx: RequestContext): ServerResponse {
  if (!ctx.res) throw new InvalidParameterError('this endpoint cannot be hijacked');
  return ctx.res;
}
