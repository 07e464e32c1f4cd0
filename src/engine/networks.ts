/**
 * The network records: Docker's networks as `GET/POST/DELETE /networks…`
 * see them — the predefined `bridge` (berth's default bridge, device
 * `berth0` unless `--bridge`), `host` and `none`, and user-defined bridges
 * with subnets from the daemon's address pools (`--default-address-pool`)
 * or from the user. Containers' places on them — endpoints, sandboxes,
 * connect and disconnect — are engine/endpoints.ts.
 */
import { randomBytes } from 'node:crypto';
import { networkInterfaces } from 'node:os';
import { ConflictError, ForbiddenError, InvalidParameterError, NotFoundError, NotImplementedError, errorMessage } from '../errors.js';
import type { ContainerRecord, ContainerStore } from '../store/container-store.js';
import type { IpamPool, NetworkRecord, NetworkStore } from '../store/network-store.js';
import { DEFAULT_POOL6, parseAddressPool, pickSubnet, pickSubnet6, type AddressPool, type AddressPool6 } from '../network/ipam.js';
import { contains, formatIp, formatSubnet, hostRange, overlaps, parseIp, parseSubnet, type Subnet } from '../network/ipv4.js';
import { canonicalIp6, formatIp6, formatSubnet6, hostRange6, overlaps6, parseSubnet6, type Subnet6 } from '../network/ipv6.js';
import { validateIpamConfig, isV6Config } from '../network/ipam-config.js';
import type { Sandboxes } from '../network/sandbox.js';
import { hostInterfaceExists } from '../network/netavark.js';
import type { EventBus } from './events.js';
import { matchLabel } from './volumes.js';
import { prunable, type PruneFilters } from './prune-filters.js';
import { networkView, type NetworkContainerView } from './network-views.js';

/** The daemon's network settings (berthd `--bridge`, `--bip`, `--default-address-pool`). */
export interface NetworkDefaults {
  /** Device of the predefined `bridge` network. */
  bridgeName: string;
  /** Gateway address and prefix of the predefined `bridge` network, e.g. `10.77.0.1/16`. */
  bip: string;
  /** Where user-defined networks without `--subnet` get theirs. */
  pools: AddressPool[];
  /** Where IPv6 networks (`--ipv6`) without an IPv6 `--subnet` get theirs. */
  pools6: AddressPool6[];
}

/**
 * berth's defaults stay clear of Docker's 172.17.0.0/16 (+172.18–31) and
 * Podman's 10.88.0.0/16 (+10.89.x), so berthd can run beside either.
 */
export const DEFAULT_NETWORK_SETTINGS: NetworkDefaults = {
  bridgeName: 'berth0',
  bip: '10.77.0.1/16',
  pools: [parseAddressPool('base=10.78.0.0/16,size=24')],
  pools6: [DEFAULT_POOL6],
};

/** cluster `errNoManager`: what dockerd answers for swarm-scoped work on a node outside a swarm. */
const NOT_A_SWARM_MANAGER = 'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.';

/**
 * EnableIPv4/EnableIPv6: the request's field, else the driver option
 * dockerd also reads (`com.docker.network.enable_ipv6`), which the field
 * overrides and which is not kept among the options either way.
 */
function familyFlag(field: unknown, options: Record<string, string>, option: string, dflt: boolean): boolean {
  const fromOption = options[option];
  delete options[option];
  if (typeof field === 'boolean') return field;
  if (fromOption === undefined) return dflt;
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(fromOption)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(fromOption)) return false;
  throw new InvalidParameterError(`driver-opt "${option}" is not a valid bool`);
}

const PREDEFINED = ['bridge', 'host', 'none'];
const BRIDGE_NAME = /^[a-zA-Z0-9_.-]{1,15}$/;

/** Driver options berth's bridge understands; anything else is refused, not ignored. */
const BRIDGE_OPTIONS: Record<string, (v: string) => boolean> = {
  'com.docker.network.bridge.name': (v) => BRIDGE_NAME.test(v),
  'com.docker.network.driver.mtu': (v) => /^\d+$/.test(v) && Number(v) >= 68 && Number(v) <= 65535,
  // What berth's bridges always do: accepted when asked for, refused when asked against.
  'com.docker.network.bridge.enable_icc': (v) => v === 'true',
  'com.docker.network.bridge.enable_ip_masquerade': (v) => v === 'true',
  'com.docker.network.bridge.host_binding_ipv4': (v) => v === '0.0.0.0',
};

export function isRunning(c: ContainerRecord): boolean {
  return c.State.Running || c.State.Paused;
}

export class NetworkService {
  constructor(
    readonly store: NetworkStore,
    private readonly containerStore: ContainerStore,
    private readonly sandboxes: Sandboxes,
    private readonly events: EventBus,
    private readonly defaults: NetworkDefaults,
  ) {}

  /** Start-up: the predefined networks exist, with the daemon's current --bridge and --bip. */
  ensurePredefined(): void {
    const now = new Date().toISOString();
    const base = (name: string, driver: NetworkRecord['Driver']): NetworkRecord => ({
      Id: randomBytes(32).toString('hex'), Name: name, Created: now, Driver: driver, Internal: false, Attachable: false,
      IPAM: { Driver: 'default', Options: {}, Config: [] }, Options: {}, Labels: {}, BridgeName: '', DnsEnabled: false,
      UserSubnet: false, Predefined: true,
    });
    if (!BRIDGE_NAME.test(this.defaults.bridgeName)) throw new InvalidParameterError(`invalid --bridge ${this.defaults.bridgeName}: a device name of at most 15 of [a-zA-Z0-9_.-]`);
    const gw = parseIp(this.defaults.bip.split('/')[0]);
    const subnet = parseSubnet(this.defaults.bip, false);
    if (gw === subnet.base) throw new InvalidParameterError(`invalid --bip ${this.defaults.bip}: give the gateway address, e.g. ${formatIp(subnet.base + 1)}/${subnet.prefix}`);
    const pool: IpamPool = { Subnet: formatSubnet(subnet), Gateway: formatIp(gw) };
    const options = {
      'com.docker.network.bridge.default_bridge': 'true',
      'com.docker.network.bridge.enable_icc': 'true',
      'com.docker.network.bridge.enable_ip_masquerade': 'true',
      'com.docker.network.bridge.host_binding_ipv4': '0.0.0.0',
      'com.docker.network.bridge.name': this.defaults.bridgeName,
      'com.docker.network.driver.mtu': '1500',
    };
    const bridge = this.store.byName('bridge');
    if (!bridge) {
      this.store.insert({ ...base('bridge', 'bridge'), IPAM: { Driver: 'default', Options: {}, Config: [pool] }, Options: options, BridgeName: this.defaults.bridgeName });
    } else if (bridge.BridgeName !== this.defaults.bridgeName || bridge.IPAM.Config[0]?.Subnet !== pool.Subnet || bridge.IPAM.Config[0]?.Gateway !== pool.Gateway) {
      // New --bridge/--bip: take effect unless running containers still hold the old addresses.
      if (this.store.addresses(bridge.Id).length === 0) {
        this.store.save({ ...bridge, IPAM: { ...bridge.IPAM, Config: [pool] }, Options: options, BridgeName: this.defaults.bridgeName });
      } else {
        console.error(`berthd: the default bridge keeps ${bridge.IPAM.Config[0]?.Subnet} on ${bridge.BridgeName} while containers use it; --bip/--bridge apply once they stop`);
      }
    }
    if (!this.store.byName('host')) this.store.insert(base('host', 'host'));
    if (!this.store.byName('none')) this.store.insert(base('none', 'null'));
  }

  // ---------------------------------------------------------------- records

  /** By full ID, then name, then unique ID prefix (dockerd's order). */
  lookup(idOrName: string): NetworkRecord {
    const n = this.tryLookup(idOrName);
    if (!n) throw new NotFoundError(`network ${idOrName} not found`);
    return n;
  }

  tryLookup(idOrName: string): NetworkRecord | undefined {
    const byId = this.store.get(idOrName);
    if (byId) return byId;
    const byName = this.store.byName(idOrName);
    if (byName) return byName;
    if (/^[0-9a-f]+$/.test(idOrName)) {
      const m = this.store.findByPrefix(idOrName);
      if (m.length === 1) return m[0];
      if (m.length > 1) throw new InvalidParameterError(`network ${idOrName} is ambiguous (${m.length} matches found based on ID prefix)`);
    }
    return undefined;
  }

  /** Containers with an endpoint up on the network, as `Network.Containers` lists them. */
  private endpointsOn(n: NetworkRecord): Record<string, NetworkContainerView> {
    const out: Record<string, NetworkContainerView> = {};
    for (const sb of this.sandboxes.all()) {
      const c = this.containerStore.get(sb.containerId);
      if (!c || !isRunning(c)) continue;
      for (const ep of sb.endpoints) {
        if (ep.networkId !== n.Id || !ep.ready) continue;
        out[c.Id] = {
          Name: c.Name, EndpointID: ep.endpointId, MacAddress: ep.macAddress, IPv4Address: `${ep.ipAddress}/${ep.prefixLen}`,
          IPv6Address: ep.ipv6Address ? `${ep.ipv6Address}/${ep.prefixLen6}` : '',
        };
      }
    }
    if (n.Driver === 'host' || n.Driver === 'null') {
      const mode = n.Driver === 'host' ? 'host' : 'none';
      for (const c of this.containerStore.all()) {
        if (isRunning(c) && c.HostConfig.NetworkMode === mode) out[c.Id] = { Name: c.Name, EndpointID: '', MacAddress: '', IPv4Address: '', IPv6Address: '' };
      }
    }
    return out;
  }

  inspect(idOrName: string): Record<string, unknown> {
    const n = this.lookup(idOrName);
    return networkView(n, this.endpointsOn(n));
  }

  list(f: Record<string, string[]>): Record<string, unknown>[] {
    for (const k of Object.keys(f)) {
      if (!['dangling', 'driver', 'id', 'label', 'name', 'scope', 'type'].includes(k)) throw new InvalidParameterError(`invalid filter '${k}'`);
    }
    for (const t of f.type ?? []) if (t !== 'custom' && t !== 'builtin') throw new InvalidParameterError(`invalid filter: 'type'='${t}'`);
    // dockerd's network filter: one value, exactly 1/true or 0/false (no other case).
    if ((f.dangling ?? []).length > 1) throw new InvalidParameterError('got more than one value for filter key "dangling"');
    const dangling = (f.dangling ?? []).map((v) => {
      if (!['true', '1', 'false', '0'].includes(v)) throw new InvalidParameterError(`invalid value for filter 'dangling', must be "true" (or "1"), or "false" (or "0")`);
      return v === 'true' || v === '1';
    });
    return this.store.all().filter((n) => {
      if (f.driver && !f.driver.includes(n.Driver)) return false;
      if (f.id && !f.id.some((p) => n.Id.startsWith(p))) return false;
      if (f.name && !f.name.some((p) => n.Name.includes(p))) return false;
      if (f.label && !f.label.every((l) => matchLabel(n.Labels, l))) return false;
      if (f.scope && !f.scope.includes('local')) return false;
      if (f.type && !f.type.includes(n.Predefined ? 'builtin' : 'custom')) return false;
      if (dangling.length) {
        const unused = !n.Predefined && Object.keys(this.endpointsOn(n)).length === 0;
        if (dangling.some((d) => d !== unused)) return false;
      }
      return true;
    }).sort((a, b) => a.Created.localeCompare(b.Created)).map((n) => networkView(n));
  }

  create(body: Record<string, any>): { Id: string; Warning: string } {
    // dockerd takes any name but a blank one (libnetwork NewNetwork): names with spaces are fine,
    // since nothing on the host is named after them (bridges are br-<id>, netavark's networks berth-<id>).
    const name = typeof body.Name === 'string' ? body.Name : '';
    if (!name.trim()) throw new InvalidParameterError('invalid name: name is empty');
    if (PREDEFINED.includes(name)) throw new ForbiddenError(`${name} is a pre-defined network and cannot be created`);
    if (this.store.byName(name)) throw new ConflictError(`network with name ${name} already exists`);
    const driver = body.Driver || 'bridge';
    if (driver === 'host' || driver === 'null') throw new ForbiddenError(`only one instance of "${driver}" network is allowed`);
    // dockerd's answer on a node that is not a swarm manager, which berth never is.
    if (driver === 'overlay') throw new ForbiddenError(NOT_A_SWARM_MANAGER);
    if (driver === 'macvlan' || driver === 'ipvlan') throw new NotImplementedError(`network driver "${driver}" is not supported by berth (bridge is)`);
    // Any other name would be a plugin; berth has none.
    if (driver !== 'bridge') throw new NotFoundError(`plugin "${driver}" not found`);
    if (body.Scope && body.Scope !== 'local') throw new NotImplementedError(`network scope "${body.Scope}" is not supported by berth (local is)`);
    if (body.Ingress) throw new NotImplementedError('ingress networks need swarm, which berth does not have');
    if (body.ConfigOnly || body.ConfigFrom?.Network) throw new NotImplementedError('config-only networks are not supported by berth');
    const options: Record<string, string> = { ...(body.Options ?? {}) };
    const enableIPv4 = familyFlag(body.EnableIPv4, options, 'com.docker.network.enable_ipv4', true);
    const enableIPv6 = familyFlag(body.EnableIPv6, options, 'com.docker.network.enable_ipv6', false);
    if (!enableIPv4) throw new NotImplementedError('networks without IPv4 are not supported by berth');
    const ipam = body.IPAM ?? {};
    if (ipam.Driver && ipam.Driver !== 'default') throw new NotImplementedError(`IPAM driver "${ipam.Driver}" is not supported by berth (default is)`);
    if (Object.keys(ipam.Options ?? {}).length) throw new NotImplementedError('IPAM driver options are not supported by berth');
    for (const [k, v] of Object.entries(options)) {
      const ok = BRIDGE_OPTIONS[k];
      if (!ok) throw new NotImplementedError(`bridge option ${k} is not supported by berth (supported: ${Object.keys(BRIDGE_OPTIONS).join(', ')})`);
      if (!ok(String(v))) throw new InvalidParameterError(`invalid value for ${k}: ${v}`);
    }

    const id = randomBytes(32).toString('hex');
    const configs = (ipam.Config ?? []) as Record<string, any>[];
    validateIpamConfig(configs);
    const v4 = configs.filter((c) => !isV6Config(c));
    const v6 = configs.filter(isV6Config);
    if (v4.length > 1) throw new NotImplementedError('berth networks have one IPv4 subnet; more were given');
    if (v6.length > 1) throw new NotImplementedError('berth networks have one IPv6 subnet; more were given');
    const pools = [v4.length ? this.userPool(v4[0]) : this.autoPool()];
    // IPv6 pools given without EnableIPv6 are kept and shown, but unused, as dockerd does.
    if (v6.length) pools.push(this.userPool6(v6[0]));
    else if (enableIPv6) pools.push(this.autoPool6());
    const bridgeName = options['com.docker.network.bridge.name'] ?? `br-${id.slice(0, 12)}`;
    const clash = this.store.all().find((n) => n.BridgeName === bridgeName);
    if (clash) throw new ConflictError(`bridge name ${bridgeName} is already used by network ${clash.Name}`);
    // review4: a bridge of the host's own (libvirt's, another engine's, one made by hand) would be
    // deleted, addresses and all, by netavark's teardown after the network's last container.
    if (options['com.docker.network.bridge.name'] !== undefined && hostInterfaceExists(bridgeName)) {
      throw new ConflictError(`bridge name ${bridgeName} names an existing interface of the host: berth makes a network's bridge and removes it with the network's last container, so it cannot use one it did not make`);
    }
    const rec: NetworkRecord = {
      Id: id, Name: name, Created: new Date().toISOString(), Driver: 'bridge', Internal: !!body.Internal, Attachable: !!body.Attachable,
      IPAM: { Driver: 'default', Options: ipam.Options ? { ...ipam.Options } : null, Config: pools }, Options: options, Labels: { ...(body.Labels ?? {}) },
      BridgeName: bridgeName, DnsEnabled: true, UserSubnet: v4.length > 0 && !!v4[0].Subnet, Predefined: false, EnableIPv6: enableIPv6,
    };
    try {
      this.store.insert(rec);
    } catch (e) {
      if (/UNIQUE/.test(errorMessage(e))) throw new ConflictError(`network with name ${name} already exists`);
      throw e;
    }
    this.events.emit('network', 'create', id, { name, type: 'bridge' });
    return { Id: id, Warning: '' };
  }

  /** Subnets that new networks must not overlap: other networks' and the host's own. */
  private subnetsInUse(): Subnet[] {
    const out: Subnet[] = [];
    for (const n of this.store.all()) for (const p of n.IPAM.Config) if (!p.Subnet.includes(':')) out.push(parseSubnet(p.Subnet));
    for (const addrs of Object.values(networkInterfaces())) {
      for (const a of addrs ?? []) {
        if (a.family !== 'IPv4' || a.internal || !a.cidr) continue;
        // A bridge of this daemon's own networks is already counted; others' (other engines) are not.
        out.push(parseSubnet(a.cidr, false));
      }
    }
    return out;
  }

  /** The IPv6 twin of subnetsInUse (link-local addresses aside: every interface has fe80::/64). */
  private subnets6InUse(): Subnet6[] {
    const out: Subnet6[] = [];
    for (const n of this.store.all()) for (const p of n.IPAM.Config) if (p.Subnet.includes(':')) out.push(parseSubnet6(p.Subnet));
    for (const addrs of Object.values(networkInterfaces())) {
      for (const a of addrs ?? []) {
        if (a.family !== 'IPv6' || a.internal || !a.cidr || a.scopeid) continue;
        out.push(parseSubnet6(a.cidr, false));
      }
    }
    return out;
  }

  private autoPool(): IpamPool {
    const s = pickSubnet(this.defaults.pools, this.subnetsInUse());
    return { Subnet: formatSubnet(s), Gateway: formatIp(hostRange(s)[0]) };
  }

  private autoPool6(): IpamPool {
    const s = pickSubnet6(this.defaults.pools6, this.subnets6InUse());
    return { Subnet: formatSubnet6(s), Gateway: formatIp6(hostRange6(s)[0]) };
  }

  private userPool(cfg: Record<string, any>): IpamPool {
    if (!cfg.Subnet) {
      if (cfg.Gateway || cfg.IPRange) throw new InvalidParameterError('a gateway or ip-range needs a subnet (--subnet)');
      return this.autoPool();
    }
    const s = parseSubnet(String(cfg.Subnet));
    if (s.prefix > 30) throw new InvalidParameterError(`invalid subnet ${cfg.Subnet}: the prefix must be /30 or shorter`);
    for (const n of this.store.all()) {
      if (n.IPAM.Config.some((p) => !p.Subnet.includes(':') && overlaps(parseSubnet(p.Subnet), s))) {
        throw new ForbiddenError('invalid pool request: Pool overlaps with other one on this address space');
      }
    }
    const [lo, hi] = hostRange(s);
    const inHosts = (ip: string, what: string) => {
      const v = parseIp(ip);
      if (!contains(s, v) || v < lo || v > hi) throw new InvalidParameterError(`invalid ${what} ${ip}: not a host address of subnet ${cfg.Subnet}`);
    };
    const pool: IpamPool = { Subnet: formatSubnet(s), Gateway: cfg.Gateway ? String(cfg.Gateway) : formatIp(lo) };
    inHosts(pool.Gateway, 'gateway');
    if (cfg.IPRange) pool.IPRange = formatSubnet(parseSubnet(String(cfg.IPRange)));
    const aux = (cfg.AuxiliaryAddresses ?? {}) as Record<string, string>;
    for (const ip of Object.values(aux)) inHosts(ip, 'auxiliary address');
    if (Object.keys(aux).length) pool.AuxiliaryAddresses = { ...aux };
    return pool;
  }

  private userPool6(cfg: Record<string, any>): IpamPool {
    const s = parseSubnet6(String(cfg.Subnet));
    for (const n of this.store.all()) {
      if (n.IPAM.Config.some((p) => p.Subnet.includes(':') && overlaps6(parseSubnet6(p.Subnet), s))) {
        throw new ForbiddenError('invalid pool request: Pool overlaps with other one on this address space');
      }
    }
    const pool: IpamPool = { Subnet: formatSubnet6(s), Gateway: cfg.Gateway ? canonicalIp6(String(cfg.Gateway)) : formatIp6(hostRange6(s)[0]) };
    if (cfg.IPRange) pool.IPRange = formatSubnet6(parseSubnet6(String(cfg.IPRange)));
    const aux = (cfg.AuxiliaryAddresses ?? {}) as Record<string, string>;
    if (Object.keys(aux).length) pool.AuxiliaryAddresses = Object.fromEntries(Object.entries(aux).map(([k, v]) => [k, canonicalIp6(v)]));
    return pool;
  }

  remove(idOrName: string): void {
    const n = this.lookup(idOrName);
    if (n.Predefined) throw new ForbiddenError(`${n.Name} is a pre-defined network and cannot be removed`);
    if (Object.keys(this.endpointsOn(n)).length > 0) {
      throw new ForbiddenError(`error while removing network: network ${n.Name} id ${n.Id} has active endpoints`);
    }
    this.store.delete(n.Id);
    this.events.emit('network', 'destroy', n.Id, { name: n.Name, type: n.Driver });
  }

  /** `network prune`: user-defined networks without active endpoints (dockerd's rule). */
  prune(f: PruneFilters): { NetworksDeleted: string[] } {
    const deleted: string[] = [];
    for (const n of this.store.all()) {
      if (n.Predefined || Object.keys(this.endpointsOn(n)).length > 0) continue;
      if (!prunable(f, Date.parse(n.Created), n.Labels)) continue;
      this.store.delete(n.Id);
      this.events.emit('network', 'destroy', n.Id, { name: n.Name, type: n.Driver });
      deleted.push(n.Name);
    }
    return { NetworksDeleted: deleted };
  }

}
