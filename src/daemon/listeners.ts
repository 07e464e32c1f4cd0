/**
 * Where berthd serves the API (`-H`, repeatable): unix sockets, and TCP —
 * plain or TLS (tls.ts). Every listener feeds the same kind of HTTP server
 * (api/server.ts), so hijacked attach/exec, streams and half-closes behave
 * the same on each.
 *
 * Plain TCP (or TLS without client verification) gives root on this host to
 * whoever reaches the port. As dockerd, berthd warns loudly whenever a TCP
 * socket has no client authentication; unlike dockerd's 15-second pause it
 * refuses outright when the address is not loopback, unless the user said
 * `--tls=false` or `--tlsverify=false` (dockerd's explicit opt-out).
 */
import net from 'node:net';
import tls from 'node:tls';
import { lookup } from 'node:dns/promises';
import { chmod, chown, mkdir, rm } from 'node:fs/promises';
import { statSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { dirname } from 'node:path';
import type { Server } from 'node:http';
import { InvalidParameterError } from '../errors.js';
import type { TlsFlags } from './tls-flags.js';
import { serverTls, type ServerTls } from './tls.js';

/** dockerd's default ports: 2375 plain, 2376 with TLS. */
const DEFAULT_HTTP_PORT = 2375;
const DEFAULT_TLS_PORT = 2376;

export interface Listener {
  /** The `-H` value it serves. */
  readonly host: string;
  close(): void;
}

export interface TcpAddress { host: string; port: number }

/** `tcp://HOST:PORT` (HOST empty = every interface; PORT default 2375, 2376 with TLS). */
export function parseTcpHost(host: string, withTls: boolean): TcpAddress {
  const rest = host.slice('tcp://'.length);
  let url: URL;
  try {
    url = new URL(`tcp://${rest.startsWith(':') ? `0.0.0.0${rest}` : rest}`);
  } catch {
    throw new InvalidParameterError(`invalid bind address (${host}): cannot parse`);
  }
  if ((url.pathname && url.pathname !== '/') || url.search || url.username) {
    throw new InvalidParameterError(`invalid bind address (${host}): should not contain a path element`);
  }
  const h = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = url.port ? Number(url.port) : (withTls ? DEFAULT_TLS_PORT : DEFAULT_HTTP_PORT);
  if (!h || !Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidParameterError(`invalid bind address (${host})`);
  return { host: h, port };
}

function isLoopbackIp(ip: string): boolean {
  if (net.isIPv4(ip)) return ip.startsWith('127.');
  const v6 = ip.toLowerCase();
  return v6 === '::1' || /^::ffff:127\./.test(v6);
}

/** Whether every address the name stands for is a loopback one (dockerd: ip.IsLoopback()). */
export async function isLoopbackHost(host: string): Promise<boolean> {
  if (host === 'localhost') return true;
  if (net.isIP(host)) return isLoopbackIp(host);
  try {
    const addrs = await lookup(host, { all: true });
    return addrs.length > 0 && addrs.every((a) => isLoopbackIp(a.address));
  } catch {
    return false;
  }
}

/**
 * The refusal or warnings for a TCP socket without client authentication
 * (dockerd's wording for the warnings). Returns the lines to log.
 */
export async function checkUnauthenticatedTcp(host: string, addr: TcpAddress, f: TlsFlags): Promise<string[]> {
  const warnings = [
    `WARNING: binding to ${host} without --tlsverify is insecure and gives root access on this machine to everyone who has access to your network.`,
    `WARNING: binding to an IP address, even on localhost, can also give access to scripts run in a browser. Be safe out there!`,
  ];
  if (await isLoopbackHost(addr.host)) return warnings;
  // dockerd's checkTLSAuthOK: an explicit false for either flag is the user's informed choice.
  const optedOut = f.tls === false || f.tlsVerify === false;
  if (!optedOut) {
    throw new InvalidParameterError(
      `refusing to listen on ${host} without --tlsverify: it is not a loopback address, and anyone who reaches it gets root on this machine. ` +
      `Use --tlsverify with --tlscacert, --tlscert and --tlskey, or specify '--tls=false' or '--tlsverify=false' to listen without authentication anyway`);
  }
  return [...warnings, `WARNING: ${host} is reachable from the network WITHOUT AUTHENTICATION ('--tls=false'/'--tlsverify=false' given): every client that reaches it is root on this host`];
}

function groupId(name: string): number | undefined {
  try {
    const out = execFileSync('getent', ['group', name], { encoding: 'utf8' });
    return Number(out.split(':')[2]);
  } catch { return undefined; }
}

/** True when something already answers on the socket (another berthd). */
function socketInUse(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(path);
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

function listen(server: net.Server, opts: net.ListenOptions): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts, () => { server.off('error', reject); resolve(); });
  });
}

async function listenUnix(host: string, server: Server, group: string): Promise<Listener> {
  const path = host.slice('unix://'.length);
  await mkdir(dirname(path), { recursive: true });
  if (await socketInUse(path)) throw new Error(`another daemon is listening on ${path}`);
  await rm(path, { force: true });
  // Node's default backlog (511) refuses a burst of clients connecting at once (EAGAIN on a unix
  // socket); the kernel caps this at net.core.somaxconn anyway.
  await listen(server, { path, backlog: 4096 });
  const gid = group ? groupId(group) : undefined;
  if (gid !== undefined) await chown(path, 0, gid);
  await chmod(path, 0o660);
  return { host, close: () => { server.close(); server.closeAllConnections(); } };
}

/**
 * A TLS listener in front of the HTTP server: each connection is handed to
 * the HTTP server only once its handshake (and, with --tlsverify, the client
 * certificate's verification) succeeded.
 */
async function listenTls(host: string, addr: TcpAddress, server: Server, t: ServerTls, log: (l: string) => void): Promise<Listener> {
  const sockets = new Set<tls.TLSSocket>();
  const front = tls.createServer(t.options, (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    server.emit('connection', socket);
  });
  // A refused client (no certificate, one from another CA, not TLS at all) is its own failure, logged at debug level.
  front.on('tlsClientError', (e, socket) => { log(`berthd: ${host}: TLS handshake refused from ${socket.remoteAddress ?? '?'}: ${e.message}`); socket.destroy(); });
  await listen(front, { host: addr.host, port: addr.port, backlog: 4096 });
  return { host, close: () => { front.close(); for (const s of sockets) s.destroy(); } };
}

async function listenTcp(host: string, addr: TcpAddress, server: Server): Promise<Listener> {
  await listen(server, { host: addr.host, port: addr.port, backlog: 4096 });
  return { host, close: () => { server.close(); server.closeAllConnections(); } };
}

export interface ListenerPlan {
  hosts: readonly string[];
  group: string;
  /** Set when some -H is tcp:// and TLS is on. */
  tls?: ServerTls;
  /** Loud warnings to print before listening. */
  warnings: string[];
}

/**
 * Checks every `-H` and the TLS set-up, before berthd touches its roots:
 * a bad address, unreadable or mismatched PEM files, or plain TCP on a
 * non-loopback address stop berthd here.
 */
export async function planListeners(hosts: readonly string[], group: string, f: TlsFlags): Promise<ListenerPlan> {
  // Loaded (and checked) once for all TCP listeners, and only when there is one: a unix-only
  // berthd never reads ~/.docker/*.pem.
  const needsTls = hosts.some((h) => h.startsWith('tcp://'));
  const t = needsTls ? serverTls(f) : undefined;
  const warnings: string[] = [];
  if (t) {
    // dockerd does not check this; a key others can read is a key others may hold.
    try {
      if ((statSync(f.keyFile).mode & 0o077) !== 0) warnings.push(`WARNING: the TLS key ${f.keyFile} can be read by users other than its owner: chmod 600 it`);
    } catch { /* read a moment ago by serverTls */ }
  }
  for (const host of hosts) {
    if (host.startsWith('unix://')) {
      if (host.length === 'unix://'.length) throw new InvalidParameterError(`invalid host ${host}: empty socket path`);
    } else if (host.startsWith('tcp://')) {
      const addr = parseTcpHost(host, t !== undefined);
      if (!t?.verifyClients) warnings.push(...await checkUnauthenticatedTcp(host, addr, f));
    } else {
      throw new InvalidParameterError(`unsupported host ${host}: berthd listens on unix:// and tcp:// addresses`);
    }
  }
  return { hosts, group, ...(t ? { tls: t } : {}), warnings };
}

/** Opens every planned `-H`, each with a fresh API server; on a failure closes those already open and throws. */
export async function openListeners(plan: ListenerPlan, newServer: () => Server, debug: (line: string) => void): Promise<Listener[]> {
  const open: Listener[] = [];
  try {
    for (const host of plan.hosts) {
      if (host.startsWith('unix://')) {
        open.push(await listenUnix(host, newServer(), plan.group));
      } else {
        const addr = parseTcpHost(host, plan.tls !== undefined);
        open.push(plan.tls ? await listenTls(host, addr, newServer(), plan.tls, debug) : await listenTcp(host, addr, newServer()));
      }
    }
  } catch (e) {
    for (const l of open) l.close();
    throw e;
  }
  return open;
}
