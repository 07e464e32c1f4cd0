/**
 * A client of conmon's attach socket (`<dir>/attach`, SOCK_SEQPACKET).
 *
 * Each packet from conmon is one byte naming the stream (2 stdout, 3 stderr)
 * followed by up to 8 KiB of output; a client sees only output produced after
 * it connected (history comes from the log file). What a client sends is raw
 * stdin for the container; half-closing the socket closes the container's
 * stdin (conmon `-i`). Node's `net` cannot speak SOCK_SEQPACKET, hence
 * node-unix-socket.
 */
import { EventEmitter } from 'node:events';
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import type { SeqpacketSocket } from 'node-unix-socket';
import { SystemError } from '../errors.js';

/** conmon's stream ids on the attach socket (`src/utils.h`). */
const CONMON_STDOUT = 2;
const CONMON_STDERR = 3;
/** conmon reads stdin packets into a 32 KiB buffer; bigger ones would be cut. */
const MAX_STDIN_PACKET = 32 * 1024;
/** Above this many unsent stdin bytes `writeStdin` returns false until 'drain'. */
const STDIN_HIGH_WATER = 256 * 1024;
/** Longest path a client can put in sockaddr_un.sun_path. */
const SUN_PATH_MAX = 107;

/**
 * Events: `'output'` (stream: 1 stdout | 2 stderr, chunk: Buffer); `'drain'`
 * when buffered stdin fell below the high-water mark; `'close'` once, when
 * conmon closed the connection (the container's output ended) or after `close()`.
 */
export interface AttachStream extends EventEmitter {
  /** Queues stdin bytes; false means "buffer is full, wait for 'drain'" (bytes are still sent). */
  writeStdin(chunk: Buffer): boolean;
  /** Half-closes: the container sees EOF on stdin once queued bytes are sent. */
  closeStdin(): void;
  /** Drops the connection; the container keeps running. */
  close(): void;
}

class ConmonAttachStream extends EventEmitter implements AttachStream {
  private pendingBytes = 0;
  private needDrain = false;
  private closed = false;
  private stdinClosed = false;

  constructor(private readonly socket: SeqpacketSocket) {
    super();
    socket.on('data', (packet: Buffer) => {
      if (this.closed || packet.length < 2) return;
      const id = packet[0];
      if (id === CONMON_STDOUT) this.emit('output', 1, packet.subarray(1));
      else if (id === CONMON_STDERR) this.emit('output', 2, packet.subarray(1));
    });
    // 'end' = conmon shut its side: the container's output is over.
    socket.on('end', () => this.finish());
    socket.on('close', () => this.finish());
    socket.on('error', () => this.finish());
  }

  writeStdin(chunk: Buffer): boolean {
    if (this.closed || this.stdinClosed) return false;
    for (let off = 0; off < chunk.length; off += MAX_STDIN_PACKET) {
      const piece = chunk.subarray(off, Math.min(chunk.length, off + MAX_STDIN_PACKET));
      this.pendingBytes += piece.length;
      try {
        this.socket.write(piece, 0, piece.length, () => this.written(piece.length));
      } catch {
        this.finish(); // socket already gone
        return false;
      }
    }
    if (this.pendingBytes > STDIN_HIGH_WATER) this.needDrain = true;
    return !this.needDrain;
  }

  closeStdin(): void {
    if (this.closed || this.stdinClosed) return;
    this.stdinClosed = true;
    try {
      this.socket.end();
    } catch {
      this.finish();
    }
  }

  close(): void {
    this.finish();
  }

  private written(n: number): void {
    this.pendingBytes -= n;
    if (this.needDrain && this.pendingBytes <= STDIN_HIGH_WATER / 2) {
      this.needDrain = false;
      this.emit('drain');
    }
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    // Never from inside the socket's own callbacks: node-unix-socket's receive loop panics (and
    // aborts berthd) when the socket it is delivering packets of is destroyed under it, as a
    // listener of 'output' that detaches does (api/attach-output.ts). Packets still delivered
    // until then are dropped above.
    setImmediate(() => this.socket.destroy());
    this.emit('close');
  }
}

let seqpacketModule: Promise<typeof import('node-unix-socket')> | undefined;

/** node-unix-socket, loaded by the first attach: its native addon is ~2.5 MB of an idle berthd's RSS. */
async function seqpacketSocket(): Promise<typeof SeqpacketSocket> {
  seqpacketModule ??= import('node-unix-socket');
  return (await seqpacketModule).SeqpacketSocket;
}

/**
 * Connects to `<dir>/attach` (a container bundle or an exec session dir).
 * Resolves once connected; output produced from then on is delivered.
 */
export async function attachContainer(dir: string): Promise<AttachStream> {
  const Seqpacket = await seqpacketSocket();
  let path = join(dir, 'attach');
  let dirFd: number | null = null;
  if (Buffer.byteLength(path) > SUN_PATH_MAX) {
    // Too long for sun_path: go through the directory's fd as conmon itself does.
    dirFd = openSync(dir, 'r');
    path = `/proc/self/fd/${dirFd}/attach`;
  }
  const socket = new Seqpacket();
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      try {
        socket.connect(path, () => {
          socket.off('error', reject);
          resolve();
        });
      } catch (e) {
        reject(e);
      }
    });
  } catch (e) {
    socket.destroy();
    throw new SystemError(`attach to ${dir}: ${(e as Error).message}`, { cause: e });
  } finally {
    if (dirFd !== null) closeSync(dirFd);
  }
  return new ConmonAttachStream(socket);
}
