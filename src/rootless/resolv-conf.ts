/**
 * DNS of a rootless berthd's network namespace. Its packets leave through
 * slirp4netns, which cannot reach the host's loopback (berthd runs it with
 * `--disable-host-loopback`), so a host resolver on 127.0.0.53
 * (systemd-resolved) or 127.0.0.1 (dnsmasq) is out of reach; slirp4netns's
 * own DNS forwarder, 10.0.2.3, asks the host's resolvers on its behalf.
 */
import net from 'node:net';

/** slirp4netns's DNS forwarder (its `--configure` default network 10.0.2.0/24). */
export const SLIRP_DNS = '10.0.2.3';

function loopback(address: string): boolean {
  return net.isIPv4(address) ? address.startsWith('127.') : address === '::1';
}

/**
 * The resolv.conf berthd's namespace needs instead of the host's `text`:
 * loopback nameservers replaced by slirp4netns's forwarder (once), the rest
 * kept; undefined when the host's file serves as it is.
 */
export function namespaceResolvConf(text: string): string | undefined {
  const lines = text.split('\n');
  if (!lines.some((l) => { const f = l.trim().split(/\s+/); return f[0] === 'nameserver' && loopback(f[1] ?? ''); })) return undefined;
  let added = false;
  const out: string[] = [];
  for (const l of lines) {
    const f = l.trim().split(/\s+/);
    if (f[0] === 'nameserver' && loopback(f[1] ?? '')) {
      if (!added) out.push(`nameserver ${SLIRP_DNS}`);
      added = true;
      continue;
    }
    out.push(l);
  }
  return out.join('\n');
}
