/**
 * `/networks/…` endpoints (Docker Engine API v1.50 NetworkList,
 * NetworkInspect, NetworkCreate, NetworkDelete, NetworkConnect,
 * NetworkDisconnect, NetworkPrune). Policy lives in engine/networks.ts
 * (records) and engine/endpoints.ts (containers on them).
 */
import type { Engine } from '../engine/engine.js';
import { parseFilters } from '../engine/container-views.js';
import { pruneFilters } from '../engine/prune-filters.js';
import { InvalidParameterError, NotFoundError } from '../errors.js';
import { need, readJson, sendJson, sendNoContent, versionAtLeast } from './context.js';
import type { Router } from './router.js';

/** What Go's strconv.ParseBool accepts. */
const GO_BOOL = new Set(['1', 't', 'T', 'TRUE', 'true', 'True', '0', 'f', 'F', 'FALSE', 'false', 'False']);

export function registerNetworkRoutes(r: Router, engine: Engine): void {
  const ns = engine.networks;

  r.get('/networks', async (ctx) => {
    sendJson(need(ctx), 200, ns.list(parseFilters(ctx.query.get('filters'))));
  });

  r.post('/networks/create', async (ctx) => {
    const body = await readJson(ctx.req, 'NetworkCreate');
    // EnableIPv4 came with API 1.48; older clients' value is not theirs to give (moby postNetworkCreate).
    if (!versionAtLeast(ctx.version, '1.48')) delete body.EnableIPv4;
    sendJson(need(ctx), 201, ns.create(body));
  });

  r.post('/networks/prune', async (ctx) => {
    sendJson(need(ctx), 200, ns.prune(pruneFilters(parseFilters(ctx.query.get('filters')))));
  });

  r.get('/networks/:id', async (ctx) => {
    // `scope` filters by exact match (moby getNetwork): berth's networks are all local, so any
    // other scope finds nothing.
    const scope = ctx.query.get('scope');
    if (scope && scope !== 'local') throw new NotFoundError(`network ${ctx.params.id} not found`);
    const verbose = ctx.query.get('verbose');
    if (verbose && !GO_BOOL.has(verbose)) {
      throw new InvalidParameterError(`invalid value for verbose: ${verbose}: strconv.ParseBool: parsing ${JSON.stringify(verbose)}: invalid syntax`);
    }
    sendJson(need(ctx), 200, ns.inspect(ctx.params.id));
  });

  r.delete('/networks/:id', async (ctx) => {
    ns.remove(ctx.params.id);
    sendNoContent(need(ctx));
  });

  r.post('/networks/:id/connect', async (ctx) => {
    const body = await readJson(ctx.req, 'NetworkConnect');
    if (!body.Container) throw new InvalidParameterError('Container is required');
    await engine.endpoints.connect(ctx.params.id, String(body.Container), body.EndpointConfig ?? undefined);
    sendNoContent(need(ctx), 200);
  });

  r.post('/networks/:id/disconnect', async (ctx) => {
    const body = await readJson(ctx.req, 'NetworkDisconnect');
    if (!body.Container) throw new InvalidParameterError('Container is required');
    await engine.endpoints.disconnect(ctx.params.id, String(body.Container), !!body.Force);
    sendNoContent(need(ctx), 200);
  });
}
