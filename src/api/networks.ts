/**
 * `/networks/…` endpoints (Docker Engine API v1.50 NetworkList,
 * NetworkInspect, NetworkCreate, NetworkDelete, NetworkConnect,
 * NetworkDisconnect, NetworkPrune). Policy lives in engine/networks.ts
 * (records) and engine/endpoints.ts (containers on them).
 */
import type { Engine } from '../engine/engine.js';
import { parseFilters } from '../engine/container-views.js';
import { pruneFilters } from '../engine/prune-filters.js';
import { InvalidParameterError, NotImplementedError } from '../errors.js';
import { need, readJson, sendJson, sendNoContent } from './context.js';
import type { Router } from './router.js';

export function registerNetworkRoutes(r: Router, engine: Engine): void {
  const ns = engine.networks;

  r.get('/networks', async (ctx) => {
    sendJson(need(ctx), 200, ns.list(parseFilters(ctx.query.get('filters'))));
  });

  r.post('/networks/create', async (ctx) => {
    const body = await readJson(ctx.req, 'NetworkCreate');
    sendJson(need(ctx), 201, ns.create(body));
  });

  r.post('/networks/prune', async (ctx) => {
    sendJson(need(ctx), 200, ns.prune(pruneFilters(parseFilters(ctx.query.get('filters')))));
  });

  r.get('/networks/:id', async (ctx) => {
    const scope = ctx.query.get('scope');
    if (scope && scope !== 'local') throw new NotImplementedError(`network scope "${scope}" is not supported by berth (local is)`);
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
