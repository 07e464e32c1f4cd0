/**
 * Exec and attach over WebSocket, the channel.k8s.io protocols of
 * k8s.io/apimachinery's wsstream and client-go's WebSocket executor: every
 * message belongs to a channel named by its first byte (0 stdin, 1 stdout,
 * 2 stderr, 3 error, 4 resize); `base64.` variants send text messages
 * whose first character is the channel digit and whose rest is base64.
 * v5 adds a close signal: a message `255, channel` ends that channel's
 * input (stdin's EOF). The server ends with the outcome on the error
 * channel and a normal close (1000), which clients read as the end of
 * every stream.
 *
 * The opening handshake is the Docker API's (api/websocket.ts); the
 * framing here is message-based, since a channel byte starts each message,
 * not each fragment. Client frames must be masked; a message over
 * MAX_MESSAGE_BYTES or a malformed frame closes the connection (1009,
 * 1002). Pings are answered.
 */
import { PassThrough, Writable, type Duplex } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import { encodeFrame, websocketAccept } from '../../api/websocket.js';
import { encodeOutcome, type CommandOutcome } from './command-status.js';
import type { CommandIo } from './command-session.js';
import type { ExpectedStreams } from './spdy-command.js';

/** Binary versions first, then base64, newest first within each. */
export const WEBSOCKET_COMMAND_PROTOCOLS = [
  'v5.channel.k8s.io', 'v4.channel.k8s.io', 'v3.channel.k8s.io', 'v2.channel.k8s.io', 'channel.k8s.io',
  'v4.base64.channel.k8s.io', 'base64.channel.k8s.io',
];

const MAX_MESSAGE_BYTES = 1 << 20;
const CH_STDIN = 0; const CH_STDOUT = 1; const CH_STDERR = 2; const CH_ERROR = 3; const CH_RESIZE = 4;
const CLOSE_SIGNAL = 255;

const OP_CONT = 0x0; const OP_TEXT = 0x1; const OP_BINARY = 0x2; const OP_CLOSE = 0x8; const OP_PING = 0x9; const OP_PONG = 0xa;

/** Whether the request asks for a WebSocket upgrade. */
export function isWebSocketRequest(req: IncomingMessage): boolean {
  return String(req.headers.upgrade ?? '').toLowerCase() === 'websocket';
}

/** The client's `Sec-WebSocket-Protocol` list, in its order. */
export function websocketProtocols(req: IncomingMessage): string[] {
  return String(req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim()).filter(Boolean);
}

/**
 * Answers the handshake with `protocol` and serves the channels the
 * request asked for. Throws (before writing anything) when the handshake
 * is not a valid WebSocket one.
 */
export function websocketCommandIo(req: IncomingMessage, socket: Duplex, head: Buffer, protocol: string, want: ExpectedStreams): CommandIo {
  const accept = websocketAccept(req);
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\nSec-WebSocket-Protocol: ${protocol}\r\n\r\n`);
  const base64 = protocol.includes('base64');
  let closed = false;
  let closeSent = false;
  const goneCallbacks: Array<() => void> = [];
  const send = (opcode: number, payload: Buffer) => { if (!closeSent && socket.writable) socket.write(encodeFrame(opcode, payload)); };
  const sendOn = (channel: number, data: Buffer) => {
    if (base64) send(OP_TEXT, Buffer.from(String(channel) + data.toString('base64')));
    else send(OP_BINARY, Buffer.concat([Buffer.from([channel]), data]));
  };
  const sendClose = (code: number) => {
    if (closeSent) return;
    const p = Buffer.alloc(2);
    p.writeUInt16BE(code);
    send(OP_CLOSE, p);
    closeSent = true;
    if (socket.writable) socket.end();
    setTimeout(() => socket.destroy(), 10_000).unref();
  };

  const input = (on: boolean) => (on ? new PassThrough() : null);
  const stdin = input(want.stdin);
  const resize = input(want.tty);
  const output = (channel: number, on: boolean) => {
    if (!on) return null;
    // Sent as written, synchronously, so nothing is left behind when the outcome follows.
    return new Writable({ write(chunk: Buffer, _enc, cb) { sendOn(channel, chunk); cb(); } });
  };
  const stdout = output(CH_STDOUT, want.stdout);
  const stderr = output(CH_STDERR, want.stderr && !want.tty);

  const gone = () => {
    if (closed) return;
    closed = true;
    stdin?.end();
    resize?.end();
    for (const cb of goneCallbacks) cb();
  };
  socket.on('close', gone);
  socket.on('error', gone);

  const onMessage = (opcode: number, msg: Buffer) => {
    let channel: number;
    let data: Buffer;
    if (base64) {
      if (opcode !== OP_TEXT || msg.length === 0) return;
      channel = msg[0] - 0x30;
      data = Buffer.from(msg.subarray(1).toString('latin1'), 'base64');
    } else {
      if (msg.length === 0) return;
      channel = msg[0];
      data = msg.subarray(1);
    }
    if (channel === CLOSE_SIGNAL && data.length >= 1) {
      if (data[0] === CH_STDIN) stdin?.end();
      else if (data[0] === CH_RESIZE) resize?.end();
      return;
    }
    if (channel === CH_STDIN && stdin && !stdin.writableEnded) stdin.write(data);
    else if (channel === CH_RESIZE && resize && !resize.writableEnded) resize.write(data);
  };

  let buf: Buffer = head.length ? Buffer.from(head) : Buffer.alloc(0);
  let parts: Buffer[] = [];
  let partsSize = 0;
  let partsOp = 0;
  const fail = (code: number) => { buf = Buffer.alloc(0); sendClose(code); };
  const onData = (d: Buffer) => {
    if (closeSent) return;
    buf = buf.length ? Buffer.concat([buf, d]) : d;
    for (;;) {
      if (buf.length < 2) return;
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
      if (opcode === OP_CLOSE) { gone(); sendClose(1000); return; }
      if (opcode === OP_PING) { if (len > 125) return fail(1002); send(OP_PONG, payload); continue; }
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
    stdin, stdout, stderr, resize,
    async finish(outcome: CommandOutcome) {
      if (closed) return;
      await new Promise((resolve) => setImmediate(resolve));
      const status = encodeOutcome(outcome, protocol);
      if (status.length) sendOn(CH_ERROR, status);
      closed = true;
      sendClose(1000);
    },
    onGone(cb) { goneCallbacks.push(cb); },
  };
}
