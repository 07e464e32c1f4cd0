/**
 * The invariants, checked cheaply after every request and expensively at
 * the end:
 *  - berthd stays up: the same pid, and `/_ping` answers after each request;
 *  - every request gets an HTTP status: no connection closed without one, no
 *    request left without one (except endpoints that may legitimately hold
 *    their answer, and requests the fuzzer itself cut short); a 5xx must
 *    carry a JSON `{"message": …}` (each 5xx is recorded as a finding);
 *  - no response carries the canary's secret (berthd read a host file);
 *  - no record becomes unreadable: every listed container, image, volume and
 *    network inspects with 200 and valid JSON.
 * Host changes are compared by host-canary.ts.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { unixRequest, type Daemon } from '../../helpers/daemon.js';
import { rawExchange, type RawOutcome } from '../../helpers/raw-http.js';
import type { Findings } from './findings.js';
import { encodeRequest, type FuzzRequest } from './wire.js';
import { INSPECT_SCHEMAS, shapeErrors } from './schema-check.js';
import type { SpecModel } from './spec-model.js';

export interface CheckContext {
  d: Daemon;
  findings: Findings;
  secret: string;
  /** berthd's pid when the run (or the last restart) began. */
  pid: number | undefined;
  /** For checking inspect answers against the spec's response schemas. */
  spec?: SpecModel;
  /** Shape mismatches berthd's own fixtures already had before fuzzing (reported once, not failed). */
  shapeBaseline?: Set<string>;
}

const PING_TIMEOUT_MS = 10_000;

function tail(text: string, n = 25): string {
  return text.split('\n').slice(-n).join('\n    ');
}

/** Sends one fuzz request and checks what came back. */
export async function sendAndCheck(ctx: CheckContext, req: FuzzRequest, index: number): Promise<RawOutcome> {
  const bytes = encodeRequest(req);
  const cutAt = req.cut ? (req.cut.at <= 0 ? bytes.length + req.cut.at : req.cut.at) : undefined;
  const outcome = await rawExchange(ctx.d.socket, bytes, {
    head: req.method === 'HEAD',
    ...(cutAt !== undefined ? { cutAt, cutHow: req.cut!.how } : {}),
    headerTimeoutMs: req.mayBlock === 'stream' ? 1_500 : req.mayBlock === 'wait' ? 4_000 : 20_000,
    bodyTimeoutMs: req.mayBlock ? 2_000 : 20_000,
    ...(req.mayBlock === 'stream' ? { streamMs: 1_000 } : {}),
    maxBody: 64 << 20,
  });
  const f = ctx.findings;
  f.requests++;
  switch (outcome.kind) {
    case 'hung-up':
      f.note('client hung up mid-request');
      break;
    case 'closed':
      if (req.cut) f.note('connection closed after the client cut its request');
      else f.fail('every request gets a status', `connection closed without a response${outcome.error ? ` (${outcome.error})` : ''} after ${outcome.ms} ms`, req, index);
      break;
    case 'no-status':
      if (req.cut || req.mayBlock) f.note(`no status yet (may hold its answer): ${req.label}`);
      else f.fail('every request gets a status', `no status within ${outcome.ms} ms`, req, index);
      break;
    case 'response': {
      const { res } = outcome;
      const text = res.body.toString('utf8');
      if (text.includes(ctx.secret)) f.fail('nothing outside the data root is read', `the response (${res.status}) carries the canary secret: ${text.slice(Math.max(0, text.indexOf(ctx.secret) - 200), text.indexOf(ctx.secret) + 100)}`, req, index);
      if (res.status >= 500) {
        let message: unknown;
        try { message = (JSON.parse(text) as { message?: unknown })?.message; } catch { message = undefined; }
        // A HEAD answer has no body by definition.
        if (typeof message !== 'string' && req.method !== 'HEAD') f.fail('a 5xx carries a JSON message', `${res.status} with body ${JSON.stringify(text.slice(0, 300))}`, req, index);
        f.serverError(req, res.status, typeof message === 'string' ? message : text.slice(0, 200), index);
      }
      if (res.cut === 'stalled' && !req.mayBlock) f.note(`response body stalled: ${req.label}`);
      break;
    }
  }
  const t0 = Date.now();
  await checkAlive(ctx, req, index);
  f.timed(req.label, outcome.ms + Date.now() - t0);
  return outcome;
}

async function ping(d: Daemon, timeoutMs: number): Promise<boolean> {
  return unixRequest(d.socket, 'GET', '/_ping', undefined, { timeoutMs }).then((r) => r.status === 200, () => false);
}

/** berthd still runs with the same pid and answers /_ping; if not, records it and brings berthd back so the run goes on. */
export async function checkAlive(ctx: CheckContext, req: FuzzRequest | undefined, index: number): Promise<void> {
  const { d, findings } = ctx;
  const exited = () => d.pid === undefined || d.pid !== ctx.pid;
  if (!exited() && await ping(d, PING_TIMEOUT_MS)) return;
  // A dying berthd closes its socket before its exit is seen: give the exit a moment to arrive.
  for (let i = 0; i < 10 && !exited(); i++) await sleep(100);
  if (!exited()) {
    let back = false;
    const t0 = Date.now();
    for (let i = 0; i < 10 && !back && !exited(); i++) back = await ping(d, 5_000) || (await sleep(1000), false);
    if (!exited()) {
      findings.fail('berthd stays up', `no answer on /_ping within ${PING_TIMEOUT_MS} ms (berthd still running; ${back ? `answered again after ${Date.now() - t0 + PING_TIMEOUT_MS} ms` : 'killed and restarted after a minute'}); berthd.log:\n    ${tail(d.logs())}`, req, index);
      if (back) return;
      await d.kill9();
      await d.restart();
      ctx.pid = d.pid;
      return;
    }
  }
  findings.fail('berthd stays up', `berthd (pid ${ctx.pid}) exited; berthd.log:\n    ${tail(d.logs())}`, req, index);
  await d.restart();
  ctx.pid = d.pid;
}

/**
 * Every record answers: the four lists answer 200 with JSON arrays, and
 * (when `inspectAll`) every listed item inspects with 200 and JSON.
 */
export async function checkRecords(ctx: CheckContext, inspectAll: boolean): Promise<void> {
  const { d, findings } = ctx;
  const get = async (path: string): Promise<unknown> => {
    let r;
    try {
      r = await unixRequest(d.socket, 'GET', path, undefined, { timeoutMs: 60_000 });
    } catch (e) {
      findings.fail('no record becomes unreadable', `GET ${path}: ${(e as Error).message}`);
      return undefined;
    }
    if (r.status !== 200) { findings.fail('no record becomes unreadable', `GET ${path}: ${r.status} ${r.text.slice(0, 300)}`); return undefined; }
    try { return JSON.parse(r.text); } catch { findings.fail('no record becomes unreadable', `GET ${path}: 200 but not JSON: ${r.text.slice(0, 300)}`); return undefined; }
  };
  const containers = await get('/containers/json?all=1') as Array<{ Id: string }> | undefined;
  const images = await get('/images/json?all=1') as Array<{ Id: string }> | undefined;
  const volumes = await get('/volumes') as { Volumes?: Array<{ Name: string }> } | undefined;
  const networks = await get('/networks') as Array<{ Id: string }> | undefined;
  if (!inspectAll) return;
  const inspect = async (kind: keyof typeof INSPECT_SCHEMAS, path: string) => {
    const v = await get(path);
    if (v === undefined || !ctx.spec) return;
    for (const e of shapeErrors(ctx.spec, { $ref: `#/definitions/${INSPECT_SCHEMAS[kind]}` }, v)) {
      const key = `${kind} ${e.replace(/\[\d+\]/g, '[]').replace(/, got .*/, '')}`;
      if (ctx.shapeBaseline?.has(key)) continue;
      findings.fail('every record serialises back to the API\'s shape', `GET ${path}: ${e}`);
    }
  };
  for (const c of containers ?? []) await inspect('container', `/containers/${c.Id}/json`);
  for (const i of images ?? []) await inspect('image', `/images/${encodeURIComponent(i.Id)}/json`);
  for (const v of volumes?.Volumes ?? []) await inspect('volume', `/volumes/${encodeURIComponent(v.Name)}`);
  for (const n of networks ?? []) await inspect('network', `/networks/${n.Id}`);
  await get('/system/df');
}

/** The shape mismatches of the fixtures before fuzzing: berthd's own, not the fuzzer's doing. */
export async function shapeBaseline(ctx: CheckContext): Promise<Set<string>> {
  const out = new Set<string>();
  if (!ctx.spec) return out;
  const list = async (p: string) => JSON.parse((await unixRequest(ctx.d.socket, 'GET', p)).text) as unknown;
  const one = async (kind: keyof typeof INSPECT_SCHEMAS, path: string) => {
    const r = await unixRequest(ctx.d.socket, 'GET', path);
    if (r.status !== 200) return;
    for (const e of shapeErrors(ctx.spec!, { $ref: `#/definitions/${INSPECT_SCHEMAS[kind]}` }, JSON.parse(r.text))) out.add(`${kind} ${e.replace(/\[\d+\]/g, '[]').replace(/, got .*/, '')}`);
  };
  for (const c of await list('/containers/json?all=1') as Array<{ Id: string }>) await one('container', `/containers/${c.Id}/json`);
  for (const i of await list('/images/json?all=1') as Array<{ Id: string }>) await one('image', `/images/${encodeURIComponent(i.Id)}/json`);
  for (const v of ((await list('/volumes') as { Volumes?: Array<{ Name: string }> }).Volumes ?? [])) await one('volume', `/volumes/${encodeURIComponent(v.Name)}`);
  for (const n of await list('/networks') as Array<{ Id: string }>) await one('network', `/networks/${n.Id}`);
  return out;
}
