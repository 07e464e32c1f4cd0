/**
 * `POST /build` (the classic builder, what `DOCKER_BUILDKIT=0 docker build`
 * and the Docker 28 CLI without buildx send) and `POST /build/prune`
 * (`docker builder prune`).
 *
 * `/build`: the body is the context tar (gzip accepted; empty with
 * `remote=`). Everything refusable — unsupported options, a context that
 * does not unpack, a Dockerfile that does not parse — is refused with an
 * HTTP error before the stream starts; after that the answer is 200 and the
 * JSON stream of moby's streamformatter: `{"stream":…}` lines,
 * `{"aux":{"ID":…}}`, and on failure `{"errorDetail":{"code":N,"message":…},
 * "error":…}` (the CLI exits with `code`). berth adds
 * `{"aux":{"cacheMiss":{…}}}` after each ` ---> Cache miss: …` line: the
 * CLI hands aux messages to its callback, which reads only `ID` (an object
 * without one leaves it empty until the final `{"aux":{"ID":…}}`, which
 * always comes last), and never prints them — putting the miss into the
 * stream message itself would hide that line, since the CLI skips the
 * text of any message that has `aux`.
 *
 * A client that goes away cancels the build: the running step's container
 * is killed and removed, and the images the build made are discarded.
 */
import { startTrace } from '../trace.js';
import type { IncomingMessage } from 'node:http';
import { InvalidParameterError, NotImplementedError, errorMessage } from '../errors.js';
import type { Engine } from '../engine/engine.js';
import type { BuildParams } from '../engine/build.js';
import type { AuthConfig } from '../engine/distribution.js';
import { parseFilters } from '../engine/container-views.js';
import { BuildStepError } from '../build/errors.js';
import { parseGoDuration } from '../build/parser/duration.js';
import { boolParam, intParam, need, sendJson } from './context.js';
import type { Router } from './router.js';
import { JsonMessageStream, requestBody } from './stream.js';

/** What dockerd's build route says before the decoder's own error, per JSON parameter. */
const JSON_PARAM_ERRORS: Record<string, string> = {
  buildargs: 'error reading build args', labels: 'error reading labels', cachefrom: 'error reading cache-from', ulimits: 'error reading ulimit settings',
};

function jsonParam<T>(q: URLSearchParams, name: string, fallback: T, check: (v: unknown) => boolean): T {
  const raw = q.get(name);
  if (raw === null || raw === '') return fallback;
  const what = JSON_PARAM_ERRORS[name] ?? `invalid ${name} parameter`;
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch (e) {
    throw new InvalidParameterError(`${what}: ${errorMessage(e)}`);
  }
  if (v === null) return fallback;
  if (!check(v)) throw new InvalidParameterError(`${what}: ${raw}`);
  return v as T;
}

const isObject = (v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The query of `POST /build` (moby `api/server/router/build` `newImageBuildOptions`). */
export function buildParams(q: URLSearchParams, registryConfig?: string): BuildParams {
  const resources: Record<string, unknown> = {};
  const ints: [string, string][] = [
    ['memory', 'Memory'], ['memswap', 'MemorySwap'], ['cpushares', 'CpuShares'], ['cpuperiod', 'CpuPeriod'],
    ['cpuquota', 'CpuQuota'], ['shmsize', 'ShmSize'],
  ];
  for (const [param, field] of ints) {
    const v = intParam(q, param);
    if (v) resources[field] = v;
  }
  for (const [param, field] of [['cpusetcpus', 'CpusetCpus'], ['cpusetmems', 'CpusetMems']]) {
    const v = q.get(param);
    if (v) resources[field] = v;
  }
  const ulimits = jsonParam<unknown[]>(q, 'ulimits', [], Array.isArray);
  if (ulimits.length) resources.Ulimits = ulimits;
  const labels = jsonParam<Record<string, unknown>>(q, 'labels', {}, isObject);
  const buildArgs = jsonParam<Record<string, unknown>>(q, 'buildargs', {}, isObject);
  for (const [k, v] of Object.entries(buildArgs)) {
    if (v !== null && typeof v !== 'string') throw new InvalidParameterError(`error reading build args: the value of ${k} is not a string`);
  }
  return {
    dockerfile: q.get('dockerfile') || 'Dockerfile',
    tags: q.getAll('t'),
    buildArgs: buildArgs as Record<string, string | null>,
    labels: Object.fromEntries(Object.entries(labels).map(([k, v]) => [k, String(v ?? '')])),
    noCache: boolParam(q, 'nocache'),
    pull: boolParam(q, 'pull'),
    target: q.get('target') ?? '',
    quiet: boolParam(q, 'q'),
    // dockerd: forcerm wins, then an absent or empty rm is true.
    rm: boolParam(q, 'forcerm') || (q.get('rm') ?? '') === '' || boolParam(q, 'rm'),
    networkMode: q.get('networkmode') ?? '',
    platform: q.get('platform') ?? '',
    remote: q.get('remote') ?? '',
    cacheFrom: jsonParam<string[]>(q, 'cachefrom', [], (v) => Array.isArray(v) && v.every((x) => typeof x === 'string')),
    // Repeated, one `host:ip` each (moby: r.Form["extrahosts"]).
    extraHosts: q.getAll('extrahosts').filter((h) => h !== ''),
    squash: boolParam(q, 'squash'),
    cgroupParent: q.get('cgroupparent') ?? '',
    isolation: q.get('isolation') ?? '',
    version: builderVersion(q.get('version') ?? ''),
    outputs: q.get('outputs') ?? '',
    resources,
    authConfigs: decodeRegistryConfig(registryConfig),
  };
}

/** `version`: dockerd knows 1 (classic) and 2 (BuildKit); anything else is refused before the context is read. */
function builderVersion(v: string): string {
  if (v !== '' && v !== '1' && v !== '2') throw new InvalidParameterError(`invalid version ${JSON.stringify(v)}`);
  return v;
}

/** `X-Registry-Config`: base64url JSON of `{registry: authconfig}` (the CLI sends `e30=`, `{}`). */
function decodeRegistryConfig(header: string | undefined): Record<string, AuthConfig> {
  if (!header) return {};
  try {
    const v = JSON.parse(Buffer.from(header.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('utf8')) as unknown;
    return isObject(v) ? (v as Record<string, AuthConfig>) : {};
  } catch {
    throw new InvalidParameterError('invalid X-Registry-Config header');
  }
}

/** Reads what is left of a request body, so an early error answer does not break the client's upload. */
async function drain(req: IncomingMessage): Promise<void> {
  if (req.readableEnded || req.destroyed) return;
  await new Promise<void>((resolve) => {
    const done = () => { clearTimeout(t); resolve(); };
    const t = setTimeout(done, 30_000);
    req.once('end', done);
    // A client that goes away ends the body without 'end' (and without 'error' unless listened to).
    req.once('close', done);
    req.resume();
  });
}

export function registerBuildRoutes(r: Router, engine: Engine): void {
  r.post('/build', async (ctx) => {
    const res = need(ctx);
    const trace = startTrace('build');
    let prepared;
    const body = ctx.query.get('remote') ? null : requestBody(ctx.req);
    try {
      const header = ctx.req.headers['x-registry-config'];
      const params = buildParams(ctx.query, Array.isArray(header) ? header[0] : header);
      prepared = await engine.builds.prepare(params, body);
      trace.step('context');
    } catch (e) {
      // Let go of the body (whatever refused it may not have), then read its rest before answering.
      body?.destroy();
      await drain(ctx.req);
      throw e;
    }
    const out = new JsonMessageStream(res);
    const send = (msg: Record<string, unknown>) => { if (!res.destroyed) out.write(msg); };
    const cancel = new AbortController();
    const onClose = () => { if (!res.writableFinished) cancel.abort(); };
    res.on('close', onClose);
    let failure: Record<string, unknown> | undefined;
    try {
      await engine.builds.run(prepared, {
        stream: (text) => send({ stream: text }), aux: (aux) => send({ aux }), progress: (msg) => send(msg),
      }, cancel.signal, trace);
    } catch (e) {
      const message = errorMessage(e);
      const code = e instanceof BuildStepError ? e.exitCode : undefined;
      failure = { errorDetail: code !== undefined ? { code, message } : { message }, error: message };
    } finally {
      res.off('close', onClose);
      // Cleaned up before the client hears the end: a CLI that exits on the error finds nothing left.
      await engine.builds.dispose(prepared);
      trace.step('cleanup');
      if (failure) send(failure);
      if (!res.destroyed) out.end();
      trace.end();
    }
  });

  r.post('/build/prune', async (ctx) => {
    const q = ctx.query;
    for (const k of ['keep-storage', 'reserved-space', 'max-used-space', 'min-free-space']) {
      if (intParam(q, k)) throw new NotImplementedError(`builder prune --${k} is not supported yet`);
    }
    const f = parseFilters(q.get('filters'));
    let unusedForMs: number | undefined;
    for (const [k, values] of Object.entries(f)) {
      if (k !== 'until' && k !== 'unused-for') throw new NotImplementedError(`builder prune filter ${JSON.stringify(k)} is not supported (until is)`);
      const ns = parseGoDuration(values[0] ?? '');
      unusedForMs = Math.floor(ns / 1_000_000);
    }
    sendJson(need(ctx), 200, await engine.builds.prune(unusedForMs !== undefined ? { unusedForMs } : {}));
  });
}
