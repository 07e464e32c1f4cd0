/**
 * The `--addr` value: `host:port`, `:port` (every interface, like Go's
 * `net.Listen` and docker-registry's `http.addr`), or `[v6]:port`.
 */

export interface ListenAddress {
  /** Undefined: every interface. */
  host?: string;
  port: number;
}

export function parseListenAddress(addr: string): ListenAddress {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*))?:([0-9]{1,5})$/.exec(addr.trim());
  if (!m) throw new Error(`invalid listen address "${addr}": want host:port or :port`);
  const port = Number(m[3]);
  if (port > 65535) throw new Error(`invalid listen address "${addr}": port out of range`);
  const host = m[1] ?? (m[2] || undefined);
  return host === undefined ? { port } : { host, port };
}

/** The host a client on this machine should dial for a listener bound to `host`. */
export function dialHost(host: string | undefined): string {
  if (!host || host === '0.0.0.0' || host === '::') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}
