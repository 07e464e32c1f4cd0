/**
 * An `--add-host` entry as the daemon holds it (HostConfig.ExtraHosts, build
 * extrahosts): `name:address`, split at the first colon as moby's
 * opts.ValidateExtraHost does, so an IPv6 address (`db:::1`, `db:[::1]`)
 * keeps its colons. One reading for the check at create, the /etc/hosts
 * line and the host-gateway substitution: a check that split elsewhere than
 * the writer would pass `a:b:1.2.3.4` and write `b:1.2.3.4 a`.
 */
import { isIP } from 'node:net';
import { InvalidParameterError } from '../errors.js';

export interface ExtraHost { name: string; ip: string }

/** Splits an entry; `ip` is `host-gateway` or an address, unchecked (see checkExtraHost). */
export function parseExtraHost(entry: string): ExtraHost {
  const sep = entry.indexOf(':');
  let ip = entry.slice(sep + 1);
  if (ip.startsWith('[') && ip.endsWith(']')) ip = ip.slice(1, -1);
  return { name: sep < 0 ? '' : entry.slice(0, sep), ip };
}

/** An entry a client sent: a name without blanks (it becomes one /etc/hosts line) and an IPv4 or IPv6 address or `host-gateway`. */
export function checkExtraHost(entry: string): ExtraHost {
  const h = parseExtraHost(entry);
  if (!h.name || /\s/.test(h.name) || (h.ip !== 'host-gateway' && isIP(h.ip) === 0)) {
    throw new InvalidParameterError(`invalid IP address in add-host: "${h.ip}"`);
  }
  return h;
}
