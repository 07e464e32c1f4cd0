/**
 * `/images/…` endpoints (and the image-producing ones not built yet, which
 * answer 501 so no client mistakes them for success).
 */
import { Readable } from 'node:stream';
import { pruneFilters } from '../engine/prune-filters.js';
import { imageTree } from '../engine/image-tree.js';
import { InvalidParameterError, NotFoundError, NotImplementedError, SystemError, errorMessage } from '../errors.js';
import { formatReference, parseReference } from '../image/reference.js';
import type { Engine } from '../engine/engine.js';
import { boolFilter, parseFilters } from '../engine/container-views.js';
import { matchLabel } from '../engine/volumes.js';
import { boolParam, COMMON_HEADERS, need, readJson, sendJson, sendNoContent, type RequestContext } from './context.js';
import { pipeline } from 'node:stream/promises';
import { loadImages, saveImages } from '../engine/image-archive.js';
import type { Router } from './router.js';
import { JsonMessageStream, requestBody } from './stream.js';
import { registerBuildRoutes } from './build.js';
import { decodeRegistryAuth } from '../engine/distribution.js';
import { statusFromError } from './status.js';

export function registerImageRoutes(r: Router, engine: Engine): void {
  const is = engine.images;

  r.get('/images/json', async (ctx) => {
    const f = parseFilters(ctx.query.get('filters'));
    for (const k of Object.keys(f)) if (!['dangling', 'label', 'reference', 'before', 'since', 'until'].includes(k)) throw new InvalidParameterError(`invalid filter '${k}'`);
    const before = f.before?.[0] ? is.resolve(f.before[0]) : undefined;
    const since = f.since?.[0] ? is.resolve(f.since[0]) : undefined;
    const all = boolParam(ctx.query, 'all');
    const dangling = f.dangling ? boolFilter(f, 'dangling', false) : undefined;
    const list = is.summaries().filter((s) => {
      const tags = s.RepoTags as string[];
      // Without all=1, intermediate images (untagged parents of other images, e.g. build steps) are hidden, as in Docker.
      if (!all && tags.length === 0 && is.store.children(s.Id as string).length > 0) return false;
      if (dangling !== undefined && dangling !== (tags.length === 0)) return false;
      if (f.label && !f.label.every((l) => matchLabel(s.Labels as Record<string, string>, l))) return false;
      if (f.reference && !f.reference.some((p) => tags.some((t) => globMatch(p, t) || globMatch(p, t.replace(/:[^:/]+$/, ''))))) return false;
      if (before && !((s.Created as number) < Math.floor(Date.parse(before.config.created ?? '') / 1000))) return false;
      if (since && !((s.Created as number) > Math.floor(Date.parse(since.config.created ?? '') / 1000))) return false;
      return true;
    });
    sendJson(need(ctx), 200, list);
  });

  r.post('/images/create', async (ctx) => {
    const res = need(ctx);
    const q = ctx.query;
    const fromSrc = q.get('fromSrc');
    const fromImage = q.get('fromImage');
    if (fromImage) {
      const tag = q.get('tag');
      // `tag` may be a tag or a digest; empty with fromImage alone means "all tags" only when the CLI says so.
      const ref = tag ? (tag.startsWith('sha256:') ? `${fromImage}@${tag}` : `${fromImage}:${tag}`) : fromImage;
      const out = new JsonMessageStream(res);
      // dockerd cancels the pull when its client disconnects (the request's context); so does berthd.
      const ac = new AbortController();
      res.on('close', () => { if (!res.writableFinished) ac.abort(); });
      try {
        await engine.distribution.pull(ref, {
          auth: decodeRegistryAuth(ctx.req.headers['x-registry-auth'] as string | undefined),
          platform: q.get('platform') || undefined, allTags: !tag && !fromImage.includes(':') && !fromImage.includes('@') && q.has('tag'),
          progress: (m) => out.write(m), signal: ac.signal,
        });
      } catch (e) {
        // Before the first progress message an error is the response's status, as with dockerd
        // (404 for a missing image); after it, it travels in the stream. A registry's refusal is a
        // 500 there, never a 401: the docker CLI would take a 401 as "prompt for a login" and wait.
        if (!out.headersSent) throw statusFromError(e) === 401 ? new SystemError(errorMessage(e), { cause: e }) : e;
        out.error(errorMessage(e));
      }
      out.end();
      return;
    }
    if (!fromSrc) throw new InvalidParameterError('fromSrc or fromImage is required');
    // A client that goes away stops a download from a URL too (the body's own end stops an upload).
    const gone = new AbortController();
    res.on('close', () => { if (!res.writableFinished) gone.abort(); });
    let source: Readable;
    if (fromSrc === '-') {
      source = requestBody(ctx.req);
    } else {
      let url: URL;
      try { url = new URL(fromSrc); } catch { throw new InvalidParameterError(`invalid URL: ${fromSrc}`); }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InvalidParameterError(`unsupported URL scheme: ${url.protocol}`);
      const resp = await fetch(url, { signal: gone.signal }).catch((e) => { throw new SystemError(`Get ${fromSrc}: ${errorMessage(e)}`); });
      if (!resp.ok || !resp.body) throw new SystemError(`Get ${fromSrc}: ${resp.status} ${resp.statusText}`);
      source = Readable.fromWeb(resp.body as import('node:stream/web').ReadableStream);
    }
    const out = new JsonMessageStream(res);
    if (fromSrc !== '-') out.write({ status: 'Downloading from ' + fromSrc });
    try {
      const img = await is.import(source, {
        repo: q.get('repo') || undefined, tag: q.get('tag') || undefined, changes: q.getAll('changes'),
        message: q.get('message') || undefined, source: fromSrc, platform: q.get('platform') || undefined,
      });
      out.write({ status: img.id });
    } catch (e) {
      if (!out.headersSent) throw e;
      out.error(errorMessage(e));
    } finally {
      // Whatever the import left unread is dropped (a refusal before the end of the upload).
      source.destroy();
    }
    out.end();
  });

  const prune = async (ctx: RequestContext, dryRun: boolean) => {
    const f = parseFilters(ctx.query.get('filters'));
    // dockerd: dangling images only unless dangling=false (GetBoolOrDefault, default true).
    const all = !boolFilter(f, 'dangling', true);
    sendJson(need(ctx), 200, await is.prune(all, pruneFilters(f, ['dangling']), dryRun));
  };
  r.post('/images/prune', (ctx) => prune(ctx, false));
  // berth's addition: the layer tree (`berth images --tree`).
  r.get('/images/tree', async (ctx) => sendJson(need(ctx), 200, imageTree(is)));
  // berth's addition: the same request as a GET changes nothing and answers
  // what the POST would delete and free (`berth image prune --dry-run`).
  r.get('/images/prune', (ctx) => prune(ctx, true));

  const save = async (ctx: RequestContext, names: string[]) => {
    const res = need(ctx);
    if (names.length === 0) throw new InvalidParameterError('no images given to save');
    if (ctx.query.get('platform')) throw new NotImplementedError('save --platform is not supported yet');
    const archive = saveImages(is, names);
    res.writeHead(200, { ...COMMON_HEADERS, 'Content-Type': 'application/x-tar' });
    await pipeline(archive, res).catch(() => res.destroy());
  };
  r.get('/images/get', async (ctx) => save(ctx, ctx.query.getAll('names').flatMap((n) => n.split(',')).filter(Boolean)));
  r.post('/images/load', async (ctx) => {
    const res = need(ctx);
    const quiet = boolParam(ctx.query, 'quiet');
    const out = new JsonMessageStream(res);
    const body = requestBody(ctx.req);
    try {
      const loaded = await loadImages(is, engine.paths, body, (msg) => { if (!quiet) out.write({ status: msg }); });
      for (const l of loaded) {
        if (l.tags.length === 0) out.write({ stream: `Loaded image ID: ${l.id}\n` });
        for (const t of l.tags) out.write({ stream: `Loaded image: ${t}\n` });
      }
    } catch (e) {
      // As dockerd's load: the answer is a 200 stream whatever happens, a failure its last message.
      out.error(errorMessage(e));
    } finally {
      body.destroy();
    }
    out.end();
  });
  registerBuildRoutes(r, engine);
  r.post('/commit', async (ctx) => {
    const q = ctx.query;
    const body = await readJson(ctx.req, 'Commit');
    const container = q.get('container');
    // dockerd's GetContainer(""), after the body, as its postCommit orders them.
    if (!container) throw new InvalidParameterError('invalid name or ID supplied: ""');
    const img = await engine.commit(container, {
      repo: q.get('repo') || undefined, tag: q.get('tag') || undefined, author: q.get('author') || undefined,
      comment: q.get('comment') || undefined, changes: q.getAll('changes').flatMap((c) => c.split('\n')).filter(Boolean),
      pause: boolParam(q, 'pause', true), config: Object.keys(body).length ? body : undefined,
    });
    sendJson(need(ctx), 201, { Id: img.id });
  });
  r.post('/auth', async (ctx) => {
    const body = await readJson(ctx.req, 'Auth');
    sendJson(need(ctx), 200, await engine.distribution.login(body));
  });

  // `docker manifest inspect`-like look-up of what a registry has (mirrors first for Docker Hub).
  r.get('/distribution/:name*/json', async (ctx) => {
    sendJson(need(ctx), 200, await engine.distribution.inspect(ctx.params.name, decodeRegistryAuth(ctx.req.headers['x-registry-auth'] as string | undefined)));
  });
  r.get('/images/:name*/json', async (ctx) => sendJson(need(ctx), 200, is.inspect(is.resolve(ctx.params.name))));
  r.get('/images/:name*/history', async (ctx) => sendJson(need(ctx), 200, is.history(is.resolve(ctx.params.name))));
  r.get('/images/:name*/get', async (ctx) => save(ctx, [ctx.params.name]));
  r.post('/images/:name*/push', async (ctx) => {
    const res = need(ctx);
    if (ctx.query.get('platform')) throw new NotImplementedError('push --platform is not supported yet: berth stores single-platform images');
    const tag = ctx.query.get('tag') || undefined;
    // No tag means every local tag of the repository (`push --all-tags`), as in Docker.
    const repo = formatReference(parseReference(ctx.params.name));
    const tags = tag ? [tag] : is.store.list().flatMap((img) => is.store.tagsOf(img.id)).filter((t) => t.startsWith(`${repo}:`)).map((t) => t.slice(repo.length + 1));
    if (tags.length === 0) throw new NotFoundError(`An image does not exist locally with the tag: ${ctx.params.name}`);
    for (const t of tags) is.resolve(`${ctx.params.name}:${t}`);
    const out = new JsonMessageStream(res);
    // dockerd cancels a push (or pull) whose client disconnects.
    const ac = new AbortController();
    res.on('close', () => { if (!res.writableFinished) ac.abort(); });
    try {
      for (const t of tags) {
        await engine.distribution.push(ctx.params.name, {
          tag: t, auth: decodeRegistryAuth(ctx.req.headers['x-registry-auth'] as string | undefined), progress: (m) => out.write(m),
          signal: ac.signal,
        });
      }
    } catch (e) {
      out.error(errorMessage(e));
    }
    out.end();
  });
  r.post('/images/:name*/tag', async (ctx) => {
    const repo = ctx.query.get('repo');
    if (!repo) throw new InvalidParameterError('repository name must have at least one component');
    // `repo` is parsed alone (a 64-hex name is refused), then `tag` replaces its tag.
    is.tag(ctx.params.name, is.tagTarget(repo, ctx.query.get('tag') || undefined));
    sendNoContent(need(ctx), 201);
  });
  r.delete('/images/:name*', async (ctx) => {
    if (ctx.query.getAll('platforms').length) throw new NotImplementedError('rmi --platform is not supported: berth stores one platform per image');
    sendJson(need(ctx), 200, await is.remove(ctx.params.name, boolParam(ctx.query, 'force'), boolParam(ctx.query, 'noprune')));
  });
}

/** Docker's reference filter: shell-style glob on the familiar name. */
function globMatch(pattern: string, s: string): boolean {
  const re = new RegExp('^' + pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]') + '$');
  return re.test(s);
}
