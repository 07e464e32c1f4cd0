/**
 * `/containers/{id}/exec` and `/exec/…` endpoints.
 */
import { InvalidParameterError } from '../errors.js';
import type { Engine } from '../engine/engine.js';
import { intParam, need, readJson, sendJson, sendNoContent, COMMON_HEADERS } from './context.js';
import type { Router } from './router.js';
import { parseDetachKeys, pipeHijack, readHijackBody, sendUpgrade } from './hijack.js';
import { frame } from './stream.js';

export function registerExecRoutes(r: Router, engine: Engine): void {
  r.post('/containers/:id/exec', async (ctx) => {
    const body = await readJson(ctx.req);
    sendJson(need(ctx), 201, engine.exec.create(ctx.params.id, body));
  });

  r.post('/exec/:id/start', async (ctx) => {
    let body: Record<string, any>;
    let early: Buffer = Buffer.alloc(0);
    if (ctx.socket) {
      const got = await readHijackBody(ctx);
      early = got.rest;
      try { body = got.body.length ? JSON.parse(got.body.toString('utf8')) : {}; } catch { throw new InvalidParameterError('invalid JSON body'); }
    } else {
      body = await readJson(ctx.req);
    }
    const rec = engine.exec.get(ctx.params.id);
    const tty = body.Tty ?? !!rec.Config.Tty;
    const h = await engine.exec.start(ctx.params.id, { Detach: !!body.Detach, Tty: tty, ConsoleSize: body.ConsoleSize });
    if (!h) {
      if (ctx.socket) { sendUpgrade(ctx, tty); ctx.socket.end(); return; }
      sendNoContent(ctx.res!, 200);
      return;
    }
    if (ctx.socket) {
      sendUpgrade(ctx, tty);
      const keys = rec.Config.DetachKeys ? parseDetachKeys(rec.Config.DetachKeys) : undefined;
      pipeHijack(ctx.socket, h, { tty, early, detachKeys: keys });
      return;
    }
    const res = ctx.res!;
    res.writeHead(200, { ...COMMON_HEADERS, 'Content-Type': tty ? 'application/vnd.docker.raw-stream' : 'application/vnd.docker.multiplexed-stream' });
    h.on('output', (n: 1 | 2, chunk: Buffer) => res.write(tty ? chunk : frame(n, chunk)));
    await new Promise<void>((resolve) => h.once('end', resolve));
    res.end();
  }, { hijack: true });

  r.post('/exec/:id/resize', async (ctx) => {
    await engine.exec.resize(ctx.params.id, intParam(ctx.query, 'h') ?? 0, intParam(ctx.query, 'w') ?? 0);
    sendNoContent(need(ctx), 200);
  });

  r.get('/exec/:id/json', async (ctx) => {
    const rec = engine.exec.get(ctx.params.id);
    // The CLI asks right after the stream closed; the exit code may be a moment behind.
    if (rec.Running) await Promise.race([rec.finished, new Promise((r2) => setTimeout(r2, 2000))]);
    sendJson(need(ctx), 200, engine.exec.inspect(ctx.params.id));
  });
}
