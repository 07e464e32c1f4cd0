/**
 * A gRPC server on one HTTP/2 connection that is already open: the socket
 * of a `POST /grpc` that was upgraded to h2c (what buildx's docker driver
 * dials, moby's api/server/router/grpc). node:http2 takes the socket over
 * with `performServerHandshake`; each stream is one call, routed by its
 * `:path` (`/moby.buildkit.v1.Control/Solve`).
 *
 * Every failure stays its call's: a handler's error becomes the call's
 * `grpc-status` (kind → code as moby's errdefs map them), a malformed
 * message or frame ends that call, a broken connection ends that
 * connection's calls (their signals abort), and nothing reaches berthd's
 * event loop unhandled.
 */
import http2 from 'node:http2';
import type { Duplex } from 'node:stream';
import { errorKind, errorMessage } from '../errors.js';
import { ByteBudget, GrpcCode, MAX_MESSAGE_BYTES, encodeGrpcMessage, frame, readMessages } from './grpc-frames.js';
import { encode } from './messages.js';
import { TRACING, traceAt } from '../trace.js';

export interface GrpcCall {
  path: string;
  headers: http2.IncomingHttpHeaders;
  /** Aborts when the client cancels the call or the connection goes. */
  signal: AbortSignal;
  /** The client's messages, in order (at most `MAX_MESSAGE_BYTES` each). */
  messages(): AsyncGenerator<Buffer>;
  /** Sends one message to the client (server-streaming and unary answers). */
  send(message: Uint8Array): void;
}

export type GrpcHandler = (call: GrpcCall) => Promise<void>;

/**
 * What berthd's answers may hold queued for clients that do not read
 * them (HTTP/2 flow control keeps them here), on one connection and on all
 * of them; a call whose next message does not fit is cut. Before, each
 * call could queue 64 MiB: 128 Status calls a connection that never read
 * a build's log were 8 GiB a connection.
 */
const MAX_CONNECTION_QUEUED_BYTES = 64 << 20;
const queuedReplyBytes = new ByteBudget('berthd\'s gRPC connections', 256 << 20);

/**
 * What each connection may use of both budgets without drawing on the
 * daemon's (ByteBudget's `own`): a client that holds the daemon's share
 * leaves the others this much each, which is gRPC's own default message
 * limit and more than any BuildKit control message. It adds at most this
 * to berthd's memory per connection, less than the HTTP/2 session's own
 * bound (maxSessionMemory below).
 */
const CONNECTION_OWN_BYTES = 4 << 20;

/**
 * Bytes of clients' messages being received at once, on one connection and
 * on all of them (ByteBudget): a message that would go over is refused
 * with RESOURCE_EXHAUSTED when its length prefix arrives. Each still takes
 * a message of MAX_MESSAGE_BYTES; BuildKit's control messages are far
 * smaller.
 */
export const MAX_CONNECTION_MESSAGE_BYTES = 4 * MAX_MESSAGE_BYTES;
const servedMessageBytes = new ByteBudget('berthd\'s gRPC connections', 16 * MAX_MESSAGE_BYTES);

/** A call's failure as a gRPC status code. */
export class GrpcStatusError extends Error {
  /** google.protobuf.Any details for the `grpc-status-details-bin` trailer (BuildKit's errdefs: a Dockerfile source range). */
  readonly details: { type_url: string; value: Buffer }[];
  constructor(readonly code: number, message: string, details: { type_url: string; value: Buffer }[] = []) {
    super(message);
    this.details = details;
  }
}

function codeOf(e: unknown): number {
  if (e instanceof GrpcStatusError) return e.code;
  switch (errorKind(e)) {
    case 'NotFound': return GrpcCode.NOT_FOUND;
    case 'InvalidParameter': return GrpcCode.INVALID_ARGUMENT;
    case 'Conflict': return GrpcCode.FAILED_PRECONDITION;
    case 'Unauthorized': return GrpcCode.UNAUTHENTICATED;
    case 'Forbidden': return GrpcCode.PERMISSION_DENIED;
    case 'NotImplemented': return GrpcCode.UNIMPLEMENTED;
    case 'PayloadTooLarge': return GrpcCode.RESOURCE_EXHAUSTED;
    default: return GrpcCode.UNKNOWN;
  }
}

export interface ServeOptions {
  lookup(path: string): GrpcHandler | undefined;
  log(msg: string): void;
}

/** Serves gRPC on `socket` (bytes in `head` were read past the HTTP request already); resolves when the connection closes. */
export function serveGrpc(socket: Duplex, head: Buffer | undefined, o: ServeOptions): Promise<void> {
  if (head?.length) socket.unshift(head);
  const session = http2.performServerHandshake(socket, {
    settings: { maxConcurrentStreams: 128, maxHeaderListSize: 64 << 10 },
    maxSessionMemory: 64,
  });
  const calls = new Set<AbortController>();
  const budget = new ByteBudget('this connection', MAX_CONNECTION_MESSAGE_BYTES, servedMessageBytes, CONNECTION_OWN_BYTES);
  const queued = new ByteBudget('this connection', MAX_CONNECTION_QUEUED_BYTES, queuedReplyBytes, CONNECTION_OWN_BYTES);
  session.on('stream', (stream, headers) => {
    const cancel = new AbortController();
    calls.add(cancel);
    stream.on('error', (e) => o.log(`berthd: grpc ${String(headers[':path'])}: ${errorMessage(e)}`));
    stream.on('close', () => { calls.delete(cancel); cancel.abort(); });
    void runCall(stream, headers, cancel.signal, budget, queued, o);
  });
  session.on('error', (e) => o.log(`berthd: grpc connection: ${errorMessage(e)}`));
  return new Promise((resolve) => {
    const done = () => {
      for (const c of calls) c.abort();
      if (!socket.destroyed) socket.destroy();
      resolve();
    };
    session.once('close', done);
    socket.once('close', () => { if (!session.destroyed) session.destroy(); });
    // The hijacked socket is half-open capable (the HTTP server's): a client that is gone
    // (killed, or its socket closed) only sends a FIN, which alone would never close it,
    // and its calls (a build) would run on until berthd happened to write to it.
    socket.once('end', () => socket.destroy());
  });
}

async function runCall(
  stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, signal: AbortSignal, budget: ByteBudget, queued: ByteBudget, o: ServeOptions,
): Promise<void> {
  const path = String(headers[':path'] ?? '');
  if (TRACING) traceAt(`grpc ${path} begin`);
  let responded = false;
  const respond = () => {
    if (responded || stream.destroyed) return;
    responded = true;
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
  };
  // This call's bytes taken from `queued` and not yet handed on by HTTP/2; what is left when the stream closes goes back.
  let queuedBytes = 0;
  stream.once('close', () => { queued.give(queuedBytes); queuedBytes = 0; });
  let status: number = GrpcCode.OK;
  let message = '';
  let details: GrpcStatusError['details'] = [];
  try {
    const handler = headers[':method'] === 'POST' && String(headers['content-type'] ?? '').startsWith('application/grpc') ? o.lookup(path) : undefined;
    if (!handler) throw new GrpcStatusError(GrpcCode.UNIMPLEMENTED, `unknown method ${path}`);
    await handler({
      path, headers, signal,
      messages: () => readMessages(stream, MAX_MESSAGE_BYTES, budget),
      send: (m) => {
        respond();
        if (stream.destroyed) return;
        // A client that stops reading (Status) must not make berthd buffer without end.
        const f = frame(m);
        if (!queued.tryTake(f.length)) { stream.close(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM); return; }
        queuedBytes += f.length;
        stream.write(f, () => {
          if (queuedBytes < f.length) return; // the stream closed and gave its bytes back
          queuedBytes -= f.length;
          queued.give(f.length);
        });
      },
    });
  } catch (e) {
    status = codeOf(e);
    message = errorMessage(e);
    if (e instanceof GrpcStatusError) details = e.details;
    if (status === GrpcCode.UNKNOWN && !(e instanceof GrpcStatusError) && errorKind(e) === 'System' && !signal.aborted) {
      o.log(`berthd: grpc ${path}: ${(e as Error)?.stack ?? message}`);
    }
  }
  if (TRACING) traceAt(`grpc ${path} end ${status}`);
  if (stream.destroyed) return;
  const trailers: http2.OutgoingHttpHeaders = { 'grpc-status': String(status) };
  if (message) trailers['grpc-message'] = encodeGrpcMessage(message);
  if (details.length) trailers['grpc-status-details-bin'] = encode('GoogleRpcStatus', { code: status, message, details }).toString('base64');
  if (!responded) {
    // Trailers-only answer: the status rides in the one HEADERS frame.
    stream.respond({ ':status': 200, 'content-type': 'application/grpc', ...trailers }, { endStream: true });
    return;
  }
  stream.once('wantTrailers', () => { if (!stream.destroyed) stream.sendTrailers(trailers); });
  stream.end();
}
