/**
 * Docker's multiplexed stream (`pkg/stdcopy`): non-tty attach, exec and logs
 * output arrive as frames `[stream, 0, 0, 0, size uint32 BE] + payload`,
 * stream 1 stdout, 2 stderr, 3 a daemon-side error (`systemerr`) that ends the
 * copy with that message. Tty streams are raw bytes and skip this.
 */
import type { Writable } from 'node:stream';

export const STDIN = 0;
export const STDOUT = 1;
export const STDERR = 2;
export const SYSTEMERR = 3;

const HEADER = 8;

export interface Frame {
  stream: number;
  payload: Buffer;
}

/** Incremental frame parser: feed chunks as they arrive, get whole frames back. */
export class StdcopyDemuxer {
  private buf: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Frame[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const frames: Frame[] = [];
    while (this.buf.length >= HEADER) {
      const stream = this.buf[0];
      if (stream > SYSTEMERR) throw new Error(`Unrecognized input header: ${stream}`);
      const size = this.buf.readUInt32BE(4);
      if (this.buf.length < HEADER + size) break;
      frames.push({ stream, payload: this.buf.subarray(HEADER, HEADER + size) });
      this.buf = this.buf.subarray(HEADER + size);
    }
    return frames;
  }

  /** Bytes of an incomplete frame left at the end of the stream. */
  get pending(): number {
    return this.buf.length;
  }
}

/** Encodes one frame (used by tests and fakes). */
export function encodeFrame(stream: number, payload: Buffer | string): Buffer {
  const p = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const h = Buffer.alloc(HEADER);
  h[0] = stream;
  h.writeUInt32BE(p.length, 4);
  return Buffer.concat([h, p]);
}

/**
 * Routes one frame to stdout/stderr, as writeFrames does a chunk's; stream
 * 3 becomes an Error. The caller that cares for backpressure uses writeFrames.
 */
export function writeFrame(frame: Frame, out: Writable, err: Writable): Error | undefined {
  return writeFrames([frame], out, err).error;
}

/** What writing a chunk's frames gave: the daemon's error (stream 3) if one came, and the outputs that asked to wait. */
export interface FramesWritten { error?: Error; full: Writable[] }

/**
 * Writes a chunk's frames to stdout/stderr, consecutive frames of one stream
 * as one write: a log of short lines arrives as thousands of frames per
 * chunk, and a write per frame costs more than the bytes it carries. The
 * caller waits for 'drain' on the outputs in `full`.
 */
export function writeFrames(frames: readonly Frame[], out: Writable, err: Writable): FramesWritten {
  const full = new Set<Writable>();
  let target: Writable | undefined;
  let parts: Buffer[] = [];
  const flush = () => {
    if (target && parts.length && !target.write(parts.length === 1 ? parts[0] : Buffer.concat(parts))) full.add(target);
    parts = [];
  };
  for (const frame of frames) {
    if (frame.stream === SYSTEMERR) {
      flush();
      return { error: new Error(frame.payload.toString('utf8')), full: [...full] };
    }
    const to = frame.stream === STDERR ? err : out;
    if (to !== target) {
      flush();
      target = to;
    }
    parts.push(frame.payload);
  }
  flush();
  return { full: [...full] };
}
