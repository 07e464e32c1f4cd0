/**
 * Exec and attach over WebSocket, the channel.k8s.io protocols of
 * k8s.io/apimachinery's wsstream and client-go's WebSocket executor, on
 * the framing of websocket-channels.ts: channels 0 stdin, 1 stdout,
 * 2 stderr, 3 error, 4 resize. v5 adds a close signal: a message
 * `255, channel` ends that channel's input (stdin's EOF). The server ends
 * with the outcome on the error channel and a normal close (1000), which
 * clients read as the end of every stream.
 */
import { PassThrough, Writable, type Duplex } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import { encodeOutcome, type CommandOutcome } from './command-status.js';
import type { CommandIo } from './command-session.js';
import type { ExpectedStreams } from './spdy-command.js';
import { acceptChannelWebSocket } from './websocket-channels.js';

export { isWebSocketRequest, websocketProtocols } from './websocket-channels.js';

/** Binary versions first, then base64, newest first within each. */
export const WEBSOCKET_COMMAND_PROTOCOLS = [
  'v5.channel.k8s.io', 'v4.channel.k8s.io', 'v3.channel.k8s.io', 'v2.channel.k8s.io', 'channel.k8s.io',
  'v4.base64.channel.k8s.io', 'base64.channel.k8s.io',
];

const CH_STDIN = 0; const CH_STDOUT = 1; const CH_STDERR = 2; const CH_ERROR = 3; const CH_RESIZE = 4;
const CLOSE_SIGNAL = 255;

/**
 * Answers the handshake with `protocol` and serves the channels the
 * request asked for. Throws (before writing anything) when the handshake
 * is not a valid WebSocket one.
 */
export function websocketCommandIo(req: IncomingMessage, socket: Duplex, head: Buffer, protocol: string, want: ExpectedStreams): CommandIo {
  let finished = false;
  const goneCallbacks: Array<() => void> = [];
  const input = (on: boolean) => (on ? new PassThrough() : null);
  const stdin = input(want.stdin);
  const resize = input(want.tty);
  const conn = acceptChannelWebSocket(req, socket, head, protocol, {
    message(channel, data) {
      if (channel === CLOSE_SIGNAL && data.length >= 1) {
        if (data[0] === CH_STDIN) stdin?.end();
        else if (data[0] === CH_RESIZE) resize?.end();
        return;
      }
      if (channel === CH_STDIN && stdin && !stdin.writableEnded) stdin.write(data);
      else if (channel === CH_RESIZE && resize && !resize.writableEnded) resize.write(data);
    },
    gone() {
      stdin?.end();
      resize?.end();
      if (finished) return;
      finished = true;
      for (const cb of goneCallbacks) cb();
    },
  });
  const output = (channel: number, on: boolean) => {
    if (!on) return null;
    // Sent as written, synchronously, so nothing is left behind when the outcome follows.
    return new Writable({ write(chunk: Buffer, _enc, cb) { conn.send(channel, chunk); cb(); } });
  };
  const stdout = output(CH_STDOUT, want.stdout);
  const stderr = output(CH_STDERR, want.stderr && !want.tty);

  return {
    stdin, stdout, stderr, resize,
    async finish(outcome: CommandOutcome) {
      if (finished) return;
      await new Promise((resolve) => setImmediate(resolve));
      if (finished) return;
      finished = true;
      const status = encodeOutcome(outcome, protocol);
      if (status.length) conn.send(CH_ERROR, status);
      conn.close(1000);
    },
    onGone(cb) { goneCallbacks.push(cb); },
  };
}
