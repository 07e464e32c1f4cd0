/**
 * Which daemon the CLI talks to, and how — resolved as the Docker CLI does
 * (cli/command/cli.go resolveContextName, cli/flags/options.go):
 *
 * 1. `--context NAME` (with `-H` too is an error);
 * 2. `-H/--host`, else `BERTH_HOST`, else `DOCKER_HOST` (so `alias
 *    docker=berth` keeps working in an environment set up for Docker) — the
 *    "default" context, with TLS from `--tls*` and `DOCKER_TLS_VERIFY`,
 *    `DOCKER_TLS`, `DOCKER_CERT_PATH`;
 * 3. `DOCKER_CONTEXT`, else `currentContext` of config.json — a context in
 *    the store Docker's CLI shares (context/store.ts);
 * 4. berthd's default socket.
 *
 * Addresses: `unix:///path`, `tcp://host[:port]` (2375, or 2376 with TLS),
 * `ssh://[user@]host[:port][/remote/socket]`.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { StatusError } from './errors.js';

export const DEFAULT_HOST = 'unix:///run/berth/berth.sock';

/** TLS of a tcp:// address: PEM files (absent ones are left out, as Docker does) and whether the server is verified. */
export interface ClientTls {
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  /** false = `--tls` without `--tlsverify` (Docker's InsecureSkipVerify), or a context's skip-tls-verify. */
  verify: boolean;
}

interface Common {
  /** As given, for messages: `unix:///run/berth/berth.sock`. */
  host: string;
  /** The unix socket's path; '' for other kinds. */
  socketPath: string;
}
export type DaemonAddress = Common & (
  | { kind: 'unix' }
  | { kind: 'tcp'; hostname: string; port: number; tls?: ClientTls }
  | { kind: 'ssh'; user?: string; hostname: string; port?: number; remoteSocket?: string }
);

/** The client's TLS flags (`--tls`, `--tlsverify`, `--tlscacert`, `--tlscert`, `--tlskey`), as given. */
export interface TlsOptions {
  tls?: boolean;
  tlsVerify?: boolean;
  caFile?: string;
  certFile?: string;
  keyFile?: string;
}

/** Docker's client TLS from flags and environment; undefined when TLS is off. */
export function clientTls(opts: TlsOptions, env: NodeJS.ProcessEnv, configDir: string): ClientTls | undefined {
  const verify = opts.tlsVerify ?? (env.DOCKER_TLS_VERIFY ?? '') !== '';
  const on = verify || (opts.tls ?? (env.DOCKER_TLS ?? '') !== '');
  if (!on) return undefined;
  const dir = env.DOCKER_CERT_PATH || configDir;
  // Docker drops default files that do not exist; files named on the command line must exist.
  const pick = (given: string | undefined, name: string) => {
    if (given) {
      if (!existsSync(given)) throw new StatusError(1, `could not read ${name}: open ${given}: no such file or directory`);
      return given;
    }
    const p = join(dir, name);
    return existsSync(p) ? p : undefined;
  };
  const caFile = pick(opts.caFile, 'ca.pem');
  const certFile = pick(opts.certFile, 'cert.pem');
  const keyFile = pick(opts.keyFile, 'key.pem');
  if (Boolean(certFile) !== Boolean(keyFile)) throw new StatusError(1, 'Could not load X509 key pair: both a certificate and a key are needed for a client certificate');
  return { ...(caFile ? { caFile } : {}), ...(certFile ? { certFile, keyFile } : {}), verify };
}

/** The -H/BERTH_HOST/DOCKER_HOST part of the resolution: undefined when none is set. */
export function explicitHost(flagHosts: readonly string[], env: NodeJS.ProcessEnv): string | undefined {
  if (flagHosts.length > 1) throw new StatusError(1, 'Specify only one -H');
  return flagHosts[0] || env.BERTH_HOST || env.DOCKER_HOST || undefined;
}

/** The default context's address: -H, BERTH_HOST, DOCKER_HOST or the default socket, with the TLS flags. */
export function resolveHost(flagHosts: readonly string[], env: NodeJS.ProcessEnv, tls?: ClientTls): DaemonAddress {
  return parseHost(explicitHost(flagHosts, env) ?? DEFAULT_HOST, tls);
}

export function parseHost(host: string, tls?: ClientTls): DaemonAddress {
  if (host.startsWith('unix://')) {
    const socketPath = host.slice('unix://'.length);
    if (!socketPath) throw new StatusError(1, `invalid host: ${host}: empty socket path`);
    return { kind: 'unix', host, socketPath };
  }
  if (host.startsWith('/')) return { kind: 'unix', host: `unix://${host}`, socketPath: host };
  if (host.startsWith('tcp://')) return parseTcp(host, tls);
  if (host.startsWith('ssh://')) return parseSsh(host);
  if (host.startsWith('npipe://') || host.startsWith('fd://')) {
    throw new StatusError(1, `unsupported host ${host}: berth connects to unix://, tcp:// and ssh:// addresses`);
  }
  throw new StatusError(1, `unable to parse docker host \`${host}\``);
}

function parseTcp(host: string, tls?: ClientTls): DaemonAddress {
  let url: URL;
  try { url = new URL(host); } catch { throw new StatusError(1, `unable to parse docker host \`${host}\``); }
  const hostname = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (!hostname) throw new StatusError(1, `unable to parse docker host \`${host}\`: no host name`);
  if ((url.pathname && url.pathname !== '/') || url.search || url.username) {
    throw new StatusError(1, `unable to parse docker host \`${host}\`: berth does not support a path, query or user in a tcp:// address`);
  }
  const port = url.port ? Number(url.port) : (tls ? 2376 : 2375);
  return { kind: 'tcp', host, socketPath: '', hostname, port, ...(tls ? { tls } : {}) };
}

/** Docker's connhelper/ssh ParseURL: user and port optional, a path names the remote socket, no password, query or fragment. */
function parseSsh(host: string): DaemonAddress {
  let url: URL;
  try { url = new URL(host); } catch { throw new StatusError(1, `unable to parse docker host \`${host}\``); }
  if (url.password) throw new StatusError(1, 'plain-text password is not supported');
  if (url.search || url.hash) throw new StatusError(1, `extra path after the host: "${url.search}${url.hash}"`);
  const hostname = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (!hostname) throw new StatusError(1, 'no host specified');
  // The user part must not look like an ssh option: it ends up on ssh's command line.
  const user = decodeURIComponent(url.username);
  if (user.startsWith('-') || hostname.startsWith('-')) throw new StatusError(1, `invalid ssh address \`${host}\``);
  const remoteSocket = url.pathname && url.pathname !== '/' ? decodeURIComponent(url.pathname) : undefined;
  return {
    kind: 'ssh', host, socketPath: '', hostname,
    ...(user ? { user } : {}), ...(url.port ? { port: Number(url.port) } : {}), ...(remoteSocket ? { remoteSocket } : {}),
  };
}
