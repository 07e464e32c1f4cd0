/**
 * `--docker host=…,ca=…,cert=…,key=…,skip-tls-verify=…,from=…`, the docker
 * endpoint of `context create` and `context update`: the key=value list, and
 * the endpoint and TLS material it stands for (docker/cli
 * cli/command/context/options.go). The PEM files are read here, so the store
 * keeps copies and the context still works when the originals move.
 */
import { readFileSync } from 'node:fs';
import type { CliContext } from '../context.js';
import { StatusError } from '../errors.js';
import { parseGoBool } from '../flags.js';
import { clientTls, parseHost } from '../host.js';
import { defaultContext } from './current.js';
import { DEFAULT_CONTEXT, type ContextStore, type DockerEndpointMeta, type TlsMaterial } from './store.js';

const DOCKER_KEYS = ['from', 'host', 'ca', 'cert', 'key', 'skip-tls-verify'];

const CONFIG_ERROR = 'unable to create docker endpoint config';

/** `--docker`'s comma-separated key=value list (Docker parses it as CSV). */
export function parseDockerEndpointFlag(value: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!value.trim()) return out;
  for (const part of value.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new StatusError(1, `invalid value "${part}": expected key=value`);
    const key = part.slice(0, eq).trim().toLowerCase();
    if (!DOCKER_KEYS.includes(key)) throw new StatusError(1, `${CONFIG_ERROR}: unrecognized config key: ${key}`);
    out[key] = part.slice(eq + 1);
  }
  return out;
}

function readTlsFile(what: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new StatusError(1, `${CONFIG_ERROR}: unable to read ${what} file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

export interface DockerEndpoint {
  meta: DockerEndpointMeta;
  tls: TlsMaterial;
}

/** The "default" context's endpoint: -H/DOCKER_HOST, with the files the TLS flags or DOCKER_CERT_PATH name. */
export function defaultEndpoint(ctx: CliContext): DockerEndpoint {
  const t = clientTls(ctx.globals.tls ?? {}, ctx.env, ctx.configDir);
  const tls: TlsMaterial = {};
  if (t?.caFile) tls['ca.pem'] = readFileSync(t.caFile);
  if (t?.certFile && t.keyFile) {
    tls['cert.pem'] = readFileSync(t.certFile);
    tls['key.pem'] = readFileSync(t.keyFile);
  }
  return { meta: { Host: defaultContext(ctx).Endpoints.docker?.Host ?? '', SkipTLSVerify: t ? !t.verify : false }, tls };
}

/** Another context's endpoint with its TLS material (`from=NAME`, `--from`). */
export function endpointOfContext(ctx: CliContext, store: ContextStore, name: string): DockerEndpoint {
  if (name === DEFAULT_CONTEXT) return defaultEndpoint(ctx);
  const src = store.get(name);
  const tls: TlsMaterial = {};
  for (const [k, p] of Object.entries(store.tlsFiles(name))) tls[k as keyof TlsMaterial] = readFileSync(p);
  return { meta: { ...src.Endpoints.docker }, tls };
}

/**
 * The endpoint `--docker`'s keys describe, whole: as in Docker, keys not
 * given are not taken from anywhere (an endpoint given without `ca=` has no
 * CA). berth requires `host=` (Docker would store an endpoint without one,
 * which then means its own default socket, not the context's daemon).
 */
export function endpointFromFlag(ctx: CliContext, store: ContextStore, ep: Record<string, string>): DockerEndpoint {
  if (ep.from !== undefined) {
    if (Object.keys(ep).length > 1) throw new StatusError(1, `${CONFIG_ERROR}: from= copies a whole endpoint and takes no other key`);
    return endpointOfContext(ctx, store, ep.from);
  }
  const host = ep.host ?? '';
  if (!host) throw new StatusError(1, `${CONFIG_ERROR}: host is required`);
  parseHost(host);
  let skip = false;
  if (ep['skip-tls-verify'] !== undefined) {
    try { skip = parseGoBool(ep['skip-tls-verify']); } catch {
      throw new StatusError(1, `${CONFIG_ERROR}: skip-tls-verify: parsing ${JSON.stringify(ep['skip-tls-verify'])}: invalid syntax`);
    }
  }
  const tls: TlsMaterial = {};
  if (ep.ca) tls['ca.pem'] = readTlsFile('CA', ep.ca);
  if (ep.cert) tls['cert.pem'] = readTlsFile('certificate', ep.cert);
  if (ep.key) tls['key.pem'] = readTlsFile('key', ep.key);
  if (Boolean(ep.cert) !== Boolean(ep.key)) throw new StatusError(1, `${CONFIG_ERROR}: cert and key must be given together`);
  return { meta: { Host: host, SkipTLSVerify: skip }, tls };
}
