/**
 * Where a registry named in an image reference is reached.
 *
 * - `docker.io` (and `index.docker.io`) is served from `registry-1.docker.io`
 *   (moby v28.2.2 `registry/config.go`, `DefaultRegistryHost`; fact sheet §4.2).
 * - dockerd treats a registry as insecure when it is listed in
 *   `insecure-registries` (as `host[:port]`, or a CIDR its IP falls in) or is
 *   a loopback address (`127.0.0.0/8`, `::1`, and `localhost`): for those it
 *   tries HTTPS without certificate verification first and falls back to
 *   plain HTTP (moby `registry/service_v2.go`, `lookupV2Endpoints` appends an
 *   `http://` endpoint after the `https://` one). An endpoint here says that
 *   with `insecureTls` + `httpFallback`; the client does the fallback once,
 *   on a TLS-level failure, and remembers it.
 * CIDR entries only match registries named by IP address: resolving host
 * names would make this function asynchronous, and loopback names are
 * already covered.
 */
import net from 'node:net';
import { InvalidParameterError } from '../../errors.js';

export interface RegistryEndpoint {
  /** `host[:port]` as in the reference, except docker.io → registry-1.docker.io. */
  host: string;
  scheme: 'https' | 'http';
  /** Accept any certificate (insecure registries). */
  insecureTls?: boolean;
  /** After a TLS failure, use plain HTTP to the same host (insecure registries). */
  httpFallback?: boolean;
}

export const DOCKER_HUB_DOMAIN = 'docker.io';
export const DOCKER_HUB_REGISTRY_HOST = 'registry-1.docker.io';

/** Splits `host[:port]` / `[v6]:port` into the bare host and the port text. */
export function splitHostPort(hostport: string): { hostname: string; port?: string } {
  const v6 = /^\[([^\]]+)\](?::([0-9]+))?$/.exec(hostport);
  if (v6) return { hostname: v6[1], port: v6[2] };
  if (net.isIPv6(hostport)) return { hostname: hostport };
  const colon = hostport.lastIndexOf(':');
  if (colon > 0 && /^[0-9]+$/.test(hostport.slice(colon + 1))) {
    return { hostname: hostport.slice(0, colon), port: hostport.slice(colon + 1) };
  }
  return { hostname: hostport };
}

function isLoopback(hostname: string): boolean {
  const h = hostname.toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (net.isIPv4(h)) return h.split('.')[0] === '127';
  if (net.isIPv6(h)) {
    const list = new net.BlockList();
    list.addAddress('::1', 'ipv6');
    list.addSubnet('::ffff:127.0.0.0', 104, 'ipv6');
    return list.check(h, 'ipv6');
  }
  return false;
}

function inCidr(hostname: string, cidr: string): boolean {
  const [base, bitsText] = cidr.split('/');
  const bits = Number(bitsText);
  const family = net.isIPv4(base) ? 'ipv4' : net.isIPv6(base) ? 'ipv6' : undefined;
  const ipFamily = net.isIPv4(hostname) ? 'ipv4' : net.isIPv6(hostname) ? 'ipv6' : undefined;
  if (!family || !ipFamily || !Number.isInteger(bits)) return false;
  const list = new net.BlockList();
  try {
    list.addSubnet(base, bits, family);
  } catch {
    return false;
  }
  return list.check(hostname, ipFamily);
}

/** True when dockerd would treat `domain` as an insecure registry. */
export function isInsecureRegistry(domain: string, insecureRegistries: readonly string[]): boolean {
  const { hostname } = splitHostPort(domain);
  if (isLoopback(hostname)) return true;
  for (const raw of insecureRegistries) {
    const entry = raw.trim().replace(/^[a-z]+:\/\//i, '').replace(/\/+$/, '');
    if (!entry) continue;
    if (/\/[0-9]+$/.test(entry)) {
      if (inCidr(hostname, entry)) return true;
    } else if (entry.toLowerCase() === domain.toLowerCase()) {
      return true;
    }
  }
  return false;
}

/** The endpoint for a reference's domain (`docker.io`, `127.0.0.1:5000`, `[::1]:5000`, `reg.example.com`). */
export function endpointFor(domain: string, insecureRegistries: string[]): RegistryEndpoint {
  const host = domain === DOCKER_HUB_DOMAIN || domain === 'index.docker.io' ? DOCKER_HUB_REGISTRY_HOST : domain;
  if (isInsecureRegistry(domain, insecureRegistries)) return { host, scheme: 'https', insecureTls: true, httpFallback: true };
  return { host, scheme: 'https' };
}

/** The reference domain an endpoint serves (registry-1.docker.io → docker.io), for messages. */
export function domainOf(ep: RegistryEndpoint): string {
  return ep.host === DOCKER_HUB_REGISTRY_HOST ? DOCKER_HUB_DOMAIN : ep.host;
}

/**
 * A `--registry-mirror` URL as dockerd accepts it (moby registry/config.go
 * ValidateMirror): http or https, no query, fragment or credentials; kept
 * with one trailing slash, which is also how `docker info` shows it. berth
 * serves a mirror's `/v2/` at the root of its host, so a URL with a path is
 * refused rather than half-honoured.
 */
export function validateMirror(raw: string): string {
  let uri: URL;
  try {
    uri = new URL(raw);
  } catch {
    throw new InvalidParameterError(`invalid mirror: "${raw}" is not a valid URI`);
  }
  if (uri.protocol !== 'http:' && uri.protocol !== 'https:') {
    throw new InvalidParameterError(`invalid mirror: unsupported scheme "${uri.protocol.replace(/:$/, '')}" in "${raw}"`);
  }
  if (uri.search || uri.hash || raw.includes('?') || raw.includes('#')) throw new InvalidParameterError(`invalid mirror: query or fragment at end of the URI "${raw}"`);
  if (uri.username || uri.password) throw new InvalidParameterError(`invalid mirror: username/password not allowed in URI "${uri.protocol}//${uri.username}:xxxxx@${uri.host}${uri.pathname}"`);
  if (!/^\/*$/.test(uri.pathname)) throw new InvalidParameterError(`invalid mirror: "${raw}" has a path; berth reaches a mirror at the root of its host`);
  return `${raw.replace(/\/+$/, '')}/`;
}

/** One `--registry-mirror` entry: the registry whose pulls it serves and its URL (validateMirror's form). */
export interface MirrorEntry { registry: string; url: string }

/**
 * A `--registry-mirror` value: `URL` mirrors Docker Hub, as dockerd's flag
 * does; `REGISTRY=URL` (berth's own form, what containerd's `hosts.toml`
 * and Podman's `registries.conf` mirrors give) mirrors that registry, e.g.
 * `registry.k8s.io=http://127.0.0.1:5000` for a cluster without internet.
 * Docker's form never contains `=` before `://`, so both read unambiguously.
 */
export function parseMirrorFlag(raw: string): MirrorEntry {
  const m = /^([^=/]+)=(.*)$/.exec(raw);
  if (!m) return { registry: DOCKER_HUB_DOMAIN, url: validateMirror(raw) };
  const registry = m[1].toLowerCase();
  if (!/^(\[[0-9a-f:.]+\]|[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*)(:[0-9]{1,5})?$/.test(registry)) {
    throw new InvalidParameterError(`invalid mirror: "${m[1]}" is not a registry host[:port]`);
  }
  return { registry: registry === 'index.docker.io' ? DOCKER_HUB_DOMAIN : registry, url: validateMirror(m[2]) };
}

/** The canonical text of a mirror entry: the bare URL for Docker Hub (as `docker info` lists it), `REGISTRY=URL` otherwise. */
export function formatMirrorEntry(e: MirrorEntry): string {
  return e.registry === DOCKER_HUB_DOMAIN ? e.url : `${e.registry}=${e.url}`;
}

/**
 * The endpoint of a mirror URL (validated by validateMirror): plain HTTP
 * when the URL says so; over HTTPS, certificates go unverified only for
 * registries that are insecure anyway (loopback, `--insecure-registry`), as
 * dockerd's mirror TLS config does — and there is no fallback to HTTP: the
 * URL's scheme is what the operator chose.
 */
export function mirrorEndpoint(mirror: string, insecureRegistries: readonly string[]): RegistryEndpoint {
  const uri = new URL(mirror);
  if (uri.protocol === 'http:') return { host: uri.host, scheme: 'http' };
  return isInsecureRegistry(uri.host, insecureRegistries) ? { host: uri.host, scheme: 'https', insecureTls: true } : { host: uri.host, scheme: 'https' };
}
