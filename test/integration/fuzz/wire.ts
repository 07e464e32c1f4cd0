/**
 * A fuzz request and its bytes on the wire: the request line as given
 * (raw, possibly invalid), headers (duplicates allowed), and the body sent
 * with a true Content-Length, chunked, broken chunked, or a Content-Length
 * that promises more than is sent; optionally cut off part-way.
 */
import { createHash } from 'node:crypto';
import type { RawOutcome } from '../../helpers/raw-http.js';

export type BodyEncoding = 'length' | 'chunked' | 'bad-chunked' | 'short' | 'none';

export interface FuzzRequest {
  /** What the request is, for summaries: e.g. `POST /containers/{id}/update` or `PUT archive: tar-mutate`. */
  label: string;
  method: string;
  /** The request target as sent (not necessarily valid). */
  target: Buffer;
  headers: Array<[string, string]>;
  body?: Buffer;
  encoding: BodyEncoding;
  /** Stop sending after this many bytes of the whole request: 'destroy' vanishes, 'end' half-closes. */
  cut?: { at: number; how: 'destroy' | 'end' };
  /**
   * The endpoint may legitimately hold its answer: 'stream' ones (attach,
   * wait, logs, stats, events, exec start) are read for a moment and left;
   * 'wait' ones (stop, restart, kill… with a long timeout, or a body that
   * promises more than it sends) are given a few seconds; false: the answer
   * must come.
   */
  mayBlock: false | 'stream' | 'wait';
  /** A short description of how the body was made (which mutations). */
  note?: string;
  /** Requests to send next, given this one's outcome (read back what a load made, then remove it). */
  then?: (o: RawOutcome) => FuzzRequest[];
}

/** A well-formed request (follow-ups and set-up steps). */
export function plainRequest(method: string, target: string, label: string, body?: Buffer, contentType?: string): FuzzRequest {
  return {
    label, method, target: Buffer.from(target), body, encoding: body ? 'length' : 'none', mayBlock: false,
    headers: [['Host', 'berth'], ['Connection', 'close'], ...(contentType ? [['Content-Type', contentType] as [string, string]] : [])],
  };
}

/** The request's bytes. */
export function encodeRequest(r: FuzzRequest): Buffer {
  const head: string[] = [];
  const body = r.body ?? Buffer.alloc(0);
  const headers = [...r.headers];
  let payload = body;
  switch (r.encoding) {
    case 'length':
      headers.push(['Content-Length', String(body.length)]);
      break;
    case 'short':
      headers.push(['Content-Length', String(body.length + 1 + (body.length >> 1))]);
      break;
    case 'chunked': {
      headers.push(['Transfer-Encoding', 'chunked']);
      const parts: Buffer[] = [];
      for (let off = 0; off < body.length; off += 7919) {
        const c = body.subarray(off, off + 7919);
        parts.push(Buffer.from(`${c.length.toString(16)}\r\n`), c, Buffer.from('\r\n'));
      }
      parts.push(Buffer.from('0\r\n\r\n'));
      payload = Buffer.concat(parts);
      break;
    }
    case 'bad-chunked':
      headers.push(['Transfer-Encoding', 'chunked']);
      payload = Buffer.concat([Buffer.from(`${(body.length + 10).toString(16)}zz\r\n`), body, Buffer.from('\r\nffffffffffffffffff\r\n')]);
      break;
    case 'none':
      break;
  }
  for (const [k, v] of headers) head.push(`${k}: ${v}`);
  return Buffer.concat([Buffer.from(`${r.method} `, 'latin1'), r.target, Buffer.from(` HTTP/1.1\r\n${head.join('\r\n')}\r\n\r\n`, 'latin1'), payload]);
}

/** Runs of NUL shown as \0×n, so tar headers stay readable. */
function show(b: Buffer, max: number): string {
  const s = b.toString('utf8').replace(/\0{2,}/g, (m) => `\0×${m.length}`);
  const json = JSON.stringify(s.length > max ? `${s.slice(0, max)}…` : s).replace(/\\u0000×/g, '\\0×');
  return json + (b.length > max ? ` (${b.length} bytes, sha256 ${createHash('sha256').update(b).digest('hex').slice(0, 16)})` : '');
}

/** A human-readable repro: method, target, headers, body (abbreviated), encoding and cut. */
export function describeRequest(r: FuzzRequest, max = 400): string {
  const lines = [`${r.method} ${show(r.target, max)}`];
  const hs = r.headers.filter(([k]) => k.toLowerCase() !== 'host').map(([k, v]) => `${k}: ${v.slice(0, 120)}`);
  if (hs.length) lines.push(`  headers: ${hs.join(' | ')}`);
  if (r.body?.length) lines.push(`  body: ${show(r.body, max)}`);
  if (r.encoding !== 'length') lines.push(`  encoding: ${r.encoding}`);
  if (r.cut) lines.push(`  cut: ${r.cut.how === 'destroy' ? 'connection reset' : 'sending side closed'} ${r.cut.at <= 0 ? `${-r.cut.at} bytes before the end` : `after ${r.cut.at} bytes`}`);
  if (r.note) lines.push(`  made by: ${r.note}`);
  return lines.join('\n');
}
