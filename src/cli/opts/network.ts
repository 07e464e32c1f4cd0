/**
 * Network flags of run/create: `--network` (plain name or the advanced
 * `name=…,alias=…,ip=…` form of opts.NetworkOpt), the legacy per-container
 * flags that apply to the first network (`--network-alias`, `--ip`, `--ip6`,
 * `--link`, `--link-local-ip`, `--mac-address`), and the endpoint settings
 * the CLI derives from them (parseNetworkOpts in opts.go). Also the host-ish
 * validators: `--add-host`, `--dns`, `--link`.
 */
import { isIP } from 'node:net';
import { parseCsvRecord } from './csv.js';
import { sortedRecord } from './mounts.js';

export interface NetworkAttachment {
  target: string;
  aliases?: string[];
  ipv4?: string;
  ipv6?: string;
  links?: string[];
  linkLocalIPs?: string[];
  driverOpts?: Record<string, string>;
  macAddress?: string;
  gwPriority?: number;
}

/** One `--network` value. */
export function parseNetworkOpt(value: string): NetworkAttachment {
  if (!/\w+=\w+(,\w+=\w+)*/.test(value)) return { target: value };
  const n: NetworkAttachment = { target: '', aliases: [] };
  for (const field of parseCsvRecord(value)) {
    const lower = field.toLowerCase();
    const eq = lower.indexOf('=');
    if (eq <= 0) throw new Error(`invalid field ${field}`);
    const key = lower.slice(0, eq).trim();
    const val = lower.slice(eq + 1).trim();
    switch (key) {
      case 'name': n.target = val; break;
      case 'alias': n.aliases!.push(val); break;
      case 'ip': n.ipv4 = val; break;
      case 'ip6': n.ipv6 = val; break;
      case 'mac-address': n.macAddress = val; break;
      case 'link-local-ip': (n.linkLocalIPs ??= []).push(val); break;
      case 'driver-opt': {
        const deq = val.indexOf('=');
        if (deq <= 0) throw new Error('invalid key value pair format in driver options');
        (n.driverOpts ??= {})[val.slice(0, deq).trim()] = val.slice(deq + 1).trim();
        break;
      }
      case 'gw-priority':
        if (!/^[+-]?\d+$/.test(val)) throw new Error(`invalid gw-priority: ${val}`);
        n.gwPriority = Number(val);
        break;
      default: throw new Error(`invalid field key ${key}`);
    }
  }
  if (n.target.length === 0) throw new Error('network name not specified');
  return n;
}

/** container.NetworkMode(n).IsUserDefined(). */
export function isUserDefinedNetwork(mode: string): boolean {
  return !['default', 'bridge', 'host', 'none'].includes(mode) && !mode.startsWith('container:');
}

export interface LegacyNetworkFlags {
  aliases: string[];
  links: string[];
  ipv4: string;
  ipv6: string;
  macAddress: string;
  linkLocalIPs: string[];
}

/** network.EndpointSettings with every field, in Docker's order. */
export function endpointSettings(ep: Partial<{ IPAMConfig: unknown; Links: string[] | null; Aliases: string[] | null; MacAddress: string; DriverOpts: Record<string, string> | null; GwPriority: number }> = {}): Record<string, unknown> {
  return {
    IPAMConfig: ep.IPAMConfig ?? null, Links: ep.Links ?? null, Aliases: ep.Aliases ?? null, MacAddress: ep.MacAddress ?? '',
    DriverOpts: ep.DriverOpts ?? null, GwPriority: ep.GwPriority ?? 0, NetworkID: '', EndpointID: '', Gateway: '', IPAddress: '',
    IPPrefixLen: 0, IPv6Gateway: '', GlobalIPv6Address: '', GlobalIPv6PrefixLen: 0, DNSNames: null,
  };
}

function applyLegacy(n: NetworkAttachment, c: LegacyNetworkFlags): NetworkAttachment {
  const out = { ...n };
  if ((n.aliases?.length ?? 0) > 0 && c.aliases.length > 0) throw new Error('conflicting options: cannot specify both --network-alias and per-network alias');
  if ((n.links?.length ?? 0) > 0 && c.links.length > 0) throw new Error('conflicting options: cannot specify both --link and per-network links');
  if (n.ipv4 && c.ipv4) throw new Error('conflicting options: cannot specify both --ip and per-network IPv4 address');
  if (n.ipv6 && c.ipv6) throw new Error('conflicting options: cannot specify both --ip6 and per-network IPv6 address');
  if (n.macAddress && c.macAddress) throw new Error('conflicting options: cannot specify both --mac-address and per-network MAC address');
  if ((n.linkLocalIPs?.length ?? 0) > 0 && c.linkLocalIPs.length > 0) throw new Error('conflicting options: cannot specify both --link-local-ip and per-network link-local IP addresses');
  if (c.aliases.length) out.aliases = [...c.aliases];
  // On a user-defined network --link is an alias; on the default bridge it is a legacy link (HostConfig.Links).
  if (isUserDefinedNetwork(n.target) && c.links.length) out.links = [...c.links];
  if (c.ipv4) out.ipv4 = c.ipv4;
  if (c.ipv6) out.ipv6 = c.ipv6;
  if (c.macAddress) out.macAddress = c.macAddress;
  if (c.linkLocalIPs.length) out.linkLocalIPs = [...c.linkLocalIPs];
  return out;
}

function isMac(s: string): boolean {
  return /^([0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}$/.test(s.trim());
}

/** parseNetworkAttachmentOpt; undefined stands for an all-zero EndpointSettings. */
function endpointFor(n: NetworkAttachment): Record<string, unknown> | undefined {
  if (n.target.trim() === '') throw new Error('no name set for network');
  if (!isUserDefinedNetwork(n.target)) {
    if (n.aliases?.length) throw new Error('network-scoped aliases are only supported for user-defined networks');
    if (n.links?.length) throw new Error('links are only supported for user-defined networks');
  }
  let ipam: Record<string, unknown> | undefined;
  if (n.ipv4 || n.ipv6 || n.linkLocalIPs?.length) {
    ipam = {};
    if (n.ipv4) ipam.IPv4Address = n.ipv4;
    if (n.ipv6) ipam.IPv6Address = n.ipv6;
    if (n.linkLocalIPs?.length) ipam.LinkLocalIPs = n.linkLocalIPs;
  }
  if (n.macAddress && !isMac(n.macAddress)) throw new Error(`${n.macAddress} is not a valid mac address`);
  const zero = !ipam && !n.aliases?.length && !n.links?.length && !n.macAddress && !(n.driverOpts && Object.keys(n.driverOpts).length) && !n.gwPriority;
  if (zero) return undefined;
  return endpointSettings({
    IPAMConfig: ipam,
    Links: n.links?.length ? n.links : null,
    Aliases: n.aliases?.length ? n.aliases : null,
    MacAddress: n.macAddress,
    DriverOpts: n.driverOpts && Object.keys(n.driverOpts).length ? sortedRecord(n.driverOpts) : null,
    GwPriority: n.gwPriority,
  });
}

export interface NetworkingResult {
  networkMode: string;
  endpoints: Record<string, Record<string, unknown>>;
}

/** HostConfig.NetworkMode and NetworkingConfig.EndpointsConfig from the flags (parseNetworkOpts). */
export function buildNetworking(networks: readonly NetworkAttachment[], legacy: LegacyNetworkFlags): NetworkingResult {
  const endpoints: Record<string, Record<string, unknown>> = {};
  if (networks.length === 0) {
    const n = applyLegacy({ target: 'default' }, legacy);
    endpoints.default = endpointFor(n) ?? endpointSettings();
    return { networkMode: 'default', endpoints };
  }
  let userDefined = false;
  let builtin = false;
  networks.forEach((raw, i) => {
    if (isUserDefinedNetwork(raw.target)) userDefined = true;
    else builtin = true;
    const n = i === 0 ? applyLegacy(raw, legacy) : raw;
    const ep = endpointFor(n);
    if (n.target in endpoints) throw new Error(`network "${n.target}" is specified multiple times`);
    // A single network without options gets no endpoint entry (the daemon makes one).
    if (i === 0 && networks.length === 1 && ep === undefined) return;
    endpoints[n.target] = ep ?? endpointSettings();
  });
  if (userDefined && builtin) throw new Error('conflicting options: cannot attach both user-defined and non-user-defined network-modes');
  return { networkMode: networks[0].target, endpoints };
}

/** opts.ValidateExtraHost: `name:ip` or `name=ip` → `name:ip` (`host-gateway` allowed). */
export function validateExtraHost(val: string): string {
  let sep = val.indexOf('=');
  if (sep < 0) sep = val.indexOf(':');
  if (sep <= 0) throw new Error(`bad format for add-host: ${JSON.stringify(val)}`);
  const name = val.slice(0, sep);
  let ip = val.slice(sep + 1);
  if (ip.startsWith('[') && ip.endsWith(']')) ip = ip.slice(1, -1);
  if (ip !== 'host-gateway' && isIP(ip) === 0) throw new Error(`invalid IP address in add-host: ${JSON.stringify(ip)}`);
  return `${name}:${ip}`;
}

/** opts.ValidateIPAddress (`--dns`). */
export function validateIPAddress(val: string): string {
  const ip = val.trim();
  if (isIP(ip) === 0) throw new Error(`IP address is not correctly formatted: ${val}`);
  return ip;
}

/** opts.ValidateDNSSearch. */
export function validateDnsSearch(val: string): string {
  const v = val.replace(/^ +| +$/g, '');
  if (v === '.') return v;
  const domain = v.endsWith('.') ? v.slice(0, -1) : v;
  if (!/^(:?(?:[a-zA-Z0-9]|(?:[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))(:?\.(?:[a-zA-Z0-9]|(?:[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])))*)\.?\s*$/.test(domain) || domain.length > 255) {
    throw new Error(`${v} is not a valid domain`);
  }
  return v;
}

/** opts.ValidateLink: `name[:alias]`. */
export function validateLink(val: string): string {
  const parts = val.split(':');
  if (parts.length > 2 || parts[0] === '' || (parts.length === 2 && parts[1] === '')) throw new Error(`invalid format for links: ${val}`);
  return val;
}

/** `--mac-address` must be a MAC. */
export function validateMac(val: string): string {
  if (!isMac(val)) throw new Error(`${val} is not a valid mac address`);
  return val;
}
