/**
 * The server side of a WebSocket (RFC 6455), enough for
 * `GET /containers/{id}/attach/ws`: the opening handshake, and a Duplex
 * whose readable side is the payloads of the client's data frames (stdin)
 * and whose writable side sends each chunk as one message (output), so the
 * attach wiring of hijacked sockets (hijack.ts `pipeHijack`) serves it too.
 *
 * Client frames must be masked (§5.1); a frame over MAX_FRAME_BYTES, an
 * unmasked or malformed frame ends the connection with a close frame
 * (1009, 1002). Fragments are passed on as they come (stdin is a byte
 * stream: message boundaries mean nothing to it); pings get their pong; a
 * close frame ends stdin and is answered when the output side ends.
 */
import { createHash } from 'node:crypto';
import { Duplex } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import { InvalidParameterError } from '../errors.js';
import { COMMON_HEADERS } from './context.js';

const HANDSHAKE_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
/** Larger client frames are refused: stdin arrives in small pieces, and a frame is buffered whole. */
const MAX_FRAME_BYTES = 1 << 20;

const OP_CONTINUATION = 0x0;
const OP_TEXT = 0x1;
const OP_BINARY = 0x2;
const OP_CLOSE = 0x8;
const OP_PING = 0x9;
const OP_PONG = 0xa;

/** Checks the opening handshake (§4.2.1); returns the `Sec-WebSocket-Accept` value. */
export function websocketAccept(req: IncomingMessage): string {
  const upgrade = String(req.headers.upgrade ?? '').toLowerCase();
  const key = req.headers['sec-websocket-key'];
  if (upgrade !== 'websocket' || typeof key !== 'string' || Buffer.from(key, 'base64').length !== 16) {
    throw new InvalidParameterError('not a websocket handshake: need Upgrade: websocket and a Sec-WebSocket-Key');
  }
  if (req.headers['sec-websocket-version'] !== '13') throw new InvalidParameterError('unsupported websocket version: only 13 is');
  return createHash('sha1').update(key + HANDSHAKE_GUID).digest('base64');
}

/** The 101 answering a handshake `websocketAccept` checked. */
export function websocketUpgradeResponse(accept: string): string {
  const headers = { ...COMMON_HEADERS, Upgrade: 'websocket', Connection: 'Upgrade', 'Sec-WebSocket-Accept': accept };
  return `HTTP/1.1 101 Switching Protocols\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`;
}

/** One unmasked server frame (FIN set). */
export function encodeFrame(opcode: number, payload: Buffer): Buffer {
  const n = payload.length;
  const head = n < 126 ? Buffer.alloc(2) : n < 65536 ? Buffer.alloc(4) : Buffer.alloc(10);
  head[0] = 0x80 | opcode;
  if (n < 126) head[1] = n;
  else if (n < 65536) { head[1] = 126; head.writeUInt16BE(n, 2); } else { head[1] = 127; head.writeBigUInt64BE(BigInt(n), 2); }
  return Buffer.concat([head, payload]);
}

export class WebSocketDuplex extends Duplex {
  private buf: Buffer = Buffer.alloc(0);
  private closeSent = false;
  private inputEnded = false;

  /** `binary`: output goes in binary messages (API ≥ 1.28), else in text ones. `early`: bytes read past the handshake. */
  constructor(private readonly socket: Duplex, private readonly binary: boolean, early?: Buffer) {
    super({ allowHalfOpen: true });
    socket.on('data', (d: Buffer) => this.onData(d));
    socket.on('end', () => this.endInput());
    socket.on('error', (e) => this.destroy(e));
    socket.on('close', () => this.destroy());
    if (early?.length) this.onData(early);
  }

  override _read(): void {
    this.socket.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    if (this.closeSent || !this.socket.writable) { cb(); return; }
    this.socket.write(encodeFrame(this.binary ? OP_BINARY : OP_TEXT, chunk), cb);
  }

  override _final(cb: (e?: Error | null) => void): void {
    this.sendClose(1000);
    cb();
  }

  override _destroy(err: Error | null, cb: (e?: Error | null) => void): void {
    this.socket.destroy();
    cb(err);
  }

  private endInput(): void {
    if (this.inputEnded) return;
    this.inputEnded = true;
    this.push(null);
  }

  private sendClose(code: number): void {
    if (this.closeSent) return;
    this.closeSent = true;
    const payload = Buffer.alloc(2);
    payload.writeUInt16BE(code);
    if (this.socket.writable) this.socket.end(encodeFrame(OP_CLOSE, payload));
  }

  /** A protocol violation: close with `code`, stop reading. */
  private fail(code: number): void {
    this.buf = Buffer.alloc(0);
    this.endInput();
    this.sendClose(code);
  }

  private onData(d: Buffer): void {
    if (this.inputEnded) return;
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
    for (;;) {
      const b = this.buf;
      if (b.length < 2) return;
      const opcode = b[0] & 0x0f;
      const masked = (b[1] & 0x80) !== 0;
      let len = b[1] & 0x7f;
      let at = 2;
      if (len === 126) {
        if (b.length < 4) return;
        len = b.readUInt16BE(2);
        at = 4;
      } else if (len === 127) {
        if (b.length < 10) return;
        const big = b.readBigUInt64BE(2);
        if (big > BigInt(MAX_FRAME_BYTES)) return this.fail(1009);
        len = Number(big);
        at = 10;
      }
      // Client frames are masked; reserved bits unset (no extension was agreed).
      if (!masked || (b[0] & 0x70) !== 0) return this.fail(1002);
      if (len > MAX_FRAME_BYTES) return this.fail(1009);
      if (b.length < at + 4 + len) return;
      const mask = b.subarray(at, at + 4);
      const payload = Buffer.from(b.subarray(at + 4, at + 4 + len));
      for (let i = 0; i < payload.length; i++) payload[i] ^= mask[i & 3];
      this.buf = b.subarray(at + 4 + len);
      switch (opcode) {
        case OP_CONTINUATION: case OP_TEXT: case OP_BINARY:
          if (payload.length && !this.push(payload)) this.socket.pause();
          break;
        case OP_CLOSE:
          // The client's stdin is over; the close is answered when the output side ends.
          this.endInput();
          return;
        case OP_PING:
          if (len > 125) return this.fail(1002);
          if (this.socket.writable && !this.closeSent) this.socket.write(encodeFrame(OP_PONG, payload));
          break;
        case OP_PONG:
          break;
        default:
          return this.fail(1002);
      }
    }
  }
}
