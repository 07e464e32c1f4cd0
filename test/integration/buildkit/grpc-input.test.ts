/**
 * Issue 11, trust: what a BuildKit client sends on `/grpc` and `/session`
 * is checked. Malformed gRPC frames and messages end their call with a
 * gRPC error, garbage ends its connection, and a session whose filesync
 * names paths outside the context, lies about a file's size or sends
 * entries before their directory fails its build — berthd keeps serving and
 * nothing of the build is left on disk.
 *
 * The client here is hand-made (node:http2 over the daemon's socket, the
 * session served the way buildkit's session/filesync serves it) so that it
 * can send what buildx never would.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import http2 from 'node:http2';
import { join } from 'node:path';
import { startDaemon, skipUnlessRoot, type Daemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';
import { decode, encode } from '../../../src/buildkit/messages.js';
import { MAX_MESSAGE_BYTES, frame } from '../../../src/buildkit/grpc-frames.js';
import { GO_DIR, grpcCallOn, grpcConnection, solveDockerfile, upgradeH2c, type CallResult, type Entry, type FinAnswer } from './hand-made-client.js';

let d!: Daemon;

before(async () => {
  if (skipUnlessRoot()) return;
  d = await startDaemon();
  await importBusybox(d);
}, { timeout: 120_000 });

after(async () => { await d?.stop(); });

const upgrade = (path: string, headers?: Record<string, string | string[]>) => upgradeH2c(d.socket, path, headers);
const grpcCall = (path: string, body: Buffer, headers?: Record<string, string>) => grpcCallOn(d.socket, path, body, headers);

async function alive(): Promise<void> {
  const r = await d.request('GET', '/_ping');
  assert.equal(r.status, 200);
}

async function buildTmpDirs(): Promise<string[]> {
  return (await readdir(join(d.dataRoot, 'tmp')).catch(() => [] as string[])).filter((n) => n.startsWith('build-'));
}

const DOCKERFILE = Buffer.from('FROM busybox\nCOPY . /ctx/\n');

/** Control.Solve with the dockerfile.v0 frontend against a fake session serving `context`. */
const solveWith = (context: Entry[], ref: string, finAnswer?: FinAnswer): Promise<CallResult> => solveDockerfile(d.socket, ref, DOCKERFILE, context, undefined, finAnswer);

describe('BuildKit API input checks', { skip: skipUnlessRoot() }, () => {
  test('an unknown method is UNIMPLEMENTED', async () => {
    const r = await grpcCall('/moby.buildkit.v1.Control/NoSuchThing', frame(Buffer.alloc(0)));
    assert.equal(r.status, '12');
  });

  test('a malformed message is INVALID_ARGUMENT and the connection serves the next call', async () => {
    const r = await grpcCall('/moby.buildkit.v1.Control/Solve', frame(Buffer.from([0x0a, 0x05, 0x41])));
    assert.equal(r.status, '3', r.message);
    assert.match(r.message, /malformed SolveRequest/);
    const w = await grpcCall('/moby.buildkit.v1.Control/ListWorkers', frame(encode('ListWorkersRequest', {})));
    assert.equal(w.status, '0');
    const workers = decode<{ record: { ID: string; platforms: { OS: string }[] }[] }>('ListWorkersResponse', w.messages[0]);
    assert.equal(workers.record[0].platforms[0].OS, 'linux');
  });

  test('a Solve of more fields than a message may hold is INVALID_ARGUMENT before it is decoded', async () => {
    // 70,000 empty Exporters: each was an object with its defaults (8 MiB of them held berthd for 18 s and took 1 GB).
    const body = Buffer.alloc(2 * 70_000);
    for (let i = 0; i < body.length; i += 2) body[i] = 0x6a;
    const r = await grpcCall('/moby.buildkit.v1.Control/Solve', frame(body));
    assert.equal(r.status, '3', r.message);
    assert.match(r.message, /malformed SolveRequest message: more than 65536 fields/);
    await alive();
  });

  test('a Solve of an LLB definition is refused by name, not left waiting', async () => {
    const r = await grpcCall('/moby.buildkit.v1.Control/Solve', frame(encode('SolveRequest', { Ref: 'llb1', Session: 'x', Definition: Buffer.from([0x0a, 0x00]) })));
    assert.equal(r.status, '12', r.message);
    assert.match(r.message, /solving LLB definitions is not supported/);
  });

  test('a frame over the size limit is refused before it is read', async () => {
    const head = Buffer.alloc(5);
    head.writeUInt32BE(0xfffffff0, 1);
    const r = await grpcCall('/moby.buildkit.v1.Control/Solve', head);
    assert.equal(r.status, '8', r.message);
    const c = Buffer.from([1, 0, 0, 0, 1, 0]);
    const z = await grpcCall('/moby.buildkit.v1.Control/Solve', c);
    assert.equal(z.status, '3', 'a compressed frame');
    await alive();
  });

  test('connections that announce messages and never send them do not starve other clients', async () => {
    // Each hog stream announces a message of the largest size and sends none of it: berthd sets its size aside
    // when the prefix arrives. Four per connection fill a connection's share; four connections filled the
    // daemon's, after which every other client's calls were RESOURCE_EXHAUSTED for as long as the hogs stayed.
    const hogs: { socket: import('node:net').Socket; client: http2.ClientHttp2Session }[] = [];
    /** A stream announcing the largest message, sent no further; resolves with its status if berthd ends it. */
    const announce = (client: http2.ClientHttp2Session) => new Promise<string>((resolve) => {
      const req = client.request({ ':method': 'POST', ':path': '/moby.buildkit.v1.Control/Solve', 'content-type': 'application/grpc', te: 'trailers' });
      req.on('error', () => undefined);
      req.on('trailers', (h) => resolve(String(h['grpc-status'])));
      req.on('response', (h) => { if (h['grpc-status'] !== undefined) resolve(String(h['grpc-status'])); });
      req.on('close', () => resolve('closed'));
      const head = Buffer.alloc(5);
      head.writeUInt32BE(MAX_MESSAGE_BYTES, 1);
      req.write(head);
    });
    try {
      for (let c = 0; c < 5; c++) {
        const socket = await upgrade('/grpc');
        const client = http2.connect('http://berth', { createConnection: () => socket });
        client.on('error', () => undefined);
        hogs.push({ socket, client });
        // Five on one connection: one is refused, which says the other four hold the connection's share.
        const first = await Promise.race(Array.from({ length: 5 }, () => announce(client)));
        assert.equal(first, '8', `connection ${c}: the first stream to end`);
      }
      // Another client's ordinary call is served.
      const conn = await grpcConnection(d.socket, { resetsAsStatus: false });
      try {
        const w = await conn.call('/moby.buildkit.v1.Control/ListWorkers', frame(encode('ListWorkersRequest', { filter: ['id==x'] })));
        assert.equal(w.status, '0', w.message);
        const solve = await conn.call('/moby.buildkit.v1.Control/Solve', frame(encode('SolveRequest', { Ref: 'starved', Session: 'x', Definition: Buffer.from([0x0a, 0x00]) })));
        assert.equal(solve.status, '12', solve.message);
      } finally {
        conn.close();
      }
    } finally {
      for (const h of hogs) { h.client.destroy(); h.socket.destroy(); }
    }
    await alive();
  });

  test('garbage instead of HTTP/2 ends that connection only', async () => {
    const s = await upgrade('/grpc');
    await new Promise<void>((resolve) => { s.on('close', () => resolve()); s.on('error', () => undefined); s.resume(); s.write(Buffer.alloc(4096, 0x41)); });
    await alive();
    const s2 = await upgrade('/session', { 'X-Docker-Expose-Session-Uuid': 'garbage1' });
    await new Promise<void>((resolve) => { s2.on('close', () => resolve()); s2.on('error', () => undefined); s2.resume(); s2.write(Buffer.alloc(4096, 0x42)); });
    await alive();
  });

  test('a session without a valid ID is refused before the upgrade', async () => {
    await assert.rejects(upgrade('/session', { 'X-Docker-Expose-Session-Uuid': '../../x' }), /no upgrade: HTTP\/1.1 400/);
    await assert.rejects(upgrade('/session'), /no upgrade: HTTP\/1.1 400/);
  });

  test('a Solve through a well-behaved fake session builds (the direct frontend path)', async () => {
    const r = await solveWith([
      { path: 'a.txt', mode: 0o644, content: Buffer.from('A\n') },
      { path: 'sub', mode: GO_DIR | 0o755 },
      { path: 'sub/b.txt', mode: 0o600, content: Buffer.from('B\n') },
      // Larger than what is asked for ahead: it comes alone, between small ones.
      { path: 'sub/big.bin', mode: 0o644, content: Buffer.alloc(200 << 10, 0x61) },
      { path: 'sub/c.txt', mode: 0o644, content: Buffer.from('C\n') },
    ], 'good1');
    assert.equal(r.status, '0', r.message);
    const resp = decode<{ ExporterResponse: Record<string, string> }>('SolveResponse', r.messages[0]);
    assert.match(resp.ExporterResponse['containerimage.config.digest'], /^sha256:[0-9a-f]{64}$/);
    const out = await d.docker(['run', '--rm', 'fake:good1', 'cat', '/ctx/a.txt', '/ctx/sub/b.txt', '/ctx/sub/c.txt']);
    assert.equal(out.stdout, 'A\nB\nC\n');
    const wc = await d.docker(['run', '--rm', 'fake:good1', 'wc', '-c', '/ctx/sub/big.bin']);
    assert.match(wc.stdout, /^\s*204800 /);
  });

  const bad: [string, Entry[], RegExp][] = [
    ['a path that climbs out of the context', [{ path: '../escape.txt', mode: 0o644, content: Buffer.from('x') }], /invalid path/],
    ['an absolute path', [{ path: '/etc/evil', mode: 0o644, content: Buffer.from('x') }], /invalid path/],
    ['an entry before its directory', [{ path: 'nodir/f', mode: 0o644, content: Buffer.from('x') }], /came before its directory/],
    ['a file longer than its stat', [{ path: 'long', mode: 0o644, size: 1, content: Buffer.from('more than one byte') }], /longer than the 1 bytes/],
    ['a file shorter than its stat', [{ path: 'short', mode: 0o644, size: 100, content: Buffer.from('x') }], /is 1 bytes, not the 100/],
    ['a large file longer than its stat', [{ path: 'big', mode: 0o644, size: 100 << 10, content: Buffer.alloc(200 << 10) }], /longer than the 102400 bytes/],
    ['a large file shorter than its stat', [{ path: 'big', mode: 0o644, size: 100 << 10, content: Buffer.alloc(10) }], /is 10 bytes, not the 102400/],
    ['a hard link to nothing sent', [{ path: 'h', mode: 0o644, linkname: 'elsewhere' }], /hard link/],
    ['the same path twice', [{ path: 'x', mode: 0o644, content: Buffer.from('1') }, { path: 'x', mode: 0o644, content: Buffer.from('2') }], /sent twice/],
  ];
  // berthd's extraction of the context goes on while the DiffCopy closes (the tar ends with the last file):
  // a client that answers the FIN with anything but FIN still fails the build, which leaves nothing.
  const badEnds: [string, FinAnswer, RegExp][] = [
    ['an error in answer to the FIN', 'error', /failed to send context: lost the context/],
    ['data in answer to the FIN', 'data', /unexpected packet \(type 2, id 0\) after the last file/],
  ];
  for (const [what, answer, re] of badEnds) {
    test(`filesync: ${what} fails the build; berthd serves on and leaves nothing`, async () => {
      const r = await solveWith([{ path: 'a.txt', mode: 0o644, content: Buffer.from('A\n') }], `badend${answer}`, answer);
      assert.notEqual(r.status, '0');
      assert.match(r.message, re);
      await alive();
      assert.deepEqual(await buildTmpDirs(), []);
      assert.equal((await d.docker(['images', '-q', `fake:badend${answer}`])).stdout.trim(), '');
    });
  }

  let n = 0;
  for (const [what, entries, re] of bad) {
    test(`filesync: ${what} fails the build; berthd serves on and leaves nothing`, async () => {
      const r = await solveWith(entries, `bad${n++}`);
      assert.notEqual(r.status, '0');
      assert.match(r.message, re);
      await alive();
      assert.deepEqual(await buildTmpDirs(), []);
      assert.equal((await d.docker(['ps', '-aq'])).stdout.trim(), '');
    });
  }
});
