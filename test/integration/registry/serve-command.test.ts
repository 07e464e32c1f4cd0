/**
 * `runRegistryServe` as `berth registry serve` runs it: flags, the printed
 * address, Common Log Format lines, and shutdown.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import { runRegistryServe } from '../../../src/registry/server/main.js';
import { tempDir } from './processes.js';

test('serve prints its URL, logs requests in CLF, and stops on abort', async () => {
  const root = await tempDir('registry-serve');
  const ac = new AbortController();
  const out: string[] = [];
  const err: string[] = [];
  let running: Promise<void> | undefined;
  try {
    let listening!: (url: string) => void;
    const url = new Promise<string>((resolve) => { listening = resolve; });
    running = runRegistryServe(['--addr', '127.0.0.1:0', '--storage', root, '--user', 'admin:pw'], {
      out: (l) => {
        out.push(l);
        const m = /listening on (\S+)/.exec(l);
        if (m) listening(m[1]);
      },
      err: (l) => err.push(l),
      signal: ac.signal,
    });
    const base = await Promise.race([url, running.then(() => { throw new Error(`stopped early: ${err.join('\n')}`); })]);
    assert.match(base, /^http:\/\/127\.0\.0\.1:\d+$/);
    const res = await fetch(`${base}/v2/`, { headers: { authorization: `Basic ${Buffer.from('admin:pw').toString('base64')}` } });
    assert.equal(res.status, 200);
    await res.arrayBuffer();
    const denied = await fetch(`${base}/v2/_catalog`);
    assert.equal(denied.status, 401);
    await denied.arrayBuffer();
    await new Promise((r) => setTimeout(r, 50));
    assert.match(err.join('\n'), /^127\.0\.0\.1 - admin \[[^\]]+\] "GET \/v2\/ HTTP\/1\.1" 200 2$/m);
    assert.match(err.join('\n'), /"GET \/v2\/_catalog HTTP\/1\.1" 401 \d+$/m);
  } finally {
    ac.abort();
    await running;
    await fs.rm(root, { recursive: true, force: true });
  }
  assert.match(err.join('\n'), /shutting down/);
});

test('--help prints usage and returns without serving', async () => {
  const out: string[] = [];
  await runRegistryServe(['--help'], { out: (l) => out.push(l) });
  assert.match(out.join('\n'), /Usage:\s+berth registry serve/);
});
