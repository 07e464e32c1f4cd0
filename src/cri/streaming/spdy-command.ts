/**
 * Exec and attach over SPDY, as k8s.io/client-go's remotecommand client
 * (crictl, critest, kubectl through kubelet) opens them: after the
 * upgrade the client opens one stream per channel, named by its
 * `streamType` header — `error` first, then `stdin`, `stdout`, `stderr`
 * (not with a tty) and, from v3 on with a tty, `resize` (JSON terminal
 * sizes). The server waits for the streams the request asked for, then
 * runs the command; at the end it closes the output streams, writes the
 * outcome on the error stream and closes the connection.
 */
import type { SpdyServerConnection, SpdyStream } from './spdy-connection.js';
import { encodeOutcome, type CommandOutcome } from './command-status.js';
import type { CommandIo } from './command-session.js';

/** The versions berth serves over SPDY, best first (kubelet 1.29 serves the same; v5 adds nothing over SPDY). */
export const SPDY_COMMAND_PROTOCOLS = ['v4.channel.k8s.io', 'v3.channel.k8s.io', 'v2.channel.k8s.io'];

/** kubelet's streamCreationTimeout: a client that opens no streams for this long is dropped. */
export const STREAM_CREATION_TIMEOUT_MS = 30_000;

export interface ExpectedStreams { stdin: boolean; stdout: boolean; stderr: boolean; tty: boolean }

function ended(s: SpdyStream): Promise<void> {
  return new Promise((resolve) => {
    if (s.destroyed || s.writableFinished) { resolve(); return; }
    s.end(() => resolve());
    s.once('close', () => resolve());
  });
}

/**
 * Waits for the client's streams and returns them as a CommandIo; null
 * (and the connection closed) when they do not all come in time or the
 * client goes first.
 */
export function spdyCommandIo(conn: SpdyServerConnection, protocol: string, want: ExpectedStreams): Promise<CommandIo | null> {
  const resizes = want.tty && protocol !== 'v2.channel.k8s.io';
  const names = ['error', ...(want.stdin ? ['stdin'] : []), ...(want.stdout ? ['stdout'] : []), ...(want.stderr && !want.tty ? ['stderr'] : []), ...(resizes ? ['resize'] : [])];
  const got = new Map<string, SpdyStream>();
  return new Promise((resolve) => {
    let settled = false;
    const timer = setTimeout(() => done(false), STREAM_CREATION_TIMEOUT_MS);
    timer.unref();
    const onStream = (s: SpdyStream) => {
      const type = s.header('streamType');
      // A stream of an unknown type, one not asked for, or a second of a kind is refused.
      if (!names.includes(type) || got.has(type)) { s.destroy(); return; }
      got.set(type, s);
      if (got.size === names.length) done(true);
    };
    const onClose = () => done(false);
    conn.on('stream', onStream);
    conn.once('close', onClose);
    function done(ok: boolean): void {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      conn.off('close', onClose);
      // Streams the client opens later are refused.
      conn.off('stream', onStream);
      conn.on('stream', (s: SpdyStream) => s.destroy());
      if (!ok) { conn.close(); resolve(null); return; }
      resolve(makeIo(conn, protocol, got));
    }
  });
}

function makeIo(conn: SpdyServerConnection, protocol: string, got: Map<string, SpdyStream>): CommandIo {
  const error = got.get('error')!;
  // The client writes nothing on its error stream but may half-close it; its reading side must still flow.
  error.resume();
  let finished = false;
  return {
    stdin: got.get('stdin') ?? null,
    stdout: got.get('stdout') ?? null,
    stderr: got.get('stderr') ?? null,
    resize: got.get('resize') ?? null,
    async finish(outcome: CommandOutcome) {
      if (finished) return;
      finished = true;
      const outs = [got.get('stdout'), got.get('stderr')].filter((s): s is SpdyStream => !!s);
      await Promise.all(outs.map(ended));
      const status = encodeOutcome(outcome, protocol);
      if (status.length && !error.destroyed) error.write(status);
      await ended(error);
      conn.end();
    },
    onGone(cb) {
      conn.once('close', () => { if (!finished) cb(); });
    },
  };
}
