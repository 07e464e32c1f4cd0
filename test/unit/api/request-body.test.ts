/**
 * The plumbing under uploads: `requestBody` (api/stream.ts) and `tee`
 * (store/tee.ts), over a real HTTP server on a unix socket in this process.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { ClientGoneError, requestBody } from '../../../src/api/stream.js';
import { tee } from '../../../src/store/tee.js';

/** A server whose every request goes to `handler`; closed by the returned function. */
async function serve(handler: http.RequestListener): Promise<{ socket: string; close(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-unit-body-'));
  const socket = join(dir, 's.sock');
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  return {
    socket,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

test('a handler that gives up on the body early (destroying it) still answers a client that is still sending', async () => {
  const s = await serve((req, res) => {
    const body = requestBody(req);
    body.once('data', () => {
      body.destroy();
      res.writeHead(400, { 'Content-Type': 'application/json' });
      res.end('{"message":"not a tar"}\n');
    });
  });
  try {
    const answer = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = http.request({ socketPath: s.socket, method: 'POST', path: '/', headers: { 'Content-Length': String(8 << 20) } }, (res) => {
        let text = '';
        res.on('data', (b: Buffer) => { text += b.toString(); });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      });
      req.on('error', reject);
      // 8 MiB, far more than any socket buffer holds: the server must keep reading for it to go out.
      Readable.from((function* () { for (let i = 0; i < 128; i++) yield Buffer.alloc(64 << 10, 1); })()).pipe(req);
    });
    assert.deepEqual(answer, { status: 400, text: '{"message":"not a tar"}\n' });
  } finally {
    await s.close();
  }
});

test('a client that goes away mid-body fails the reader with ClientGoneError, and nothing is thrown at the process', async () => {
  let failure: unknown;
  const done = new Promise<void>((resolve) => {
    void serve(async (req) => {
      try {
        for await (const _ of requestBody(req)) { /* read on */ }
      } catch (e) {
        failure = e;
      }
      resolve();
    }).then((s) => {
      const req = http.request({ socketPath: s.socket, method: 'POST', path: '/', headers: { 'Content-Length': String(1 << 20) } });
      req.on('error', () => undefined);
      req.write(Buffer.alloc(4096), () => setImmediate(() => req.destroy()));
      void done.then(() => s.close());
    });
  });
  await done;
  assert.ok(failure instanceof ClientGoneError, String(failure));
  assert.equal((failure as ClientGoneError).code, 'ECONNRESET');
});

test('tee: a branch whose reader gives up ends the source and fails the other branch instead of stalling it', async () => {
  let sourceDestroyed = false;
  const src = new PassThrough({ highWaterMark: 1024 });
  src.on('close', () => { sourceDestroyed = true; });
  const [a, b] = tee(src);
  const other = (async () => { for await (const _ of b) { /* read on */ } })();
  src.write(Buffer.alloc(512));
  // The reader of `a` fails on what it read and destroys its input, as applyLayer does.
  a.on('error', () => undefined);
  a.destroy(new Error('bad tar'));
  await assert.rejects(other, /bad tar/);
  assert.ok(sourceDestroyed);
});

test('tee: an error of the source reaches both readers', async () => {
  const src = new PassThrough();
  const [a, b] = tee(src);
  const read = (s: Readable) => (async () => { for await (const _ of s) { /* read on */ } })();
  const ra = read(a);
  const rb = read(b);
  src.destroy(new Error('client went away'));
  await assert.rejects(ra, /client went away/);
  await assert.rejects(rb, /client went away/);
});

test('tee: a source error after a reader stopped listening is not thrown at the process', async () => {
  const src = new PassThrough();
  const [a, b] = tee(src);
  // `a`'s reader failed on its own (a cut gzip stream) and went away without destroying it.
  const rb = (async () => { for await (const _ of b) { /* read on */ } })();
  const uncaught: unknown[] = [];
  const onUncaught = (e: unknown) => { uncaught.push(e); };
  process.on('uncaughtException', onUncaught);
  try {
    src.destroy(new Error('client went away'));
    await assert.rejects(rb, /client went away/);
    await new Promise((r) => setImmediate(r));
    assert.ok(a.destroyed);
    assert.deepEqual(uncaught, []);
  } finally {
    process.off('uncaughtException', onUncaught);
  }
});
