/**
 * The servers the registry client is tested against, each stoppable in an
 * `after` hook: Debian's docker-registry 2.8.2 (optionally behind token
 * auth) and the token server, both from test/helpers, and a
 * recording/fault-injecting HTTP proxy (corrupt blob bytes, 503s, resets,
 * stalls, redirects to a separate "storage" origin, ranges ignored).
 */
import { execFile } from 'node:child_process';
import http from 'node:http';
export { freePort, startDockerRegistry, type DockerRegistry, type TokenAuthConfig } from '../../helpers/docker-registry.js';
export {
  selfSignedCert, startTokenServer, type Access, type TokenRequestLog, type TokenServer, type TokenServerOptions,
} from '../../helpers/token-server.js';
import type { AddressInfo } from 'node:net';
import { relayBody } from '../../helpers/throttling-proxy.js';

export function hasProgram(name: string): Promise<boolean> {
  return new Promise((resolve) => execFile('sh', ['-c', `command -v ${name}`], (err) => resolve(!err)));
}

export function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: 60_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')}: ${stderr || err.message}`));
      else resolve(stdout);
    });
  });
}

export async function listen(server: http.Server): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return (server.address() as AddressInfo).port;
}

export async function closeServer(server: http.Server | undefined): Promise<void> {
  if (!server?.listening) return;
  await new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

// ---- proxy -------------------------------------------------------------------------

export type Fault = '503' | 'reset' | 'stall' | 'stall-body';

export interface ProxyLogEntry {
  method: string;
  path: string;
  status: number;
  authorization?: string;
  range?: string;
  wwwAuthenticate?: string;
}

export interface ProxyOptions {
  /** Blob digests whose GET bodies get one byte flipped. */
  corrupt?: Set<string>;
  /** Faults consumed in order by requests whose path matches. */
  faults?: Array<{ match: RegExp; fault: Fault }>;
  /** Answer blob GETs with a 307 to a separate storage origin. */
  redirectBlobs?: boolean;
  /** Drop `Range` from requests (a registry that ignores ranges). */
  ignoreRange?: boolean;
  /** What the storage origin presents upstream (it stands for presigned access, not the client's credentials). */
  storageUpstreamAuthorization?: string;
}

export interface Proxy {
  url: string;
  host: string;
  log: ProxyLogEntry[];
  /** Requests the storage origin received (redirect mode). */
  storageLog: ProxyLogEntry[];
  opts: ProxyOptions;
  close(): Promise<void>;
}

/** An HTTP proxy in front of `upstream` that records every request and injects the configured faults. */
export async function startProxy(upstream: string, opts: ProxyOptions = {}): Promise<Proxy> {
  const up = new URL(upstream);
  const log: ProxyLogEntry[] = [];
  const storageLog: ProxyLogEntry[] = [];
  let storageOrigin = '';

  const forward = (req: http.IncomingMessage, res: http.ServerResponse, path: string, entry: ProxyLogEntry, corruptBody: boolean, authorization?: string) => {
    const headers = { ...req.headers, host: up.host };
    if (authorization) headers.authorization = authorization;
    if (opts.ignoreRange) delete headers.range;
    const preq = http.request({ host: up.hostname, port: up.port, method: req.method, path, headers }, (pres) => {
      entry.status = pres.statusCode ?? 0;
      entry.wwwAuthenticate = pres.headers['www-authenticate'];
      const out = { ...pres.headers };
      // Absolute Locations from the upstream point back through the proxy.
      if (typeof out.location === 'string' && out.location.startsWith(up.origin)) out.location = out.location.slice(up.origin.length);
      res.writeHead(pres.statusCode ?? 502, out);
      relayBody(pres, res, corruptBody);
    });
    preq.on('error', () => res.destroy());
    // A client that gives up mid-request must not leave the upstream waiting for the rest of the body.
    res.on('close', () => { if (!res.writableFinished) preq.destroy(); });
    req.pipe(preq);
  };

  const server = http.createServer((req, res) => {
    const path = req.url!;
    const entry: ProxyLogEntry = { method: req.method!, path, status: 0, authorization: req.headers.authorization, range: req.headers.range };
    log.push(entry);
    const i = opts.faults?.findIndex((f) => f.match.test(path)) ?? -1;
    if (i >= 0) {
      const [{ fault }] = opts.faults!.splice(i, 1);
      entry.status = -1;
      if (fault === '503') {
        entry.status = 503;
        res.writeHead(503, { 'content-type': 'text/plain' });
        res.end('try later');
        return;
      }
      if (fault === 'reset') {
        req.socket.destroy();
        return;
      }
      if (fault === 'stall') return; // never answer
      // stall-body: the first bytes of the real answer, then nothing.
      const preq = http.request({ host: up.hostname, port: up.port, method: req.method, path, headers: { ...req.headers, host: up.host } }, (pres) => {
        entry.status = pres.statusCode ?? 0;
        res.writeHead(pres.statusCode ?? 502, pres.headers);
        pres.once('data', (c: Buffer) => {
          res.write(c.subarray(0, Math.min(10, c.length)));
          pres.destroy();
        });
      });
      req.pipe(preq);
      return;
    }
    const blobGet = req.method === 'GET' && /\/blobs\/sha256:[0-9a-f]{64}$/.exec(path.split('?')[0]);
    if (blobGet && opts.redirectBlobs) {
      entry.status = 307;
      res.writeHead(307, { location: `${storageOrigin}${path}?X-Signature=abc` });
      res.end();
      return;
    }
    const digest = blobGet ? path.split('/').pop()! : '';
    forward(req, res, path, entry, !!blobGet && !!opts.corrupt?.has(digest));
  });

  // The storage origin serves blob bytes by asking the upstream directly (no credentials needed there).
  const storage = http.createServer((req, res) => {
    const path = req.url!.split('?')[0];
    const entry: ProxyLogEntry = { method: req.method!, path: req.url!, status: 0, authorization: req.headers.authorization, range: req.headers.range };
    storageLog.push(entry);
    forward(req, res, path, entry, false, opts.storageUpstreamAuthorization);
  });

  const port = await listen(server);
  const storagePort = await listen(storage);
  storageOrigin = `http://127.0.0.1:${storagePort}`;
  return {
    url: `http://127.0.0.1:${port}`, host: `127.0.0.1:${port}`, log, storageLog, opts,
    close: async () => {
      await closeServer(server);
      await closeServer(storage);
    },
  };
}
