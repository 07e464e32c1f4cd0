/**
 * Lingering close: the answer to a request whose body was not read (a 413,
 * an early 400 or 404, a request line or header the parser refused) is
 * written, and then the connection stays open for reading a little longer
 * before it closes.
 *
 * Why: a client still sending its body when berthd closes has its writes
 * fail (EPIPE, a reset), and most clients then drop the answer that is
 * already waiting for them: it looks like a connection closed without a
 * response. Go's server (dockerd's) reads and discards up to 256 KiB of an
 * unread body before it closes for the same reason; Apache and nginx call
 * it a lingering close. Reading is bounded by time, so a client that never
 * stops sending costs a few seconds, not a connection for ever.
 */
import type { Socket } from 'node:net';

const LINGER_MS = 2_000;

/**
 * Ends the write side once the answer is flushed, keeps reading (and
 * discarding) until the client ends its side or LINGER_MS pass, then
 * destroys the socket.
 */
const lingering = new WeakSet<Socket>();

/** Whether the socket is already closing lingering (its answer written). */
export function isLingering(socket: Socket): boolean {
  return lingering.has(socket);
}

export function lingeringClose(socket: Socket): void {
  if (socket.destroyed || lingering.has(socket)) return;
  lingering.add(socket);
  // Never before the answer is flushed (destroy() drops writes still queued), unless time is up.
  const closeWhenFlushed = () => { if (socket.writableFinished) socket.destroy(); else socket.once('finish', () => socket.destroy()); };
  const timer = setTimeout(() => socket.destroy(), LINGER_MS);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
  // Whatever still comes is read and dropped: with no reader the client would block and fail its write.
  socket.on('data', () => undefined);
  socket.resume();
  if (socket.readableEnded) closeWhenFlushed();
  else socket.once('end', closeWhenFlushed);
  if (socket.writable) socket.end();
}

/**
 * Makes `socket.destroySoon` (what Node's HTTP server calls to close a
 * connection after its last answer) a lingering close when the client may
 * still be sending.
 */
export function lingerOnClose(socket: Socket): void {
  socket.destroySoon = () => lingeringClose(socket);
}
