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

/** Addresses in a pool that are never handed to a container: the gateway and the auxiliary addresses. */
function reserved(pool: IpamPool): Set<string> {
  return new Set([pool.Gateway, ...Object.values(pool.AuxiliaryAddresses ?? {})].filter(Boolean));
}

/**
 * The address a container gets in `pool`: `requested` (`--ip`) if it is
 * free and inside the subnet, else the lowest free one of the pool's range.
 */
export function pickAddress(pool: IpamPool, taken: ReadonlySet<string>, requested?: string): string {
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
