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
  let buf: Buffer = Buffer.alloc(0);
  let ended = false;
  try {
    for (;;) {
      const r = await chunks.next();
      if (r.done) { ended = true; break; }
      buf = buf.length ? Buffer.concat([buf, r.value]) : r.value;
      while (buf.length >= 5) {
        if (buf[0] !== 0) throw new InvalidParameterError('compressed gRPC messages are not supported');
        const len = buf.readUInt32BE(1);
        if (len > maxBytes) throw new PayloadTooLargeError(`gRPC message of ${len} bytes is over the limit of ${maxBytes}`);
        if (buf.length < 5 + len) break;
        yield buf.subarray(5, 5 + len);
        buf = buf.subarray(5 + len);
      }
    }
    if (buf.length) throw new InvalidParameterError('gRPC stream ended inside a message');
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
