/**
 * A hand-made BuildKit client for the tests that must send what buildx
 * never would: node:http2 over the daemon's socket for `/grpc` calls, and a
 * client session on `/session` that serves filesync (and, if asked, secrets)
 * from memory the way buildkit's session providers do. Messages are built
 * with berth's own message definitions.
 */
import http2 from 'node:http2';
import net from 'node:net';
import { decode, encode } from '../../../src/buildkit/messages.js';
import { frame, readMessages } from '../../../src/buildkit/grpc-frames.js';

/** POST `path` with Upgrade: h2c on `socketPath`; resolves with the socket once the 101 came. */
export function upgradeH2c(socketPath: string, path: string, headers: Record<string, string | string[]> = {}): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(socketPath);
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

export interface CallResult { status: string; message: string; messages: Buffer[] }

/** A /grpc connection on which calls (bodies already framed) are made, concurrently if wished. */
export interface GrpcConnection { call(path: string, body: Buffer, headers?: Record<string, string>): Promise<CallResult>; close(): void }

/**
 * `resetsAsStatus`: a stream that breaks off while read gives status
 * `reset: …` instead of rejecting (for calls made concurrently, whose
 * breaking off is what a test looks at).
 */
export async function grpcConnection(socketPath: string, opts: { resetsAsStatus?: boolean } = { resetsAsStatus: true }): Promise<GrpcConnection> {
  const socket = await upgradeH2c(socketPath, '/grpc');
  const client = http2.connect('http://berth', { createConnection: () => socket });
  client.on('error', () => undefined);
  return {
    async call(path, body, headers = {}) {
      const req = client.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers', ...headers });
      req.on('error', () => undefined);
      let status = '';
      let message = '';
      const take = (h: http2.IncomingHttpHeaders) => {
        if (h['grpc-status'] !== undefined) { status = String(h['grpc-status']); message = decodeURIComponent(String(h['grpc-message'] ?? '')); }
      };
      req.on('response', take);
      req.on('trailers', take);
      req.end(body);
      const messages: Buffer[] = [];
      try {
        for await (const m of readMessages(req)) messages.push(m);
      } catch (e) {
        if (!opts.resetsAsStatus) throw e;
        if (!status) status = `reset: ${String(e)}`;
      }
      return { status, message, messages };
    },
    close() { client.destroy(); socket.destroy(); },
  };
}

/** One gRPC call on a fresh /grpc connection, with `body` sent as is (already framed). */
export async function grpcCallOn(socketPath: string, path: string, body: Buffer, headers: Record<string, string> = {}): Promise<CallResult> {
  const conn = await grpcConnection(socketPath, { resetsAsStatus: false });
  try {
    return await conn.call(path, body, headers);
  } finally {
    conn.close();
  }
}

// fsutil's packets.
export const GO_DIR = 2 ** 31;
const stat = (path: string, mode: number, size = 0, linkname = '') => encode('Packet', { type: 0, stat: { path, mode, size, modTime: 0, linkname } });
const endOfWalk = () => encode('Packet', { type: 0 });
const data = (id: number, bytes: Buffer) => encode('Packet', { type: 2, ID: id, data: bytes });
const fin = () => encode('Packet', { type: 3 });

/** A filesync entry; `size` may lie about `content`'s length. */
export type Entry = { path: string; mode: number; content?: Buffer; size?: number; linkname?: string };

/**
 * How the fake session answers berthd's FIN on the context's DiffCopy:
 * as fsutil does (FIN, status OK), or as a hostile client might once every
 * file is in — an ERR packet, or a DATA packet nobody asked for.
 */
export type FinAnswer = 'fin' | 'error' | 'data';

/** A secret's value by ID; undefined answers NOT_FOUND. */
export type SecretSource = (id: string) => Buffer | undefined;

const DIFF_COPY = '/moby.filesync.v1.FileSync/DiffCopy';
const GET_SECRET = '/moby.buildkit.secrets.v1.Secrets/GetSecret';
const CHECK_AGENT = '/moby.sshforward.v1.SSH/CheckAgent';
const FORWARD_AGENT = '/moby.sshforward.v1.SSH/ForwardAgent';

/**
 * ssh-agents the fake session forwards: CheckAgent succeeds for `ids`;
 * each ForwardAgent stream (answered with headers already) goes to `forward`
 * with the id from its `buildkit.ssh.id` metadata.
 */
export interface FakeSshAgents {
  ids: string[];
  forward(id: string, stream: http2.ServerHttp2Stream): void;
}

/**
 * A client session serving filesync from in-memory directories, as
 * buildkit's fsSyncProvider does (the walk, then each requested file), and
 * secrets when `secret` is given. Resolves with its closer.
 */
export async function fakeSession(
  socketPath: string, id: string, dirs: Record<string, Entry[]>, secret?: SecretSource, ssh?: FakeSshAgents, finAnswer: FinAnswer = 'fin',
): Promise<() => void> {
  const socket = await upgradeH2c(socketPath, '/session', {
    'X-Docker-Expose-Session-Uuid': id, 'X-Docker-Expose-Session-Name': 'test',
    'X-Docker-Expose-Session-Grpc-Method': [DIFF_COPY, ...(secret ? [GET_SECRET] : []), ...(ssh ? [CHECK_AGENT, FORWARD_AGENT] : [])],
  });
  const server = http2.performServerHandshake(socket);
  server.on('error', () => undefined);
  server.on('stream', (stream, headers) => {
    stream.on('error', () => undefined);
    if (ssh && headers[':path'] === CHECK_AGENT) {
      void (async () => {
        let asked = '';
        for await (const m of readMessages(stream)) asked = decode<{ ID: string }>('CheckAgentRequest', m).ID;
        const known = ssh.ids.includes(asked || 'default');
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
        if (known) stream.write(frame(encode('CheckAgentResponse', {})));
        stream.once('wantTrailers', () => stream.sendTrailers(known ? { 'grpc-status': '0' } : { 'grpc-status': '2', 'grpc-message': `unset ssh forward key ${asked}` }));
        stream.end();
      })().catch(() => stream.destroy());
      return;
    }
    if (ssh && headers[':path'] === FORWARD_AGENT) {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      ssh.forward(String(headers['buildkit.ssh.id'] ?? ''), stream);
      return;
    }
    if (secret && headers[':path'] === GET_SECRET) {
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
          const hostile = dir === 'context' && entries.length ? finAnswer : 'fin';
          if (hostile === 'error') stream.write(frame(encode('Packet', { type: 4, data: Buffer.from('lost the context') })));
          if (hostile === 'data') stream.write(frame(data(0, Buffer.from('late bytes'))));
          stream.write(frame(fin()));
          stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
          stream.end();
        }
      }
    })().catch(() => stream.destroy());
  });
  return () => { server.destroy(); socket.destroy(); };
}

/**
 * Control.Solve with the dockerfile.v0 frontend, exporting the image as
 * `fake:<ref>`, against a fake session serving `dockerfile`, `context` and
 * (if given) secrets.
 */
export async function solveDockerfile(
  socketPath: string, ref: string, dockerfile: Buffer, context: Entry[], secret?: SecretSource, finAnswer?: FinAnswer,
): Promise<CallResult> {
  const session = `sess${ref}`;
  const close = await fakeSession(socketPath, session, { dockerfile: [{ path: 'Dockerfile', mode: 0o644, content: dockerfile }], context }, secret, undefined, finAnswer);
  try {
    const req = encode('SolveRequest', {
      Ref: ref, Session: session, Frontend: 'dockerfile.v0', FrontendAttrs: { filename: 'Dockerfile' },
      Exporters: [{ Type: 'moby', Attrs: { name: `fake:${ref}` } }],
    });
    return await grpcCallOn(socketPath, '/moby.buildkit.v1.Control/Solve', frame(req));
  } finally {
    close();
  }
}
