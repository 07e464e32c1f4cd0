/**
 * IPv6 addresses and subnets as 128-bit BigInts: parsing (`2001:db8::1`,
 * `::ffff:1.2.3.4`), RFC 5952 text (`2001:db8::1`, lower case, the longest
 * run of zero groups compressed), containment, overlap, and the range of a
 * subnet that containers may get. The IPv6 twin of ipv4.ts.
 */
import { isIPv6 } from 'node:net';
import { InvalidParameterError } from '../errors.js';

const BITS = 128n;
const ALL = (1n << BITS) - 1n;

/** A subnet in canonical form: `base` is the network address (host bits zero). */
export interface Subnet6 {
  base: bigint;
  prefix: number;
}

export function isIp6(text: string): boolean {
  return isIPv6(text) && !text.includes('%');
}

export function parseIp6(text: string): bigint {
  // A zone (`fe80::1%eth0`) names a link, not an address: never part of a container's address.
  if (!isIp6(text)) throw new InvalidParameterError(`invalid IPv6 address: ${text}`);
  let s = text.toLowerCase();
  // An embedded IPv4 tail (`::ffff:10.0.0.1`) is two groups.
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(s);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number);
    s = `${s.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = s.includes('::') ? s.split('::') : [s, undefined];
  const hs = head ? head.split(':') : [];
  const ts = tail ? tail.split(':') : [];
  const groups = tail === undefined ? hs : [...hs, ...Array<string>(8 - hs.length - ts.length).fill('0'), ...ts];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
}

/** RFC 5952 text of an address. */
export function formatIp6(n: bigint): string {
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((n >> BigInt(i * 16)) & 0xffffn));
  // The longest run of two or more zero groups (the first of equals) becomes `::`.
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) { best = i; bestLen = j - i; }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

/** The canonical text of an address given in any valid form. */
export function canonicalIp6(text: string): string {
  return formatIp6(parseIp6(text));
}

function mask(prefix: number): bigint {
  return prefix === 0 ? 0n : (ALL << (BITS - BigInt(prefix))) & ALL;
}

/**
 * `2001:db8::/64` → subnet. With `strict`, host bits must be zero (Docker
 * refuses `--subnet 2001:db8::1/64`); otherwise they are masked away.
 */
export function parseSubnet6(cidr: string, strict = true): Subnet6 {
  const slash = cidr.indexOf('/');
  const bits = cidr.slice(slash + 1);
  if (slash < 0 || !/^\d{1,3}$/.test(bits) || Number(bits) > 128 || !isIp6(cidr.slice(0, slash))) {
    throw new InvalidParameterError(`invalid CIDR address: ${cidr}`);
  }
  const prefix = Number(bits);
  const ip = parseIp6(cidr.slice(0, slash));
  const base = ip & mask(prefix);
  if (strict && base !== ip) throw new InvalidParameterError(`invalid subnet ${cidr}: it should be ${formatIp6(base)}/${prefix}`);
  return { base, prefix };
}

export function formatSubnet6(s: Subnet6): string {
  return `${formatIp6(s.base)}/${s.prefix}`;
}

export function size6(s: Subnet6): bigint {
  return 1n << (BITS - BigInt(s.prefix));
}

export function contains6(s: Subnet6, ip: bigint): boolean {
  return (ip & mask(s.prefix)) === s.base;
}

export function overlaps6(a: Subnet6, b: Subnet6): boolean {
  const p = Math.min(a.prefix, b.prefix);
  return (a.base & mask(p)) === (b.base & mask(p));
}

/**
 * First and last address a container may get. IPv6 has no broadcast
 * address; the subnet's first address (the subnet-router anycast address,
 * RFC 4291 2.6.1) is never handed out, as in Docker's IPAM.
 */
export function hostRange6(s: Subnet6): [bigint, bigint] {
  if (s.prefix === 128) return [s.base, s.base];
  return [s.base + 1n, s.base + size6(s) - 1n];
}
