/**
 * The server side of a SPDY/3.1 connection as moby/spdystream's clients
 * use it: the client opens streams (SYN_STREAM, odd ids), the server
 * answers each at once (SYN_REPLY, no headers, as kubelet's server does),
 * data flows both ways, FIN half-closes one direction, RST_STREAM drops a
 * stream, PINGs are echoed. There is no flow control: spdystream neither
 * sends nor heeds WINDOW_UPDATE, so berth ignores the ones it gets and
 * relies on TCP's (a stream whose reader lags pauses the socket).
 *
 * Hostile peers: a frame over MAX_FRAME_BYTES, a malformed frame, a bad
 * stream id or too many open streams end the connection (GOAWAY
 * PROTOCOL_ERROR) and close every stream; nothing throws past this class.
 */
import { EventEmitter } from 'node:events';
import { Duplex } from 'node:stream';
import {
  declaredLength, decodeHeaderBlock, encodeControl, encodeData, encodeHeaderBlock, FLAG_FIN, FLAG_UNIDIRECTIONAL, FrameType,
  FRAME_HEADER_BYTES, GoAwayStatus, HeaderDeflater, HeaderInflater, readFrame, RstStatus, SpdyProtocolError, streamIdAt, u32,
  type Frame, type SpdyHeaders,
} from './spdy-frames.js';

/** Larger frames end the connection: spdystream writes stdin and port data in 32 KiB pieces. */
export const MAX_FRAME_BYTES = 1 << 20;
/** Control frames carry a few compressed headers; a larger one is an inflation bomb in the making. */
export const MAX_CONTROL_FRAME_BYTES = 64 * 1024;
/** Frames read ahead of their handling before the socket is paused. */
const MAX_QUEUED_FRAMES = 64;
/** Open streams per connection: an exec needs five, a port forward two per connection to the port. */
export const MAX_OPEN_STREAMS = 512;
/** Outgoing data is cut into frames of at most this size. */
const OUT_CHUNK = 32 * 1024;

/**
 * One SPDY stream as a Duplex: the readable side is the client's data
 * (ending at its FIN), the writable side sends data frames (ending sends
 * FIN). 'close' comes when both directions are done or the stream was
 * reset or the connection went.
 */
export class SpdyStream extends Duplex {
  private localDone = false;
  private remoteDone = false;

  constructor(readonly id: number, readonly headers: SpdyHeaders, private readonly conn: SpdyServerConnection) {
    super({ allowHalfOpen: true });
  }

  /** A header's value ('' when absent). */
  header(name: string): string {
    return this.headers.get(name.toLowerCase()) ?? '';
  }

  override _read(): void {
    this.conn.resumeInput();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    if (this.localDone) { cb(); return; }
    for (let off = 0; off < chunk.length; off += OUT_CHUNK) this.conn.send(encodeData(this.id, 0, chunk.subarray(off, off + OUT_CHUNK)));
    // The socket's own backpressure paces writers: wait for it to drain when it is full.
    this.conn.whenWritable(cb);
  }

  override _final(cb: (e?: Error | null) => void): void {
    this.finishLocal();
    cb();
  }

  override _destroy(err: Error | null, cb: (e?: Error | null) => void): void {
    if (!(this.localDone && this.remoteDone)) this.conn.reset(this.id, RstStatus.CANCEL);
    this.localDone = this.remoteDone = true;
    this.conn.forget(this.id);
    cb(err);
  }

  /** Sends FIN (once). */
  private finishLocal(): void {
    if (this.localDone) return;
    this.localDone = true;
    this.conn.send(encodeData(this.id, FLAG_FIN, Buffer.alloc(0)));
    this.settle();
  }

  /** Data from the client; false when the reader is full. */
  receive(data: Buffer, fin: boolean): boolean {
    if (this.remoteDone) return true;
    let more = true;
    if (data.length) more = this.push(data);
    if (fin) this.remoteEnded();
    return more;
  }

  remoteEnded(): void {
    if (this.remoteDone) return;
    this.remoteDone = true;
    this.push(null);
    this.settle();
  }

  /** The client is not going to send on this stream (unidirectional from our side). */
  markLocalDone(): void {
    this.localDone = true;
  }

  /** The client reset the stream, or the connection went. */
  abort(): void {
    this.localDone = this.remoteDone = true;
    this.destroy();
  }

  private settle(): void {
    if (this.localDone && this.remoteDone) {
      this.conn.forget(this.id);
      // Let the readable side's end reach its consumer before 'close'.
      setImmediate(() => this.destroy());
    }
  }
}

/**
 * Events: 'stream' (SpdyStream) for each stream the client opens;
 * 'close' once, when the connection is gone (streams are aborted first).
 */
export class SpdyServerConnection extends EventEmitter {
  private buf: Buffer = Buffer.alloc(0);
  private readonly streams = new Map<number, SpdyStream>();
  private readonly inflater = new HeaderInflater();
  /** Frames read but not yet handled, and whether the socket is paused until they are. */
  private queued = 0;
  private pausedForQueue = false;
  private readonly deflater = new HeaderDeflater();
  private lastStreamId = 0;
  private work: Promise<void> = Promise.resolve();
  private closed = false;
  private goneAway = false;

  constructor(private readonly socket: Duplex, early?: Buffer) {
    super();
    socket.on('data', (d: Buffer) => this.onData(d));
    socket.on('end', () => this.close());
    socket.on('error', () => this.close());
    socket.on('close', () => this.close());
    if (early?.length) this.onData(early);
  }

  get isClosed(): boolean { return this.closed; }

  send(frame: Buffer): void {
    if (!this.closed && this.socket.writable) this.socket.write(frame);
  }

  whenWritable(cb: () => void): void {
    const s = this.socket as Duplex & { writableNeedDrain?: boolean };
    if (this.closed || !s.writableNeedDrain) { cb(); return; }
    const done = () => { s.off('drain', done); s.off('close', done); cb(); };
    s.on('drain', done);
    s.on('close', done);
  }

  reset(id: number, status: number): void {
    this.send(encodeControl(FrameType.RST_STREAM, 0, Buffer.concat([u32(id), u32(status)])));
  }

  forget(id: number): void {
    this.streams.delete(id);
  }

  resumeInput(): void {
    if (!this.closed && !this.pausedForQueue) this.socket.resume();
  }

  /**
   * Ends the connection: the socket is half-closed after what was written,
   * and torn down once the client closes its side (or after `graceMs`):
   * closing at once could reset the connection before the client has read
   * the last frames.
   */
  end(graceMs = 10_000): void {
    if (this.closed) return;
    if (this.socket.writable) this.socket.end();
    const t = setTimeout(() => this.close(), graceMs);
    t.unref();
    this.socket.once('close', () => clearTimeout(t));
  }

  /** Drops the connection and every stream now. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.inflater.close();
    this.socket.destroy();
    for (const s of [...this.streams.values()]) s.abort();
    this.streams.clear();
    this.emit('close');
  }

  private fail(message: string): void {
    if (this.closed) return;
    this.emit('protocolError', message);
    this.send(encodeControl(FrameType.GOAWAY, 0, Buffer.concat([u32(this.lastStreamId), u32(GoAwayStatus.PROTOCOL_ERROR)])));
    this.end(1000);
    for (const s of [...this.streams.values()]) s.abort();
    this.goneAway = true;
  }

  private onData(d: Buffer): void {
    if (this.closed || this.goneAway) return;
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
    for (;;) {
      if (this.buf.length >= FRAME_HEADER_BYTES) {
        const limit = this.buf[0] & 0x80 ? MAX_CONTROL_FRAME_BYTES : MAX_FRAME_BYTES;
        if (declaredLength(this.buf) > limit) {
          this.fail(`frame of ${declaredLength(this.buf)} bytes is over the limit of ${limit}`);
          return;
        }
      }
      let next: { frame: Frame; size: number } | null;
      try {
        next = readFrame(this.buf);
      } catch (e) {
        this.fail((e as Error).message);
        return;
      }
      if (!next) return;
      this.buf = this.buf.subarray(next.size);
      const frame = next.frame;
      // Frames are handled in order; header blocks are inflated asynchronously, so everything queues.
      // A peer that floods frames faster than they are handled is read no further until the queue drains.
      if (++this.queued > MAX_QUEUED_FRAMES && !this.pausedForQueue) {
        this.pausedForQueue = true;
        this.socket.pause();
      }
      this.work = this.work.then(() => this.handle(frame)).catch((e) => this.fail(e instanceof SpdyProtocolError ? e.message : String(e))).finally(() => {
        if (--this.queued === 0 && this.pausedForQueue) {
          this.pausedForQueue = false;
          this.resumeInput();
        }
      });
    }
  }

  private async handle(f: Frame): Promise<void> {
    if (this.closed || this.goneAway) return;
    if (f.kind === 'data') {
      const s = this.streams.get(f.streamId);
      // Data for a stream that is gone (reset, finished) is dropped, as spdystream does.
      if (!s) return;
      if (!s.receive(f.data, (f.flags & FLAG_FIN) !== 0)) this.socket.pause();
      return;
    }
    switch (f.type) {
      case FrameType.SYN_STREAM: return this.synStream(f);
      case FrameType.HEADERS: {
        // Its headers mean nothing to these protocols, but the block must go through the shared inflater.
        streamIdAt(f.data);
        await this.inflater.inflate(f.data.subarray(4));
        if (f.flags & FLAG_FIN) this.streams.get(streamIdAt(f.data))?.remoteEnded();
        return;
      }
      case FrameType.SYN_REPLY: throw new SpdyProtocolError('SYN_REPLY from a client');
      case FrameType.RST_STREAM: {
        const s = this.streams.get(streamIdAt(f.data));
        s?.abort();
        return;
      }
      case FrameType.PING: {
        if (f.data.length !== 4) throw new SpdyProtocolError('PING frame of the wrong size');
        // Client-initiated pings (odd ids) are echoed; our own we never send.
        if (f.data.readUInt32BE(0) % 2 === 1) this.send(encodeControl(FrameType.PING, 0, f.data));
        return;
      }
      case FrameType.GOAWAY:
        this.goneAway = true;
        this.end();
        return;
      case FrameType.SETTINGS: case FrameType.WINDOW_UPDATE:
        return;
      default:
        // §2.2.1: unknown control frame types are ignored.
        return;
    }
  }

  private async synStream(f: Frame & { kind: 'control' }): Promise<void> {
    if (f.data.length < 10) throw new SpdyProtocolError('SYN_STREAM too short');
    const id = streamIdAt(f.data);
    const headers = decodeHeaderBlock(await this.inflater.inflate(f.data.subarray(10)));
    if (id === 0 || id % 2 === 0 || id <= this.lastStreamId) throw new SpdyProtocolError(`invalid stream id ${id}`);
    this.lastStreamId = id;
    if (this.streams.size >= MAX_OPEN_STREAMS) {
      this.reset(id, RstStatus.REFUSED_STREAM);
      return;
    }
    const s = new SpdyStream(id, headers, this);
    this.streams.set(id, s);
    s.on('error', () => undefined);
    this.send(encodeControl(FrameType.SYN_REPLY, 0, Buffer.concat([u32(id), this.deflater.compress(encodeHeaderBlock(new Map()))])));
    if (f.flags & FLAG_UNIDIRECTIONAL) s.markLocalDone();
    if (f.flags & FLAG_FIN) s.remoteEnded();
    this.emit('stream', s);
  }
}
