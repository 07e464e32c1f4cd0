/**
 * Issue 11, trust: secrets come from the client's session
 * (moby.buildkit.secrets.v1.Secrets/GetSecret) and what the session answers
 * is checked — a secret over BuildKit's size limit (500 KiB) fails the
 * build, as does a NOT_FOUND for a required one; a served secret is mounted
 * and never in the image. buildx refuses a big secret itself, so the
 * client here is hand-made (node:http2 over the daemon's socket, as in
 * grpc-input.test.ts) to send what buildx never would.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import net from 'node:net';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { startDaemon, skipUnlessRoot, type Daemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';
import { decode, encode } from '../../../src/buildkit/messages.js';
import { frame, readMessages } from '../../../src/buildkit/grpc-frames.js';

let d!: Daemon;

before(async () => {
  if (skipUnlessRoot()) return;
  d = await startDaemon();
  await importBusybox(d);
}, { timeout: 120_000 });

after(async () => { await d?.stop(); });

/** POST `path` with Upgrade: h2c on the daemon's socket; resolves with the socket once the 101 came. */
function upgrade(path: string, headers: Record<string, string | string[]> = {}): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(d.socket);
    const extra = Object.entries(headers).flatMap(([k, v]) => (Array.isArray(v) ? v : [v]).map((x) => `${k}: ${x}\r\n`)).join('');
    s.write(`POST ${path} HTTP/1.1\r\nHost: docker\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n${extra}\r\n`);
    let buf = Buffer.alloc(0);
    const onData = (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      s.off('data', onData);
      // Bytes that arrive before HTTP/2 takes the socket over must wait for it, not flow away.
      s.pause();
      const head = buf.subarray(0, end).toString();
      if (!head.startsWith('HTTP/1.1 101')) { s.destroy(); reject(new Error(`no upgrade: ${head}`)); return; }
      const rest = buf.subarray(end + 4);
      if (rest.length) s.unshift(rest);
      resolve(s);
    };
    s.on('data', onData);
    s.on('error', reject);
  });
}

interface CallResult { status: string; message: string; messages: Buffer[] }

/** One gRPC call on a fresh /grpc connection, with `body` sent as is (already framed). */
async function grpcCall(path: string, body: Buffer, headers: Record<string, string> = {}): Promise<CallResult> {
  const socket = await upgrade('/grpc');
  const client = http2.connect('http://berth', { createConnection: () => socket });
  client.on('error', () => undefined);
  try {
    const req = client.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers', ...headers });
    let status = '';
    let message = '';
    const take = (h: http2.IncomingHttpHeaders) => {
      if (h['grpc-status'] !== undefined) { status = String(h['grpc-status']); message = decodeURIComponent(String(h['grpc-message'] ?? '')); }
    };
    req.on('response', take);
    req.on('trailers', take);
    req.end(body);
    const messages: Buffer[] = [];
    for await (const m of readMessages(req)) messages.push(m);
    return { status, message, messages };
  } finally {
    client.close();
    socket.destroy();
  }
}



// fsutil's packets, built with berth's own message definitions.
const GO_DIR = 2 ** 31;
const stat = (path: string, mode: number, size = 0, linkname = '') => encode('Packet', { type: 0, stat: { path, mode, size, modTime: 0, linkname } });
const endOfWalk = () => encode('Packet', { type: 0 });
const data = (id: number, bytes: Buffer) => encode('Packet', { type: 2, ID: id, data: bytes });
const fin = () => encode('Packet', { type: 3 });

type Entry = { path: string; mode: number; content?: Buffer; size?: number; linkname?: string };

/**
 * A client session serving filesync from in-memory directories, as
 * buildkit's fsSyncProvider does: the walk, then each requested file.
 */
async function fakeSession(id: string, dirs: Record<string, Entry[]>, secret: (id: string) => Buffer | undefined): Promise<() => void> {
  const socket = await upgrade('/session', {
    'X-Docker-Expose-Session-Uuid': id, 'X-Docker-Expose-Session-Name': 'test',
    'X-Docker-Expose-Session-Grpc-Method': ['/moby.filesync.v1.FileSync/DiffCopy', '/moby.buildkit.secrets.v1.Secrets/GetSecret'],
  });
  const server = http2.performServerHandshake(socket);
  server.on('error', () => undefined);
  server.on('stream', (stream, headers) => {
    stream.on('error', () => undefined);
    if (headers[':path'] === '/moby.buildkit.secrets.v1.Secrets/GetSecret') {
      void (async () => {
        let asked = '';
        for await (const m of readMessages(stream)) asked = decode<{ ID: string }>('GetSecretRequest', m).ID;
        const value = secret(asked);
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
        if (value) stream.write(frame(encode('GetSecretResponse', { data: value })));
        stream.once('wantTrailers', () => stream.sendTrailers(value ? { 'grpc-status': '0' } : { 'grpc-status': '5', 'grpc-message': 'not found' }));
        stream.end();
      })().catch(() => stream.destroy());
      return;
    }
    const dir = decodeURIComponent(String(headers['dir-name'] ?? ''));
    const includes = String(headers['include-patterns'] ?? '');
    const entries = includes === '.dockerignore' ? [] : (dirs[dir] ?? []);
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
    for (const e of entries) stream.write(frame(stat(e.path, e.mode, e.size ?? e.content?.length ?? 0, e.linkname)));
    stream.write(frame(endOfWalk()));
    void (async () => {
      // Read to the end (leaving the loop early would reset the stream).
      for await (const m of readMessages(stream)) {
        const p = decode<{ type: number; ID: number }>('Packet', m);
        if (p.type === 1) {
          const e = entries[p.ID];
          if (e?.content) stream.write(frame(data(p.ID, e.content)));
          stream.write(frame(data(p.ID, Buffer.alloc(0))));
        } else if (p.type === 3) {
          stream.write(frame(fin()));
          stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
          stream.end();
        }
      }
    })().catch(() => stream.destroy());
  });
  return () => { server.destroy(); socket.destroy(); };
}


/** Control.Solve of `dockerfile` against a fake session serving it and `secret`. */
async function solveWith(dockerfile: string, ref: string, secret: (id: string) => Buffer | undefined): Promise<CallResult> {
  const session = `sess${ref}`;
  const close = await fakeSession(session, { dockerfile: [{ path: 'Dockerfile', mode: 0o644, content: Buffer.from(dockerfile) }], context: [] }, secret);
  try {
    const req = encode('SolveRequest', {
      Ref: ref, Session: session, Frontend: 'dockerfile.v0', FrontendAttrs: { filename: 'Dockerfile' },
      Exporters: [{ Type: 'moby', Attrs: { name: `fake:${ref}` } }],
    });
    return await grpcCall('/moby.buildkit.v1.Control/Solve', frame(req));
  } finally {
    close();
  }
}

async function leftovers(): Promise<string[]> {
  const shm = (await readdir('/dev/shm').catch(() => [] as string[])).filter((n) => n.startsWith('berth-secret-'));
  const tmp = (await readdir(join(d.dataRoot, 'tmp')).catch(() => [] as string[])).filter((n) => n.startsWith('build-'));
  return [...shm, ...tmp];
}

describe('secrets from the session', { skip: skipUnlessRoot() }, () => {
  test('a served secret is mounted, and removed after the RUN', async () => {
    const r = await solveWith('FROM busybox\nRUN --mount=type=secret,id=tok,required cp /run/secrets/tok /copied && wc -c /run/secrets/tok\n', 'ok1', (id) => (id === 'tok' ? Buffer.from('fake-secret') : undefined));
    assert.equal(r.status, '0', r.message);
    const out = await d.docker(['run', '--rm', 'fake:ok1', 'sh', '-c', 'cat /copied; test ! -e /run/secrets && echo NO-MOUNTPOINT']);
    assert.equal(out.stdout, 'fake-secretNO-MOUNTPOINT\n');
    assert.deepEqual((await leftovers()).filter((n) => n.startsWith('berth-secret-')), []);
  });

  test('a secret over 500 KiB fails the build', async () => {
    const r = await solveWith('FROM busybox\nRUN --mount=type=secret,id=big true\n', 'big1', () => Buffer.alloc(600 * 1024, 0x62));
    assert.notEqual(r.status, '0');
    assert.match(r.message, /secret big: larger than 512000 bytes/);
    assert.equal((await d.request('GET', '/_ping')).status, 200);
  });

  test('NOT_FOUND for a required secret fails the build; for an optional one the RUN goes on without it', async () => {
    const r = await solveWith('FROM busybox\nRUN --mount=type=secret,id=nope,required=true true\n', 'nf1', () => undefined);
    assert.notEqual(r.status, '0');
    assert.match(r.message, /secret nope: not found/);
    const o = await solveWith('FROM busybox\nRUN --mount=type=secret,id=nope test ! -e /run/secrets/nope\n', 'nf2', () => undefined);
    assert.equal(o.status, '0', o.message);
  });
});
