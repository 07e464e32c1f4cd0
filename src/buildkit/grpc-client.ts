/**
 * berthd as a gRPC client on a connection the other side opened: a BuildKit
 * client's session (`POST /session`, upgraded to h2c) serves gRPC — filesync,
 * auth, secrets — and the daemon calls it (buildkit's session/grpc.go; the
 * client runs an HTTP/2 server on its end of the hijacked socket).
 *
 * Messages the client sends back are read through the same bounded framing
 * as the server side (grpc-frames.ts); a call's failure is that call's.
 */
import http2 from 'node:http2';
import type { Duplex } from 'node:stream';
import { errorMessage } from '../errors.js';
import { ByteBudget, GrpcCode, MAX_MESSAGE_BYTES, decodeGrpcMessage, frame, readMessages } from './grpc-frames.js';
import { GrpcStatusError, MAX_CONNECTION_MESSAGE_BYTES } from './grpc-server.js';

export interface ClientCall {
  send(message: Uint8Array): void;
  /** Sends and waits until HTTP/2 flow control takes more (for bulk data). */
  write(message: Uint8Array): Promise<void>;
  /** Half-closes the request side. */
  end(): void;
  messages(): AsyncGenerator<Buffer>;
  /** The call's status once it ends (OK or the server's error); rejects with GrpcStatusError. */
  done: Promise<void>;
  cancel(): void;
}

/**
 * HTTP/2 receive windows of a session connection. The client sends the
 * build context here (filesync DATA packets of 32 KiB); with HTTP/2's
 * default 64 KiB windows it could send two packets and then wait a round
 * trip for berthd's WINDOW_UPDATE, so a 1 MiB file took 16 round trips.
 * What a stream holds unread stays bounded by these (the reader pauses
 * the stream, and berthd stops crediting it).
 */
const STREAM_WINDOW_BYTES = 4 << 20;
const CONNECTION_WINDOW_BYTES = 8 << 20;

export class GrpcClientConnection {
  private readonly session: http2.ClientHttp2Session;
  readonly closed: Promise<void>;
  /** The client's answers being received at once, on all of berthd's calls (a RUN may open many ssh-agent calls). */
  private readonly budget = new ByteBudget('the client\'s session', MAX_CONNECTION_MESSAGE_BYTES);

  constructor(socket: Duplex, head?: Buffer) {
    if (head?.length) socket.unshift(head);
    this.session = http2.connect('http://buildkit-session', {
      createConnection: () => socket,
      maxSessionMemory: 64,
      settings: { enablePush: false, initialWindowSize: STREAM_WINDOW_BYTES },
    });
    this.session.on('error', () => undefined);
    // The connection's own window is not a SETTINGS value: it grows by a WINDOW_UPDATE, sent once the session is up.
    const widen = () => { if (!this.session.destroyed) this.session.setLocalWindowSize(CONNECTION_WINDOW_BYTES); };
    if (this.session.connecting) this.session.once('connect', widen); else widen();
    this.closed = new Promise((resolve) => {
      this.session.once('close', () => { if (!socket.destroyed) socket.destroy(); resolve(); });
      socket.once('close', () => { if (!this.session.destroyed) this.session.destroy(); });
      // A client gone sends only a FIN on this half-open capable socket (grpc-server.ts says why that must close it).
      socket.once('end', () => socket.destroy());
    });
  }

  get isClosed(): boolean { return this.session.destroyed || this.session.closed; }

  close(): void { if (!this.session.destroyed) this.session.destroy(); }

  /** Opens a call of `path` with `metadata` as its request headers. */
  call(path: string, metadata: Record<string, string | string[]> = {}): ClientCall {
    if (this.isClosed) throw new GrpcStatusError(GrpcCode.UNAVAILABLE, 'the client\'s session is closed');
    const stream = this.session.request({
      ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers', ...metadata,
    });
    const done = new Promise<void>((resolve, reject) => {
      let status: string | undefined;
      let message = '';
      const take = (h: http2.IncomingHttpHeaders) => {
        if (h['grpc-status'] !== undefined) { status = String(h['grpc-status']); message = decodeGrpcMessage(String(h['grpc-message'] ?? '')); }
      };
      stream.on('response', take);
      stream.on('trailers', take);
      stream.on('error', (e) => reject(new GrpcStatusError(GrpcCode.UNAVAILABLE, errorMessage(e))));
      stream.on('close', () => {
        if (status === undefined) reject(new GrpcStatusError(GrpcCode.UNAVAILABLE, `${path}: the call ended without a status`));
        else if (status !== '0') reject(new GrpcStatusError(Number(status), message));
        else resolve();
      });
    });
    done.catch(() => undefined);
    return {
      send: (m) => { if (!stream.destroyed) stream.write(frame(m)); },
      write: (m) => new Promise<void>((resolve, reject) => {
        if (stream.destroyed) { reject(new GrpcStatusError(GrpcCode.UNAVAILABLE, `${path}: the call is closed`)); return; }
        if (stream.write(frame(m))) { resolve(); return; }
        const done = () => { stream.off('drain', done); stream.off('close', done); if (stream.destroyed) reject(new GrpcStatusError(GrpcCode.UNAVAILABLE, `${path}: the call is closed`)); else resolve(); };
        stream.on('drain', done);
        stream.on('close', done);
      }),
      end: () => { if (!stream.destroyed) stream.end(); },
      messages: () => readMessages(stream, MAX_MESSAGE_BYTES, this.budget),
      done,
      cancel: () => { if (!stream.destroyed) stream.close(http2.constants.NGHTTP2_CANCEL); },
    };
  }
}
