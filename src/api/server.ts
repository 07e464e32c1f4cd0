/**
 * The HTTP side of berthd: version prefixes and negotiation, error mapping,
 * and the hijacked connections (`Upgrade: tcp`) that attach and exec use.
 */
import { performance } from 'node:perf_hooks';
import { TRACING, wallClock } from '../trace.js';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { InvalidParameterError, NotFoundError, errorMessage } from '../errors.js';
import { statusFromError } from './status.js';
import { isLingering, lingerOnClose, lingeringClose } from './linger.js';
import { wasUpgraded } from './hijack.js';
import { API_VERSION, COMMON_HEADERS, MIN_API_VERSION, sendJson, versionAtLeast, type RequestContext } from './context.js';
import { Router } from './router.js';
import type { Engine } from '../engine/engine.js';
import { registerSystemRoutes } from './system.js';
import { registerContainerRoutes } from './containers.js';
import { registerExecRoutes } from './exec.js';
import { registerImageRoutes } from './images.js';
import { registerVolumeRoutes } from './volumes.js';
import { registerFaultRoutes } from './faults.js';
import { registerKubeRoutes } from './kube.js';
import { registerNetworkRoutes } from './networks.js';
import { registerSwarmRoutes } from './swarm.js';
import { registerCheckpointRoutes } from './checkpoints.js';

export interface ServerOptions { debug?: boolean }

/** The most header bytes a request may carry (Go's http.DefaultMaxHeaderBytes); more is a 431. */
export const MAX_HEADER_BYTES = 1 << 20;

/** A request target whose path `new URL` would return unchanged: no dot segment, nothing it percent-encodes, not `//host`. */
const PLAIN_PATH = /^\/(?!\/)[A-Za-z0-9\-._~!$&'()*+,;=:@/]*$/;
const DOT_SEGMENT = /\/\.\.?(?:\/|$)/;
/** A query of printable ASCII but `#`, not starting with `?` (URLSearchParams would drop that one, URL would not). */
const PLAIN_QUERY = /^(?!\?)[\x21-\x22\x24-\x7e]*$/;

/**
 * The path and query of a request target as `new URL(target, base)` gives
 * them. `new URL` costs ~15 µs a request under load, most of a ping's own
 * work, and 600 lists read in one turn pay it 600 times; the common target
 * (a plain path, a plain query) is split by hand, anything else still goes
 * through URL's normalisation.
 */
function parseTarget(url: string): { pathname: string; searchParams: URLSearchParams } {
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const query = q < 0 ? '' : url.slice(q + 1);
  if (PLAIN_PATH.test(path) && !DOT_SEGMENT.test(path) && PLAIN_QUERY.test(query)) {
    return { pathname: path, searchParams: new URLSearchParams(query) };
  }
  return new URL(url, 'http://berth');
}

function splitVersion(url: string): { version: string; path: string; query: URLSearchParams } {
  const u = parseTarget(url);
  let path = u.pathname;
  let version = API_VERSION;
  const m = /^\/v(\d+\.\d+)(\/.*)$/.exec(path);
  if (m) {
    version = m[1];
    path = m[2];
    if (!versionAtLeast(API_VERSION, version)) {
      throw new InvalidParameterError(`client version ${version} is too new. Maximum supported API version is ${API_VERSION}`);
    }
    if (!versionAtLeast(version, MIN_API_VERSION)) {
      throw new InvalidParameterError(`client version ${version} is too old. Minimum supported API version is ${MIN_API_VERSION}, please upgrade your client to a newer version`);
    }
  }
  return { version, path, query: u.searchParams };
}

export function buildRouter(engine: Engine): Router {
  const r = new Router();
  registerSystemRoutes(r, engine);
  // Before the containers': their `DELETE /containers/:id*` (a link is <parent>/<alias>) would take /containers/{id}/faults.
  registerFaultRoutes(r, engine);
  registerKubeRoutes(r, engine);
  // Before the container routes: their `DELETE /containers/:id*` would take a checkpoint's path.
  registerCheckpointRoutes(r, engine);
  registerContainerRoutes(r, engine);
  registerExecRoutes(r, engine);
  registerImageRoutes(r, engine);
  registerVolumeRoutes(r, engine);
  registerNetworkRoutes(r, engine);
  registerSwarmRoutes(r);
  return r;
}

/** Writes an error on a hijacked socket before the 101 was sent. */
function hijackError(socket: Duplex, err: unknown): void {
  const status = statusFromError(err);
  const body = JSON.stringify({ message: errorMessage(err) }) + '\n';
  socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? 'Error'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nApi-Version: ${API_VERSION}\r\n\r\n${body}`);
}

/**
 * True when the client went away before its answer was complete: nothing
 * more can reach it, and whatever failed because of that (a cut upload, a
 * write to a closed socket) is the client's doing, not berthd's.
 */
function clientGone(req: IncomingMessage, res: ServerResponse): boolean {
  return !res.writableFinished && (res.destroyed || (req.socket?.destroyed ?? true));
}

/**
 * Every request's failure stays that request's: it becomes its HTTP error
 * (status from the error's kind, a JSON message) and a log line. When part
 * of the answer already went out, the connection is cut instead of ended,
 * so a client never takes half a tar or log for the whole. A failure
 * caused by the client leaving is logged at debug level only.
 */
export function createApiServer(engine: Engine, opts: ServerOptions = {}): http.Server {
  const router = buildRouter(engine);
  const log = (msg: string) => { if (opts.debug) console.error(msg); };

  const fail = (req: IncomingMessage, res: ServerResponse, e: unknown) => {
    if (clientGone(req, res)) {
      log(`berthd: ${req.method} ${req.url}: client went away: ${errorMessage(e)}`);
      res.destroy();
      return;
    }
    const status = statusFromError(e);
    if (status >= 500) console.error(`berthd: ${req.method} ${req.url}: ${(e as Error)?.stack ?? e}`);
    if (!res.headersSent) {
      if (status === 304) { res.writeHead(304, COMMON_HEADERS); res.end(); }
      else sendJson(res, status, { message: errorMessage(e) });
    } else {
      res.destroy();
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const t0 = TRACING ? performance.now() : 0;
    if (TRACING) res.on('finish', () => process.stderr.write(`trace ${req.method} ${req.url}: ${res.statusCode} in ${(performance.now() - t0).toFixed(1)} ms ${wallClock(t0)}\n`));
    try {
      log(`${req.method} ${req.url}`);
      const { version, path, query } = splitVersion(req.url ?? '/');
      const m = router.match(req.method ?? 'GET', path);
      if (m === null || m === 'method') throw new NotFoundError('page not found');
      const ctx: RequestContext = { req, res, params: m.params, query, version };
      await m.handler(ctx);
    } catch (e) {
      fail(req, res, e);
    }
  };

  // Headers up to 1 MiB, Go's http.DefaultMaxHeaderBytes, which dockerd keeps: a build's X-Registry-Config
  // carries the client's credentials for every registry it knows, well past Node's default of 16 KiB.
  const server = http.createServer({ keepAliveTimeout: 60_000, maxHeaderSize: MAX_HEADER_BYTES }, (req, res) => {
    // A write that races the client's departure fails on the response: that concerns this request only.
    res.on('error', (e) => log(`berthd: ${req.method} ${req.url}: response: ${errorMessage(e)}`));
    // A request pipelined behind one whose answer closed the connection is read, never run.
    if (isLingering(req.socket)) { res.destroy(); return; }
    handle(req, res).catch((e: unknown) => {
      console.error(`berthd: ${req.method} ${req.url}: failed while answering an error: ${(e as Error)?.stack ?? e}`);
      res.destroy();
    });
  });

  const handleUpgrade = async (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (TRACING) {
      const t0 = performance.now();
      socket.once('close', () => process.stderr.write(`trace ${req.method} ${req.url} (hijacked): closed after ${(performance.now() - t0).toFixed(1)} ms ${wallClock(t0)}\n`));
    }
    try {
      log(`${req.method} ${req.url} (upgrade)`);
      const { version, path, query } = splitVersion(req.url ?? '/');
      const m = router.match(req.method ?? 'GET', path);
      if (m === null || m === 'method' || !m.hijack) throw new NotFoundError('page not found');
      const ctx: RequestContext = { req, socket, head, params: m.params, query, version };
      await m.handler(ctx);
    } catch (e) {
      if (socket.destroyed) {
        log(`berthd: ${req.method} ${req.url}: client went away: ${errorMessage(e)}`);
        return;
      }
      if (statusFromError(e) >= 500) console.error(`berthd: ${req.method} ${req.url}: ${(e as Error)?.stack ?? e}`);
      // Once the 101 went out the socket carries raw stream bytes: an HTTP answer would corrupt it.
      if (wasUpgraded(req)) socket.destroy();
      else if (socket.writable) hijackError(socket, e);
    }
  };

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    // After an upgrade node's HTTP server stops listening to the socket's errors: a client that
    // resets the connection before the handler took the socket over must not take berthd down.
    socket.on('error', (e) => log(`berthd: ${req.method} ${req.url} (hijacked): ${errorMessage(e)}`));
    handleUpgrade(req, socket, head).catch((e: unknown) => {
      console.error(`berthd: ${req.method} ${req.url}: failed while answering an error: ${(e as Error)?.stack ?? e}`);
      socket.destroy();
    });
  });
  // Connections close lingering (linger.ts): an answer given before the body was read must reach a client still sending it.
  server.on('connection', (socket: Socket) => lingerOnClose(socket));
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    log(`berthd: client error: ${errorMessage(err)}`);
    // The parser reports one bad request more than once (the data, then the end): the first answer stands.
    if (isLingering(socket as Socket)) return;
    // An answer already on its way (the parser failed on the body after the handler answered) is let through.
    if (!socket.writable || (socket as Socket).bytesWritten > 0) { lingeringClose(socket as Socket); return; }
    // Go's server answers an oversized request line or header with 431, anything else it cannot parse with 400.
    const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
    const status = tooLarge ? 431 : 400;
    const body = JSON.stringify({ message: tooLarge ? 'request header fields too large' : `bad request: ${errorMessage(err)}` });
    socket.write(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    lingeringClose(socket as Socket);
  });
  return server;
}
