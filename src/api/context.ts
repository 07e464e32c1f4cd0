/**
 * What an API handler gets: the request, the parsed query, path parameters,
 * the negotiated API version, and helpers to answer in Docker's formats.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { InvalidParameterError } from '../errors.js';
import { readBodyText } from './json-body.js';
import { parseBody, type BodyName } from './validate.js';

export const API_VERSION = '1.50';
export const MIN_API_VERSION = '1.24';

export const COMMON_HEADERS: Record<string, string> = {
  'Api-Version': API_VERSION,
  'Docker-Experimental': 'false',
  'Ostype': 'linux',
  'Server': 'berth/0.1.0 (linux)',
};

let experimentalOn = false;

/** berthd's `--experimental`: the `Docker-Experimental` header and `/version`'s and `/info`'s fields. */
export function setExperimental(on: boolean): void {
  experimentalOn = on;
  COMMON_HEADERS['Docker-Experimental'] = String(on);
}

export function experimental(): boolean {
  return experimentalOn;
}

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
  // A 413 leaves the rest of the body unread: close rather than drain it for keep-alive (json-body.ts).
  const close = status === 413 ? { Connection: 'close' } : {};
  res.writeHead(status, { ...COMMON_HEADERS, ...close, 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

export function sendNoContent(res: ServerResponse, status = 204): void {
  res.writeHead(status, COMMON_HEADERS);
  res.end();
}

/**
 * Reads a JSON body (at most json-body.ts's limit, else 413) and decodes it
 * as dockerd would decode the endpoint's body `name` (validate.ts): an empty
 * or `null` body is `{}`, a body of the wrong shape a 400 in Docker's words.
 */
export async function readJson<T = Record<string, any>>(req: IncomingMessage, name?: BodyName): Promise<T> {
  // dockerd's ReadJSON/CheckForJSON guard every body the spec describes but /auth's.
  if (name && name !== 'Auth') checkForJson(req);
  return parseBody<T>(await readBodyText(req), name);
}

/**
 * dockerd's CheckForJSON: a request with a body must say it is
 * `application/json` (parameters such as a charset are fine). `curl -d`'s
 * default form type is refused with its words, before the body is read.
 */
export function checkForJson(req: IncomingMessage): void {
  const ct = req.headers['content-type'] ?? '';
  const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
  if (ct === '' && !hasBody) return;
  const mediaType = ct.split(';')[0].trim().toLowerCase();
  // Go's mime.ParseMediaType errors, for the two malformed headers a client can send.
  if (mediaType === '') throw new InvalidParameterError(`malformed Content-Type header (${ct}): mime: no media type`);
  if (!mediaType.includes('/')) throw new InvalidParameterError(`malformed Content-Type header (${ct}): mime: expected slash after first token`);
  if (mediaType !== 'application/json') throw new InvalidParameterError(`unsupported Content-Type header (${ct}): must be 'application/json'`);
}

/**
 * dockerd's BoolValue: the value trimmed and lower-cased; "", 0, no, false
 * and none are false, anything else (1, true, yes, …) true. Absent: `dflt`.
 */
export function boolParam(q: URLSearchParams, name: string, dflt = false): boolean {
  const v = q.get(name);
  if (v === null) return dflt;
  const l = v.trim().toLowerCase();
  return !(l === '' || l === '0' || l === 'false' || l === 'no' || l === 'none');
}

/**
 * dockerd's Uint32Value: a decimal uint32, else Go's strconv errors
 * ("invalid syntax" for empty, signed or non-numeric text, "value out of
 * range" for negative or too large numbers).
 */
export function uint32Param(q: URLSearchParams, name: string): { value: number } | { error: string } {
  const raw = q.get(name) ?? '';
  const negative = raw.startsWith('-');
  const digits = negative ? raw.slice(1) : raw;
  if (!/^\d+$/.test(digits)) return { error: 'invalid syntax' };
  const n = Number(digits);
  if (negative || n > 0xffff_ffff) return { error: 'value out of range' };
  return { value: n };
}

/**
 * An integer parameter dockerd reads with Go's strconv.Atoi, refused in its
 * words (`strconv.Atoi: parsing "abc": invalid syntax`); absent or empty is
 * undefined.
 */
export function atoiParam(q: URLSearchParams, name: string): number | undefined {
  const v = q.get(name);
  if (v === null || v === '') return undefined;
  if (!/^[+-]?\d+$/.test(v)) throw new InvalidParameterError(`strconv.Atoi: parsing ${JSON.stringify(v)}: invalid syntax`);
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw new InvalidParameterError(`strconv.Atoi: parsing ${JSON.stringify(v)}: value out of range`);
  return n;
}

/** A resize's `h` and `w` (container or exec), refused in dockerd's words. */
export function resizeParams(q: URLSearchParams): { h: number; w: number } {
  const h = uint32Param(q, 'h');
  if ('error' in h) throw new InvalidParameterError(`invalid resize height ${JSON.stringify(q.get('h') ?? '')}: ${h.error}`);
  const w = uint32Param(q, 'w');
  if ('error' in w) throw new InvalidParameterError(`invalid resize width ${JSON.stringify(q.get('w') ?? '')}: ${w.error}`);
  return { h: h.value, w: w.value };
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
