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
 * What the messages being received may hold in memory at once: each
 * message's stated length is taken from its budget when its prefix arrives
 * (before any of its bytes are kept) and given back once the message is
 * whole or the stream ends. A budget may draw on a larger one (a
 * connection's on the daemon's), so that neither many streams on one
 * connection nor many connections can make berthd buffer without bound:
 * 128 streams each announcing 16 MiB would otherwise be 2 GiB per
 * connection.
 *
 * Its first `own` bytes are its own, not drawn from the parent: a client
 * that holds the daemon's budget (streams that announce messages and never
 * send them cost it nothing) must not starve every other client, whose
 * ordinary messages are far smaller than that. Only what a budget uses
 * beyond `own` is the parent's.
 */
export class ByteBudget {
  private used = 0;
  constructor(private readonly what: string, readonly limit: number, private readonly parent?: ByteBudget, private readonly own = 0) {}

  /** What the parent lends when `used` bytes are in use. */
  private drawn(used: number): number { return Math.max(0, used - this.own); }

  /** Takes `n` bytes, or throws PayloadTooLargeError (gRPC RESOURCE_EXHAUSTED) when this budget or its parent has not that many left. */
  take(n: number): void {
    if (this.used + n > this.limit) {
      throw new PayloadTooLargeError(`gRPC message of ${n} bytes refused: the messages in flight on ${this.what} would be over its limit of ${this.limit} bytes`);
    }
    this.parent?.take(this.drawn(this.used + n) - this.drawn(this.used));
    this.used += n;
  }

  /** Takes `n` bytes if this budget and its parent have them; false (nothing taken) when not. */
  tryTake(n: number): boolean {
    if (this.used + n > this.limit || (this.parent && !this.parent.tryTake(this.drawn(this.used + n) - this.drawn(this.used)))) return false;
    this.used += n;
    return true;
  }

  give(n: number): void {
    this.parent?.give(this.drawn(this.used) - this.drawn(this.used - n));
    this.used -= n;
  }

  get inUse(): number { return this.used; }
}

/**
 * The messages of a gRPC stream, in order, as they arrive; ends when the
 * stream ends. The stream is read through its iterator but never handed
 * back to it: leaving this loop (an error, a consumer that stops early)
 * must not reset the HTTP/2 stream, whose status is still to be sent. What
 * is left unread is discarded.
 *
 * A message's chunks are kept as they come and joined once, when it is
 * whole: joining the buffer at every chunk would copy a 16 MiB message
 * that arrives in 16 KiB DATA frames about 8 GiB over.
 */
export async function* readMessages(stream: Readable, maxBytes = MAX_MESSAGE_BYTES, budget?: ByteBudget): AsyncGenerator<Buffer> {
  const chunks = (stream as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  // A read index rather than shift(): a client's tiny frames must not make each message cost its chunk count squared.
  let parts: Buffer[] = [];
  let first = 0;
  let have = 0;
  /** The next `n` buffered bytes, copied only when they span chunks. */
  const takeBytes = (n: number): Buffer => {
    have -= n;
    const p0 = parts[first];
    if (p0.length > n) { parts[first] = p0.subarray(n); return p0.subarray(0, n); }
    if (p0.length === n) { first++; return p0; }
    const out = Buffer.allocUnsafe(n);
    let off = 0;
    while (off < n) {
      const p = parts[first];
      const k = Math.min(p.length, n - off);
      p.copy(out, off, 0, k);
      off += k;
      if (k === p.length) first++; else parts[first] = p.subarray(k);
    }
    return out;
  };
  /** The current message's length once its prefix was read (its bytes taken from `budget`), else -1. */
  let len = -1;
  let ended = false;
  try {
    for (;;) {
      const r = await chunks.next();
      if (r.done) { ended = true; break; }
      if (r.value.length === 0) continue;
      if (first === parts.length) { parts = []; first = 0; } else if (first > 1024) { parts = parts.slice(first); first = 0; }
      parts.push(r.value);
      have += r.value.length;
      for (;;) {
        if (len < 0) {
          if (have < 5) break;
          const head = takeBytes(5);
          if (head[0] !== 0) throw new InvalidParameterError('compressed gRPC messages are not supported');
          const n = head.readUInt32BE(1);
          if (n > maxBytes) throw new PayloadTooLargeError(`gRPC message of ${n} bytes is over the limit of ${maxBytes}`);
          budget?.take(n);
          len = n;
        }
        if (have < len) break;
        const msg = len === 0 ? Buffer.alloc(0) : takeBytes(len);
        budget?.give(len);
        len = -1;
        yield msg;
      }
    }
    if (have || len >= 0) throw new InvalidParameterError('gRPC stream ended inside a message');
  } finally {
    if (len >= 0) budget?.give(len);
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
