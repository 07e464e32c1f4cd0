/**
 * The checks dockerd makes of a network's `IPAM.Config` before it asks its
 * IPAM for anything (moby `daemon/network.go` validateIpamConfig): each
 * subnet in canonical form, each ip-range inside its subnet and of its
 * family, each gateway and auxiliary address inside its subnet. Every
 * problem of every pool is reported at once, in dockerd's words:
 *
 *   invalid network config:
 *   * invalid subnet 10.1.2.3/24: it should be 10.1.2.0/24
 *   * invalid gateway 10.9.0.1: parent subnet 10.1.2.0/24 doesn't contain this address
 */
import { InvalidParameterError } from '../errors.js';
import { contains, formatIp, parseIp, parseSubnet, type Subnet } from './ipv4.js';
import { contains6, formatIp6, isIp6, overlaps6, parseIp6, parseSubnet6, type Subnet6 } from './ipv6.js';
import { isIPv4 } from 'node:net';

/** An IPAM pool as the API carries it (`network.IPAMConfig`). */
export interface IpamConfigInput {
  Subnet?: string;
  IPRange?: string;
  Gateway?: string;
  AuxiliaryAddresses?: Record<string, string>;
}

/** Whether a pool is an IPv6 one (by its subnet). */
export function isV6Config(cfg: IpamConfigInput): boolean {
  return typeof cfg.Subnet === 'string' && cfg.Subnet.includes(':');
}

/** A prefix of either family, host bits kept apart so "should be …" can be said. */
interface Prefix {
  family: 4 | 6;
  text: string;
  bits: number;
  /** The address as written and the network address, both as BigInt. */
  addr: bigint;
  masked: bigint;
  maskedText: string;
}

function parsePrefix(cidr: unknown): Prefix {
  const text = String(cidr);
  const slash = text.indexOf('/');
  const host = slash < 0 ? text : text.slice(0, slash);
  if (isIPv4(host)) {
    const s: Subnet = parseSubnet(text, false);
    return { family: 4, text, bits: s.prefix, addr: BigInt(parseIp(host)), masked: BigInt(s.base), maskedText: `${formatIp(s.base)}/${s.prefix}` };
  }
  if (isIp6(host)) {
    const s: Subnet6 = parseSubnet6(text, false);
    return { family: 6, text, bits: s.prefix, addr: parseIp6(host), masked: s.base, maskedText: `${formatIp6(s.base)}/${s.prefix}` };
  }
  throw new InvalidParameterError(`invalid CIDR address: ${text}`);
}

function parseAddress(ip: unknown): { family: 4 | 6; value: bigint } {
  const text = String(ip);
  if (isIPv4(text)) return { family: 4, value: BigInt(parseIp(text)) };
  if (isIp6(text)) return { family: 6, value: parseIp6(text) };
  throw new InvalidParameterError(`invalid IP address: ${text}`);
}

function prefixContains(p: Prefix, family: 4 | 6, value: bigint): boolean {
  if (p.family !== family) return false;
  return family === 4 ? contains({ base: Number(p.masked), prefix: p.bits }, Number(value)) : contains6({ base: p.masked, prefix: p.bits }, value);
}

function prefixesOverlap(a: Prefix, b: Prefix): boolean {
  if (a.family !== b.family) return false;
  // Shifted into the top 32 of 128 bits, an IPv4 pair overlaps exactly when the IPv6 images do.
  const widen = (p: Prefix) => ({ base: p.family === 4 ? p.masked << 96n : p.masked, prefix: p.bits });
  return overlaps6(widen(a), widen(b));
}

function addressError(addr: { family: 4 | 6; value: bigint }, subnet: Prefix): string | undefined {
  if (addr.family !== subnet.family) return `parent subnet is an IPv${subnet.family} block`;
  if (!prefixContains(subnet, addr.family, addr.value)) return `parent subnet ${subnet.text} doesn't contain this address`;
  return undefined;
}

/** Throws dockerd's `invalid network config` 400 listing every problem of `configs`. */
export function validateIpamConfig(configs: readonly IpamConfigInput[]): void {
  const errs: string[] = [];
  for (const cfg of configs) {
    if (!cfg.Subnet) continue; // a pool from the daemon's defaults; nothing of the user's to check
    const subnet = parsePrefix(cfg.Subnet);
    if (subnet.addr !== subnet.masked) errs.push(`invalid subnet ${subnet.text}: it should be ${subnet.maskedText}`);
    if (cfg.IPRange) {
      const range = parsePrefix(cfg.IPRange);
      if (range.family !== subnet.family) {
        errs.push(`invalid ip-range ${range.text}: parent subnet is an IPv${subnet.family} block`);
      } else {
        if (range.bits < subnet.bits) errs.push(`invalid ip-range ${range.text}: CIDR block is bigger than its parent subnet ${subnet.text}`);
        if (range.addr !== range.masked) errs.push(`invalid ip-range ${range.text}: it should be ${range.maskedText}`);
        if (!prefixesOverlap(subnet, range)) errs.push(`invalid ip-range ${range.text}: parent subnet ${subnet.text} doesn't contain ip-range`);
      }
    }
    if (cfg.Gateway) {
      const err = addressError(parseAddress(cfg.Gateway), subnet);
      if (err) errs.push(`invalid gateway ${cfg.Gateway}: ${err}`);
    }
    for (const [name, aux] of Object.entries(cfg.AuxiliaryAddresses ?? {})) {
      const err = addressError(parseAddress(aux), subnet);
      if (err) errs.push(`invalid auxiliary address ${name}: ${err}`);
    }
  }
  if (errs.length) {
    // moby's multierror.Join: one error as it is, several as a bulleted list.
    throw new InvalidParameterError(`invalid network config:\n${errs.length === 1 ? errs[0] : `* ${errs.join('\n* ')}`}`);
  }
  for (const cfg of configs) if (cfg.Subnet && isV6Config(cfg)) checkBridgeSubnet6(parsePrefix(cfg.Subnet), cfg.Gateway);
}

const LINK_LOCAL_64: Subnet6 = { base: 0xfe80n << 112n, prefix: 64 };

/**
 * The bridge driver's check of an IPv6 pool (moby bridge `validateIPv6Subnet`,
 * on the gateway with the subnet's length): an IPv4-mapped block, a
 * multicast one, or one that overlaps fe80::/64 without being it is
 * refused. The last also refuses the very short prefixes (`::/0`, `::/8`)
 * whose route on the bridge would take the host's IPv6 traffic, and whose
 * first address, the default gateway, would be `::1`.
 */
function checkBridgeSubnet6(subnet: Prefix, gateway: string | undefined): void {
  const gw = gateway && isIp6(gateway) ? parseIp6(gateway) : subnet.masked + 1n;
  const text = `${formatIp6(gw)}/${subnet.bits}`;
  if (gw >> 32n === 0xffffn) throw new InvalidParameterError(`'${text}' is not a valid IPv6 subnet`);
  if (gw >> 120n === 0xffn) throw new InvalidParameterError(`multicast subnet '${text}' is not allowed`);
  const own: Subnet6 = { base: subnet.masked, prefix: subnet.bits };
  if (!(own.base === LINK_LOCAL_64.base && own.prefix === 64) && overlaps6(own, LINK_LOCAL_64)) {
    throw new InvalidParameterError(`'${text}' clashes with the Link-Local prefix 'fe80::/64'`);
  }
}
