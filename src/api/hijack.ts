/**
 * Hijacked connections: after `101 UPGRADED` the socket carries raw stdin
 * one way and output (stdcopy frames, or raw bytes for a tty) the other.
 * The client half-closes when its stdin ends and keeps reading, so the
 * socket must stay writable after 'end'.
 */
import type { Duplex } from 'node:stream';
import { COMMON_HEADERS, versionAtLeast, type RequestContext } from './context.js';
import { ClientGoneError, frame } from './stream.js';
import { checkDeclaredLength } from './json-body.js';
import type { AttachHandle } from '../engine/attach-handle.js';
import { InvalidParameterError } from '../errors.js';

/** How long an exec start's body may take to arrive (Node's own requestTimeout does not cover upgraded sockets). */
const HIJACK_BODY_TIMEOUT_MS = 60_000;

/** Reads a request body sent ahead of the stream (exec start's JSON); returns it and any extra bytes (early stdin). */
export function readHijackBody(ctx: RequestContext): Promise<{ body: Buffer; rest: Buffer }> {
  // The body is a JSON document: the same limit as every JSON body, refused before a byte is read.
  checkDeclaredLength(ctx.req);
  const need = Number(ctx.req.headers['content-length'] ?? 0);
  const socket = ctx.socket!;
  const chunks: Buffer[] = ctx.head?.length ? [ctx.head] : [];
  let have = ctx.head?.length ?? 0;
  const whole = () => {
    const buf = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, have);
    return { body: buf.subarray(0, need), rest: buf.subarray(need) };
  };
  return new Promise((resolve, reject) => {
    if (have >= need) return resolve(whole());
    const stop = () => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('error', fail);
      socket.off('end', gone);
      socket.off('close', gone);
    };
    const fail = (e: Error) => { stop(); reject(e); };
    // An upgraded socket has no request timeout of Node's: a client that stalls mid-body is let go.
    const timer = setTimeout(() => fail(new ClientGoneError()), HIJACK_BODY_TIMEOUT_MS);
    timer.unref();
    // A client that leaves before the body is whole would otherwise leave this waiting for ever.
    const gone = () => fail(new ClientGoneError());
    const onData = (d: Buffer) => {
      chunks.push(d);
      have += d.length;
      if (have >= need) {
        stop();
        socket.pause();
        resolve(whole());
      }
    };
    socket.on('data', onData);
    socket.once('error', fail);
    socket.once('end', gone);
    socket.once('close', gone);
  });
}

/** Requests whose 101 went out: from then on their socket carries stream bytes, and an error can only cut it. */
const upgraded = new WeakSet<object>();

/** Whether `sendUpgrade` answered this request (its socket may have carried earlier requests: bytesWritten cannot tell). */
export function wasUpgraded(req: object): boolean {
  return upgraded.has(req);
}

export function sendUpgrade(ctx: RequestContext, tty: boolean): void {
  upgraded.add(ctx.req);
  const type = tty || !versionAtLeast(ctx.version, '1.42') ? 'application/vnd.docker.raw-stream' : 'application/vnd.docker.multiplexed-stream';
  const headers = Object.entries({ ...COMMON_HEADERS, 'Content-Type': type, Connection: 'Upgrade', Upgrade: 'tcp' })
    .map(([k, v]) => `${k}: ${v}\r\n`).join('');
  ctx.socket!.write(`HTTP/1.1 101 UPGRADED\r\n${headers}\r\n`);
}

/** Parses Docker's detach-keys syntax (`ctrl-p,ctrl-q`, `a`, `ctrl-@`) into bytes. */
export function parseDetachKeys(spec: string): number[] {
  if (!spec) return [];
  return spec.split(',').map((k) => {
    const m = /^ctrl-(.)$/i.exec(k.trim());
    if (m) {
      const c = m[1].toLowerCase();
      if (c >= 'a' && c <= 'z') return c.charCodeAt(0) - 96;
      const special: Record<string, number> = { '@': 0, '[': 27, '\\': 28, ']': 29, '^': 30, '_': 31 };
      if (c in special) return special[c];
    }
    if (k.length === 1) return k.charCodeAt(0);
    throw new InvalidParameterError(`Invalid detach keys (${spec}) provided`);
  });
}

/**
 * Connects a hijacked socket to an attach handle. `early` holds stdin bytes
 * that arrived with the request. With a tty the detach sequence (default
 * ctrl-p ctrl-q, scanned on the daemon side like dockerd) ends the session
 * without touching the container.
 */
export function pipeHijack(socket: Duplex, h: AttachHandle, o: { tty: boolean; early?: Buffer; detachKeys?: number[] }): void {
  const keys = o.tty ? (o.detachKeys ?? [16, 17]) : (o.detachKeys ?? []);
  let matched = 0;
  let held: number[] = [];
  const onStdin = (d: Buffer) => {
    if (keys.length === 0) return h.writeStdin(d);
    const out: number[] = [];
    for (const b of d) {
      if (b === keys[matched]) {
        matched++;
        held.push(b);
        if (matched === keys.length) {
          if (out.length) h.writeStdin(Buffer.from(out));
          h.detach();
          socket.end();
          return;
        }
      } else {
        out.push(...held, b);
        held = [];
        matched = 0;
      }
    }
    if (out.length) h.writeStdin(Buffer.from(out));
  };
  if (o.early && o.early.length) onStdin(o.early);
  socket.on('data', onStdin);
  socket.on('end', () => h.closeStdin());
  socket.on('error', () => h.detach());
  socket.on('close', () => h.detach());
  h.on('output', (n: 1 | 2, chunk: Buffer) => {
    if (!socket.writable) return;
    socket.write(o.tty ? chunk : frame(n, chunk));
  });
  h.once('end', () => { if (socket.writable) socket.end(); });
  socket.resume();
}
