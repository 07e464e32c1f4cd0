/**
 * PortForward over WebSocket, as kubelet's streaming server serves it
 * (k8s.io/kubelet/pkg/cri/streaming/portforward, websocket.go): the
 * channel framing of websocket-channels.ts with `v4.channel.k8s.io`,
 * `v4.base64.channel.k8s.io` or no subprotocol (binary). Each port of
 * the request gets two channels, data (2i) and error (2i+1), and one
 * connection to the port; the first message on each channel is the port,
 * a little-endian uint16. The client's messages on a data channel go to
 * the port, the port's bytes come back on it, a failure is text on the
 * error channel. When every port's connection is over, the WebSocket is
 * closed (1000); the client closing it ends them all.
 *
 * The ports are the PortForward request's, or, as kubelet's own
 * `/portForward` endpoint takes them, the URL's `?port=` values (each a
 * comma-separated list), which must then be among the request's (when it
 * named any). Bad values are refused with kubelet's messages (400).
 */
import type { ChildProcess } from 'node:child_process';
import type { IncomingMessage } from 'node:http';
import { Duplex, Writable } from 'node:stream';
import { InvalidParameterError } from '../../errors.js';
import { forwardPort, type PortForwardTarget } from './portforward.js';
import { acceptChannelWebSocket, type ChannelConnection } from './websocket-channels.js';

/** kubelet's: binary first; '' (no subprotocol asked for) is binary too. */
export const WEBSOCKET_PORT_FORWARD_PROTOCOLS = ['v4.channel.k8s.io', 'v4.base64.channel.k8s.io'];

const DATA_CHANNEL = 0;
const ERROR_CHANNEL = 1;
/** Ports per connection: two channels each, and a channel is one byte (or one digit past '0' in base64). */
const MAX_PORTS = 64;

/** Go's strconv.Quote, near enough for the messages below (ASCII escapes). */
function quote(s: string): string {
  return JSON.stringify(s.length > 100 ? `${s.slice(0, 100)}…` : s);
}

/** strconv.ParseUint(s, 10, 16) with Go's error text. */
function parsePort(s: string): number {
  if (!/^\d+$/.test(s)) throw new Error(`strconv.ParseUint: parsing ${quote(s)}: invalid syntax`);
  const n = Number(s.replace(/^0+(?=\d)/, '').slice(0, 7));
  if (s.replace(/^0+/, '').length > 5 || n > 65535) throw new Error(`strconv.ParseUint: parsing ${quote(s)}: value out of range`);
  return n;
}

/**
 * The ports to forward: the URL's `port` query values, checked as
 * kubelet's NewV4Options checks them, else the request's.
 */
export function websocketPorts(url: string, target: PortForwardTarget): number[] {
  const query = new URL(url, 'http://streaming').searchParams.getAll('port');
  if (query.length === 0) {
    if (target.ports.length === 0) throw new InvalidParameterError('query parameter "port" is required');
    return target.ports;
  }
  const ports: number[] = [];
  for (const value of query) {
    if (value.length === 0) throw new InvalidParameterError('query parameter "port" cannot be empty');
    for (const p of value.split(',')) {
      let port: number;
      try {
        port = parsePort(p);
      } catch (e) {
        throw new InvalidParameterError(`unable to parse ${quote(value)} as a port: ${(e as Error).message}`);
      }
      if (port < 1) throw new InvalidParameterError(`port ${quote(value)} must be > 0`);
      if (target.ports.length && !target.ports.includes(port)) {
        throw new InvalidParameterError(`port ${port} was not asked for in the PortForward request of pod ${target.podId}`);
      }
      ports.push(port);
    }
  }
  if (ports.length > MAX_PORTS) throw new InvalidParameterError(`at most ${MAX_PORTS} ports may be forwarded over one connection`);
  return ports;
}

/** One port's data channel as a stream: what the client sends is read from it, what is written to it goes to the client. */
class DataChannel extends Duplex {
  private over = false;

  constructor(private readonly conn: ChannelConnection, private readonly channel: number) {
    super({ allowHalfOpen: true });
  }

  override _read(): void {
    this.conn.resumeInput();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    this.conn.send(this.channel, chunk);
    this.conn.whenWritable(() => cb());
  }

  /** A message from the client; a full reader pauses the socket (every port's, as one TCP connection carries them). */
  deliver(data: Buffer): void {
    if (!this.over && data.length && !this.push(data)) this.conn.pauseInput();
  }

  /** The port's connection is over: what the client still sends on this channel is dropped, never buffered. */
  finish(): void {
    if (this.over) return;
    this.over = true;
    this.push(null);
    this.conn.resumeInput();
  }
}

/**
 * Answers the handshake with `protocol` ('' for none) and forwards `ports`.
 * Throws (before writing anything) when the handshake is not a valid
 * WebSocket one.
 */
export function serveWebSocketPortForward(
  req: IncomingMessage, socket: Duplex, head: Buffer, protocol: string, ports: number[], target: PortForwardTarget, log: (msg: string) => void,
): void {
  const helpers = new Set<ChildProcess>();
  const data: DataChannel[] = [];
  const conn = acceptChannelWebSocket(req, socket, head, protocol, {
    message(channel, bytes) {
      // Only data channels take input; kubelet ignores the rest too.
      if (channel % 2 === DATA_CHANNEL) data[channel / 2]?.deliver(bytes);
    },
    gone() {
      for (const d of data) d.destroy();
      // The client is gone: no helper outlives its connection.
      for (const h of helpers) h.kill('SIGKILL');
    },
  });
  const forwards = ports.map((port, i) => {
    const portBytes = Buffer.alloc(2);
    portBytes.writeUInt16LE(port);
    const d = new DataChannel(conn, 2 * i + DATA_CHANNEL);
    d.on('error', () => undefined);
    data.push(d);
    const errorChannel = 2 * i + ERROR_CHANNEL;
    const error = new Writable({ write(chunk: Buffer, _enc, cb) { conn.send(errorChannel, chunk); cb(); } });
    conn.send(2 * i + DATA_CHANNEL, portBytes);
    conn.send(errorChannel, portBytes);
    return forwardPort(target, port, d, error, helpers, log).then(() => d.finish());
  });
  void Promise.all(forwards).then(() => { if (!conn.closed) conn.close(1000); });
}
