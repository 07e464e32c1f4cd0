/**
 * HTTP/1.1 over a unix socket, byte for byte: the request is sent exactly as
 * given (any request line, duplicate headers, lying lengths, broken chunked
 * encoding), optionally cut off after some bytes as a client that vanishes,
 * and the response is parsed by hand. Node's http client refuses most of
 * what a fuzzer needs to send (NUL in the path, a Content-Length it does not
 * honour), hence this.
 *
 * The outcome says what happened: a response (its status, headers and as
 * much of the body as arrived), the connection closed before a status line,
 * no status within the time allowed, or the client hung up on purpose.
 */
import net from 'node:net';

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  /** False when the body was cut short: a stream that was still going, or a body that stalled. */
  complete: boolean;
  /** Why the body is incomplete: 'stream' (stopped reading on purpose), 'stalled', 'closed', 'too-big'. */
  cut?: 'stream' | 'stalled' | 'closed' | 'too-big';
}

export type RawOutcome =
  | { kind: 'response'; res: RawResponse; ms: number }
  | { kind: 'closed'; error?: string; received: number; ms: number }
  | { kind: 'no-status'; received: number; ms: number }
  | { kind: 'hung-up'; ms: number };

export interface RawOptions {
  /** The request was HEAD: the response has no body whatever its headers say. */
  head?: boolean;
  /** Stop sending after this many bytes of the request (a client that vanishes, or one that gives up mid-body). */
  cutAt?: number;
  /** At `cutAt`: 'destroy' resets the connection and reports 'hung-up'; 'end' closes the sending side and still waits for a response. */
  cutHow?: 'destroy' | 'end';
  /** How long to wait for the status line (default 15 s). */
  headerTimeoutMs?: number;
  /** How long the body may take once the status arrived (default 15 s). */
  bodyTimeoutMs?: number;
  /** Stop reading the body this long after the status (a stream that may never end). */
  streamMs?: number;
  /** Stop reading past this many body bytes (default 16 MiB). */
  maxBody?: number;
}

const HEADER_END = Buffer.from('\r\n\r\n');

interface Parsed { status: number; headers: Record<string, string>; rest: Buffer }

function parseHead(buf: Buffer): Parsed | 'incomplete' | 'interim' | 'invalid' {
  const end = buf.indexOf(HEADER_END);
  if (end < 0) return 'incomplete';
  const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0]);
  if (!m) return 'invalid';
  const status = Number(m[1]);
  const headers: Record<string, string> = {};
  for (const l of lines.slice(1)) {
    const i = l.indexOf(':');
    if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
  }
  if (status === 100) return 'interim';
  return { status, headers, rest: buf.subarray(end + 4) };
}

/** Decodes as much of a chunked body as `buf` holds; `done` when the last chunk was seen. */
function dechunk(buf: Buffer): { body: Buffer; done: boolean; bad: boolean } {
  const parts: Buffer[] = [];
  let pos = 0;
  for (;;) {
    const eol = buf.indexOf('\r\n', pos);
    if (eol < 0) return { body: Buffer.concat(parts), done: false, bad: false };
    const size = parseInt(buf.subarray(pos, eol).toString('latin1').split(';')[0], 16);
    if (!Number.isFinite(size)) return { body: Buffer.concat(parts), done: false, bad: true };
    if (size === 0) return { body: Buffer.concat(parts), done: true, bad: false };
    if (buf.length < eol + 2 + size + 2) return { body: Buffer.concat(parts), done: false, bad: false };
    parts.push(buf.subarray(eol + 2, eol + 2 + size));
    pos = eol + 2 + size + 2;
  }
}

/** Sends `request` on `socketPath` and reports what came back. Never rejects. */
export function rawExchange(socketPath: string, request: Buffer, opts: RawOptions = {}): Promise<RawOutcome> {
  const t0 = Date.now();
  const headerTimeoutMs = opts.headerTimeoutMs ?? 15_000;
  const bodyTimeoutMs = opts.bodyTimeoutMs ?? 15_000;
  const maxBody = opts.maxBody ?? 16 << 20;
  return new Promise<RawOutcome>((resolve) => {
    const sock = net.createConnection(socketPath);
    let received = Buffer.alloc(0);
    let head: Parsed | undefined;
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    let streamTimer: NodeJS.Timeout | undefined;

    const finish = (o: RawOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(streamTimer);
      sock.destroy();
      resolve(o);
    };
    const respond = (body: Buffer, complete: boolean, cut?: RawResponse['cut']) => {
      finish({ kind: 'response', res: { status: head!.status, headers: head!.headers, body, complete, ...(cut ? { cut } : {}) }, ms: Date.now() - t0 });
    };
    const bodySoFar = (): { body: Buffer; done: boolean } => {
      const h = head!;
      if (opts.head || h.status === 204 || h.status === 304 || h.status === 101 || (h.status >= 100 && h.status < 200)) return { body: Buffer.alloc(0), done: true };
      if (/chunked/i.test(h.headers['transfer-encoding'] ?? '')) {
        const d = dechunk(h.rest);
        return { body: d.body, done: d.done || d.bad };
      }
      const len = h.headers['content-length'];
      if (len !== undefined && /^\d+$/.test(len)) {
        const n = Number(len);
        return { body: h.rest.subarray(0, n), done: h.rest.length >= n };
      }
      return { body: h.rest, done: false };
    };
    const onHeadTimeout = () => finish({ kind: 'no-status', received: received.length, ms: Date.now() - t0 });
    timer = setTimeout(onHeadTimeout, headerTimeoutMs);

    sock.on('data', (chunk: Buffer) => {
      if (settled) return;
      if (!head) {
        received = Buffer.concat([received, chunk]);
        for (;;) {
          const p = parseHead(received);
          if (p === 'incomplete') return;
          if (p === 'invalid') { finish({ kind: 'closed', error: `not an HTTP response: ${JSON.stringify(received.subarray(0, 80).toString('latin1'))}`, received: received.length, ms: Date.now() - t0 }); return; }
          if (p === 'interim') { received = received.subarray(received.indexOf(HEADER_END) + 4); continue; }
          head = p;
          break;
        }
        clearTimeout(timer);
        timer = setTimeout(() => { const b = bodySoFar(); respond(b.body, false, 'stalled'); }, bodyTimeoutMs);
        if (opts.streamMs !== undefined) streamTimer = setTimeout(() => { const b = bodySoFar(); respond(b.body, b.done, b.done ? undefined : 'stream'); }, opts.streamMs);
      } else {
        head.rest = Buffer.concat([head.rest, chunk]);
      }
      const b = bodySoFar();
      if (b.done) respond(b.body, true);
      else if (head.rest.length > maxBody) respond(b.body, false, 'too-big');
    });
    sock.on('error', () => { /* reported through 'close' */ });
    sock.on('close', () => {
      if (settled) return;
      if (head) {
        const b = bodySoFar();
        // A body without a length ends with the connection.
        const untilClose = !/chunked/i.test(head.headers['transfer-encoding'] ?? '') && head.headers['content-length'] === undefined;
        respond(b.body, b.done || untilClose, b.done || untilClose ? undefined : 'closed');
      } else {
        finish({ kind: 'closed', received: received.length, ms: Date.now() - t0 });
      }
    });

    sock.on('connect', () => {
      const until = opts.cutAt !== undefined ? Math.min(opts.cutAt, request.length) : request.length;
      // Written in slices, so a server that answers before reading the whole body is seen to do so.
      const SLICE = 256 << 10;
      let off = 0;
      const writeMore = () => {
        while (!settled && off < until) {
          const end = Math.min(off + SLICE, until);
          const ok = sock.write(request.subarray(off, end));
          off = end;
          if (!ok) { sock.once('drain', writeMore); return; }
        }
        if (settled || off < until) return;
        if (opts.cutAt === undefined) return;
        if ((opts.cutHow ?? 'destroy') === 'destroy') finish({ kind: 'hung-up', ms: Date.now() - t0 });
        else sock.end();
      };
      writeMore();
    });
  });
}
