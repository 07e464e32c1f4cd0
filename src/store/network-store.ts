/**
 * Network records and IP address allocations (tables `networks` and
 * `ip_allocations`, schema v3). Records are few and read on every container
 * start, so they are held in memory and written through, like containers.
 *
 * An allocation row says "this address on this network belongs to this
 * container"; it is written when the container's endpoint is set up and
 * deleted when it is torn down. The table's primary key (network, address)
 * is the final arbiter: two containers can never hold one address.
 */
import type { Db } from './db.js';

/** One address pool of a network (Docker's `IPAMConfig`). */
export interface IpamPool {
  Subnet: string;
  Gateway: string;
  /** Addresses are handed out from this sub-range only (`--ip-range`). */
  IPRange?: string;
  /** Addresses reserved for other devices (`--aux-address`). */
  AuxiliaryAddresses?: Record<string, string>;
}

export interface NetworkRecord {
  Id: string;
  Name: string;
  /** RFC 3339. */
  Created: string;
  /** `bridge` for berth's networks; `host` and `null` for the predefined ones. */
  Driver: 'bridge' | 'host' | 'null';
  Internal: boolean;
  Attachable: boolean;
  /** Config lists the IPv4 pool first, then IPv6 ones; Options is null when the request had none (as dockerd shows it). */
  IPAM: { Driver: 'default'; Options: Record<string, string> | null; Config: IpamPool[] };
  /** Containers get IPv6 addresses from the IPv6 pool too (`--ipv6`); absent in records older than IPv6 support. */
  EnableIPv6?: boolean;
  /** Driver options as the user gave them (`-o`), plus the bridge name berth chose. */
  Options: Record<string, string>;
  Labels: Record<string, string>;
  /** The bridge device netavark creates for this network; '' for host and none. */
  BridgeName: string;
  /** aardvark-dns answers container names on this network (user-defined bridges, as Docker's embedded DNS). */
  DnsEnabled: boolean;
  /** The subnet came from the user, not the pool: only then may containers ask for an address (`--ip`), as in Docker. */
  UserSubnet: boolean;
  /** The predefined `bridge`, `host` and `none`, which can be neither created nor removed. */
  Predefined: boolean;
}

export interface Allocation { networkId: string; address: string; containerId: string }

export class NetworkStore {
  private readonly byId = new Map<string, NetworkRecord>();

  constructor(private readonly db: Db) {
    for (const row of db.prepare('SELECT record FROM networks').all() as { record: string }[]) {
      const rec = JSON.parse(row.record) as NetworkRecord;
      this.byId.set(rec.Id, rec);
    }
  }

  all(): NetworkRecord[] { return [...this.byId.values()]; }
  get(id: string): NetworkRecord | undefined { return this.byId.get(id); }
  byName(name: string): NetworkRecord | undefined {
    for (const n of this.byId.values()) if (n.Name === name) return n;
    return undefined;
  }
  findByPrefix(prefix: string): NetworkRecord[] {
    return this.all().filter((n) => n.Id.startsWith(prefix));
  }

  /** Inserts a new record; the UNIQUE name constraint decides races between creates. */
  insert(rec: NetworkRecord): void {
    this.db.prepare('INSERT INTO networks (id, name, record) VALUES (?, ?, ?)').run(rec.Id, rec.Name, JSON.stringify(rec));
    this.byId.set(rec.Id, rec);
  }

  save(rec: NetworkRecord): void {
    this.db.prepare('UPDATE networks SET name = ?, record = ? WHERE id = ?').run(rec.Name, JSON.stringify(rec), rec.Id);
    this.byId.set(rec.Id, rec);
  }

  /** Deletes the record and (by cascade) its allocations. */
  delete(id: string): void {
    this.db.prepare('DELETE FROM networks WHERE id = ?').run(id);
    this.byId.delete(id);
  }

  // ---------------------------------------------------------------- allocations

  addresses(networkId: string): Allocation[] {
    return (this.db.prepare('SELECT network_id, address, container_id FROM ip_allocations WHERE network_id = ?').all(networkId) as Row[]).map(toAllocation);
  }

  allocationsOf(containerId: string): Allocation[] {
    return (this.db.prepare('SELECT network_id, address, container_id FROM ip_allocations WHERE container_id = ?').all(containerId) as Row[]).map(toAllocation);
  }

  allAllocations(): Allocation[] {
    return (this.db.prepare('SELECT network_id, address, container_id FROM ip_allocations').all() as Row[]).map(toAllocation);
  }

  /**
   * Picks and records an address in one transaction: `choose` sees the
   * addresses taken now and returns the one to record.
   */
  allocate(networkId: string, containerId: string, choose: (taken: Set<string>) => string): string {
    return this.db.transaction(() => {
      const taken = new Set(this.addresses(networkId).map((a) => a.address));
      const address = choose(taken);
      this.db.prepare('INSERT INTO ip_allocations (network_id, address, container_id) VALUES (?, ?, ?)').run(networkId, address, containerId);
      return address;
    })();
  }

  /** Releases what `containerId` holds, on one network or on all. */
  release(containerId: string, networkId?: string): void {
    if (networkId) this.db.prepare('DELETE FROM ip_allocations WHERE container_id = ? AND network_id = ?').run(containerId, networkId);
    else this.db.prepare('DELETE FROM ip_allocations WHERE container_id = ?').run(containerId);
  }
}

interface Row { network_id: string; address: string; container_id: string }

function toAllocation(r: Row): Allocation {
  return { networkId: r.network_id, address: r.address, containerId: r.container_id };
}
