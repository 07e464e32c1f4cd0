/**
 * `/containers/{id}/checkpoints` endpoints (moby api/server/router/checkpoint):
 * create (201, no body), list (`[{Name}]`), delete (204). The body is
 * checked as an object here and field by field in engine/checkpoints.ts.
 */
import type { Engine } from '../engine/engine.js';
import { CheckpointService, type CheckpointCreateOptions } from '../engine/checkpoints.js';
import { InvalidParameterError } from '../errors.js';
import { need, readJson, sendJson, sendNoContent } from './context.js';
import type { Router } from './router.js';

/** One service per engine: the start route (containers.ts) restores through the same one. */
const services = new WeakMap<Engine, CheckpointService>();

export function checkpointService(engine: Engine): CheckpointService {
  let s = services.get(engine);
  if (!s) { s = new CheckpointService(engine.containers, engine.paths); services.set(engine, s); }
  return s;
}

export function registerCheckpointRoutes(r: Router, engine: Engine): void {
  const cps = checkpointService(engine);
  r.post('/containers/:id/checkpoints', async (ctx) => {
    const body = await readJson<unknown>(ctx.req);
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new InvalidParameterError('checkpoint options must be a JSON object');
    await cps.create(ctx.params.id, body as CheckpointCreateOptions);
    sendNoContent(need(ctx), 201);
  });
  r.get('/containers/:id/checkpoints', async (ctx) => {
    if (ctx.query.get('dir')) throw new InvalidParameterError('custom checkpoint directories are not supported: berth keeps checkpoints with the container');
    sendJson(need(ctx), 200, await cps.list(ctx.params.id));
  });
  r.delete('/containers/:id/checkpoints/:checkpoint', async (ctx) => {
    if (ctx.query.get('dir')) throw new InvalidParameterError('custom checkpoint directories are not supported: berth keeps checkpoints with the container');
    await cps.remove(ctx.params.id, ctx.params.checkpoint);
    sendNoContent(need(ctx));
  });
}
