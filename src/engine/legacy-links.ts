/**
 * Legacy container links (`--link name:alias`, docker-py's `links=`) on the
 * default bridge, as dockerd keeps them (daemon/links.go, daemon/links/):
 *
 * - a link makes the *child* (the container linked to) known to the
 *   *parent* (the one that asked) by the link name `/<parent>/<alias>`;
 * - at the parent's start every child must be running; the parent's
 *   /etc/hosts gets a line `<child ip>  <alias> <child hostname> <child
 *   name>`, and its environment `<ALIAS>_NAME`, `<ALIAS>_PORT…` for the
 *   child's exposed ports and `<ALIAS>_ENV_<VAR>` for the child's own
 *   environment;
 * - a child that starts again with a new address has that line of its
 *   running parents rewritten.
 *
 * berth records a parent's links in its HostConfig.Links in the form
 * dockerd's inspect shows them, `/<child>:/<parent>/<alias>`, and finds the
 * child by name, as dockerd does when it loads its containers. On a
 * user-defined network links are no business of this module: dockerd keeps
 * HostConfig.Links there without acting on them (registerLinks returns).
 */
import { ConflictError, InvalidParameterError } from '../errors.js';

/** One link of a parent: the child's name (no "/"), the alias, and the link name `/<parent>/<alias>`. */
export interface LegacyLink { child: string; alias: string; name: string }

/** Whether a network mode is one whose links are legacy links (anything but a user-defined network). */
export function isLegacyLinkMode(mode: unknown): boolean {
  if (typeof mode !== 'string' || mode === '') return true;
  return ['default', 'bridge', 'host', 'none'].includes(mode) || mode.startsWith('container:');
}

/** opts.ParseLink: `name:alias`, `name` (its own alias), or inspect's `/name:/parent/alias`. */
export function parseLink(val: unknown): { name: string; alias: string } {
  if (typeof val !== 'string') throw new InvalidParameterError(`bad format for links: ${String(val)}`);
  if (val === '') throw new InvalidParameterError('empty string specified for links');
  const parts = val.split(':');
  if (parts.length > 2) throw new InvalidParameterError(`bad format for links: ${val}`);
  if (parts.length === 1) return { name: val, alias: val };
  if (parts[0].startsWith('/')) return { name: parts[0].slice(1), alias: parts[1].slice(parts[1].lastIndexOf('/') + 1) };
  return { name: parts[0], alias: parts[1] };
}

/** How HostConfig.Links records (and inspect shows) a link. */
export function formatLink(child: string, parent: string, alias: string): string {
  return `/${child}:/${parent}/${alias}`;
}

/** A legacy-mode container's links, as recorded at create. */
export function legacyLinks(parentName: string, hostConfig: Record<string, any>): LegacyLink[] {
  if (!isLegacyLinkMode(hostConfig.NetworkMode)) return [];
  const out: LegacyLink[] = [];
  for (const l of (hostConfig.Links ?? []) as unknown[]) {
    const { name, alias } = parseLink(l);
    out.push({ child: name.replace(/^\//, ''), alias, name: `/${parentName}/${alias}` });
  }
  return out;
}

export interface LinkTarget {
  Id: string;
  Name: string;
  HostConfig: Record<string, any>;
}

/**
 * registerLinks at create: each link's child must exist (a missing one is
 * the client's error, not a missing image's 404, moby#39823); a child
 * sharing another container's network is that container; a child on the
 * host's network cannot be linked. An alias given twice keeps its first
 * child (dockerd's name reservation ignores the second). What
 * HostConfig.Links is to record.
 */
export function registerLinks(parentName: string, hostConfig: Record<string, any>, lookup: (nameOrId: string) => LinkTarget): string[] | null {
  const given = (hostConfig.Links ?? []) as unknown[];
  if (!Array.isArray(given)) throw new InvalidParameterError('Links must be a list');
  if (given.length === 0) return null;
  const mode: string = hostConfig.NetworkMode ?? '';
  if (mode === 'container' || mode.startsWith('container:')) {
    throw new InvalidParameterError("conflicting options: container type network can't be used with links. This would result in undefined behavior");
  }
  const out: string[] = [];
  const aliases = new Set<string>();
  for (const l of given) {
    const { name, alias } = parseLink(l);
    let child = find(lookup, name);
    // A bounded walk: `container:` modes chain, and a record could (by corruption) loop.
    for (let hops = 0; String(child.HostConfig.NetworkMode ?? '').startsWith('container:'); hops++) {
      if (hops > 64) throw new InvalidParameterError(`could not get container for ${name}: network mode chain too long`);
      child = find(lookup, String(child.HostConfig.NetworkMode).slice('container:'.length));
    }
    if (child.HostConfig.NetworkMode === 'host') {
      throw new InvalidParameterError("conflicting options: host type networking can't be used with links. This would result in undefined behavior");
    }
    if (alias === '' || alias.includes('/')) throw new InvalidParameterError(`bad format for links: ${String(l)}`);
    if (aliases.has(alias)) continue;
    aliases.add(alias);
    out.push(formatLink(child.Name, parentName, alias));
  }
  return out;
}

function find(lookup: (nameOrId: string) => LinkTarget, name: string): LinkTarget {
  try {
    return lookup(name);
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw new InvalidParameterError(`could not get container for ${name}: ${why}`, { cause: e });
  }
}

/** What a link gives its parent's environment (links.Link.ToEnv). */
export function linkEnv(linkName: string, childIp: string, childEnv: readonly unknown[], exposedPorts: Record<string, unknown> | null | undefined): string[] {
  const alias = linkName.slice(linkName.lastIndexOf('/') + 1).toUpperCase().replaceAll('-', '_');
  const ports = Object.keys(exposedPorts ?? {}).map(parsePort).sort(byTcpFirst);
  const env: string[] = [];
  let start = ports[0];
  let end = ports[0];
  ports.forEach((p, i) => {
    if (i === 0) env.push(`${alias}_PORT=${p.proto}://${childIp}:${p.port}`);
    const prefix = `${alias}_PORT_${p.port}_${p.proto.toUpperCase()}`;
    env.push(`${prefix}=${p.proto}://${childIp}:${p.port}`, `${prefix}_ADDR=${childIp}`, `${prefix}_PORT=${p.port}`, `${prefix}_PROTO=${p.proto}`);
    // Consecutive ports of one protocol also get the range's start and end.
    if (p.port === end.port + 1 && p.proto.toLowerCase() === start.proto.toLowerCase()) {
      end = p;
      if (i < ports.length - 1) return;
    }
    if (end !== start) {
      const range = `${alias}_PORT_${start.port}_${start.proto.toUpperCase()}`;
      env.push(
        `${range}_START=${start.proto}://${childIp}:${start.port}`, `${range}_PORT_START=${start.port}`,
        `${range}_END=${end.proto}://${childIp}:${end.port}`, `${range}_PORT_END=${end.port}`,
      );
    }
    start = p;
    end = p;
  });
  env.push(`${alias}_NAME=${linkName}`);
  for (const v of childEnv) {
    if (typeof v !== 'string') continue;
    const eq = v.indexOf('=');
    if (eq < 0) continue;
    const name = v.slice(0, eq);
    // Set by builds, of no use to the parent (as dockerd leaves them out).
    if (name === 'HOME' || name === 'PATH') continue;
    env.push(`${alias}_ENV_${name}=${v.slice(eq + 1)}`);
  }
  return env;
}

interface Port { port: number; proto: string }

function parsePort(key: string): Port {
  const slash = key.indexOf('/');
  const port = Number(slash < 0 ? key : key.slice(0, slash));
  return { port: Number.isInteger(port) ? port : 0, proto: slash < 0 ? 'tcp' : key.slice(slash + 1) || 'tcp' };
}

/** nat.Sort with withTCPPriority: tcp first, then other protocols by name; by number within one. */
function byTcpFirst(a: Port, b: Port): number {
  const pa = a.proto.toLowerCase();
  const pb = b.proto.toLowerCase();
  if (pa === pb) return a.port - b.port;
  if (pa === 'tcp') return -1;
  if (pb === 'tcp') return 1;
  return pa < pb ? -1 : 1;
}

/** The names of a link's /etc/hosts line: the alias, the child's hostname, and its name unless that is the alias. */
export function linkHostNames(alias: string, childHostname: string, childName: string): string {
  return [alias, childHostname, ...(alias !== childName ? [childName] : [])].filter(Boolean).join(' ');
}

/**
 * rmLink: the link named `/<parent>/<alias>` (the parent's own name is no
 * link). Which parent, and which alias.
 */
export function splitLinkName(name: string): { parent: string; alias: string } {
  const full = name.startsWith('/') ? name : `/${name}`;
  const slash = full.lastIndexOf('/');
  const parent = full.slice(0, slash);
  if (parent === '') throw new ConflictError('Conflict, cannot remove the default link name of the container');
  return { parent: parent.replace(/^\/+/, ''), alias: full.slice(slash + 1) };
}
