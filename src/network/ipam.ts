/**
 * berth's IP address management, the part netavark leaves to its caller
 * (its `host-local` driver needs `static_ips`): which subnet a new network
 * gets from the daemon's address pools, and which address a container gets
 * on a network. Pure decisions over what is taken; the allocations
 * themselves are rows in the network store, written in the same
 * transaction as the choice.
 */
import { ConflictError, ForbiddenError, InvalidParameterError } from '../errors.js';
import type { IpamPool } from '../store/network-store.js';
import { contains, formatIp, formatSubnet, hostRange, overlaps, parseIp, parseSubnet, size, type Subnet } from './ipv4.js';
import { canonicalIp6, contains6, formatIp6, formatSubnet6, hostRange6, overlaps6, parseIp6, parseSubnet6, size6, type Subnet6 } from './ipv6.js';

/** A daemon address pool (`--default-address-pool base=10.78.0.0/16,size=24`): subnets of `size` bits cut from `base`. */
export interface AddressPool {
  base: Subnet;
  size: number;
}

/** dockerd's `--default-address-pool` value. */
export function parseAddressPool(value: string): AddressPool {
  const fields = Object.fromEntries(value.split(',').map((kv) => {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw new InvalidParameterError(`invalid default address pool ${value}: expected base=CIDR,size=N`);
    return [kv.slice(0, eq).trim(), kv.slice(eq + 1).trim()];
  }));
  if (!fields.base || !fields.size) throw new InvalidParameterError(`invalid default address pool ${value}: base and size are required`);
  const base = parseSubnet(fields.base);
  const bits = Number(fields.size);
  if (!Number.isInteger(bits) || bits < base.prefix || bits > 30) {
    throw new InvalidParameterError(`invalid default address pool ${value}: size must be between ${base.prefix} and 30`);
  }
  return { base, size: bits };
}

/**
 * The first subnet of the pools that overlaps nothing in `inUse` (other
 * networks' subnets and the host's own addresses), as dockerd picks one for
 * a network created without `--subnet`.
 */
export function pickSubnet(pools: readonly AddressPool[], inUse: readonly Subnet[]): Subnet {
  for (const pool of pools) {
    const step = 2 ** (32 - pool.size);
    for (let base = pool.base.base; base < pool.base.base + size(pool.base); base += step) {
      const candidate = { base, prefix: pool.size };
      if (!inUse.some((u) => overlaps(u, candidate))) return candidate;
    }
  }
  throw new ForbiddenError('could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network');
}

/** An IPv6 address pool: subnets of `size` bits (usually 64) cut from `base`. */
export interface AddressPool6 {
  base: Subnet6;
  size: number;
}

/**
 * berth's IPv6 pool for networks created with EnableIPv6 and no IPv6
 * subnet: /64s of the unique local prefix fd62:6572:7468::/48 (RFC 4193;
 * its 40-bit global ID spells "berth" in ASCII), as dockerd hands out /64s
 * of a ULA prefix of its own.
 */
export const DEFAULT_POOL6: AddressPool6 = { base: parseSubnet6('fd62:6572:7468::/48'), size: 64 };

/** The first /size of the pools that overlaps nothing in `inUse` (IPv6's pickSubnet). */
export function pickSubnet6(pools: readonly AddressPool6[], inUse: readonly Subnet6[]): Subnet6 {
  for (const pool of pools) {
    const step = 1n << BigInt(128 - pool.size);
    // At most 65,536 candidates per pool are looked at: a /48 cut in /64s.
    const count = size6(pool.base) / step;
    const limit = count < 65536n ? count : 65536n;
    for (let i = 0n; i < limit; i++) {
      const candidate = { base: pool.base.base + i * step, prefix: pool.size };
      if (!inUse.some((u) => overlaps6(u, candidate))) return candidate;
    }
  }
  throw new ForbiddenError('could not find an available, non-overlapping IPv6 address pool among the defaults to assign to the network');
}

/** Addresses in a pool that are never handed to a container: the gateway and the auxiliary addresses. */
function reserved(pool: IpamPool): Set<string> {
  return new Set([pool.Gateway, ...Object.values(pool.AuxiliaryAddresses ?? {})].filter(Boolean));
}

/**
 * The address a container gets in `pool`: `requested` (`--ip`) if it is
 * free and inside the subnet, else the lowest free one of the pool's range.
 */
export function pickAddress(pool: IpamPool, taken: ReadonlySet<string>, requested?: string): string {
  if (pool.Subnet.includes(':')) return pickAddress6(pool, taken, requested);
  const subnet = parseSubnet(pool.Subnet);
  const blocked = reserved(pool);
  if (requested) {
    const ip = parseIp(requested);
    if (!contains(subnet, ip)) {
      throw new InvalidParameterError(`invalid address ${requested}: it does not belong to any of this network's subnets (${pool.Subnet})`);
    }
    const [lo, hi] = hostRange(subnet);
    if (ip < lo || ip > hi) throw new InvalidParameterError(`invalid address ${requested}: it is the network or broadcast address of ${pool.Subnet}`);
    if (taken.has(requested) || blocked.has(requested)) throw new ConflictError('Address already in use');
    return requested;
  }
  const range = pool.IPRange ? parseSubnet(pool.IPRange) : subnet;
  const [lo, hi] = hostRange(range);
  const [slo, shi] = hostRange(subnet);
  for (let ip = Math.max(lo, slo); ip <= Math.min(hi, shi); ip++) {
    const s = formatIp(ip);
    if (!taken.has(s) && !blocked.has(s)) return s;
  }
  throw new ConflictError(`no available IPv4 addresses on this network's address pools: ${formatSubnet(range)}`);
}

/** pickAddress for an IPv6 pool; addresses are compared in their RFC 5952 text. */
function pickAddress6(pool: IpamPool, taken: ReadonlySet<string>, requested?: string): string {
  const subnet = parseSubnet6(pool.Subnet);
  const blocked = new Set([...reserved(pool)].map(canonicalIp6));
  const [slo, shi] = hostRange6(subnet);
  if (requested) {
    const ip = parseIp6(requested);
    if (!contains6(subnet, ip)) {
      throw new InvalidParameterError(`invalid address ${requested}: it does not belong to any of this network's subnets (${pool.Subnet})`);
    }
    if (ip < slo || ip > shi) throw new InvalidParameterError(`invalid address ${requested}: it is the subnet-router anycast address of ${pool.Subnet}`);
    const text = formatIp6(ip);
    if (taken.has(text) || blocked.has(text)) throw new ConflictError('Address already in use');
    return text;
  }
  const range = pool.IPRange ? parseSubnet6(pool.IPRange) : subnet;
  const [lo, hi] = hostRange6(range);
  // The lowest free address: taken and blocked are few, so this ends within |taken| + |blocked| + 1 steps.
  for (let ip = lo > slo ? lo : slo; ip <= (hi < shi ? hi : shi); ip++) {
    const text = formatIp6(ip);
    if (!taken.has(text) && !blocked.has(text)) return text;
  }
  throw new ConflictError(`no available IPv6 addresses on this network's address pools: ${formatSubnet6(range)}`);
}
