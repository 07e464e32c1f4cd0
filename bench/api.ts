/**
 * A minimal Docker Engine API client over a unix socket, for set-up work
 * that is not being measured (creating 1000 containers for `ps -a`), for
 * removing containers at clean-up, and for the load figure's requests
 * (over keep-alive agents, so a request costs no connect).
 */
import http from 'node:http';
import { throwIfInterrupted } from './proc.js';

export interface ApiReply {
  status: number;
  body: string;
}

/**
 * A unix socket whose listen backlog is full refuses a connect with EAGAIN
 * (it does not queue it as TCP would): hundreds of clients connecting at
 * once meet that. The request was not sent, so it is sent again shortly.
 */
const CONNECT_RETRIES = 200;

export function isBacklogFull(e: unknown): boolean {
  return (e as NodeJS.ErrnoException)?.code === 'EAGAIN' && (e as NodeJS.ErrnoException).syscall === 'connect';
}

/** One request; `agent` (keep-alive) reuses connections, without it each request has its own. */
export async function apiRequest(socketPath: string, method: string, path: string, body?: unknown, timeoutMs = 60_000, agent?: http.Agent): Promise<ApiReply> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await requestOnce(socketPath, method, path, body, timeoutMs, agent);
    } catch (e) {
      if (!isBacklogFull(e) || attempt >= CONNECT_RETRIES) throw e;
      await new Promise((r) => setTimeout(r, 5));
    }
  }
}

function requestOnce(socketPath: string, method: string, path: string, body: unknown, timeoutMs: number, agent?: http.Agent): Promise<ApiReply> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const headers: Record<string, string> = { Host: 'localhost' };
  if (payload !== undefined) {
    headers['Content-Type'] = 'application/json';
    headers['Content-Length'] = String(Buffer.byteLength(payload));
  }
  return new Promise((resolve, reject) => {
    throwIfInterrupted();
    const req = http.request({ socketPath, method, path, headers, agent: agent ?? false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => { clearTimeout(timer); resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }); });
      res.on('error', reject);
    });
    const timer = setTimeout(() => req.destroy(new Error(`${method} ${path}: no answer within ${timeoutMs} ms`)), timeoutMs);
    req.on('error', (e) => { clearTimeout(timer); reject(e); });
    req.end(payload);
  });
}

/** POST /containers/create; resolves with the new container's id. */
export async function createContainer(socketPath: string, config: Record<string, unknown>): Promise<string> {
  const r = await apiRequest(socketPath, 'POST', '/containers/create', config);
  if (r.status !== 201) throw new Error(`POST /containers/create: ${r.status} ${r.body.trim()}`);
  return (JSON.parse(r.body) as { Id: string }).Id;
}

/** Ids of all containers, optionally filtered (Docker's `filters` query). */
export async function listContainerIds(socketPath: string, filters?: Record<string, string[]>): Promise<string[]> {
  const q = new URLSearchParams({ all: '1', ...(filters ? { filters: JSON.stringify(filters) } : {}) });
  const r = await apiRequest(socketPath, 'GET', `/containers/json?${q}`);
  if (r.status !== 200) throw new Error(`GET /containers/json: ${r.status} ${r.body.trim()}`);
  return (JSON.parse(r.body) as { Id: string }[]).map((c) => c.Id);
}

/** DELETE /containers/{id}?force=1 (a container already gone counts as removed). */
export async function removeContainer(socketPath: string, id: string): Promise<void> {
  const r = await apiRequest(socketPath, 'DELETE', `/containers/${id}?force=1`);
  if (r.status !== 204 && r.status !== 404) throw new Error(`DELETE /containers/${id}: ${r.status} ${r.body.trim()}`);
}
