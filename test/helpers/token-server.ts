/**
 * A token server for registries with Bearer token auth (fact sheet §4.2),
 * issuing RS256 JWTs signed with a throw-away key and certificate made by
 * openssl, and `startTokenAuthRegistry`: Debian's docker-registry configured
 * to trust it, for tests of `login`, pull and push against a token-auth
 * registry. Shared by the registry client's tests and the end-to-end ones.
 */
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { startDockerRegistry, type DockerRegistry } from './docker-registry.js';

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: 60_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')}: ${stderr || err.message}`));
      else resolve(stdout);
    });
  });
}

async function listen(server: http.Server): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return (server.address() as AddressInfo).port;
}

async function closeServer(server: http.Server): Promise<void> {
  if (!server.listening) return;
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

export interface TokenAuthRegistry {
  registry: DockerRegistry;
  tokens: TokenServer;
  /** `127.0.0.1:<port>` of the registry. */
  host: string;
  stop(): Promise<void>;
}

/**
 * docker-registry on a free port with `auth.token` pointing at a token
 * server started here (service `berth-test-registry`, issuer
 * `berth-test-issuer`), key, certificate and storage under `dir`. Only the
 * given users get tokens; `grant` decides what each may do (default: what
 * was asked for, nothing for anonymous requests).
 */
export async function startTokenAuthRegistry(
  dir: string,
  users: Record<string, string>,
  grant: TokenServerOptions['grant'] = (user, asked) => (user ? asked : []),
): Promise<TokenAuthRegistry> {
  const { key, cert } = await selfSignedCert(dir, 'berth-token-signer');
  const tokens = await startTokenServer({
    keyPem: await fs.readFile(key, 'utf8'), certPem: await fs.readFile(cert, 'utf8'), issuer: 'berth-test-issuer', users, grant,
  });
  let registry: DockerRegistry;
  try {
    registry = await startDockerRegistry(dir, { realm: tokens.realm, service: 'berth-test-registry', issuer: 'berth-test-issuer', rootCertBundle: cert });
  } catch (e) {
    await tokens.close();
    throw e;
  }
  return {
    registry, tokens, host: registry.host,
    async stop() {
      await registry.stop();
      await tokens.close();
    },
  };
}
