/**
 * Hijacked connections: after `101 UPGRADED` the socket carries raw stdin
 * one way and output (stdcopy frames, or raw bytes for a tty) the other.
 * The client half-closes when its stdin ends and keeps reading, so the
 * socket must stay writable after 'end'.
 */
import type { Duplex } from 'node:stream';
import { COMMON_HEADERS, versionAtLeast, type RequestContext } from './context.js';
import { ClientGoneError } from './stream.js';
import { checkDeclaredLength, MAX_JSON_BODY_BYTES } from './json-body.js';
import type { AttachHandle } from '../engine/attach-handle.js';
import { forwardOutput } from './attach-output.js';
import { detachKeyBytes } from '../engine/detach-keys.js';
import { InvalidParameterError, PayloadTooLargeError } from '../errors.js';

/** How long an exec start's body may take to arrive (Node's own requestTimeout does not cover upgraded sockets). */
const HIJACK_BODY_TIMEOUT_MS = 60_000;

/**
 * Reads the request's own body off a hijacked socket (exec start's JSON, or
 * whatever a client sent with an attach: dockerode sends its options as a
 * JSON body) and returns it with the bytes after it, which are early stdin.
 * The body is framed as HTTP frames it: `Content-Length` bytes, or a chunked
 * body up to its last chunk. Nothing of it is ever stdin.
 */
export function readHijackBody(ctx: RequestContext): Promise<{ body: Buffer; rest: Buffer }> {
  // The body is a JSON document: the same limit as every JSON body, refused before a byte is read.
  checkDeclaredLength(ctx.req);
  const chunked = /\bchunked\b/i.test(String(ctx.req.headers['transfer-encoding'] ?? ''));
  const need = chunked ? 0 : Number(ctx.req.headers['content-length'] ?? 0) || 0;
  const socket = ctx.socket!;
  const chunks: Buffer[] = ctx.head?.length ? [ctx.head] : [];
  let have = ctx.head?.length ?? 0;
  /** The body and what follows it, once all of it is here; null while more is needed. */
  const whole = (): { body: Buffer; rest: Buffer } | null => {
    const buf = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, have);
    if (chunks.length > 1) chunks.splice(0, chunks.length, buf);
    if (!chunked) return have >= need ? { body: buf.subarray(0, need), rest: buf.subarray(need) } : null;
    const d = dechunk(buf);
    if (d === null && buf.length > MAX_JSON_BODY_BYTES + CHUNK_FRAMING_SLACK) throw new PayloadTooLargeError(`request body is too large: the limit for a JSON body is ${MAX_JSON_BODY_BYTES} bytes`);
    return d;
  };
  return new Promise((resolve, reject) => {
    const first = whole();
    if (first) return resolve(first);
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
      let got: { body: Buffer; rest: Buffer } | null;
      try {
        got = whole();
      } catch (e) {
        socket.pause();
        fail(e as Error);
        return;
      }
      if (got) {
        stop();
        socket.pause();
        resolve(got);
      }
    };
    socket.on('data', onData);
    socket.once('error', fail);
    socket.once('end', gone);
    socket.once('close', gone);
  });
}

/** Room for chunk-size lines and CRLFs on top of the body limit before a chunked body counts as too large. */
const CHUNK_FRAMING_SLACK = 64 * 1024;

/**
 * Decodes a chunked body (RFC 9112 §7.1) at the start of `buf`: its data and
 * the bytes after its last chunk and trailers, or null when it is not whole
 * yet. Malformed framing is a 400, as Go's chunked reader makes it.
 */
function dechunk(buf: Buffer): { body: Buffer; rest: Buffer } | null {
  const parts: Buffer[] = [];
  let size = 0;
  let pos = 0;
  for (;;) {
    const eol = buf.indexOf('\r\n', pos);
    if (eol < 0) return null;
    const sizeText = buf.toString('latin1', pos, eol).split(';')[0].trim();
    if (!/^[0-9a-fA-F]{1,8}$/.test(sizeText)) throw new InvalidParameterError('invalid chunked encoding: bad chunk size');
    const n = parseInt(sizeText, 16);
    if (n === 0) {
      // Trailer lines, then an empty line.
      let at = eol + 2;
      for (;;) {
        const end = buf.indexOf('\r\n', at);
        if (end < 0) return null;
        if (end === at) return { body: Buffer.concat(parts, size), rest: buf.subarray(end + 2) };
        at = end + 2;
      }
    }
    size += n;
    if (size > MAX_JSON_BODY_BYTES) throw new PayloadTooLargeError(`request body is too large: the limit for a JSON body is ${MAX_JSON_BODY_BYTES} bytes`);
    if (buf.length < eol + 2 + n + 2) return null;
    if (buf[eol + 2 + n] !== 0x0d || buf[eol + 3 + n] !== 0x0a) throw new InvalidParameterError('invalid chunked encoding: missing CRLF after chunk data');
    parts.push(buf.subarray(eol + 2, eol + 2 + n));
    pos = eol + 2 + n + 2;
  }
}

/** Requests whose 101 went out: from then on their socket carries stream bytes, and an error can only cut it. */
const upgraded = new WeakSet<object>();

/** Whether `sendUpgrade` answered this request (its socket may have carried earlier requests: bytesWritten cannot tell). */
export function wasUpgraded(req: object): boolean {
  return upgraded.has(req);
}

/** Records that the request was answered with a 101 of its own (the websocket attach's). */
export function markUpgraded(req: object): void {
  upgraded.add(req);
}

export function sendUpgrade(ctx: RequestContext, tty: boolean): void {
  upgraded.add(ctx.req);
  const type = tty || !versionAtLeast(ctx.version, '1.42') ? 'application/vnd.docker.raw-stream' : 'application/vnd.docker.multiplexed-stream';
  const headers = Object.entries({ ...COMMON_HEADERS, 'Content-Type': type, Connection: 'Upgrade', Upgrade: 'tcp' })
    .map(([k, v]) => `${k}: ${v}\r\n`).join('');
  ctx.socket!.write(`HTTP/1.1 101 UPGRADED\r\n${headers}\r\n`);
}

/**
 * An attach's `detachKeys` as bytes; refused as dockerd's ContainerAttach
 * refuses it. Undefined when none was given (the default applies).
 */
export function attachDetachKeys(spec: string | null): number[] | undefined {
  if (!spec) return undefined;
  const keys = detachKeyBytes(spec);
  if (keys === null) throw new InvalidParameterError(`Invalid detach keys (${spec}) provided`);
  return keys;
}

/** ctrl-p ctrl-q: dockerd's sequence when none was given. */
const DEFAULT_DETACH_KEYS = [16, 17];

export interface HijackOptions {
  /** Output as raw bytes (true) or in stdcopy frames (false): the framing, not whether there is a pty. */
  raw: boolean;
  /**
   * The process has a pty: stdin is scanned for the detach sequence, and the
   * end of the client's stdin ends the attachment instead of closing the
   * process's stdin (moby's CopyStreams).
   */
  pty: boolean;
  /** Without a pty, the end of the client's stdin closes the process's (exec always; a container with StdinOnce). */
  closeStdin: boolean;
  /** Stdin bytes that arrived with the request (after its body). */
  early?: Buffer;
  /** The detach sequence (with a pty); ctrl-p ctrl-q when not given. */
  detachKeys?: number[];
}

/**
 * Connects a hijacked socket to an attach handle, as moby's CopyStreams
 * wires a client to a container's (or exec's) stdio:
 * - a client that did not attach stdin is never read (its half-close
 *   changes nothing, its output keeps coming);
 * - with a pty the detach sequence, scanned on the daemon side, ends the
 *   session without touching the process;
 * - the end of the client's stdin closes the process's stdin when
 *   `closeStdin` and there is no pty (the output goes on until the process
 *   ends it), and otherwise ends the attachment;
 * - a client that goes away is detached.
 */
export function pipeHijack(socket: Duplex, h: AttachHandle, o: HijackOptions): void {
  // A client gone already (its 'close' came before anyone listened) has nothing to attach.
  if (socket.destroyed) { h.detach(); return; }
  const keys = o.pty ? (o.detachKeys && o.detachKeys.length ? o.detachKeys : DEFAULT_DETACH_KEYS) : [];
  const stop = () => {
    h.detach();
    if (socket.writable) socket.end();
  };
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
          stop();
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
  if (h.options.stdin) {
    if (o.early && o.early.length) onStdin(o.early);
    socket.on('data', onStdin);
    const onEnd = () => {
      if (o.closeStdin && !o.pty) h.closeStdin();
      else stop();
    };
    // A client that half-closed before this point may already have had its 'end' emitted
    // (Node emits it on a paused socket with nothing buffered): act on it now.
    if (socket.readableEnded) onEnd();
    else socket.on('end', onEnd);
  } else {
    // Never read, but drained: a client writing into a stream nobody reads must not stall its own reads.
    socket.on('data', () => undefined);
  }
  socket.on('error', () => h.detach());
  socket.on('close', () => h.detach());
  forwardOutput(h, socket, !!o.raw);
  if (h.isEnded) socket.end();
  else h.once('end', () => { if (socket.writable) socket.end(); });
  socket.resume();
}
