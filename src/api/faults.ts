/**
 * berth's network fault endpoints (no Docker counterpart; engine/faults.ts):
 *
 *   GET    /faults                          every running container's faults
 *   DELETE /faults                          remove every fault of every container (heal) → 204
 *   DELETE /faults/{fault}                  remove one fault, whichever container it is on → 204, 404 `No such fault`
 *   GET    /containers/{id}/faults          one container's
 *   POST   /containers/{id}/faults          add one (body: FaultRequest) → 201 the Fault
 *   DELETE /containers/{id}/faults          remove all of the container's, and the partitions that name it → 204
 *   DELETE /containers/{id}/faults/{fault}  remove one → 204, 404 `No such fault`
 */
import type { Engine } from '../engine/engine.js';
import { need, readJson, sendJson, sendNoContent } from './context.js';
import type { Router } from './router.js';

export function registerFaultRoutes(r: Router, engine: Engine): void {
  const faults = engine.faults;

  r.get('/faults', async (ctx) => {
    sendJson(need(ctx), 200, faults.listAll());
  });

  r.delete('/faults', async (ctx) => {
    await faults.heal();
    sendNoContent(need(ctx));
  });

  r.delete('/faults/:fault', async (ctx) => {
    await faults.removeById(ctx.params.fault);
    sendNoContent(need(ctx));
  });

  r.get('/containers/:id/faults', async (ctx) => {
    sendJson(need(ctx), 200, faults.list(ctx.params.id));
  });

  r.post('/containers/:id/faults', async (ctx) => {
    const body = await readJson(ctx.req);
    sendJson(need(ctx), 201, await faults.add(ctx.params.id, body));
  });

  r.delete('/containers/:id/faults', async (ctx) => {
    await faults.remove(ctx.params.id);
    sendNoContent(need(ctx));
  });

  r.delete('/containers/:id/faults/:fault', async (ctx) => {
    await faults.remove(ctx.params.id, ctx.params.fault);
    sendNoContent(need(ctx));
  });
}
