/**
 * `/containers/{id}/exec` and `/exec/…` endpoints.
 */
import type { Duplex } from 'node:stream';
import { errorMessage } from '../errors.js';
import type { Engine } from '../engine/engine.js';
import type { AttachHandle } from '../engine/attach-handle.js';
import { need, resizeParams, readJson, sendJson, sendNoContent, versionAtLeast, COMMON_HEADERS, type RequestContext } from './context.js';
import { parseBody } from './validate.js';
import type { Router } from './router.js';
import { pipeHijack, readHijackBody, sendUpgrade, type HijackOptions } from './hijack.js';
import { detachKeyBytes } from '../engine/detach-keys.js';
import { frame } from './stream.js';
import { forwardOutput } from './attach-output.js';

/**
 * A hijacked, attached exec start, in moby's order: the `101 UPGRADED`
 * goes out before the process starts, and a failure to start is written
 * into the stream (framed as stdout without a tty) with the exit code left
 * for `GET /exec/{id}/json` (126, or 127 for a missing command), which is
 * how the docker CLI reports `OCI runtime exec failed: …` and exits 127.
 * Starting first would put the first output in the same read as the
 * headers: docker-py hands the raw socket to its frame reader after
 * http.client has parsed the headers through a buffer, and whatever that
 * buffer had read past them is lost.
 */
async function startHijacked(
  socket: Duplex, start: () => Promise<AttachHandle | null>, ctx: RequestContext, raw: boolean, o: Omit<HijackOptions, 'raw'>,
): Promise<void> {
  sendUpgrade(ctx, raw);
  let h: AttachHandle | null;
  try {
    h = await start();
  } catch (e) {
    const msg = Buffer.from(`${errorMessage(e)}\r\n`);
    if (socket.writable) socket.end(raw ? msg : frame(1, msg));
    return;
  }
  if (!h) { socket.end(); return; }
  if (socket.destroyed) { h.detach(); return; }
  pipeHijack(socket, h, { ...o, raw });
}

export function registerExecRoutes(r: Router, engine: Engine): void {
  r.post('/containers/:id/exec', async (ctx) => {
    const body = await readJson(ctx.req, 'ExecCreate');
    // ConsoleSize came with API 1.42; dockerd ignores it from older clients.
    if (!versionAtLeast(ctx.version, '1.42')) delete body.ConsoleSize;
    sendJson(need(ctx), 201, await engine.exec.create(ctx.params.id, body));
  });

  r.post('/exec/:id/start', async (ctx) => {
    let body: Record<string, any>;
    let early: Buffer = Buffer.alloc(0);
    if (ctx.socket) {
      // The hijacked reader buffers Content-Length bytes: the JSON limit applies before it starts.
      const got = await readHijackBody(ctx);
      early = got.rest;
      body = parseBody(got.body.toString('utf8'), 'ExecStart');
    } else {
      body = await readJson(ctx.req, 'ExecStart');
    }
    const rec = engine.exec.get(ctx.params.id);
    // Start's Tty says only how the output is framed (raw, or stdcopy frames); whether the
    // process has a pty was settled by create. Go's zero value: no Tty, frames.
    const raw = !!body.Tty;
    // dockerd drops a console size without start's Tty, or from a client older than 1.42.
    const consoleSize = raw && versionAtLeast(ctx.version, '1.42') ? body.ConsoleSize : undefined;
    const opts = { Detach: !!body.Detach, ConsoleSize: consoleSize };
    if (ctx.socket && !opts.Detach) {
      const pty = !!rec.Config.Tty;
      // The keys were checked at create; moby's ToBytes gives none for an empty string.
      const detachKeys = rec.Config.DetachKeys ? detachKeyBytes(rec.Config.DetachKeys) ?? undefined : undefined;
      await startHijacked(ctx.socket, () => engine.exec.start(ctx.params.id, opts), ctx, raw, { pty, closeStdin: true, early, detachKeys });
      return;
    }
    const h = await engine.exec.start(ctx.params.id, opts);
    if (!h) {
      if (ctx.socket) { sendUpgrade(ctx, raw); ctx.socket.end(); return; }
      sendNoContent(ctx.res!, 200);
      return;
    }
    const res = ctx.res!;
    res.writeHead(200, { ...COMMON_HEADERS, 'Content-Type': raw ? 'application/vnd.docker.raw-stream' : 'application/vnd.docker.multiplexed-stream' });
    forwardOutput(h, res, raw);
    await new Promise<void>((resolve) => h.once('end', resolve));
    res.end();
  }, { hijack: true });

  r.post('/exec/:id/resize', async (ctx) => {
    const { h, w } = resizeParams(ctx.query);
    await engine.exec.resize(ctx.params.id, h, w);
    sendNoContent(need(ctx), 200);
  });

  r.get('/exec/:id/json', async (ctx) => {
    const rec = engine.exec.get(ctx.params.id);
    // The CLI asks right after the stream closed; the exit code may be a moment behind.
    if (rec.Running) await Promise.race([rec.finished, new Promise((r2) => setTimeout(r2, 2000))]);
    sendJson(need(ctx), 200, engine.exec.inspect(ctx.params.id));
  });
}
