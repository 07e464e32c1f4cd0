/**
 * A hijacking client for attach and exec tests: sends one request on the
 * daemon's socket exactly as given (with `Upgrade: tcp` unless told not
 * to), parses the status line and headers by hand, and leaves the socket
 * open for the stream that follows, as the docker CLI and docker-py use it.
 */
import net from 'node:net';

export interface HijackRequest {
  /** Body bytes sent right after the headers (a JSON object is serialised, with Content-Type: application/json). */
  body?: string | Buffer | Record<string, unknown>;
  /** Sent after the body in the same write: bytes a client pushes before it has read the answer. */
  after?: Buffer | string;
  /** Extra headers; `Content-Length` is added for a body unless `chunked`. */
  headers?: Record<string, string>;
  /** Send the body with chunked transfer encoding. */
  chunked?: boolean;
  /** Send `Connection: Upgrade` / `Upgrade: tcp` (default true). */
  upgrade?: boolean;
}

export interface Hijacked {
  status: number;
  headers: Record<string, string>;
  socket: net.Socket;
  /** Everything read after the headers until the stream ended (resolves at EOF or close). */
  rest: Promise<Buffer>;
}

/** Sends the request and resolves once the status line and headers are in. */
export function hijack(socketPath: string, method: string, path: string, req: HijackRequest = {}): Promise<Hijacked> {
  return new Promise((resolve, reject) => {
    const socket = net.createConnection(socketPath);
    let buf = Buffer.alloc(0);
    let headersDone = false;
    const after: Buffer[] = [];
    let endRest: (b: Buffer) => void = () => undefined;
    const rest = new Promise<Buffer>((r) => { endRest = r; });
    const finish = () => { if (headersDone) endRest(Buffer.concat(after)); else reject(new Error(`connection closed before the response headers; got ${JSON.stringify(buf.toString('latin1'))}`)); };
    socket.on('error', (e) => { if (!headersDone) reject(e); else finish(); });
    socket.on('end', finish);
    socket.on('close', finish);
    socket.on('data', (d: Buffer) => {
      if (headersDone) { after.push(d); return; }
      buf = Buffer.concat([buf, d]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      headersDone = true;
      const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0])?.[1] ?? 0);
      const headers: Record<string, string> = {};
      for (const l of lines.slice(1)) {
        const i = l.indexOf(':');
        if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
      }
      const tail = buf.subarray(end + 4);
      if (tail.length) after.push(tail);
      resolve({ status, headers, socket, rest });
    });
    let body: Buffer = Buffer.alloc(0);
    const headers: Record<string, string> = { Host: 'berth', ...(req.upgrade === false ? {} : { Connection: 'Upgrade', Upgrade: 'tcp' }) };
    if (req.body !== undefined) {
      if (typeof req.body === 'string' || Buffer.isBuffer(req.body)) body = Buffer.from(req.body);
      else { body = Buffer.from(JSON.stringify(req.body)); headers['Content-Type'] = 'application/json'; }
      if (req.chunked) {
        headers['Transfer-Encoding'] = 'chunked';
        body = Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from('\r\n0\r\n\r\n')]);
      } else {
        headers['Content-Length'] = String(body.length);
      }
    }
    Object.assign(headers, req.headers ?? {});
    const head = `${method} ${path} HTTP/1.1\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`;
    socket.write(Buffer.concat([Buffer.from(head, 'latin1'), body, req.after !== undefined ? Buffer.from(req.after) : Buffer.alloc(0)]));
  });
}

/** Splits a stdcopy stream into its frames; throws on a malformed one (a raw stream read as framed). */
export function demux(buf: Buffer): Array<{ stream: number; data: string }> {
  const out: Array<{ stream: number; data: string }> = [];
  let b = buf;
  while (b.length > 0) {
    if (b.length < 8 || b[0] > 2 || b[1] !== 0 || b[2] !== 0 || b[3] !== 0) throw new Error(`not a stdcopy frame: ${JSON.stringify(b.subarray(0, 16).toString('latin1'))}`);
    const n = b.readUInt32BE(4);
    if (b.length < 8 + n) throw new Error('truncated stdcopy frame');
    out.push({ stream: b[0], data: b.subarray(8, 8 + n).toString('utf8') });
    b = b.subarray(8 + n);
  }
  return out;
}

/** The frames' text per stream. */
export function byStream(frames: Array<{ stream: number; data: string }>): { stdout: string; stderr: string } {
  return {
    stdout: frames.filter((f) => f.stream === 1).map((f) => f.data).join(''),
    stderr: frames.filter((f) => f.stream === 2).map((f) => f.data).join(''),
  };
}
