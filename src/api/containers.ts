/**
 * `/containers/…` endpoints. Handlers translate HTTP to engine calls and back;
 * policy stays in engine/.
 */
import { pruneFilters } from '../engine/prune-filters.js';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { BerthError, ConflictError, InvalidParameterError, NotFoundError, errorKind, errorMessage } from '../errors.js';
import { checkLogsReadable } from '../engine/log-config.js';
import { killSignal } from '../engine/signals.js';
import type { Engine } from '../engine/engine.js';
import { inspectView, parseFilters } from '../engine/container-views.js';
import { listContainersHandler } from './container-list.js';
import { topProcesses } from '../engine/top.js';
import { containerLayerSizes } from '../engine/container-size.js';
import {
  atoiParam, boolParam, COMMON_HEADERS, need, readJson, resizeParams, sendJson, sendNoContent, versionAtLeast, type RequestContext,
} from './context.js';
import type { Router } from './router.js';
import { logEntriesPayload, requestBody } from './stream.js';
import { unixTimestampNs } from './unix-time.js';
import { attach, attachWebSocket } from './attach.js';
import { readLogBatches } from '../runtime/logs.js';
import { firstOutputGrace, logWriterSettled } from '../runtime/log-settle.js';
import { checkpointService } from './checkpoints.js';
import { restartingError, type WaitCondition } from '../engine/containers.js';
import { containerStats } from '../engine/stats.js';
import type { UpdateRequest } from '../engine/container-update.js';

/**
 * A logs `since`/`until` in nanoseconds (unix-time.ts), refused with
 * dockerd's words before the stream starts, when a status can still say so.
 */
function unixNs(param: 'since' | 'until', v: string | null): bigint | undefined {
  if (!v || v === '0') return undefined;
  return unixTimestampNs(v, `invalid value for ${JSON.stringify(param)}: `);
}

/** Stop's and restart's `t`: Go's Atoi (dockerd answers 400 for stop, 500 for restart; both 400 here). */
function stopTimeout(q: URLSearchParams): number | undefined {
  return atoiParam(q, 't');
}

/** dockerd's tail: a number of lines; anything else (`all`, text, a negative number) is every line. */
function tailLines(v: string | null): number | undefined {
  if (v === null || !/^[+-]?\d+$/.test(v)) return undefined;
  const n = Number(v);
  return n < 0 ? undefined : n;
}

export function registerContainerRoutes(r: Router, engine: Engine): void {
  const cs = engine.containers;

  r.get('/containers/json', listContainersHandler(engine));

  r.post('/containers/create', async (ctx) => {
    const body = await readJson(ctx.req, 'ContainerCreate');
    const platform = ctx.query.get('platform');
    if (platform && !/^linux(\/(amd64|x86_64))?$/.test(platform)) {
      throw new NotFoundError(`image with reference ${body.Image} was found but does not match the specified platform: wanted ${platform}`);
    }
    const out = await cs.create(body, ctx.query.get('name') || undefined);
    sendJson(need(ctx), 201, out);
  });

  r.get('/containers/:id/json', async (ctx) => {
    const c = cs.lookup(ctx.params.id);
    const img = engine.images.store.get(c.Image);
    const lowers = img ? engine.layers.lowerDirs(img.topLayer) : [];
    const view = inspectView(c, engine.paths, lowers, engine.exec.idsOf(c.Id), engine.endpoints.settingsView(c));
    if (boolParam(ctx.query, 'size')) Object.assign(view, await containerLayerSizes(engine.paths, c, (id) => engine.images.sizeById(id)));
    sendJson(need(ctx), 200, view);
  });

  r.get('/containers/:id/top', async (ctx) => {
    const c = cs.lookup(ctx.params.id);
    if (c.State.Restarting) throw restartingError(c.Id);
    if (!c.State.Running) throw new ConflictError(`container ${c.Id} is not running`);
    const pids = await engine.runtimes.get(c.Runtime).pids(c.Id);
    sendJson(need(ctx), 200, await topProcesses(pids, ctx.query.get('ps_args') ?? '-ef'));
  });

  r.get('/containers/:id/logs', async (ctx) => {
    const res = need(ctx);
    const q = ctx.query;
    const stdout = boolParam(q, 'stdout');
    const stderr = boolParam(q, 'stderr');
    // In dockerd's order: the streams (the router), then the container, its state and its log driver (the daemon).
    if (!stdout && !stderr) throw new InvalidParameterError('Bad parameters: you must choose at least one stream');
    const c = cs.lookup(ctx.params.id);
    if (c.State.Status === 'removing' || c.State.Dead) throw new ConflictError('can not get logs from container which is dead or marked for removal');
    checkLogsReadable(c.HostConfig.LogConfig);
    const tail = tailLines(q.get('tail'));
    const since = unixNs('since', q.get('since'));
    const until = unixNs('until', q.get('until'));
    const follow = boolParam(q, 'follow');
    const timestamps = boolParam(q, 'timestamps');
    const tty = !!c.Config.Tty;
    res.writeHead(200, {
      ...COMMON_HEADERS,
      ...(versionAtLeast(ctx.version, '1.42') ? { 'Content-Type': tty ? 'application/vnd.docker.raw-stream' : 'application/vnd.docker.multiplexed-stream' } : {}),
    });
    res.flushHeaders();
    const ac = new AbortController();
    res.on('close', () => ac.abort());
    const logPath = join(engine.paths.containerDir(c.Id), 'ctr.log');
    if (c.State.Running) {
      const running = () => !!cs.store.get(c.Id)?.State.Running;
      if (!follow) await firstOutputGrace(logPath, Date.parse(c.State.StartedAt), running);
      // What a running container wrote before this request is in its log once conmon caught up.
      if (running()) await logWriterSettled(join(engine.paths.bundleDir(c.Id), 'conmon.pid'));
    }
    try {
      for await (const batch of readLogBatches(logPath, {
        follow, tail, since, until, stdout, stderr, times: timestamps, signal: ac.signal,
        isDone: () => { const cur = cs.store.get(c.Id); return !cur || (!cur.State.Running && !cur.State.Restarting); },
      })) {
        if (!res.write(logEntriesPayload(batch, { tty, timestamps }))) await new Promise((r2) => res.once('drain', r2));
      }
    } catch (e) {
      if (!ac.signal.aborted && (e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    res.end();
  });

  r.get('/containers/:id/changes', async (ctx) => {
    const changes = await engine.containerArchive.changes(ctx.params.id);
    sendJson(need(ctx), 200, changes.length ? changes : null);
  });

  r.get('/containers/:id/export', async (ctx) => {
    const res = need(ctx);
    await engine.containerArchive.export(ctx.params.id, async (tar) => {
      res.writeHead(200, { ...COMMON_HEADERS, 'Content-Type': 'application/x-tar' });
      await pipeline(tar, res);
    });
  });

  r.get('/containers/:id/stats', async (ctx) => {
    const q = ctx.query;
    const stream = boolParam(q, 'stream', true);
    // one-shot arrived with API 1.41; older clients never send it.
    const oneShot = versionAtLeast(ctx.version, '1.41') && boolParam(q, 'one-shot');
    if (stream && oneShot) throw new InvalidParameterError('cannot have stream=true and one-shot=true');
    const c = cs.lookup(ctx.params.id);
    const res = need(ctx);
    res.writeHead(200, { ...COMMON_HEADERS, 'Content-Type': 'application/json' });
    res.flushHeaders();
    const ac = new AbortController();
    res.on('close', () => ac.abort());
    const containers = { get: (id: string) => cs.store.get(id), lookup: (n: string) => cs.lookup(n) };
    for await (const sample of containerStats(containers, c.Id, { stream, oneShot, signal: ac.signal })) {
      if (ac.signal.aborted) break;
      if (!res.write(JSON.stringify(sample) + '\n') && !ac.signal.aborted) {
        await new Promise((r2) => { res.once('drain', r2); ac.signal.addEventListener('abort', r2, { once: true }); });
      }
    }
    if (!ac.signal.aborted) res.end();
  });

  r.post('/containers/:id/update', async (ctx) => {
    const body = await readJson<UpdateRequest>(ctx.req, 'ContainerUpdate');
    // PidsLimit arrived with API 1.40 (postContainerUpdate ignores it before).
    if (!versionAtLeast(ctx.version, '1.40')) delete body.PidsLimit;
    sendJson(need(ctx), 200, await cs.update(ctx.params.id, body));
  });

  r.post('/containers/:id/resize', async (ctx) => {
    const { h, w } = resizeParams(ctx.query);
    await cs.resize(ctx.params.id, h, w);
    sendNoContent(need(ctx), 200);
  });

  r.post('/containers/:id/start', async (ctx) => {
    // dockerd refuses a start body (a HostConfig, as clients before API 1.24 sent) rather than ignore it; it lets
    // through what cannot be one: none, or up to 7 bytes (`{}`, `null`). A chunked body has no length: refused too.
    const length = ctx.req.headers['content-length'];
    if ((length !== undefined && Number(length) > 7) || (length === undefined && ctx.req.headers['transfer-encoding'] !== undefined)) {
      throw new InvalidParameterError('starting container with non-empty request body was deprecated since API v1.22 and removed in v1.24');
    }
    const checkpoint = ctx.query.get('checkpoint');
    if (checkpoint) await checkpointService(engine).start(ctx.params.id, checkpoint, ctx.query.get('checkpoint-dir'));
    else await cs.start(ctx.params.id);
    sendNoContent(need(ctx));
  });

  r.post('/containers/:id/stop', async (ctx) => {
    await cs.stop(ctx.params.id, stopTimeout(ctx.query), ctx.query.get('signal') || undefined);
    sendNoContent(need(ctx));
  });

  r.post('/containers/:id/restart', async (ctx) => {
    await cs.restart(ctx.params.id, stopTimeout(ctx.query), ctx.query.get('signal') || undefined);
    sendNoContent(need(ctx));
  });

  r.post('/containers/:id/kill', async (ctx) => {
    const name = ctx.params.id;
    try {
      // As dockerd: the signal is checked before the container is looked up.
      const raw = ctx.query.get('signal') ?? '';
      await cs.kill(name, raw ? killSignal(raw) : 'SIGKILL');
    } catch (e) {
      // dockerd's router wraps every kill error so; the kind (status) stays the cause's.
      throw new BerthError(errorKind(e), `cannot kill container: ${name}: ${errorMessage(e)}`, { cause: e });
    }
    sendNoContent(need(ctx));
  });

  r.post('/containers/:id/rename', async (ctx) => {
    const name = ctx.query.get('name');
    if (!name) throw new InvalidParameterError('Neither old nor new names may be empty');
    await cs.rename(ctx.params.id, name);
    sendNoContent(need(ctx));
  });

  r.post('/containers/:id/pause', async (ctx) => { await cs.pause(ctx.params.id); sendNoContent(need(ctx)); });
  r.post('/containers/:id/unpause', async (ctx) => { await cs.unpause(ctx.params.id); sendNoContent(need(ctx)); });

  r.post('/containers/:id/attach', async (ctx) => attach(engine, ctx), { hijack: true });
  r.get('/containers/:id/attach/ws', async (ctx) => attachWebSocket(engine, ctx), { hijack: true });

  r.post('/containers/:id/wait', async (ctx) => {
    const res = need(ctx);
    const cond = (ctx.query.get('condition') || 'not-running') as WaitCondition;
    if (!['not-running', 'next-exit', 'removed'].includes(cond)) throw new InvalidParameterError(`invalid condition: ${JSON.stringify(cond)}`);
    const { ready } = cs.wait(ctx.params.id, cond);
    // The CLI blocks on the headers before it starts the container: send them now.
    res.writeHead(200, { ...COMMON_HEADERS, 'Content-Type': 'application/json' });
    res.flushHeaders();
    let closed = false;
    res.on('close', () => { closed = true; });
    const result = await ready;
    if (!closed) res.end(JSON.stringify(result) + '\n');
  });

  // `{name:.*}` as in dockerd: a link name `<parent>/<alias>` has a slash.
  r.delete('/containers/:id*', async (ctx) => {
    if (boolParam(ctx.query, 'link')) await cs.removeLink(ctx.params.id);
    else await cs.remove(ctx.params.id, { force: boolParam(ctx.query, 'force'), volumes: boolParam(ctx.query, 'v') });
    sendNoContent(need(ctx));
  });

  const statHeader = (s: object) => Buffer.from(JSON.stringify(s)).toString('base64');
  const archivePath = (ctx: RequestContext) => {
    const p = ctx.query.get('path');
    if (!p) throw new InvalidParameterError('bad parameter: path cannot be empty');
    return p;
  };

  r.head('/containers/:id/archive', async (ctx) => {
    const res = need(ctx);
    const st = await engine.containerArchive.stat(ctx.params.id, archivePath(ctx));
    res.writeHead(200, { ...COMMON_HEADERS, 'X-Docker-Container-Path-Stat': statHeader(st), 'Content-Type': 'application/x-tar' });
    res.end();
  });

  r.get('/containers/:id/archive', async (ctx) => {
    const res = need(ctx);
    await engine.containerArchive.get(ctx.params.id, archivePath(ctx), async (st, tar) => {
      res.writeHead(200, { ...COMMON_HEADERS, 'X-Docker-Container-Path-Stat': statHeader(st), 'Content-Type': 'application/x-tar' });
      await pipeline(tar, res);
    });
  });

  r.put('/containers/:id/archive', async (ctx) => {
    const res = need(ctx);
    const path = archivePath(ctx);
    // requestBody: an extraction that fails lets go of the request (its rest is dropped, the
    // connection kept, so the error gets its reply), and a client that leaves is an error of the body.
    const body = requestBody(ctx.req);
    try {
      await engine.containerArchive.put(ctx.params.id, path, body, {
        noOverwriteDirNonDir: boolParam(ctx.query, 'noOverwriteDirNonDir'),
        copyUIDGID: boolParam(ctx.query, 'copyUIDGID'),
      });
    } finally {
      body.destroy();
    }
    sendNoContent(res, 200);
  });

  r.post('/containers/prune', async (ctx) => {
    sendJson(need(ctx), 200, await cs.prune(pruneFilters(parseFilters(ctx.query.get('filters')))));
  });
}
