/**
 * The HTTP side of berthd: version prefixes and negotiation, error mapping,
 * and the hijacked connections (`Upgrade: tcp`) that attach and exec use.
 */
import { performance } from 'node:perf_hooks';
import { TRACING, wallClock } from '../trace.js';
import http from 'node:http';
import type { Duplex } from 'node:stream';
import { InvalidParameterError, NotFoundError, errorMessage } from '../errors.js';
import { statusFromError } from './status.js';
import { API_VERSION, COMMON_HEADERS, MIN_API_VERSION, sendJson, versionAtLeast, type RequestContext } from './context.js';
import { Router } from './router.js';
import type { Engine } from '../engine/engine.js';
import { registerSystemRoutes } from './system.js';
import { registerContainerRoutes } from './containers.js';
import { registerExecRoutes } from './exec.js';
import { registerImageRoutes } from './images.js';
import { registerVolumeRoutes } from './volumes.js';
import { registerFaultRoutes } from './faults.js';
import { registerNetworkRoutes } from './networks.js';

export interface ServerOptions { debug?: boolean }

function splitVersion(url: string): { version: string; path: string; query: URLSearchParams } {
  const u = new URL(url, 'http://berth');
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
  registerContainerRoutes(r, engine);
  registerExecRoutes(r, engine);
  registerImageRoutes(r, engine);
  registerVolumeRoutes(r, engine);
  registerNetworkRoutes(r, engine);
  registerFaultRoutes(r, engine);
  return r;
}

/** Writes an error on a hijacked socket before the 101 was sent. */
function hijackError(socket: Duplex, err: unknown): void {
  const status = statusFromError(err);
  const body = JSON.stringify({ message: errorMessage(err) }) + '\n';
  socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? 'Error'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nApi-Version: ${API_VERSION}\r\n\r\n${body}`);
}

export function createApiServer(engine: Engine, opts: ServerOptions = {}): http.Server {
  const router = buildRouter(engine);
  const log = (msg: string) => { if (opts.debug) console.error(msg); };

  const server = http.createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
    void (async () => {
      const t0 = TRACING ? performance.now() : 0;
      if (TRACING) res.on('finish', () => process.stderr.write(`trace ${req.method} ${req.url}: ${res.statusCode} in ${(performance.now() - t0).toFixed(1)} ms ${wallClock(t0)}\n`));
      try {
        log(`${req.method} ${req.url}`);
        const { version, path, query } = splitVersion(req.url ?? '/');
        const m = router.match(req.method ?? 'GET', path);
        if (m === null) throw new NotFoundError('page not found');
        if (m === 'method') throw new NotFoundError('page not found');
        const ctx: RequestContext = { req, res, params: m.params, query, version };
        await m.handler(ctx);
      } catch (e) {
        const status = statusFromError(e);
        if (status >= 500) console.error(`berthd: ${req.method} ${req.url}: ${(e as Error)?.stack ?? e}`);
        if (!res.headersSent) {
          if (status === 304) { res.writeHead(304, COMMON_HEADERS); res.end(); }
          else sendJson(res, status, { message: errorMessage(e) });
        } else {
          res.end();
        }
      }
    })();
  });

  server.on('upgrade', (req, socket: Duplex, head: Buffer) => {
    void (async () => {
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
        if (statusFromError(e) >= 500) console.error(`berthd: ${req.method} ${req.url}: ${(e as Error)?.stack ?? e}`);
        if (socket.writable) hijackError(socket, e);
      }
    })();
  });
  server.on('clientError', (_err, socket) => { if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\n\r\n'); });
  return server;
}
