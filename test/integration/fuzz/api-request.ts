/**
 * One API fuzz request: an operation from the spec (now and then a method
 * the path does not have, or a path from nowhere), its path template filled
 * with real names and ids or hostile strings, query parameters from the spec
 * with right and wrong types, a JSON body generated from the schema and then
 * mutated, or raw garbage, sent with a right or wrong Content-Type and one
 * of the body encodings. `makeSafe` (safety.ts) runs last.
 */
import type { Rng } from './rng.js';
import type { Operation, Parameter, SpecModel } from './spec-model.js';
import type { Fixtures, Kind } from './fixtures.js';
import type { BodyEncoding, FuzzRequest } from './wire.js';
import { generate, type Hints } from './body-gen.js';
import { DupObject, mutateJson, toJsonText } from './json-mutate.js';
import { junkQueryValue, junkString, percentEncode } from './strings.js';
import { safeBody, safeChange, SAFE_REGISTRY, type SafetyContext } from './safety.js';
import { smallTar } from './tar-write.js';

/** Endpoints that stream or hold their answer for as long as the client waits. */
const STREAMING = /\/(attach(\/ws)?|wait|logs|stats)$|^\/events$|^\/exec\/\{id\}\/start$/;
/** Endpoints that may take as long as a query parameter says (stop's `t`). */
const WAITING = /\/(stop|restart|kill|start|pause|unpause)$/;
/**
 * Operations that cost seconds each (a login to an unreachable registry,
 * a commit, a pull) are picked less often, so a CI run's time goes to many
 * requests rather than to a few slow ones; those whose bodies are stored
 * more often.
 */
const OP_WEIGHTS: Record<string, number> = {
  'POST /auth': 0.3, 'POST /commit': 0.3, 'POST /images/create': 0.5, 'POST /images/{name}/push': 0.5, 'POST /build': 0.5,
  // Bodies that become stored records, where a wrong type spoils a record for good.
  'POST /containers/create': 4, 'POST /containers/{id}/update': 2, 'POST /networks/create': 2, 'POST /volumes/create': 2,
};
const HIJACK = /\/(attach|attach\/ws)$|^\/exec\/\{id\}\/start$/;

function kindOf(path: string): Kind {
  if (path.startsWith('/exec/')) return 'exec';
  if (path.startsWith('/images/')) return 'image';
  if (path.startsWith('/networks/')) return 'network';
  if (path.startsWith('/volumes/')) return 'volume';
  return 'container';
}

/** A path segment: a real name or id (or a prefix of one), or something hostile, encoded or raw. */
function fillSegment(kind: Kind, fx: Fixtures, rng: Rng): string {
  const real = fx.pool[kind];
  return rng.weighted<() => string>([
    [6, () => (real.length ? percentEncode(rng.pick(real)) : 'none')],
    [1, () => (real.length ? rng.pick(real).slice(0, rng.int(1, 12)) : 'a')],
    [2, () => percentEncode(junkString(rng))],
    [1, () => rng.pick(['..', '%2e%2e', '..%2F..%2F..%2Fetc', '%2F', '%2Fetc%2Fpasswd', '%00', 'a%00b', '.', '%252e%252e', '%c0%ae%c0%ae', '%'])],
    [1, () => junkString(rng)], // raw: may break the request line
    [1, () => 'x'.repeat(rng.pick([300, 5000, 70_000]))],
  ])();
}

function hints(fx: Fixtures): Hints {
  return (prop, rng) => {
    switch (prop) {
      case 'Image': return rng.pick(fx.pool.image);
      case 'Container': return rng.pick(fx.pool.container);
      case 'VolumesFrom': return [rng.pick(fx.pool.container)];
      case 'Cmd': case 'Entrypoint': return rng.pick([['true'], ['sleep', '1'], ['echo', 'hi'], ['sleep', '100000'], ['cat'], [], ['/nonexistent'], 'true']);
      case 'Binds': return rng.pick([['fz-vol:/data'], ['fz-vol:/data:ro'], ['/tmp:/tmp'], ['named:/x'], ['fz-vol:/']]);
      case 'NetworkMode': return rng.pick(['bridge', 'none', 'fz-net', `container:${rng.pick(fx.pool.container)}`, 'default']);
      case 'Name': return rng.chance(0.5) ? `fz-${rng.alnum(6)}` : undefined;
      case 'EndpointsConfig': return { [rng.pick(fx.pool.network)]: {} };
      default: return undefined;
    }
  };
}

function queryValue(p: Parameter, fx: Fixtures, rng: Rng): string[] {
  if (rng.chance(0.35)) return [junkQueryValue(rng)];
  if (p.name === 'filters') return [rng.pick(['{"label":["a=b"]}', '{"status":["running"]}', '{"dangling":["true"]}', '{"name":["fz"]}', '{"until":["1h"]}', '{"reference":["busybox"]}', '{}', '{"id":[""]}'])];
  if (p.name === 'changes') return [rng.pick(['ENV A=1', 'LABEL x=y', 'EXPOSE 80', 'VOLUME /v', 'WORKDIR /w', 'USER 1000', 'STOPSIGNAL 9'])];
  if (p.name === 'container') return [rng.pick(fx.pool.container)];
  if (p.name === 'path') return [rng.pick(['/', '/etc', '/etc/hosts', '/data', '/tmp', '/nonexistent', '/bin/sh', '/etc/passwd', '.', '/proc/self'])];
  if (p.name === 'names') return [rng.pick(fx.pool.image), rng.pick(fx.pool.image)];
  if (p.enum?.length) return [String(rng.pick(p.enum))];
  switch (p.type) {
    case 'boolean': return [rng.pick(['1', '0', 'true', 'false'])];
    case 'integer': return [String(rng.int(0, 100))];
    case 'array': return [rng.alnum(4), rng.alnum(3)];
    default: return [rng.alnum(rng.int(1, 10))];
  }
}

const CONTENT_TYPES = ['application/json', 'text/plain', 'application/x-tar', 'application/octet-stream', 'application/json; charset=utf-16', 'multipart/form-data; boundary=x', '', 'application/json, application/json'];

/** Host-safety of the query string, per endpoint (see safety.ts). */
function safeQuery(path: string, q: Array<[string, string]>): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const [k, v] of q) {
    if (path === '/images/create' && k === 'fromImage') { out.push([k, `${SAFE_REGISTRY}/fuzz/${percentEncode(v).slice(0, 40).toLowerCase() || 'x'}`]); continue; }
    if (path === '/images/create' && k === 'fromSrc') { out.push([k, '-']); continue; }
    if (path === '/build' && ['remote', 'pull', 'cachefrom', 'outputs'].includes(k)) continue;
    if (path === '/build' && k === 'networkmode' && /host/i.test(v)) continue;
    if (k === 'changes') { out.push([k, safeChange(v)]); continue; }
    out.push([k, v]);
  }
  return out;
}

export interface ApiGenContext {
  spec: SpecModel;
  fx: Fixtures;
  safety: SafetyContext;
  /** Operations weighted toward those that change state (where the bugs are). */
  ops: Operation[];
}

export function apiRequest(ctx: ApiGenContext, rng: Rng): FuzzRequest {
  const { fx, spec } = ctx;
  const op = rng.weighted(ctx.ops.map((o) => [OP_WEIGHTS[`${o.method} ${o.path}`] ?? 1, o] as const));
  const notes: string[] = [];
  let method = op.method;
  if (rng.chance(0.04)) { method = rng.pick(['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'G\u0000T', 'TRACE']); notes.push('method swapped'); }

  let path = op.path.replace(/\{(\w+)\}/g, () => fillSegment(kindOf(op.path), fx, rng));
  // The push target is always the unreachable local registry, whatever the fuzzer picked.
  if (op.path === '/images/{name}/push') path = `/images/${percentEncode(`${SAFE_REGISTRY}/fuzz/${rng.pick(['busybox', 'x', rng.alnum(5)])}`)}/push`;
  if (/^\/networks\/\{id\}\/(connect|disconnect)$/.test(op.path)) {
    // Decoded byte-wise: a server may decode it either way, and invalid UTF-8 must not throw here.
    const seg = path.split('/')[2].replace(/%([0-9a-fA-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
    if (ctx.safety.hostNetwork.some((h) => h.toLowerCase().startsWith(seg.toLowerCase())) || /host/i.test(seg)) path = path.replace(/^\/networks\/[^/]*/, '/networks/fz-net');
  }
  const version = rng.weighted<string>([[8, ''], [3, '/v1.50'], [1, '/v1.24'], [1, '/v1.12'], [1, '/v9.99'], [1, '/v1.50.1'], [1, '/vx']]);

  let query: Array<[string, string]> = [];
  for (const p of op.params.filter((x) => x.in === 'query')) {
    if (!rng.chance(p.required ? 0.95 : 0.45)) continue;
    for (const v of queryValue(p, fx, rng)) query.push([p.name, v]);
  }
  if (rng.chance(0.05)) query.push([junkString(rng), junkQueryValue(rng)]);
  query = safeQuery(op.path, query);
  const qs = rng.chance(0.9)
    ? new URLSearchParams(query).toString()
    : query.map(([k, v]) => `${k}=${v}`).join('&'); // unencoded
  const target = Buffer.from(`${version}${path}${qs ? `?${qs}` : ''}`, 'utf8');

  const headers: Array<[string, string]> = [];
  if (rng.chance(0.97)) headers.push(['Host', 'berth']);
  headers.push(['Connection', rng.chance(0.9) ? 'close' : 'keep-alive']);
  const hijack = HIJACK.test(op.path);
  if (hijack && rng.chance(0.5)) headers.push(['Upgrade', 'tcp'], ['Connection', 'Upgrade']);

  const bodyParam = op.params.find((x) => x.in === 'body');
  let body: Buffer | undefined;
  const binary = bodyParam?.schema && spec.resolve(bodyParam.schema).format === 'binary';
  if (bodyParam?.schema && !binary && !(hijack && !op.path.startsWith('/exec'))) {
    let value = generate(spec, bodyParam.schema, rng, hints(fx));
    if (rng.chance(0.75)) { value = mutateJson(value, rng); notes.push('mutated'); }
    // A login without a usable server address goes to Docker Hub: /auth always names the unreachable local registry.
    const auth = op.path === '/auth';
    if (auth) value = value instanceof DupObject ? new DupObject([...value.entries, ['serveraddress', '']]) : { ...(value && typeof value === 'object' && !Array.isArray(value) ? value : {}), serveraddress: '' };
    value = safeBody(value, ctx.safety);
    let text = toJsonText(value);
    const shape = auth ? 'json' : rng.weighted<string>([[80, 'json'], [5, 'truncated'], [5, 'garbage'], [4, 'empty'], [1, 'huge']]);
    if (shape === 'truncated') text = text.slice(0, rng.int(0, Math.max(0, text.length - 1)));
    if (shape !== 'json') notes.push(shape);
    body = shape === 'garbage' ? rng.bytes(rng.int(1, 4096))
      : shape === 'empty' ? Buffer.alloc(0)
        : shape === 'huge' ? Buffer.from(`{"Image":"busybox","Labels":{"a":"${'x'.repeat(12 << 20)}"}}`)
          : Buffer.from(text, 'utf8');
    headers.push(['Content-Type', auth || rng.chance(0.85) ? 'application/json' : rng.pick(CONTENT_TYPES)]);
  } else if (binary) {
    const shape = rng.weighted<string>([[4, 'tar'], [2, 'garbage'], [1, 'empty']]);
    notes.push(shape);
    body = shape === 'tar' ? smallTar(rng) : shape === 'garbage' ? rng.bytes(rng.int(1, 20_000)) : Buffer.alloc(0);
    headers.push(['Content-Type', rng.chance(0.8) ? 'application/x-tar' : rng.pick(CONTENT_TYPES)]);
  } else if (rng.chance(0.05) && !hijack) {
    body = rng.bytes(rng.int(1, 512));
    notes.push('unexpected body');
  }

  let encoding: BodyEncoding = body === undefined ? 'none' : 'length';
  const whole = op.path === '/auth' && method === 'POST';
  if (body !== undefined && !whole) encoding = rng.weighted<BodyEncoding>([[84, 'length'], [10, 'chunked'], [2, 'bad-chunked'], [2, 'short'], [2, 'none']]);
  let cut: FuzzRequest['cut'];
  if (body && body.length > 0 && !whole && rng.chance(0.04)) cut = { at: -rng.int(1, body.length), how: rng.chance(0.7) ? 'destroy' : 'end' };
  if (encoding === 'short') cut = { at: -0, how: 'end' };
  return {
    label: `${op.method} ${op.path}`, method, target, headers, body, encoding, cut,
    mayBlock: STREAMING.test(op.path) ? 'stream' : WAITING.test(op.path) || encoding === 'short' ? 'wait' : false,
    note: notes.join(', ') || undefined,
  };
}
