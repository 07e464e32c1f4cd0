/**
 * `POST /grpc` and `POST /session`: the BuildKit API as dockerd serves it
 * (moby api/server/router/grpc and session), which buildx's `docker` driver
 * dials with `Connection: Upgrade`, `Upgrade: h2c`:
 *
 * - `/grpc`: after `101 Switching Protocols` the socket is an HTTP/2
 *   connection on which berthd serves gRPC (control.ts);
 * - `/session`: after the 101 the client serves gRPC on it and berthd is
 *   the HTTP/2 client; the session is found by its
 *   `X-Docker-Expose-Session-Uuid` when a Solve names it (an ID in use
 *   is refused with 400 before the 101).
 *
 * Once the 101 is written nothing may be written on the socket but HTTP/2:
 * every failure after it ends that connection only.
 */
import type { Duplex } from 'node:stream';
import { InvalidParameterError, errorMessage } from '../../errors.js';
import type { Engine } from '../../engine/engine.js';
import { checkSessionHeaders } from '../../buildkit/sessions.js';
import type { RequestContext } from '../context.js';
import type { Router } from '../router.js';
import { traceAt } from '../../trace.js';
import type { BuildkitEndpoints } from './buildkit-endpoints.js';

function upgradeSocket(ctx: RequestContext): Duplex {
  const upgrade = String(ctx.req.headers.upgrade ?? '').toLowerCase();
  if (!ctx.socket || upgrade !== 'h2c') throw new InvalidParameterError(`${ctx.req.url} needs Connection: Upgrade and Upgrade: h2c`);
  return ctx.socket;
}

function switchProtocols(socket: Duplex): void {
  socket.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n');
}

/** `version` is berth's (the BuildKit version buildx shows). */
export function registerBuildkitRoutes(r: Router, engine: Engine, version: string): void {
  const log = (msg: string) => { if (process.env.BERTH_DEBUG_BUILDKIT) console.error(msg); };
  // Loaded by the first request (buildkit-endpoints.ts); the request's socket waits, unread, meanwhile.
  let endpoints: Promise<BuildkitEndpoints> | undefined;
  const load = () => {
    endpoints ??= import('./buildkit-endpoints.js').then((m) => new m.BuildkitEndpoints(engine, version, log));
    endpoints.catch(() => { endpoints = undefined; });
    return endpoints;
  };

  r.post('/grpc', async (ctx) => {
    const socket = upgradeSocket(ctx);
    traceAt('/grpc hijacked');
    switchProtocols(socket);
    try {
      await (await load()).grpc(socket, ctx.head);
    } catch (e) {
      log(`berthd: /grpc: ${errorMessage(e)}`);
      socket.destroy();
    }
  }, { hijack: true });

  r.post('/session', async (ctx) => {
    const socket = upgradeSocket(ctx);
    const h = ctx.req.headersDistinct;
    const checked = checkSessionHeaders(
      h['x-docker-expose-session-uuid']?.[0], h['x-docker-expose-session-name']?.[0],
      (h['x-docker-expose-session-grpc-method'] ?? []).flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean),
    );
    // Before the 101, so that a session whose ID is in use is refused with a status (moby's 400), and with
    // nothing awaited between the check and the session's registration.
    const endpoints = await load();
    endpoints.checkSession(checked);
    traceAt('/session hijacked');
    switchProtocols(socket);
    try {
      await endpoints.session(socket, ctx.head, checked);
    } catch (e) {
      log(`berthd: /session: ${errorMessage(e)}`);
      socket.destroy();
    }
  }, { hijack: true });
}
