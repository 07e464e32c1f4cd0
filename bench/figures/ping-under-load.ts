/**
 * Figure 7: how long `GET /_ping` waits while the daemon is loaded — the
 * share of its event loop (or its threads) that one cheap request gets
 * while 600 clients list containers without pause and 50 containers run at
 * once. A daemon that does long synchronous work per request (a list
 * serialised in one go, a synchronous database query, a directory walk)
 * answers the ping only after it.
 *
 * Set-up (not measured): BACKGROUND created containers, so a list has rows
 * to build. Then, per run: a worker thread pings every PING_INTERVAL_MS
 * (ping-sampler.ts); the main thread keeps LISTS `GET /containers/json?all=1`
 * in flight (each client sends its next list when its reply has been read,
 * over a keep-alive agent with a socket per client) and starts RUNS
 * `run --rm` at once through the API (create with network none, start,
 * wait, remove — what `docker run --rm` asks of the daemon, without
 * hundreds of CLI processes, which would measure the CLI). When the last
 * run is removed the lists stop; the pings of that window give p50, p99
 * and max. Engines without an Engine API socket (podman without its
 * service) are not measured.
 */
import http from 'node:http';
import { Worker } from 'node:worker_threads';
import { apiRequest, createContainer, isBacklogFull, removeContainer } from '../api.js';
import { alternate, type Subject } from '../alternate.js';
import type { BenchContext } from '../context.js';
import { IMAGE, type Engine } from '../engines.js';
import { isInterrupted, runPool } from '../proc.js';
import type { SamplerData, SamplerResult } from '../ping-sampler.js';
import { newFigure, type Figure } from '../table.js';

const LISTS = 600;
const RUNS = 50;
export const BACKGROUND = 100;
const PING_INTERVAL_MS = 5;
const REQUEST_TIMEOUT_MS = 300_000;

const load = `${LISTS} lists + ${RUNS} runs`;
export const PING_P50 = `/_ping p50 under ${load}`;
export const PING_P99 = `/_ping p99 under ${load}`;
export const PING_MAX = `/_ping max under ${load}`;
export const PING_TITLES = [PING_P50, PING_P99, PING_MAX];

/** berth's row is its daemon's: the CLI plays no part here. */
const rowLabel = (e: Engine) => (e.kind === 'berth' ? 'berthd' : e.label);

/** The value at quantile q (0–1) of sorted values, nearest rank. */
function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

function expectStatus(what: string, r: { status: number; body: string }, ...ok: number[]): void {
  if (!ok.includes(r.status)) throw new Error(`${what}: ${r.status} ${r.body.trim().slice(0, 200)}`);
}

/** `docker run --rm busybox true` as API calls: create, start, wait, remove. */
async function runRm(socket: string, agent: http.Agent): Promise<void> {
  const created = await apiRequest(socket, 'POST', '/containers/create', { Image: IMAGE, Cmd: ['true'], HostConfig: { NetworkMode: 'none' } }, REQUEST_TIMEOUT_MS, agent);
  expectStatus('POST /containers/create', created, 201);
  const id = (JSON.parse(created.body) as { Id: string }).Id;
  try {
    expectStatus('POST /containers/{id}/start', await apiRequest(socket, 'POST', `/containers/${id}/start`, undefined, REQUEST_TIMEOUT_MS, agent), 204);
    expectStatus('POST /containers/{id}/wait', await apiRequest(socket, 'POST', `/containers/${id}/wait?condition=not-running`, undefined, REQUEST_TIMEOUT_MS, agent), 200);
  } finally {
    expectStatus('DELETE /containers/{id}', await apiRequest(socket, 'DELETE', `/containers/${id}?force=1`, undefined, REQUEST_TIMEOUT_MS, agent), 204, 404);
  }
}

/**
 * `GET path`, its reply read and dropped (the load is the daemon's: decoding
 * hundreds of lists a second would take the bench's own CPU from the
 * daemon and the pinger on a small machine). Resolves with the status.
 */
async function drainingGet(socket: string, path: string, agent: http.Agent): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await new Promise<number>((resolve, reject) => {
        const req = http.request({ socketPath: socket, method: 'GET', path, headers: { Host: 'localhost' }, agent }, (res) => {
          res.on('end', () => resolve(res.statusCode ?? 0));
          res.on('error', reject);
          res.resume();
        });
        req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error(`GET ${path}: no answer within ${REQUEST_TIMEOUT_MS} ms`)));
        req.on('error', reject);
        req.end();
      });
    } catch (e) {
      if (!isBacklogFull(e) || attempt >= 200) throw e;
      await new Promise((r) => setTimeout(r, 5));
    }
  }
}

/** Pings from a worker thread until the returned function is called; that resolves with the latencies. */
function startSampler(socket: string): () => Promise<SamplerResult> {
  const worker = new Worker(new URL('../ping-sampler.js', import.meta.url), { workerData: { socket, intervalMs: PING_INTERVAL_MS } satisfies SamplerData });
  const result = new Promise<SamplerResult>((resolve, reject) => {
    worker.once('message', (m: SamplerResult) => resolve(m));
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`the ping sampler exited (${code}) before reporting`)));
  });
  return async () => {
    worker.postMessage('stop');
    try { return await result; } finally { await worker.terminate(); }
  };
}

/** One run of the load against the daemon on `socket`; resolves with the value of each of PING_TITLES. */
export async function measurePingUnderLoad(socket: string, note: (title: string, text: string) => void = () => undefined): Promise<Record<string, number>> {
  const listAgent = new http.Agent({ keepAlive: true, maxSockets: LISTS });
  const runAgent = new http.Agent({ keepAlive: true, maxSockets: RUNS });
  const stopSampler = startSampler(socket);
  let sampled: SamplerResult | undefined;
  let lists = 0;
  const t0 = Date.now();
  try {
    let running = true;
    const listers = Array.from({ length: LISTS }, async () => {
      while (running) {
        const status = await drainingGet(socket, '/containers/json?all=1', listAgent);
        if (status !== 200) throw new Error(`GET /containers/json: ${status}`);
        lists++;
      }
    });
    // A failed list ends the load at once instead of after the runs.
    const listFailure = Promise.all(listers).then(() => undefined, (e: unknown) => { running = false; throw e; });
    try {
      await Promise.race([Promise.all(Array.from({ length: RUNS }, () => runRm(socket, runAgent))), listFailure]);
    } finally {
      running = false;
    }
    await listFailure;
  } finally {
    sampled = await stopSampler().catch(() => undefined);
    listAgent.destroy();
    runAgent.destroy();
  }
  if (!sampled || sampled.latencies.length === 0) throw new Error(`no ping was answered${sampled?.failures.length ? `: ${sampled.failures[0]}` : ''}`);
  if (sampled.failures.length) throw new Error(`pings failed: ${sampled.failures[0]}`);
  const seconds = (Date.now() - t0) / 1000;
  const sorted = [...sampled.latencies].sort((a, b) => a - b);
  note(PING_P99, `${BACKGROUND} created containers besides the runs' own; in the last run ${sampled.latencies.length} pings (one every ${PING_INTERVAL_MS} ms, from their own thread) in ${seconds.toFixed(1)} s, while ${(lists / seconds).toFixed(0)} lists/s were answered`);
  return { [PING_P50]: quantile(sorted, 0.5), [PING_P99]: quantile(sorted, 0.99), [PING_MAX]: sorted[sorted.length - 1] };
}

export async function pingUnderLoadFigures(ctx: BenchContext): Promise<Figure[]> {
  const figures = PING_TITLES.map((t) => newFigure(t));
  ctx.progress(`${PING_P99}: ${BACKGROUND} created containers per engine`);
  const engines = [ctx.berth, ...ctx.peers];
  const measured = engines.filter((e) => e.apiSocket);
  const removers: (() => Promise<void>)[] = [];
  try {
    const subjects: Subject[] = [];
    for (const e of measured) {
      const socket = e.apiSocket!;
      const ids: string[] = [];
      removers.push(async () => { await runPool(ids.length, 8, (i) => removeContainer(socket, ids[i]).catch(() => undefined)); });
      try {
        await runPool(BACKGROUND, 8, async () => { ids.push(await createContainer(socket, { Image: IMAGE, Cmd: ['true'], HostConfig: { NetworkMode: 'none' } })); });
      } catch (err) {
        if (isInterrupted()) throw err;
        for (const f of figures) f.series.push({ label: rowLabel(e), values: [], error: `creating the containers: ${(err instanceof Error ? err.message : String(err)).split('\n')[0]}`, notes: [] });
        continue;
      }
      subjects.push({ label: rowLabel(e), measure: (run, note) => measurePingUnderLoad(socket, run === ctx.heavyRuns - 1 ? note : () => undefined) });
    }
    await alternate(ctx.heavyRuns, subjects, figures, ctx.progress);
    for (const e of engines) {
      if (!e.apiSocket) for (const f of figures) f.series.push({ label: rowLabel(e), values: [], error: 'no Engine API socket (podman system service is not running)', notes: [] });
    }
  } finally {
    ctx.progress(`${PING_P99}: removing the containers`);
    for (const remove of removers) await remove();
  }
  return figures;
}
