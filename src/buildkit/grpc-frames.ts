/**
 * gRPC's message framing over an HTTP/2 stream (grpc/doc/PROTOCOL-HTTP2.md):
 * each message is a 1-byte compressed flag, a 4-byte big-endian length and
 * the protobuf bytes. Status travels in trailers (`grpc-status`,
 * `grpc-message`, percent-encoded).
 *
 * The reader is the size boundary: a message over `maxBytes` or a
 * compressed one (berth never offers an encoding) fails the stream before
 * its bytes are buffered.
 */
import type { Readable } from 'node:stream';
import { InvalidParameterError, PayloadTooLargeError } from '../errors.js';

/** gRPC status codes berth answers with (google.golang.org/grpc/codes). */
export const GrpcCode = {
  OK: 0, CANCELLED: 1, UNKNOWN: 2, INVALID_ARGUMENT: 3, DEADLINE_EXCEEDED: 4, NOT_FOUND: 5, ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7, RESOURCE_EXHAUSTED: 8, FAILED_PRECONDITION: 9, ABORTED: 10, UNIMPLEMENTED: 12, INTERNAL: 13,
  UNAVAILABLE: 14, UNAUTHENTICATED: 16,
} as const;

/** Big enough for any BuildKit control message and a 32 KiB filesync chunk; gRPC's own default receive limit is 4 MiB. */
export const MAX_MESSAGE_BYTES = 16 << 20;

export function frame(message: Uint8Array): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(message.length, 1);
  return Buffer.concat([head, message]);
}

/**
 * The messages of a gRPC stream, in order, as they arrive; ends when the
 * stream ends. The stream is read through its iterator but never handed
 * back to it: leaving this loop (an error, a consumer that stops early)
 * must not reset the HTTP/2 stream, whose status is still to be sent. What
 * is left unread is discarded.
 */
export async function* readMessages(stream: Readable, maxBytes = MAX_MESSAGE_BYTES): AsyncGenerator<Buffer> {
  const chunks = (stream as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  // What has arrived and is not yet a message, as it came: a message spread over several HTTP/2
  // frames (a 32 KiB filesync packet is three of 16 KiB) is copied once, when it is complete.
  // (A read index rather than shift(): a client's tiny frames must not make each message cost its chunk count squared.)
  let pending: Buffer[] = [];
  let head = 0;
  let pendingBytes = 0;
  const take = (n: number): Buffer => {
    pendingBytes -= n;
    const first = pending[head];
    if (first.length > n) { pending[head] = first.subarray(n); return first.subarray(0, n); }
    if (first.length === n) { head++; return first; }
    const out = Buffer.allocUnsafe(n);
    let off = 0;
    while (off < n) {
      const c = pending[head];
      const part = Math.min(c.length, n - off);
      c.copy(out, off, 0, part);
      off += part;
      if (part === c.length) head++; else pending[head] = c.subarray(part);
    }
    return out;
  };
  /** The length of the message being read, once its 5-byte prefix is in. */
  let need: number | undefined;
  let ended = false;
  try {
    for (;;) {
      const r = await chunks.next();
      if (r.done) { ended = true; break; }
      if (r.value.length === 0) continue;
      if (head === pending.length) { pending = []; head = 0; } else if (head > 1024) { pending = pending.slice(head); head = 0; }
      pending.push(r.value);
      pendingBytes += r.value.length;
      for (;;) {
        if (need === undefined) {
          if (pendingBytes < 5) break;
          const head = take(5);
          if (head[0] !== 0) throw new InvalidParameterError('compressed gRPC messages are not supported');
          const len = head.readUInt32BE(1);
          if (len > maxBytes) throw new PayloadTooLargeError(`gRPC message of ${len} bytes is over the limit of ${maxBytes}`);
          need = len;
        }
        if (pendingBytes < need) break;
        const message = need === 0 ? Buffer.alloc(0) : take(need);
        need = undefined;
        yield message;
      }
    }
    if (pendingBytes || need !== undefined) throw new InvalidParameterError('gRPC stream ended inside a message');
  } finally {
    if (!ended && !stream.destroyed) { stream.removeAllListeners('readable'); stream.resume(); }
  }
}

/** `grpc-message`'s percent-encoding: printable ASCII but `%` as is, everything else as %XX of its UTF-8 bytes. */
export function encodeGrpcMessage(msg: string): string {
  let out = '';
  for (const b of Buffer.from(msg, 'utf8')) {
    out += b >= 0x20 && b <= 0x7e && b !== 0x25 ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

export function decodeGrpcMessage(msg: string): string {
  try { return decodeURIComponent(msg); } catch { return msg; }
}
