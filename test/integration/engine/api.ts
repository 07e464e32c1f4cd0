/**
 * Small API conveniences for engine tests: run a container to completion and
 * collect its logs, through the Engine API only (no CLI involved).
 */
import assert from 'node:assert/strict';
import type { Daemon } from '../../helpers/daemon.js';

export async function createContainer(d: Daemon, body: Record<string, unknown>, name?: string): Promise<string> {
  const r = await d.request('POST', `/containers/create${name ? `?name=${name}` : ''}`, { Image: 'busybox', ...body });
  assert.equal(r.status, 201, r.text);
  return r.json().Id as string;
}

export async function start(d: Daemon, id: string): Promise<void> {
  const r = await d.request('POST', `/containers/${id}/start`);
  assert.equal(r.status, 204, r.text);
}

export async function waitExit(d: Daemon, id: string): Promise<number> {
  const r = await d.request('POST', `/containers/${id}/wait`, undefined, { timeoutMs: 30_000 });
  assert.equal(r.status, 200, r.text);
  return r.json().StatusCode as number;
}

/** stdout of a non-tty container's log, de-framed. */
export async function logs(d: Daemon, id: string): Promise<string> {
  const r = await d.request('GET', `/containers/${id}/logs?stdout=1&stderr=1`);
  assert.equal(r.status, 200, r.text);
  const out: Buffer[] = [];
  let b = r.body;
  while (b.length >= 8) {
    const n = b.readUInt32BE(4);
    out.push(b.subarray(8, 8 + n));
    b = b.subarray(8 + n);
  }
  return Buffer.concat(out).toString('utf8');
}

export async function inspect(d: Daemon, id: string): Promise<any> {
  const r = await d.request('GET', `/containers/${id}/json`);
  assert.equal(r.status, 200, r.text);
  return r.json();
}

export async function remove(d: Daemon, id: string, force = true): Promise<void> {
  const r = await d.request('DELETE', `/containers/${id}?force=${force ? 1 : 0}&v=1`);
  assert.ok(r.status === 204 || r.status === 404, r.text);
}
