/**
 * The servers the registry client is tested against, each stoppable in an
 * `after` hook: Debian's docker-registry 2.8.2 (optionally behind token
 * auth), a token server issuing RS256 JWTs like the fact sheet's
 * token-auth-probe.mjs, and a recording/fault-injecting HTTP proxy (corrupt
 * blob bytes, 503s, resets, stalls, redirects to a separate "storage"
 * origin, ranges ignored).
 */
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import http from 'node:http';
import path from 'node:path';
export { freePort, startDockerRegistry, type DockerRegistry, type TokenAuthConfig } from '../../helpers/docker-registry.js';
import type { AddressInfo } from 'node:net';

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

/** A self-signed certificate and key (for the token signer and for TLS registries). */
export async function selfSignedCert(dir: string, cn = '127.0.0.1'): Promise<{ key: string; cert: string }> {
  const key = path.join(dir, `${cn}.key.pem`);
  const cert = path.join(dir, `${cn}.cert.pem`);
  await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1',
    '-subj', `/CN=${cn}`, '-addext', `subjectAltName=IP:127.0.0.1,DNS:localhost`]);
  return { key, cert };
}

// ---- docker-registry ---------------------------------------------------------

// ---- token server ----------------------------------------------------------------

export interface Access {
  type: string;
  name: string;
  actions: string[];
}

export interface TokenRequestLog {
  method: string;
  /** '' for anonymous. */
  user: string;
  scopes: string[];
  grantType?: string;
  offline: boolean;
}

export interface TokenServer {
  realm: string;
  requests: TokenRequestLog[];
  /** Refresh tokens handed out: token → user. */
  refreshTokens: Map<string, string>;
  close(): Promise<void>;
}

export interface TokenServerOptions {
  keyPem: string;
  certPem: string;
  issuer: string;
  users: Record<string, string>;
  /** What a user gets for what was asked; default: everything asked for. */
  grant?: (user: string, asked: Access[], log: TokenRequestLog[]) => Access[];
  expiresIn?: number;
}

const b64u = (b: Buffer | string) => Buffer.from(b).toString('base64url');

function parseScopeParam(s: string): Access | undefined {
  const first = s.indexOf(':');
  const last = s.lastIndexOf(':');
  if (first <= 0 || last === first) return undefined;
  return { type: s.slice(0, first), name: s.slice(first + 1, last), actions: s.slice(last + 1).split(',') };
}

async function readRequestBody(req: http.IncomingMessage): Promise<string> {
  let s = '';
  for await (const c of req) s += (c as Buffer).toString();
  return s;
}

/**
 * A token server in the shape docker-registry's token auth expects (fact
 * sheet §4.2): RS256 JWT with `x5c` = the signing certificate, claims `iss`,
 * `sub`, `aud` = service, `exp`/`nbf`/`iat`, `jti`, `access`. GET with
 * optional Basic credentials (wrong ones: 401 `{"details": …}` as Docker Hub
 * answers), `offline_token=true` adds a refresh token; POST accepts the
 * OAuth2 refresh_token and password grants (oauth.md).
 */
export async function startTokenServer(o: TokenServerOptions): Promise<TokenServer> {
  const certDer = Buffer.from(o.certPem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
  const requests: TokenRequestLog[] = [];
  const refreshTokens = new Map<string, string>();
  const jwt = (claims: object) => {
    const head = b64u(JSON.stringify({ typ: 'JWT', alg: 'RS256', x5c: [certDer.toString('base64')] }));
    const body = b64u(JSON.stringify(claims));
    const sig = crypto.sign('RSA-SHA256', Buffer.from(`${head}.${body}`), o.keyPem);
    return `${head}.${body}.${b64u(sig)}`;
  };
  const refuse = (res: http.ServerResponse, details: string) => {
    res.writeHead(401, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ details }));
  };
  const server = http.createServer((req, res) => {
    (async () => {
      const u = new URL(req.url!, 'http://x');
      let user = '';
      let scopes: string[];
      let service: string | null;
      let grantType: string | undefined;
      let offline = false;
      if (req.method === 'POST') {
        const form = new URLSearchParams(await readRequestBody(req));
        grantType = form.get('grant_type') ?? undefined;
        service = form.get('service');
        scopes = (form.get('scope') ?? '').split(' ').filter(Boolean);
        if (grantType === 'refresh_token') {
          const who = refreshTokens.get(form.get('refresh_token') ?? '');
          if (who === undefined) return refuse(res, 'invalid refresh token');
          user = who;
        } else if (grantType === 'password') {
          const name = form.get('username') ?? '';
          if (o.users[name] !== form.get('password')) return refuse(res, 'incorrect username or password');
          user = name;
        } else {
          res.writeHead(400, { 'content-type': 'application/json' });
          return res.end(JSON.stringify({ error: 'unsupported_grant_type' }));
        }
      } else {
        service = u.searchParams.get('service');
        scopes = u.searchParams.getAll('scope');
        offline = u.searchParams.get('offline_token') === 'true';
        const auth = req.headers.authorization;
        if (auth) {
          const decoded = Buffer.from(auth.replace(/^Basic\s+/i, ''), 'base64').toString();
          const colon = decoded.indexOf(':');
          const name = decoded.slice(0, colon);
          if (colon < 0 || o.users[name] !== decoded.slice(colon + 1)) return refuse(res, 'incorrect username or password');
          user = name;
        }
      }
      const entry: TokenRequestLog = { method: req.method!, user, scopes, grantType, offline };
      requests.push(entry);
      const asked = scopes.map(parseScopeParam).filter((a): a is Access => !!a);
      const access = o.grant ? o.grant(user, asked, requests) : asked;
      const now = Math.floor(Date.now() / 1000);
      const expiresIn = o.expiresIn ?? 300;
      const token = jwt({ iss: o.issuer, sub: user || 'anonymous', aud: service, exp: now + expiresIn, nbf: now - 10, iat: now, jti: crypto.randomUUID(), access });
      const answer: Record<string, unknown> = { token, access_token: token, expires_in: expiresIn, issued_at: new Date().toISOString() };
      if (offline && user) {
        const refresh = `refresh-${crypto.randomUUID()}`;
        refreshTokens.set(refresh, user);
        answer.refresh_token = refresh;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(answer));
    })().catch((err) => {
      res.writeHead(500);
      res.end(String(err));
    });
  });
  const port = await listen(server);
  return { realm: `http://127.0.0.1:${port}/token`, requests, refreshTokens, close: () => closeServer(server) };
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
      let first = corruptBody;
      pres.on('data', (c: Buffer) => {
        if (first && c.length) {
          c = Buffer.from(c);
          c[0] ^= 0xff;
          first = false;
        }
        res.write(c);
      });
      pres.on('end', () => res.end());
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
