/**
 * The CRI streaming server: the URLs that Exec, Attach and PortForward
 * return, as kubelet's streaming server (k8s.io/kubelet/pkg/cri/streaming)
 * serves them. Plain HTTP on loopback by default (`--cri-stream-address`,
 * port 0: any free one); each URL is `/<exec|attach|portforward>/<token>`
 * with a one-time token that names the request the RPC checked, valid
 * for one minute (kubelet's cache TTL), at most MAX_IN_FLIGHT at a time.
 *
 * A token's holder upgrades the connection to SPDY/3.1 (crictl, critest,
 * kubectl through kubelet) with the channel.k8s.io protocols for exec and
 * attach or portforward.k8s.io, the protocol picked from the client's
 * `X-Stream-Protocol-Version` list as kubelet's Handshake does; or to
 * WebSocket with a channel.k8s.io subprotocol: client-go's WebSocket
 * executor for exec and attach, kubelet's v4 channels for port
 * forwarding (websocket-portforward.ts).
 *
 * Hostile input: unknown, used or expired tokens are 404, a request that
 * does not upgrade is 400, one without a common protocol 403; framing
 * errors end that connection only; a client that vanishes takes its exec
 * process and port helpers with it (command-session.ts, portforward.ts).
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import grpc from '@grpc/grpc-js';
import type { Engine } from '../../engine/engine.js';
import { errorMessage, InvalidParameterError } from '../../errors.js';
import { CriError } from '../errors.js';
import { runAttach, runExec, type AttachSpec, type ExecSpec } from './command-session.js';
import { SpdyServerConnection } from './spdy-connection.js';
import { spdyCommandIo, SPDY_COMMAND_PROTOCOLS } from './spdy-command.js';
import { PORT_FORWARD_PROTOCOL, servePortForward, type PortForwardTarget } from './portforward.js';
import { isWebSocketRequest, websocketCommandIo, websocketProtocols, WEBSOCKET_COMMAND_PROTOCOLS } from './websocket-command.js';
import { serveWebSocketPortForward, websocketPorts, WEBSOCKET_PORT_FORWARD_PROTOCOLS } from './websocket-portforward.js';

/** kubelet's streaming cache: a token is good for a minute, and at most 1000 wait at once. */
export const TOKEN_TTL_MS = 60_000;
export const MAX_IN_FLIGHT = 1000;

export type StreamRequest =
  | { kind: 'exec'; spec: ExecSpec }
  | { kind: 'attach'; spec: AttachSpec }
  | { kind: 'portforward'; target: PortForwardTarget };

const PATH = /^\/(exec|attach|portforward)\/([A-Za-z0-9_-]{1,128})$/;

/** A plain HTTP answer on a socket that asked to upgrade (Node gives no ServerResponse there). */
function answer(socket: Duplex, status: number, text: string, headers: Record<string, string> = {}): void {
  const body = Buffer.from(`${text}\n`);
  const head = [
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? ''}`, 'Content-Type: text/plain; charset=utf-8', `Content-Length: ${body.length}`,
    'Connection: close', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
  ].join('\r\n');
  if (socket.writable) socket.end(Buffer.concat([Buffer.from(`${head}\r\n\r\n`), body]));
}

/** The client's protocols: every X-Stream-Protocol-Version header, each a comma-separated list. */
function clientProtocols(req: http.IncomingMessage): string[] {
  const out: string[] = [];
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    if (req.rawHeaders[i].toLowerCase() !== 'x-stream-protocol-version') continue;
    for (const p of req.rawHeaders[i + 1].split(',')) if (p.trim()) out.push(p.trim());
  }
  return out;
}

export class StreamingServer {
  private readonly pending = new Map<string, { req: StreamRequest; expires: number }>();
  private readonly server: http.Server;
  private base = '';
  private readonly sockets = new Set<Duplex>();

  constructor(private readonly engine: Engine, private readonly log: (msg: string) => void) {
    this.server = http.createServer((req, res) => this.plain(req, res));
    this.server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
      socket.on('error', () => undefined);
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
      try {
        this.upgrade(req, socket, head);
      } catch (e) {
        this.log(`cri streaming: ${errorMessage(e)}`);
        answer(socket, 500, errorMessage(e));
      }
    });
    this.server.on('clientError', (_e, socket: Duplex) => { if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n'); });
  }

  /** Listens on `address` (`host:port`, `[v6]:port`); the URLs name the address actually bound. */
  async listen(address: string): Promise<void> {
    const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(address);
    if (!m || Number(m[3]) > 65535) throw new InvalidParameterError(`invalid CRI streaming address "${address}": want host:port`);
    const host = m[1] ?? m[2];
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(Number(m[3]), host, () => { this.server.off('error', reject); resolve(); });
    });
    const a = this.server.address() as AddressInfo;
    this.base = `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
  }

  /** The URL for a request the RPC has checked; the token in it works once, for TOKEN_TTL_MS. */
  register(req: StreamRequest): string {
    const now = Date.now();
    for (const [t, p] of this.pending) if (p.expires <= now) this.pending.delete(t);
    if (this.pending.size >= MAX_IN_FLIGHT) throw new CriError(grpc.status.RESOURCE_EXHAUSTED, 'maximum number of in-flight requests exceeded');
    const token = randomBytes(24).toString('base64url');
    this.pending.set(token, { req, expires: now + TOKEN_TTL_MS });
    return `${this.base}/${req.kind}/${token}`;
  }

  /** Takes the request a path's token names (once); null when unknown, used, expired or of another kind. */
  private take(url: string | undefined): StreamRequest | null {
    const m = PATH.exec((url ?? '').split('?')[0]);
    if (!m) return null;
    const p = this.pending.get(m[2]);
    if (!p) return null;
    this.pending.delete(m[2]);
    if (p.expires <= Date.now() || p.req.kind !== m[1]) return null;
    return p.req;
  }

  private plain(req: http.IncomingMessage, res: http.ServerResponse): void {
    req.resume();
    const r = this.take(req.url);
    res.writeHead(r ? 400 : 404, { 'Content-Type': 'text/plain; charset=utf-8' });
    res.end(r ? 'unable to upgrade: missing upgrade headers in request\n' : 'Not Found\n');
  }

  private upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    const r = this.take(req.url);
    if (!r) { answer(socket, 404, 'Not Found'); return; }
    if (isWebSocketRequest(req)) { this.websocket(req, socket, head, r); return; }
    const upgrade = String(req.headers.upgrade ?? '').toLowerCase();
    if (!upgrade.split(',').map((s) => s.trim()).includes('spdy/3.1')) {
      answer(socket, 400, `unable to upgrade: the protocol "${upgrade.slice(0, 40)}" is not supported; use SPDY/3.1`);
      return;
    }
    const server = r.kind === 'portforward' ? [PORT_FORWARD_PROTOCOL] : SPDY_COMMAND_PROTOCOLS;
    const client = clientProtocols(req);
    const protocol = client.find((p) => server.includes(p));
    if (!protocol) {
      answer(socket, 403, `unable to upgrade: unable to negotiate protocol: client supports [${client.join(' ')}], server accepts [${server.join(' ')}]`,
        { 'X-Accepted-Stream-Protocol-Versions': server.join(', ') });
      return;
    }
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: ${protocol}\r\n\r\n`);
    const conn = new SpdyServerConnection(socket, head);
    conn.on('protocolError', (msg: string) => this.log(`cri streaming: ${r.kind}: SPDY: ${msg}`));
    if (r.kind === 'portforward') {
      servePortForward(conn, r.target, this.log);
      return;
    }
    const spec = r.spec;
    void spdyCommandIo(conn, protocol, spec).then(async (io) => {
      if (!io) return;
      if (r.kind === 'exec') await runExec(this.engine, r.spec, io);
      else await runAttach(this.engine, r.spec, io);
    }).catch((e) => {
      this.log(`cri streaming: ${r.kind}: ${errorMessage(e)}`);
      conn.close();
    });
  }

  /** Exec, attach and port forwarding over WebSocket (channel.k8s.io). */
  private websocket(req: http.IncomingMessage, socket: Duplex, head: Buffer, r: StreamRequest): void {
    if (r.kind === 'portforward') { this.websocketPortForward(req, socket, head, r.target); return; }
    const asked = websocketProtocols(req);
    // wsstream's rule: no protocol asked for is the original binary channel protocol.
    const protocol = asked.length ? asked.find((p) => WEBSOCKET_COMMAND_PROTOCOLS.includes(p)) : 'channel.k8s.io';
    if (!protocol) {
      answer(socket, 400, `unable to upgrade: none of the WebSocket protocols [${asked.join(' ').slice(0, 200)}] is supported: want one of [${WEBSOCKET_COMMAND_PROTOCOLS.join(' ')}]`);
      return;
    }
    let io;
    try {
      io = websocketCommandIo(req, socket, head, protocol, r.spec);
    } catch (e) {
      answer(socket, 400, errorMessage(e));
      return;
    }
    const run = r.kind === 'exec' ? runExec(this.engine, r.spec, io) : runAttach(this.engine, r.spec, io);
    run.catch((e) => { this.log(`cri streaming: ${r.kind}: ${errorMessage(e)}`); socket.destroy(); });
  }

  private websocketPortForward(req: http.IncomingMessage, socket: Duplex, head: Buffer, target: PortForwardTarget): void {
    let ports: number[];
    try {
      ports = websocketPorts(req.url ?? '', target);
    } catch (e) {
      answer(socket, 400, errorMessage(e));
      return;
    }
    const asked = websocketProtocols(req);
    // wsstream's rule: no protocol asked for is binary framing, answered without a protocol.
    const protocol = asked.length ? asked.find((p) => WEBSOCKET_PORT_FORWARD_PROTOCOLS.includes(p)) : '';
    if (protocol === undefined) {
      answer(socket, 400, `unable to upgrade: none of the WebSocket protocols [${asked.join(' ').slice(0, 200)}] is supported: want one of [${WEBSOCKET_PORT_FORWARD_PROTOCOLS.join(' ')}]`);
      return;
    }
    try {
      serveWebSocketPortForward(req, socket, head, protocol, ports, target, this.log);
    } catch (e) {
      answer(socket, 400, errorMessage(e));
    }
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    this.pending.clear();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }
}
