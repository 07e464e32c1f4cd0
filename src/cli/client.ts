/**
 * The Docker Engine API client berth's commands talk through: HTTP/1.1 over a
 * unix socket, TCP, TLS or ssh (transport.ts), the same requests the Docker 28 CLI sends (see
 * shared/notes/interfaces.md §5), so berthd sees one kind of traffic whichever
 * CLI is used.
 *
 * - Version negotiation as `client/ping.go`: `HEAD /_ping` (falling back to
 *   `GET`), `Api-Version` header, min(that, 1.50), 1.24 when absent; every
 *   later path carries `/v<version>`.
 * - Query strings are encoded like Go's `url.Values.Encode` (sorted keys,
 *   QueryEscape), so logs of both CLIs compare byte for byte.
 * - Errors: a status ≥ 400 becomes `ApiError` with Docker's text
 *   `Error response from daemon: <message>`.
 * - Hijacked requests (attach, exec start) expect `101` and hand back the raw
 *   socket.
 */
import http from 'node:http';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { Readable, type Duplex } from 'node:stream';
import { ApiError, ConnectError } from './errors.js';
import type { DaemonAddress } from './host.js';

export const CLIENT_API_VERSION = '1.50';
const FALLBACK_API_VERSION = '1.24';

// The errors live with the CLI's other errors, so reporting them does not load the HTTP client.
export { ApiError, ConnectError } from './errors.js';

export type QueryValue = string | number | boolean | undefined | null;
export type Query = Record<string, QueryValue | readonly string[]>;

export interface RequestOptions {
  query?: Query;
  /** Plain objects are sent as JSON; Buffers and streams as they are (streams chunked). */
  body?: unknown;
  headers?: Record<string, string>;
  /** Abort the request (used to drop a pending `wait` after `run -d`). */
  signal?: AbortSignal;
}

export interface PingInfo {
  apiVersion?: string;
  osType?: string;
  experimental: boolean;
  builderVersion?: string;
}

/** Go's url.QueryEscape: unreserved characters stay, space becomes `+`. */
export function queryEscape(s: string): string {
  let out = '';
  for (const byte of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(byte);
    if (/[A-Za-z0-9\-_.~]/.test(c)) out += c;
    else if (c === ' ') out += '+';
    else out += '%' + byte.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

/** url.Values.Encode: keys sorted; true → "1", false/undefined/null left out; arrays repeat the key. */
export function encodeQuery(q: Query | undefined): string {
  if (!q) return '';
  const parts: string[] = [];
  for (const key of Object.keys(q).sort()) {
    const v = q[key];
    if (v === undefined || v === null || v === false) continue;
    const values = Array.isArray(v) ? (v as readonly string[]) : [v === true ? '1' : String(v)];
    for (const one of values) parts.push(`${queryEscape(key)}=${queryEscape(one)}`);
  }
  return parts.length ? `?${parts.join('&')}` : '';
}

/** Go path escaping for a path segment such as an image name (`/images/a%2Fb/json` is not used: Docker keeps slashes). */
function pathSegment(s: string): string {
  return s.split('/').map((p) => encodeURIComponent(p).replace(/%3A/gi, ':').replace(/%40/g, '@')).join('/');
}

/** Builds `/containers/<id>/json` style paths with each dynamic part escaped. */
export function apiPath(strings: TemplateStringsArray, ...parts: string[]): string {
  let out = strings[0];
  parts.forEach((p, i) => { out += pathSegment(p) + strings[i + 1]; });
  return out;
}

/**
 * A whole stream (a response body, stdin) in memory. Listens for events
 * rather than iterating with `for await`: Node's async iterator costs about
 * half a millisecond a response at start-up, and `run` reads several.
 * A stream that closes before its end fails, as the iterator would.
 */
export function readAll(stream: Readable): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    if (stream.readableEnded) return resolve(Buffer.alloc(0));
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer | string) => chunks.push(typeof c === 'string' ? Buffer.from(c) : c));
    stream.once('end', () => resolve(Buffer.concat(chunks)));
    stream.once('error', reject);
    stream.once('close', () => reject(Object.assign(new Error('Premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' })));
  });
}

function versionLess(a: string, b: string): boolean {
  const [a1, a2] = a.split('.').map(Number);
  const [b1, b2] = b.split('.').map(Number);
  return a1 < b1 || (a1 === b1 && a2 < b2);
}

function connectError(err: NodeJS.ErrnoException, host: string): Error {
  switch (err.code) {
    case 'ENOENT':
    case 'ECONNREFUSED':
      return new ConnectError(err.code, `Cannot connect to the berth daemon at ${host}. Is the berth daemon running?`);
    case 'EACCES':
    case 'EPERM':
      return new ConnectError(err.code, `permission denied while trying to connect to the berth daemon socket at ${host}: ${err.message}`);
    case 'ESSH':
      return new ConnectError(err.code, `error during connect: ${host}: ${err.message}`);
    default:
      // TLS refusals and the like: Docker's "error during connect" with the reason.
      if (/tls|ssl|certificate|handshake|socket hang up|ECONNRESET/i.test(`${err.code ?? ''} ${err.message}`)) {
        return new ConnectError(err.code ?? 'ECONNRESET', `error during connect: ${host}: ${err.message}`);
      }
      return err;
  }
}

export interface ClientOptions {
  /** A unix socket (when `address` is not given). */
  socketPath?: string;
  /** Where the daemon is and how to reach it (host.ts); a unix socket at `socketPath` when absent. */
  address?: DaemonAddress;
  /**
   * Makes a connection to a non-unix address (transport.ts's dial). Passed in rather than imported:
   * the TLS and child-process modules it needs cost ~12 ms of start-up that unix-socket commands skip.
   */
  dial?: (address: DaemonAddress) => Duplex;
  /** The address as the user gave it, for messages (`unix:///run/berth/berth.sock`). */
  host: string;
  userAgent?: string;
  /** Print each request on stderr (`berth -D`). */
  debug?: (line: string) => void;
}

export class ApiClient {
  readonly socketPath: string;
  readonly host: string;
  readonly address: DaemonAddress;
  private readonly dial?: (address: DaemonAddress) => Duplex;
  private readonly agent: http.Agent;
  private readonly userAgent: string;
  private readonly debug?: (line: string) => void;
  private negotiated?: Promise<PingInfo>;
  /** The API version every path is prefixed with, once negotiated. */
  version = CLIENT_API_VERSION;

  constructor(opts: ClientOptions) {
    this.address = opts.address ?? { kind: 'unix', host: opts.host, socketPath: opts.socketPath ?? '' };
    this.socketPath = this.address.socketPath;
    this.host = opts.host;
    this.userAgent = opts.userAgent ?? 'Berth-Client/0.1.0 (linux)';
    this.debug = opts.debug;
    this.agent = new http.Agent({ keepAlive: true });
    if (this.address.kind !== 'unix') {
      if (!opts.dial) throw new Error(`BUG: no transport given for ${this.address.host}`);
      this.dial = opts.dial;
      // Every pooled connection is made by the transport: TCP, TLS or an ssh child's stdio.
      const address = this.address;
      const dial = opts.dial;
      (this.agent as unknown as { createConnection: () => Duplex }).createConnection = () => dial(address);
    }
  }

  /** Releases pooled connections so the process can exit. */
  close(): void {
    this.agent.destroy();
  }

  /**
   * Where every request goes. `servername: ''` keeps Node's agent from
   * deriving a TLS server name from the Host header: that means nothing on a
   * unix socket, and its first `net.isIP` check compiles a large regular
   * expression, ~5 ms of every command's start-up.
   */
  private socketOptions(): http.RequestOptions & { servername: string } {
    if (this.address.kind === 'unix') return { socketPath: this.socketPath, servername: '' };
    const address = this.address;
    const dial = this.dial!;
    // createConnection serves requests made without the agent (hijack); the agent has its own.
    return { servername: '', createConnection: (() => dial(address)) as unknown as http.RequestOptions['createConnection'] };
  }

  private baseHeaders(): Record<string, string> {
    return { Host: 'api.moby.localhost', 'User-Agent': this.userAgent };
  }

  /** `HEAD /_ping`, retried as `GET` unless the answer was 200 or 500 (client/ping.go). */
  async ping(): Promise<PingInfo> {
    const once = (method: string) => new Promise<IncomingMessage>((resolve, reject) => {
      const req = http.request({ ...this.socketOptions(), method, path: '/_ping', agent: this.agent, headers: this.baseHeaders() }, resolve);
      req.on('error', (e) => reject(connectError(e, this.host)));
      req.end();
    });
    let res = await once('HEAD');
    // Read to its end (a HEAD reply has no body): the agent then takes the connection back before the
    // next request, which reuses it instead of opening a second one (~2 ms of `run`'s start).
    await readAll(res);
    if (res.statusCode !== 200 && res.statusCode !== 500) {
      res = await once('GET');
      await readAll(res);
    }
    const h = res.headers;
    const info: PingInfo = {
      apiVersion: (h['api-version'] as string | undefined) || undefined,
      osType: h['ostype'] as string | undefined,
      experimental: h['docker-experimental'] === 'true',
      builderVersion: h['builder-version'] as string | undefined,
    };
    if (res.statusCode !== undefined && res.statusCode >= 400 && !info.apiVersion) {
      throw new ApiError(res.statusCode, `ping failed with status ${res.statusCode}`);
    }
    return info;
  }

  /** Pings once and fixes the API version: min(daemon, 1.50), 1.24 when the daemon does not say. */
  negotiate(): Promise<PingInfo> {
    this.negotiated ??= this.ping().then((info) => {
      const server = info.apiVersion ?? FALLBACK_API_VERSION;
      this.version = versionLess(server, CLIENT_API_VERSION) ? server : CLIENT_API_VERSION;
      return info;
    });
    return this.negotiated;
  }

  /** True when the negotiated version is at least `v` (`1.42` for exec ConsoleSize…). */
  versionAtLeast(v: string): boolean {
    return !versionLess(this.version, v);
  }

  private fullPath(path: string, query?: Query): string {
    return `/v${this.version}${path}${encodeQuery(query)}`;
  }

  private prepareBody(opts: RequestOptions): { headers: Record<string, string>; body?: Buffer | Readable } {
    const headers: Record<string, string> = { ...this.baseHeaders(), ...(opts.headers ?? {}) };
    const b = opts.body;
    if (b === undefined || b === null) {
      return { headers };
    }
    if (Buffer.isBuffer(b)) return { headers: { 'Content-Length': String(b.length), ...headers }, body: b };
    // tar-stream's packs are streamx streams: pipeable, but not `instanceof Readable`.
    if (isPipeable(b)) return { headers, body: b as Readable };
    // Go's json.Encoder, which the Docker client uses, ends the body with a newline.
    const text = Buffer.from(`${JSON.stringify(b)}\n`);
    return { headers: { 'Content-Type': 'application/json', 'Content-Length': String(text.length), ...headers }, body: text };
  }

  /**
   * Sends a request and resolves with the response once its headers arrived
   * (a stream the caller consumes), or rejects with ApiError for status ≥ 400.
   */
  async request(method: string, path: string, opts: RequestOptions = {}): Promise<IncomingMessage> {
    await this.negotiate();
    const full = this.fullPath(path, opts.query);
    this.debug?.(`${method} ${full}`);
    const { headers, body } = this.prepareBody(opts);
    if (body === undefined && (method === 'POST' || method === 'PUT')) headers['Content-Length'] ??= '0';
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = http.request({ ...this.socketOptions(), method, path: full, agent: this.agent, headers, signal: opts.signal }, resolve);
      req.on('error', (e) => reject(connectError(e, this.host)));
      if (isPipeable(body)) {
        body.on('error', (e: Error) => req.destroy(e));
        body.pipe(req);
      } else req.end(body);
    });
    if ((res.statusCode ?? 500) >= 400) throw await responseError(res, full);
    return res;
  }

  /** A request whose answer is JSON (or empty: resolves undefined). */
  async json<T = unknown>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const res = await this.request(method, path, opts);
    const text = (await readAll(res)).toString('utf8');
    if (!text.trim()) return undefined as T;
    return JSON.parse(text) as T;
  }

  /** A request whose answer is ignored (204, or 304 for start/stop of a container already there). */
  async call(method: string, path: string, opts: RequestOptions = {}): Promise<void> {
    const res = await this.request(method, path, opts);
    await readAll(res);
  }

  /**
   * A hijacked request (`Connection: Upgrade`, `Upgrade: tcp`) on its own
   * connection. Resolves with the raw socket after `101`, plus any bytes the
   * daemon sent right behind the headers.
   */
  async hijack(method: string, path: string, opts: RequestOptions = {}): Promise<{ socket: Socket; head: Buffer }> {
    await this.negotiate();
    const full = this.fullPath(path, opts.query);
    this.debug?.(`${method} ${full} (upgrade)`);
    const prepared = this.prepareBody(opts);
    const headers: Record<string, string> = { 'Content-Length': '0', ...prepared.headers, Connection: 'Upgrade', Upgrade: 'tcp' };
    const body = prepared.body;
    return new Promise((resolve, reject) => {
      // Its own connection, never a pooled one. `agent: false` would make a fresh Agent, which dials
      // with net.connect and ignores createConnection: other transports go without an agent.
      const req = http.request({ ...this.socketOptions(), method, path: full, ...(this.address.kind === 'unix' ? { agent: false } : {}), headers });
      req.on('upgrade', (res, socket, head) => {
        if (res.statusCode === 101) {
          socket.setNoDelay?.(true);
          resolve({ socket, head });
        } else {
          socket.destroy();
          reject(new Error(`unable to upgrade to tcp, received ${res.statusCode}`));
        }
      });
      req.on('response', (res) => {
        // Docker says only "unable to upgrade…"; a daemon message, when there is one, says more.
        void responseError(res, full).then((e) => {
          if ((res.statusCode ?? 0) >= 400 && e.daemonMessage) reject(e);
          else reject(new Error(`unable to upgrade to tcp, received ${res.statusCode}`));
        });
      });
      req.on('error', (e) => reject(connectError(e, this.host)));
      if (isPipeable(body)) body.pipe(req);
      else req.end(body);
    });
  }
}

/** Docker's error text for a failed response (client/request.go checkResponseErr). */
async function responseError(res: IncomingMessage, url: string): Promise<ApiError> {
  const status = res.statusCode ?? 500;
  const body = (await readAll(res)).toString('utf8');
  if (body.trim() === '') {
    return new ApiError(status, '', `request returned ${http.STATUS_CODES[status] ?? status} for API route and version ${url}, check if the server supports the requested API version`);
  }
  const ct = String(res.headers['content-type'] ?? '');
  let msg = body.trim();
  if (ct.includes('application/json') || msg.startsWith('{')) {
    try {
      const parsed = JSON.parse(body) as { message?: string };
      if (typeof parsed.message === 'string') msg = parsed.message;
    } catch { /* not JSON after all: the text is the message */ }
  }
  return new ApiError(status, msg);
}

function isPipeable(b: unknown): b is Readable {
  return b instanceof Readable || (typeof b === 'object' && b !== null && typeof (b as { pipe?: unknown }).pipe === 'function');
}
