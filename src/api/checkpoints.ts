/**
 * `/containers/{id}/checkpoints` endpoints (moby api/server/router/checkpoint):
 * create (201, no body), list (`[{Name}]`), delete (204). The body is
 * checked as an object here and field by field in engine/checkpoints.ts.
 *
 * berth's own, for moving a checkpoint to another daemon
 * (engine/checkpoint-archive.ts): `GET /containers/{id}/checkpoints/{name}/export`
 * (a tar) and `POST /checkpoints/import?name=` (the tar as the body; 201
 * `{Id, Checkpoint}` once the container is restored from it).
 */
import type { Engine } from '../engine/engine.js';
import { CheckpointService, type CheckpointCreateOptions } from '../engine/checkpoints.js';
import { InvalidParameterError } from '../errors.js';
import { COMMON_HEADERS, need, readJson, sendJson, sendNoContent } from './context.js';
import { CheckpointArchive } from '../engine/checkpoint-archive.js';
import { parseBody } from './validate.js';
import type { CreateRequest } from '../engine/create-request.js';
import { requestBody } from './stream.js';
import { pipeline } from 'node:stream/promises';
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

  const archives = new CheckpointArchive({ containers: engine.containers, images: engine.images, paths: engine.paths, checkpoints: cps });
  r.get('/containers/:id/checkpoints/:checkpoint/export', async (ctx) => {
    const tar = await archives.export(ctx.params.id, ctx.params.checkpoint);
    const res = need(ctx);
    res.writeHead(200, { ...COMMON_HEADERS, 'Content-Type': 'application/x-tar' });
    await pipeline(tar, res).catch(() => res.destroy());
  });
  r.post('/checkpoints/import', async (ctx) => {
    const body = requestBody(ctx.req);
    let out: { Id: string; Checkpoint: string };
    try {
      // The manifest's container is checked as a create body from a client is.
      out = await archives.import(body, {
        name: ctx.query.get('name') || undefined,
        trust: ['1', 'true'].includes(ctx.query.get('trust') ?? ''),
        decodeCreate: (v) => parseBody<CreateRequest>(JSON.stringify(v), 'ContainerCreate'),
      });
    } finally {
      body.destroy();
    }
    sendJson(need(ctx), 201, out);
  });
}
