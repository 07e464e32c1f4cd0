/**
 * A worker thread that sends `GET /_ping` at a fixed rate, without waiting
 * for earlier answers (an open loop: a daemon that stalls for a second gets
 * every ping of that second late, not one), and reports each ping's latency.
 * It runs on its own thread so that the load the bench drives from its main
 * thread (hundreds of list replies to read) does not delay the pings' own
 * replies and count as the daemon's latency.
 *
 * workerData: { socket, intervalMs }. Post 'stop': no new pings go out; when
 * those in flight are answered the worker posts { latencies, failures } and exits.
 */
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import { isBacklogFull } from './api.js';

export interface SamplerData { socket: string; intervalMs: number }
export interface SamplerResult { latencies: number[]; failures: string[] }

const { socket, intervalMs } = workerData as SamplerData;
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
const latencies: number[] = [];
const failures: string[] = [];
let inFlight = 0;
let stopping = false;

function finishIfDone(): void {
  if (!stopping || inFlight > 0) return;
  clearInterval(timer);
  agent.destroy();
  parentPort!.postMessage({ latencies, failures } satisfies SamplerResult);
}

/** A ping; its latency runs from the first attempt (a connect refused for a full backlog is tried again: see api.ts). */
function ping(t0 = performance.now(), attempt = 0): void {
  if (attempt === 0) inFlight++;
  const done = (failure?: string) => {
    if (failure === undefined) latencies.push(performance.now() - t0);
    else if (failures.length < 10) failures.push(failure);
    inFlight--;
    finishIfDone();
  };
  const req = http.request({ socketPath: socket, method: 'GET', path: '/_ping', headers: { Host: 'localhost' }, agent }, (res) => {
    res.resume();
    res.on('end', () => done(res.statusCode === 200 ? undefined : `status ${res.statusCode}`));
    res.on('error', (e) => done(e.message));
  });
  req.on('error', (e) => {
    if (isBacklogFull(e) && attempt < 200) setTimeout(() => ping(t0, attempt + 1), 5);
    else done(e.message);
  });
  req.end();
}

const timer = setInterval(() => { if (!stopping) ping(); }, intervalMs);
parentPort!.on('message', (m) => {
  if (m === 'stop') {
    stopping = true;
    finishIfDone();
  }
});
