/**
 * Published ports: from `HostConfig.PortBindings` / `PublishAllPorts` to the
 * host ports a container gets, and the reservations that keep those ports
 * its own.
 *
 * netavark forwards ports with iptables DNAT only; nothing listens on the
 * host port (containers/netavark@v1.4.0, notes/interfaces.md §2.3). Like
 * Docker's docker-proxy and Podman's leaked sockets, berthd therefore binds
 * every published host port itself and holds the socket while the container
 * runs: another container, another engine or a host process asking for the
 * port gets Docker's "port is already allocated" / "address already in use"
 * instead of silently stealing or losing the traffic. The socket never sees
 * a packet: the DNAT rules in PREROUTING/OUTPUT rewrite the destination first.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { readFileSync } from 'node:fs';
import { InvalidParameterError, NotImplementedError, SystemError } from '../errors.js';

export type Protocol = 'tcp' | 'udp' | 'sctp';

/** One container port to publish, as asked: host port 0…0 means "any free port". */
export interface PortRequest {
  containerPort: number;
  protocol: Protocol;
  /** '' for every address. */
  hostIp: string;
  hostPortStart: number;
  hostPortEnd: number;
}

/** One published port, decided. */
export interface PublishedPort {
  containerPort: number;
  protocol: Protocol;
  hostIp: string;
  hostPort: number;
}

/** `80/tcp` (or `80`) → [80, 'tcp']. */
export function parsePortKey(key: string): [number, Protocol] {
  const [port, proto = 'tcp'] = key.split('/');
  const p = proto.toLowerCase();
  if (!/^\d+$/.test(port) || Number(port) < 1 || Number(port) > 65535) throw new InvalidParameterError(`invalid port specification: "${key}"`);
  if (p !== 'tcp' && p !== 'udp' && p !== 'sctp') throw new InvalidParameterError(`invalid proto: ${proto}`);
  return [Number(port), p];
}

function parseHostPort(v: string, key: string): [number, number] {
  if (v === '' || v === undefined) return [0, 0];
  const m = /^(\d+)(?:-(\d+))?$/.exec(v);
  const lo = m ? Number(m[1]) : NaN;
  const hi = m ? Number(m[2] ?? m[1]) : NaN;
  if (!m || lo < 1 || hi > 65535 || hi < lo) throw new InvalidParameterError(`invalid port specification: "${v}" (for ${key})`);
  return [lo, hi];
}

/**
 * The port requests of a container: every `PortBindings` entry, and with
 * `PublishAllPorts` (`-P`) each exposed port that has no binding of its own
 * gets a random host port. Checked at create, so a bad value is a 400 then.
 */
export function portRequests(portBindings: Record<string, { HostIp?: string; HostPort?: string }[] | null> | null | undefined,
  exposedPorts: Record<string, unknown> | null | undefined, publishAll: boolean): PortRequest[] {
  const out: PortRequest[] = [];
  for (const [key, bindings] of Object.entries(portBindings ?? {})) {
    const [containerPort, protocol] = parsePortKey(key);
    for (const b of bindings ?? [{}]) {
      const hostIp = b.HostIp ?? '';
      if (hostIp !== '' && !net.isIPv4(hostIp)) {
        if (net.isIPv6(hostIp)) throw new NotImplementedError(`publishing on an IPv6 address (${hostIp}) is not supported: berth's networks are IPv4 only`);
        throw new InvalidParameterError(`invalid IP address: ${hostIp}`);
      }
      const [hostPortStart, hostPortEnd] = parseHostPort(b.HostPort ?? '', key);
      out.push({ containerPort, protocol, hostIp: hostIp === '0.0.0.0' ? '' : hostIp, hostPortStart, hostPortEnd });
    }
  }
  if (publishAll) {
    for (const key of Object.keys(exposedPorts ?? {})) {
      const [containerPort, protocol] = parsePortKey(key);
      if (out.some((r) => r.containerPort === containerPort && r.protocol === protocol)) continue;
      out.push({ containerPort, protocol, hostIp: '', hostPortStart: 0, hostPortEnd: 0 });
    }
  }
  return out;
}

/** The kernel's ephemeral port range, where Docker picks random host ports. */
function ephemeralRange(): [number, number] {
  try {
    const [lo, hi] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (lo > 0 && hi >= lo) return [lo, hi];
  } catch { /* not Linux */ }
  return [32768, 60999];
}

interface Held { port: PublishedPort; close(): Promise<void> }

/**
 * Where the host ports are when berthd's network namespace is not the
 * host's (rootless berthd, rootless/slirp4netns.ts): `forward` makes the
 * host port deliver to the same port number in berthd's namespace, where
 * the DNAT rules take it on; its result undoes that.
 */
export interface HostPortForwarder {
  forward(p: PublishedPort): Promise<() => Promise<void>>;
}

/** Why a host port cannot be had, in Docker's words. */
export class PortInUseError extends SystemError {}

function allocatedError(hostIp: string, port: number): PortInUseError {
  return new PortInUseError(`Bind for ${hostIp || '0.0.0.0'}:${port} failed: port is already allocated`);
}

function clash(a: { hostIp: string; hostPort: number; protocol: Protocol }, b: { hostIp: string; hostPort: number; protocol: Protocol }): boolean {
  return a.hostPort === b.hostPort && a.protocol === b.protocol && (a.hostIp === '' || b.hostIp === '' || a.hostIp === b.hostIp);
}

/** Binds one host port and keeps it; rejects with Docker's message when the host has it already. */
async function bind(p: PublishedPort): Promise<() => Promise<void>> {
  const address = p.hostIp || '0.0.0.0';
  if (p.protocol === 'sctp') return async () => undefined; // Node cannot bind SCTP; berth's own table still guards it
  const inUse = (e: NodeJS.ErrnoException) => new PortInUseError(
    `Error starting userland proxy: listen ${p.protocol}4 ${address}:${p.hostPort}: bind: ${e.code === 'EADDRINUSE' ? 'address already in use' : e.message}`,
    { cause: e },
  );
  if (p.protocol === 'udp') {
    const sock = dgram.createSocket({ type: 'udp4' });
    await new Promise<void>((resolve, reject) => {
      sock.once('error', (e) => { sock.close(); reject(inUse(e)); });
      sock.bind({ address, port: p.hostPort, exclusive: true }, () => resolve());
    });
    sock.unref();
    return () => new Promise((resolve) => sock.close(() => resolve()));
  }
  const server = net.createServer((s) => s.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e) => reject(inUse(e)));
    server.listen({ host: address, port: p.hostPort, exclusive: true, backlog: 1 }, () => resolve());
  });
  server.unref();
  return () => new Promise((resolve) => server.close(() => resolve()));
}

/**
 * The host ports berthd holds, by container. `reserve` decides the ports of
 * one container (explicit ones checked, random ones chosen) and binds them
 * all, or none; `release` gives them back.
 */
export class PortReservations {
  private readonly held = new Map<string, Held[]>();
  private forwarder: HostPortForwarder | undefined;

  /** From now on every host port is also forwarded from the real host (rootless berthd). */
  forwardFromHost(f: HostPortForwarder): void {
    this.forwarder = f;
  }

  /**
   * The host address netavark's DNAT rules match. Forwarded ports arrive on
   * the namespace's own address, whatever host address they were asked on
   * (the forwarder listens on that one), so their rules match any.
   */
  ruleHostIp(p: PublishedPort): string {
    return this.forwarder ? '' : p.hostIp;
  }

  /** The namespace's port, held; then the host's, forwarded (rootless). */
  private async bind(p: PublishedPort): Promise<() => Promise<void>> {
    const closeLocal = await bind(p);
    if (!this.forwarder) return closeLocal;
    try {
      const closeForward = await this.forwarder.forward(p);
      return async () => { await closeForward(); await closeLocal(); };
    } catch (e) {
      await closeLocal();
      throw e;
    }
  }

  /** What every other container holds, for conflict checks. */
  private others(containerId: string): PublishedPort[] {
    const out: PublishedPort[] = [];
    for (const [id, hs] of this.held) if (id !== containerId) out.push(...hs.map((h) => h.port));
    return out;
  }

  async reserve(containerId: string, requests: readonly PortRequest[]): Promise<PublishedPort[]> {
    const mine: Held[] = [];
    this.held.set(containerId, mine);
    try {
      for (const r of requests) {
        const taken = [...this.others(containerId), ...mine.map((h) => h.port)];
        const fixed = r.hostPortStart > 0 && r.hostPortStart === r.hostPortEnd;
        if (fixed) {
          const p: PublishedPort = { containerPort: r.containerPort, protocol: r.protocol, hostIp: r.hostIp, hostPort: r.hostPortStart };
          if (taken.some((t) => clash(t, p))) throw allocatedError(r.hostIp, p.hostPort);
          mine.push({ port: p, close: await this.bind(p) });
          continue;
        }
        const [lo, hi] = r.hostPortStart > 0 ? [r.hostPortStart, r.hostPortEnd] : ephemeralRange();
        const span = hi - lo + 1;
        const first = r.hostPortStart > 0 ? 0 : Math.floor(Math.random() * span);
        let got: Held | undefined;
        let lastError: unknown;
        for (let i = 0; i < span && !got; i++) {
          const p: PublishedPort = { containerPort: r.containerPort, protocol: r.protocol, hostIp: r.hostIp, hostPort: lo + ((first + i) % span) };
          if (taken.some((t) => clash(t, p))) continue;
          try { got = { port: p, close: await this.bind(p) }; } catch (e) { lastError = e; }
        }
        if (!got) {
          if (r.hostPortStart > 0) throw lastError instanceof PortInUseError ? lastError : allocatedError(r.hostIp, r.hostPortStart);
          throw new PortInUseError(`no free host port for ${r.containerPort}/${r.protocol} in ${lo}-${hi}`);
        }
        mine.push(got);
      }
      return mine.map((h) => h.port);
    } catch (e) {
      await this.release(containerId);
      throw e;
    }
  }

  /**
   * Takes back ports a container already had (after a berthd restart) without
   * failing: a port someone else grabbed meanwhile is reported, not fatal.
   */
  async readopt(containerId: string, ports: readonly PublishedPort[]): Promise<string[]> {
    const mine: Held[] = [];
    const problems: string[] = [];
    this.held.set(containerId, mine);
    for (const p of ports) {
      try { mine.push({ port: p, close: await this.bind(p) }); } catch (e) { problems.push((e as Error).message); mine.push({ port: p, close: async () => undefined }); }
    }
    return problems;
  }

  async release(containerId: string): Promise<void> {
    const hs = this.held.get(containerId) ?? [];
    this.held.delete(containerId);
    await Promise.all(hs.map((h) => h.close().catch(() => undefined)));
  }

  async close(): Promise<void> {
    for (const id of [...this.held.keys()]) await this.release(id);
  }
}
