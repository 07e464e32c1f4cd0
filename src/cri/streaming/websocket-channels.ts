/**
 * The channel.k8s.io WebSocket framing of k8s.io/apimachinery's wsstream,
 * which exec, attach (websocket-command.ts) and port forwarding
 * (websocket-portforward.ts) share: every message belongs to a channel
 * named by its first byte; the `base64.` protocols send text messages
 * whose first character is the channel digit ('0' + channel) and whose
 * rest is base64.
 *
 * The opening handshake is the Docker API's (api/websocket.ts); the
 * framing here is message-based, since a channel byte starts each message,
 * not each fragment. Client frames must be masked; a message over
 * MAX_MESSAGE_BYTES or a malformed frame closes the connection (1009,
 * 1002). Pings are answered; a close frame is answered and ends the
 * connection, and so does the client's end of the socket.
 */
import type { Duplex } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import { encodeFrame, websocketAccept } from '../../api/websocket.js';

const MAX_MESSAGE_BYTES = 1 << 20;

const OP_CONT = 0x0; const OP_TEXT = 0x1; const OP_BINARY = 0x2; const OP_CLOSE = 0x8; const OP_PING = 0x9; const OP_PONG = 0xa;

/** Whether the request asks for a WebSocket upgrade. */
export function isWebSocketRequest(req: IncomingMessage): boolean {
  return String(req.headers.upgrade ?? '').toLowerCase() === 'websocket';
}

/** The client's `Sec-WebSocket-Protocol` list, in its order. */
export function websocketProtocols(req: IncomingMessage): string[] {
  return String(req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim()).filter(Boolean);
}

export interface ChannelConnection {
  /** Sends `data` as one message on `channel`; false when the socket's buffer is full (see whenWritable). */
  send(channel: number, data: Buffer): boolean;
  /** Runs `cb` once the socket can take more (at once if it can now). */
  whenWritable(cb: () => void): void;
  /** Stops reading the socket until resumeInput (a reader downstream is full). */
  pauseInput(): void;
  resumeInput(): void;
  /** Sends a close frame with `code` and ends the connection. */
  close(code: number): void;
  /** Whether the connection is over (either side closed it, or the socket went). */
  readonly closed: boolean;
}

export interface ChannelHandlers {
  /** A whole message from the client, on `channel`. */
  message(channel: number, data: Buffer): void;
  /** The connection is over, whichever side ended it; called once. */
  gone(): void;
}

/**
 * Answers the handshake with `protocol` ('' for none: wsstream's binary
 * default) and serves channel messages. Throws (before writing anything)
 * when the handshake is not a valid WebSocket one.
 */
export function acceptChannelWebSocket(req: IncomingMessage, socket: Duplex, head: Buffer, protocol: string, handlers: ChannelHandlers): ChannelConnection {
  const accept = websocketAccept(req);
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n` +
    `${protocol ? `Sec-WebSocket-Protocol: ${protocol}\r\n` : ''}\r\n`);
  const base64 = protocol.includes('base64');
  let isGone = false;
  let closeSent = false;
  const writeFrame = (opcode: number, payload: Buffer): boolean => (!closeSent && socket.writable ? socket.write(encodeFrame(opcode, payload)) : false);
  const close = (code: number) => {
    if (closeSent) return;
    const p = Buffer.alloc(2);
    p.writeUInt16BE(code);
    writeFrame(OP_CLOSE, p);
    closeSent = true;
    if (socket.writable) socket.end();
    setTimeout(() => socket.destroy(), 10_000).unref();
    gone();
  };
  const gone = () => {
    if (isGone) return;
    isGone = true;
    handlers.gone();
  };
  socket.on('close', gone);
  socket.on('error', gone);
  // An upgraded socket is half-open: the client's FIN alone does not close it. Its end is the connection's.
  socket.on('end', () => { gone(); if (socket.writable) socket.end(); });

  const onMessage = (opcode: number, msg: Buffer) => {
    if (base64) {
      if (opcode !== OP_TEXT || msg.length === 0) return;
      handlers.message(msg[0] - 0x30, Buffer.from(msg.subarray(1).toString('latin1'), 'base64'));
    } else {
      if (msg.length === 0) return;
      handlers.message(msg[0], msg.subarray(1));
    }
  };

  let buf: Buffer = head.length ? Buffer.from(head) : Buffer.alloc(0);
  let parts: Buffer[] = [];
  let partsSize = 0;
  let partsOp = 0;
  const fail = (code: number) => { buf = Buffer.alloc(0); close(code); };
  const onData = (d: Buffer) => {
    if (closeSent) return;
    buf = buf.length ? Buffer.concat([buf, d]) : d;
    for (;;) {
      if (closeSent || buf.length < 2) return;
      const fin = (buf[0] & 0x80) !== 0;
      const opcode = buf[0] & 0x0f;
      const masked = (buf[1] & 0x80) !== 0;
      let len = buf[1] & 0x7f;
      let at = 2;
      if (len === 126) { if (buf.length < 4) return; len = buf.readUInt16BE(2); at = 4; } else if (len === 127) {
        if (buf.length < 10) return;
        const big = buf.readBigUInt64BE(2);
        if (big > BigInt(MAX_MESSAGE_BYTES)) return fail(1009);
        len = Number(big);
        at = 10;
      }
      if (!masked || (buf[0] & 0x70) !== 0) return fail(1002);
      if (len > MAX_MESSAGE_BYTES || partsSize + len > MAX_MESSAGE_BYTES) return fail(1009);
      if (buf.length < at + 4 + len) return;
      const mask = buf.subarray(at, at + 4);
      const payload = Buffer.from(buf.subarray(at + 4, at + 4 + len));
      for (let i = 0; i < payload.length; i++) payload[i] ^= mask[i & 3];
      buf = buf.subarray(at + 4 + len);
      if (opcode === OP_CLOSE) { close(1000); return; }
      if (opcode === OP_PING) { if (len > 125) return fail(1002); writeFrame(OP_PONG, payload); continue; }
      if (opcode === OP_PONG) continue;
      if (opcode === OP_TEXT || opcode === OP_BINARY) {
        if (parts.length) return fail(1002);
        partsOp = opcode;
      } else if (opcode !== OP_CONT || parts.length === 0) {
        return fail(1002);
      }
      parts.push(payload);
      partsSize += payload.length;
      if (fin) {
        const msg = Buffer.concat(parts);
        const op = partsOp;
        parts = []; partsSize = 0; partsOp = 0;
        onMessage(op, msg);
      }
    }
  };
  socket.on('data', onData);
  if (buf.length) { const first = buf; buf = Buffer.alloc(0); onData(first); }

  return {
    send(channel, data) {
      if (base64) return writeFrame(OP_TEXT, Buffer.from(String.fromCharCode(0x30 + channel) + data.toString('base64')));
      return writeFrame(OP_BINARY, Buffer.concat([Buffer.from([channel]), data]));
    },
    whenWritable(cb) {
      if (closeSent || !socket.writable || !socket.writableNeedDrain) { cb(); return; }
      const done = () => { socket.off('drain', done); socket.off('close', done); cb(); };
      socket.once('drain', done);
      socket.once('close', done);
    },
    pauseInput() { socket.pause(); },
    resumeInput() { socket.resume(); },
    close,
    get closed() { return isGone || closeSent; },
  };
}
