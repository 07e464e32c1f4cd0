/**
 * Stream formats of the Engine API: stdcopy frames (`[stream,0,0,0,len]`
 * + payload) for non-tty stdio and logs, and newline-delimited JSON messages
 * for progress streams (pull, import, build, events); and the request body
 * of an upload as the engine reads it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { COMMON_HEADERS } from './context.js';
import type { LogEntry } from '../runtime/logs.js';

/** The request's body stopped before its end because the client went away. */
export class ClientGoneError extends Error {
  readonly code = 'ECONNRESET';
  constructor() { super('client disconnected during the upload'); }
}

/**
 * The body of an upload (import, load, build context, archive PUT) as a
 * stream the engine may read, fail on and destroy. The IncomingMessage
 * itself is wrong for that in two ways:
 * - destroying it destroys the connection, so a handler that refuses a bad
 *   archive (and, as stream consumers do, destroys its input) could never
 *   send its 400; destroying this stream only lets go of the request, whose
 *   rest is then read and dropped, as Go's server does, so the answer
 *   reaches a client that is still sending;
 * - a client that goes away mid-upload merely closes the IncomingMessage
 *   (it emits 'error' only to listeners); here that is an error of the
 *   stream (ClientGoneError), so whatever reads it fails and cleans up
 *   instead of waiting for bytes that never come.
 * An error nobody listens to any more (the reader failed first and
 * destroyed the body with its own error) is dropped rather than thrown:
 * it concerns no one.
 */
export function requestBody(req: IncomingMessage): Readable {
  return new RequestBody(req);
}

class RequestBody extends Readable {
  private readonly onData = (chunk: Buffer) => { if (!this.push(chunk)) this.req.pause(); };
  private readonly onEnd = () => { this.push(null); };
  private readonly onClose = () => { if (!this.req.complete) this.destroy(new ClientGoneError()); };
  private readonly onError = () => { /* reported as ClientGoneError by onClose */ };

  constructor(private readonly req: IncomingMessage) {
    super({ highWaterMark: 256 * 1024 });
    this.on('error', () => undefined);
    if (req.readableEnded) { this.push(null); return; }
    // Paused first, so adding the 'data' listener does not start the flow before anyone reads.
    req.pause();
    req.on('data', this.onData);
    req.once('end', this.onEnd);
    req.once('close', this.onClose);
    req.on('error', this.onError);
    if (req.destroyed && !req.complete) this.destroy(new ClientGoneError());
  }

  override _read(): void { this.req.resume(); }

  override _destroy(err: Error | null, cb: (e?: Error | null) => void): void {
    this.req.off('data', this.onData);
    this.req.off('end', this.onEnd);
    this.req.off('close', this.onClose);
    // The rest of the body is dropped (a flowing stream without 'data' listeners discards).
    if (!this.req.readableEnded && !this.req.destroyed) this.req.resume();
    // onError stays: a reset arriving while the rest is dropped must not go unhandled.
    cb(err);
  }
}

/**
 * Log entries as the logs endpoint sends them, in one buffer: each entry's
 * bytes (after its time and a space with `timestamps`) in a frame of its own
 * stream, or raw for a tty container. One buffer per batch rather than one
 * write per line: a chunked write costs more than the line it carries.
 */
export function logEntriesPayload(entries: readonly LogEntry[], opts: { tty: boolean; timestamps: boolean }): Buffer {
  const header = opts.tty ? 0 : 8;
  let size = 0;
  for (const e of entries) size += header + e.line.length + (opts.timestamps ? e.time.length + 1 : 0);
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (const e of entries) {
    const length = e.line.length + (opts.timestamps ? e.time.length + 1 : 0);
    if (header) {
      out.writeUInt32BE(e.stream === 'stdout' ? 0x01000000 : 0x02000000, at);
      out.writeUInt32BE(length, at + 4);
      at += header;
    }
    if (opts.timestamps) {
      at += out.write(e.time, at, 'latin1');
      out[at++] = 0x20;
    }
    at += e.line.copy(out, at);
  }
  return out;
}

export function frame(stream: 0 | 1 | 2 | 3, payload: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h[0] = stream;
  h.writeUInt32BE(payload.length, 4);
  return Buffer.concat([h, payload]);
}

/** A 200 chunked JSON message stream (`application/json`), one object per line. */
export class JsonMessageStream {
  private started = false;
  constructor(private readonly res: ServerResponse) {}

  private start(): void {
    if (this.started) return;
    this.started = true;
    this.res.writeHead(200, { ...COMMON_HEADERS, 'Content-Type': 'application/json' });
  }

  write(msg: Record<string, unknown>): void {
    this.start();
    this.res.write(JSON.stringify(msg) + '\r\n');
  }

  /** Errors after the 200 travel in the stream, as Docker's do. */
  error(message: string): void {
    this.write({ errorDetail: { message }, error: message });
  }

  get headersSent(): boolean { return this.started; }

  end(): void {
    this.start();
    this.res.end();
  }
}
