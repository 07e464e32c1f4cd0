/**
 * IPv4 addresses and subnets as numbers: parsing `a.b.c.d` and `a.b.c.d/n`,
 * containment, overlap, and the host range of a subnet. berth's networks are
 * IPv4 only (IPv6 is refused where it is asked for), so 32-bit arithmetic is
 * all IPAM needs.
 */
import { isIPv4 } from 'node:net';
import { InvalidParameterError } from '../errors.js';

/** A subnet in canonical form: `base` is the network address (host bits zero). */
export interface Subnet {
  base: number;
  prefix: number;
}

export function parseIp(ip: string): number {
  if (!isIPv4(ip)) throw new InvalidParameterError(`invalid IPv4 address: ${ip}`);
  return ip.split('.').reduce((a, p) => a * 256 + Number(p), 0);
}

export function formatIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

function mask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/**
 * `10.1.2.0/24` → subnet. With `strict`, host bits must be zero (Docker
 * refuses `--subnet 10.1.2.3/24`); otherwise they are masked away (`--bip
 * 10.1.2.1/24` names the gateway and its subnet at once).
 */
export function parseSubnet(cidr: string, strict = true): Subnet {
  const slash = cidr.indexOf('/');
  const prefix = Number(cidr.slice(slash + 1));
  if (slash < 0 || !/^\d+$/.test(cidr.slice(slash + 1)) || prefix > 32 || !isIPv4(cidr.slice(0, slash))) {
    throw new InvalidParameterError(`invalid CIDR address: ${cidr}`);
  }
  const ip = parseIp(cidr.slice(0, slash));
  const base = (ip & mask(prefix)) >>> 0;
  if (strict && base !== ip) {
    throw new InvalidParameterError(`invalid subnet ${cidr}: it should be ${formatIp(base)}/${prefix}`);
  }
  return { base, prefix };
}

export function formatSubnet(s: Subnet): string {
  return `${formatIp(s.base)}/${s.prefix}`;
}

export function size(s: Subnet): number {
  return 2 ** (32 - s.prefix);
}

export function contains(s: Subnet, ip: number): boolean {
  return ((ip & mask(s.prefix)) >>> 0) === s.base;
}

export function overlaps(a: Subnet, b: Subnet): boolean {
  const p = Math.min(a.prefix, b.prefix);
  return ((a.base & mask(p)) >>> 0) === ((b.base & mask(p)) >>> 0);
}

/** First and last address a container may get: the network and broadcast addresses are never handed out. */
export function hostRange(s: Subnet): [number, number] {
  if (s.prefix >= 31) return [s.base, s.base + size(s) - 1];
  return [s.base + 1, s.base + size(s) - 2];
}

/** The subnet's first host address, where Docker puts the gateway by default. */
export function defaultGateway(s: Subnet): number {
  return hostRange(s)[0];
}
