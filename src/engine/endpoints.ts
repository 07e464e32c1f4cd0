/**
 * Containers on networks: the endpoints a container configures at create
 * (`HostConfig.NetworkMode`, `NetworkingConfig.EndpointsConfig`) or with
 * `network connect`, and its sandbox while it runs — a network namespace
 * `/run/netns/berth-<short id>` with one interface per configured network
 * (`eth0`, `eth1`…), each set up by netavark with an address berth's IPAM
 * gave it, and the host ports it publishes. The sandbox is set up at start
 * and torn down at every exit — stop, kill, a crash seen by the exit watcher,
 * or one found by start-up reconciliation after berthd was away.
 *
 * netavark gets networks under their own names `berth-<12 hex of the id>`:
 * it names iptables chains after a hash of the network name, so Docker names
 * (`bridge`, `mynet`), which every berthd and Podman reuse, would share chains.
 */
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ConflictError, ForbiddenError, InvalidParameterError, NotFoundError, NotImplementedError, SystemError, errorMessage } from '../errors.js';
import type { ContainerRecord, ContainerStore } from '../store/container-store.js';
import type { IpamPool, NetworkRecord } from '../store/network-store.js';
import type { DataPaths } from '../store/paths.js';
import type { NetworkNamespace } from '../runtime/spec.js';
import { isIPv4 } from 'node:net';
import { pickAddress } from '../network/ipam.js';
import { contains, parseIp, parseSubnet } from '../network/ipv4.js';
import { canonicalIp6, contains6, isIp6, parseIp6, parseSubnet6 } from '../network/ipv6.js';
import type { NetavarkNetwork, NetworkDriver, NetworkOptions } from '../network/netavark.js';
import { editHostsFile, sharedEtcFiles } from './container-files.js';
import { addLinkLocalAddress, createNetns, deleteNetns, netnsName } from '../network/netns.js';
import { PortInUseError, PortReservations, portRequests, type PublishedPort } from '../network/ports.js';
import type { Endpoint, Sandbox, Sandboxes } from '../network/sandbox.js';
import type { EffectiveConfig, CreateRequest } from './container-config.js';
import type { EtcOptions } from './container-files.js';
import type { EventBus } from './events.js';
import { isRunning, type NetworkService } from './networks.js';
import { configuredNetworks, endpointView, networkSettingsView, portSummaries } from './network-views.js';
import { parseExtraHost } from '../network/extra-hosts.js';

/** What ContainerService needs from the container side, bound after both services exist. */
export interface ContainerAccess {
  lookup(nameOrId: string): ContainerRecord;
  /** Runs `fn` with the container's operation queue held (no start or stop in between). */
  exclusive<T>(id: string, fn: (c: ContainerRecord) => Promise<T>): Promise<T>;
}

type NetworkEtc = Omit<EtcOptions, 'hostname' | 'domainname' | 'networkMode'>;

/**
 * A starting container's namespace and what its /etc files should say. The
 * namespace exists when setUp returns; its interfaces (netavark's setup, tens
 * of ms under a host-wide lock) may still be coming up, so the runtime can
 * create the container meanwhile: `ready` settles when they are up, or
 * rejects with setUp's error once everything it did is undone. `etc` is a
 * promise when it depends on netavark's result (aardvark-dns's addresses).
 */
export interface NetworkSetup {
  namespace: NetworkNamespace;
  etc: NetworkEtc | Promise<NetworkEtc>;
  ready: Promise<void>;
}

/** The hooks ContainerService calls: at create, at start, at every exit. */
export interface ContainerNetworking {
  prepareCreate(eff: EffectiveConfig, req: CreateRequest): { NetworkingConfig: { EndpointsConfig: Record<string, Record<string, any>> }; warnings: string[] };
  /** `userns`: a bound user namespace the container's network namespace is made in (--userns-remap). */
  setUp(c: ContainerRecord, o?: { userns?: string }): Promise<NetworkSetup>;
  tearDown(c: ContainerRecord): Promise<void>;
}

export class EndpointService implements ContainerNetworking {
  readonly ports = new PortReservations();

  constructor(
    private readonly networks: NetworkService,
    private readonly sandboxes: Sandboxes,
    private readonly driver: NetworkDriver,
    private readonly containerStore: ContainerStore,
    private readonly paths: DataPaths,
    private readonly events: EventBus,
    private readonly containers: () => ContainerAccess,
  ) {}

  // ---------------------------------------------------------------- daemon life

  /**
   * Start-up, before containers are reconciled: the sandboxes of containers
   * that kept running under conmon are known again, and their host ports
   * held again.
   */
  async init(): Promise<void> {
    await mkdir(this.paths.netavarkConfig, { recursive: true, mode: 0o700 });
    for (const sb of this.sandboxes.load()) {
      const c = this.containerStore.get(sb.containerId);
      if (c && isRunning(c)) {
        for (const p of await this.ports.readopt(c.Id, sb.ports)) console.error(`berthd: container ${c.Id.slice(0, 12)}: ${p}`);
      }
    }
  }

  /**
   * After container reconciliation: sandboxes and addresses of containers
   * that are gone or no longer running are released (a crash between a
   * container's exit and its teardown, or a reboot that emptied the exec root).
   */
  async reconcile(): Promise<void> {
    for (const sb of this.sandboxes.all()) {
      const c = this.containerStore.get(sb.containerId);
      if (!c || !isRunning(c)) await this.tearDownSandbox(sb);
    }
    for (const a of this.networks.store.allAllocations()) {
      if (!this.sandboxes.get(a.containerId)) this.networks.store.release(a.containerId, a.networkId);
    }
  }

  /** Daemon shutdown: host ports let go, and bridges nothing uses any more removed (netavark.ts `release`). */
  async close(): Promise<void> {
    await this.ports.close();
    if (!this.driver.release) return;
    for (const n of this.networks.store.all()) {
      if (n.Driver !== 'bridge' || n.DnsEnabled) continue;
      const taken = new Set(this.networks.store.addresses(n.Id).map((a) => a.address));
      try {
        await this.driver.release(this.netavarkNetwork(n), pickAddress(n.IPAM.Config[0], taken));
      } catch (e) {
        console.error(`berthd: releasing the bridge of network ${n.Name}: ${errorMessage(e)}`);
      }
    }
  }

  /**
   * Normalises a create request's networking (dockerd's
   * `verifyNetworkingConfig` and runconfig's network-mode rules): `default`
   * becomes `bridge`, every endpoint names an existing network and records
   * its ID, and options that conflict with the mode are refused.
   */
  prepareCreate(eff: EffectiveConfig, req: CreateRequest): { NetworkingConfig: { EndpointsConfig: Record<string, Record<string, any>> }; warnings: string[] } {
    const hc = eff.HostConfig;
    const warnings: string[] = [];
    let mode: string = hc.NetworkMode || 'default';
    if (mode === 'default') mode = 'bridge';
    if (req.NetworkDisabled) mode = 'none';
    const given = (req.NetworkingConfig?.EndpointsConfig ?? {}) as Record<string, Record<string, any>>;

    if (mode.startsWith('container:')) {
      const target = mode.slice('container:'.length);
      if (!target) throw new InvalidParameterError('Invalid network mode: invalid container format container:<name|id>');
      if (req.Hostname) throw new InvalidParameterError('conflicting options: hostname and the network mode');
      if (hc.Dns?.length) throw new InvalidParameterError('conflicting options: dns and the network mode');
      if (hc.ExtraHosts?.length) throw new InvalidParameterError('conflicting options: custom host-to-IP mapping and the network mode');
      if (req.MacAddress) throw new InvalidParameterError('conflicting options: mac-address and the network mode');
      if (Object.keys(hc.PortBindings ?? {}).length || hc.PublishAllPorts) throw new InvalidParameterError('conflicting options: port publishing and the container type network mode');
      if (Object.keys(req.ExposedPorts ?? {}).length) throw new InvalidParameterError('conflicting options: port exposing and the container type network mode');
      const other = this.containers().lookup(target);
      // The namespace's owner names it; hostname and domain come from there too (dockerd's initializeNetworking).
      eff.Config.Hostname = other.Config.Hostname;
      eff.Config.Domainname = other.Config.Domainname;
      hc.NetworkMode = mode;
      return { NetworkingConfig: { EndpointsConfig: {} }, warnings };
    }
    if (mode === 'host' || mode === 'none') {
      if (req.MacAddress && mode === 'host') throw new InvalidParameterError('conflicting options: mac-address and the network mode');
      const others = Object.keys(given).filter((k) => k !== mode && k !== 'default');
      if (others.length) {
        throw new InvalidParameterError(mode === 'host'
          ? 'container cannot be disconnected from host network or connected to host network'
          : 'container cannot be connected to multiple networks with one of the networks in private (none) mode');
      }
      if (mode === 'host' && (Object.keys(hc.PortBindings ?? {}).length || hc.PublishAllPorts)) {
        warnings.push('Published ports are discarded when using host network mode');
        hc.PortBindings = {};
        hc.PublishAllPorts = false;
      }
      hc.NetworkMode = mode;
      const n = this.networks.lookup(mode);
      return { NetworkingConfig: { EndpointsConfig: { [mode]: { ...this.checkEndpoint(n, given[mode] ?? given.default ?? {}), NetworkID: n.Id } } }, warnings };
    }

    const primary = this.networks.lookup(mode);
    if (primary.Driver !== 'bridge') throw new InvalidParameterError(`network ${mode} cannot be used as a container network mode`);
    hc.NetworkMode = primary.Name;
    const eps: Record<string, Record<string, any>> = {};
    for (const [key, cfg] of Object.entries(given)) {
      const n = this.networks.lookup(key === 'default' ? primary.Name : key);
      if (n.Driver !== 'bridge') {
        throw new InvalidParameterError(n.Driver === 'host'
          ? 'container cannot be disconnected from host network or connected to host network'
          : 'container cannot be connected to multiple networks with one of the networks in private (none) mode');
      }
      if (eps[n.Name]) throw new InvalidParameterError(`network "${n.Name}" is specified multiple times`);
      eps[n.Name] = { ...this.checkEndpoint(n, cfg ?? {}), NetworkID: n.Id };
    }
    eps[primary.Name] ??= { ...this.checkEndpoint(primary, {}), NetworkID: primary.Id };
    if (req.MacAddress) eps[primary.Name].MacAddress ||= req.MacAddress;
    // Published ports are exposed ports too (dockerd merges PortBindings into ExposedPorts).
    const requests = portRequests(hc.PortBindings, eff.Config.ExposedPorts, !!hc.PublishAllPorts);
    for (const r of requests) (eff.Config.ExposedPorts ??= {})[`${r.containerPort}/${r.protocol}`] = {};
    return { NetworkingConfig: { EndpointsConfig: eps }, warnings };
  }

  /** An endpoint configuration berth can honour, in EndpointSettings' shape. */
  private checkEndpoint(n: NetworkRecord, cfg: Record<string, any>): Record<string, any> {
    const userDefined = n.Driver === 'bridge' && !n.Predefined;
    const ipam = cfg.IPAMConfig ?? null;
    if (cfg.Aliases?.length && !userDefined) throw new InvalidParameterError('network-scoped alias is supported only for containers in user defined networks');
    for (const a of cfg.Aliases ?? []) {
      // Each alias is a DNS name on the network (a line of aardvark-dns's config, whose columns are split at spaces and commas).
      if (typeof a !== 'string' || !DNS_NAME.test(a)) throw new InvalidParameterError(`invalid network alias ${JSON.stringify(a)}: a DNS name of [a-zA-Z0-9_.-] is expected`);
    }
    // On the default bridge dockerd keeps an endpoint's Links and hands them to libnetwork as
    // aliases for the sandbox's embedded DNS, which that network does not have: kept and shown,
    // they change nothing (the container's legacy links are HostConfig.Links, legacy-links.ts).
    const links = endpointLinks(cfg.Links);
    const driverOpts = endpointDriverOpts(cfg.DriverOpts);
    if (cfg.GwPriority) throw new NotImplementedError('--gw-priority is not supported by berth');
    if ((ipam?.IPv4Address || ipam?.IPv6Address) && !userDefined) throw new InvalidParameterError('user specified IP address is supported on user defined networks only');
    if (ipam?.IPv4Address) {
      if (!n.UserSubnet) throw new InvalidParameterError('user specified IP address is supported only when connecting to networks with user configured subnets');
      const pool = n.IPAM.Config[0];
      if (!isIPv4(ipam.IPv4Address) || !contains(parseSubnet(pool.Subnet), parseIp(ipam.IPv4Address))) {
        throw new InvalidParameterError(`no configured subnet or ip-range contain the IP address ${ipam.IPv4Address}`);
      }
    }
    let ipv6 = '';
    if (ipam?.IPv6Address) {
      const given = String(ipam.IPv6Address);
      // dockerd's normalizeEndpointIPAMConfig, then validateIPAMConfigIsInRange.
      if (!isIp6(given) || isIPv4(given) || /^::ffff:/i.test(given) || parseIp6(given) === 0n) throw new InvalidParameterError(`invalid endpoint settings:\ninvalid IPv6 address: ${given}`);
      const pool6 = ipv6Pool(n);
      if (!pool6 || !contains6(parseSubnet6(pool6.Subnet), parseIp6(given))) throw new InvalidParameterError(`invalid endpoint settings:\nno configured subnet contains IP address ${given}`);
      ipv6 = canonicalIp6(given);
    }
    const linkLocal = endpointLinkLocalIPs(ipam?.LinkLocalIPs);
    if (cfg.MacAddress && !/^([0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}$/.test(cfg.MacAddress)) throw new InvalidParameterError(`${cfg.MacAddress} is not a valid mac address`);
    // As dockerd shows EndpointIPAMConfig: only the fields that were given (omitempty), null when none was.
    const ipamOut: Record<string, unknown> = {};
    if (ipam?.IPv4Address) ipamOut.IPv4Address = ipam.IPv4Address;
    if (ipv6) ipamOut.IPv6Address = ipv6;
    if (linkLocal.length) ipamOut.LinkLocalIPs = linkLocal;
    return {
      IPAMConfig: Object.keys(ipamOut).length ? ipamOut : null,
      Links: links.length ? links : null,
      Aliases: cfg.Aliases?.length ? [...cfg.Aliases] : null,
      MacAddress: cfg.MacAddress ?? '',
      DriverOpts: driverOpts,
      GwPriority: 0,
    };
  }

  // ---------------------------------------------------------------- container life

  /**
   * At start: the namespace the container will join and what its /etc files
   * say. For bridge networks this creates the namespace, reserves the host
   * ports, and sets up one endpoint per configured network; on failure
   * everything done so far is undone.
   */
  async setUp(c: ContainerRecord, o: { userns?: string } = {}): Promise<NetworkSetup> {
    const hc = c.HostConfig;
    const dnsOpts = { search: hc.DnsSearch?.length ? hc.DnsSearch : undefined, options: hc.DnsOptions?.length ? hc.DnsOptions : undefined };
    const mode: string = hc.NetworkMode;
    const ready = Promise.resolve();
    if (mode === 'host') return { namespace: { mode: 'host' }, etc: { extraHosts: this.extraHosts(hc.ExtraHosts, ''), nameservers: hc.Dns ?? [], ...dnsOpts }, ready };
    if (mode === 'none') return { namespace: { mode: 'new' }, etc: { extraHosts: this.extraHosts(hc.ExtraHosts, ''), nameservers: hc.Dns ?? [], ...dnsOpts }, ready };
    if (mode.startsWith('container:')) return this.joinContainer(mode.slice('container:'.length));

    await this.tearDown(c); // a sandbox a crash left behind
    const eps = configuredNetworks(c);
    const names = Object.keys(eps).sort((a, b) => (a === mode ? -1 : b === mode ? 1 : a.localeCompare(b)));
    const sb: Sandbox = {
      containerId: c.Id, sandboxId: randomBytes(32).toString('hex'), netnsName: netnsName(c.Id), netnsPath: '',
      endpoints: [], ports: [],
    };
    const networks: NetworkRecord[] = [];
    try {
      // Recorded before the namespace exists: a daemon killed in between leaves a sandbox file
      // whose teardown (reconcile at start-up) deletes the namespace, not a namespace nobody knows.
      this.sandboxes.save(sb);
      sb.netnsPath = await createNetns(sb.netnsName, { userns: o.userns });
      this.sandboxes.save(sb);
      sb.ports = await this.ports.reserve(c.Id, portRequests(hc.PortBindings, c.Config.ExposedPorts, !!hc.PublishAllPorts))
        .catch((e) => { throw this.portError(c, sb, e); });
      this.sandboxes.save(sb);
      // Every address first (IPAM only), so the /etc files can be written while netavark runs.
      for (const [i, name] of names.entries()) {
        const n = this.networkOfEndpoint(name, eps[name]);
        this.addEndpoint(c, sb, n, eps[name], `eth${i}`, name === mode ? sb.ports : []);
        networks.push(n);
      }
    } catch (e) {
      await this.tearDown(c).catch(() => undefined);
      throw e;
    }
    const up = (async () => {
      try {
        for (const [i, n] of networks.entries()) await this.bringUp(c, sb, n, eps[names[i]], sb.endpoints[i]);
      } catch (e) {
        await this.tearDown(c).catch(() => undefined);
        throw e;
      }
      await this.refreshLinksTo(c, sb);
    })();
    up.catch(() => undefined); // awaited by the caller, possibly only after the runtime's create
    const first = sb.endpoints[0];
    const etc = (): NetworkEtc => {
      const dnsServers = sb.endpoints.find((ep) => ep.dnsServers.length)?.dnsServers ?? [];
      return {
        addresses: sb.endpoints.flatMap(endpointAddresses),
        extraHosts: [...this.extraHosts(hc.ExtraHosts, first?.gateway ?? ''), ...this.linkEntries(eps).map((e) => `${e.names}:${e.ip}`)],
        // On networks with DNS the container asks aardvark-dns, which forwards other names to --dns (or the host's resolvers).
        nameservers: dnsServers.length ? dnsServers : hc.Dns ?? [],
        ...dnsOpts,
      };
    };
    // Only aardvark-dns's addresses come from netavark's result; without DNS the files need not wait.
    const later = networks.some((n) => n.DnsEnabled) ? up.then(etc) : undefined;
    later?.catch(() => undefined); // a caller that meets the failure through `ready` first never awaits it
    return { namespace: { mode: 'path', path: sb.netnsPath }, etc: later ?? etc(), ready: up };
  }

  /**
   * `--add-host name:host-gateway` names an address of the host: the
   * container's own gateway, else (host, none, internal networks) the default
   * bridge's, as dockerd's `--host-gateway-ip` defaults to docker0's address.
   */
  private extraHosts(hosts: string[] | null | undefined, gateway: string): string[] {
    const fallback = this.networks.lookup('bridge').IPAM.Config[0]?.Gateway ?? '';
    return (hosts ?? []).map((h) => {
      const { name, ip } = parseExtraHost(h);
      return ip === 'host-gateway' ? `${name}:${gateway || fallback}` : h;
    });
  }

  /**
   * Links on user-defined networks (`--link web:www`, compose's `links:`): in
   * dockerd the alias resolves for the linking container only, through its
   * sandbox's DNS. Here it is an /etc/hosts line of the linking container, for
   * the address the target has on that network when this container starts
   * (compose starts linked services first), rewritten when the target starts
   * again (refreshLinksTo); a target that is not running then gets no line,
   * as dockerd's DNS would not answer for it either.
   */
  private linkEntries(eps: Record<string, Record<string, any>>): { ip: string; names: string }[] {
    const entries: { ip: string; names: string }[] = [];
    for (const [name, cfg] of Object.entries(eps)) {
      const links: string[] = cfg.Links ?? [];
      if (!links.length) continue;
      const network = this.networkOfEndpoint(name, cfg);
      if (network.Predefined) continue; // no DNS there, so nothing for its links to answer (checkEndpoint)
      const networkId = network.Id;
      for (const link of links) {
        const [target, alias] = splitLink(link);
        let other: ContainerRecord;
        try { other = this.containers().lookup(target); } catch { continue; }
        const ip = this.sandboxes.get(other.Id)?.endpoints.find((ep) => ep.networkId === networkId && ep.ready)?.ipAddress;
        if (ip) entries.push({ ip, names: linkNames(alias, other.Name) });
      }
    }
    return entries;
  }

  /**
   * A link target that starts (again) may have a new address: the /etc/hosts
   * line of every running container linking to it on one of its networks is
   * rewritten in place (the file is bind-mounted: same inode), as dockerd's
   * DNS would answer with the new address.
   */
  private async refreshLinksTo(target: ContainerRecord, sb: Sandbox): Promise<void> {
    for (const other of this.containerStore.all()) {
      if (other.Id === target.Id || !isRunning(other)) continue;
      const eps = configuredNetworks(other);
      const lines = new Map<string, string>(); // alias → line
      for (const [name, cfg] of Object.entries(eps)) {
        const ep = sb.endpoints.find((e) => e.networkId === cfg.NetworkID || e.networkName === name);
        if (!ep || this.networks.store.get(ep.networkId)?.Predefined) continue;
        for (const link of (cfg.Links ?? []) as string[]) {
          const [ref, alias] = splitLink(link);
          if (ref !== target.Name && !target.Id.startsWith(ref)) continue;
          lines.set(alias, `${ep.ipAddress}\t${linkNames(alias, target.Name)}`);
        }
      }
      if (!lines.size) continue;
      await this.editHosts(other, (current) => [...current.filter((l) => !lines.has(l.split('\t')[1]?.split(' ')[0] ?? '')), ...lines.values()]);
    }
  }

  private portError(c: ContainerRecord, sb: Sandbox, e: unknown): unknown {
    if (!(e instanceof PortInUseError)) return e;
    // dockerd's wording, which users and scripts know.
    return new SystemError(`failed to set up container networking: driver failed programming external connectivity on endpoint ${c.Name} (${sb.sandboxId}): ${e.message}`, { cause: e });
  }

  private networkOfEndpoint(name: string, cfg: Record<string, any>): NetworkRecord {
    const n = (cfg.NetworkID && this.networks.store.get(cfg.NetworkID)) || this.networks.store.byName(name);
    if (!n) throw new NotFoundError(`network ${name} not found`);
    return n;
  }

  private async joinContainer(target: string): Promise<NetworkSetup> {
    const other = this.containers().lookup(target);
    if (!other.State.Running || !other.State.Pid) throw new ConflictError(`cannot join network of a non running container: ${other.Id}`);
    const { hosts, resolvConf } = await sharedEtcFiles(this.paths.containerDir(other.Id), other.Id);
    return { namespace: { mode: 'path', path: `/proc/${other.State.Pid}/ns/net` }, etc: { sharedFrom: { hosts, resolvConf } }, ready: Promise.resolve() };
  }

  /** netavark's view of a network, under the host-unique name `berth-<id12>`. */
  private netavarkNetwork(n: NetworkRecord): NetavarkNetwork {
    const mtu = n.Options['com.docker.network.driver.mtu'];
    return {
      name: netavarkName(n), id: n.Id, driver: 'bridge', network_interface: n.BridgeName, created: n.Created,
      subnets: activePools(n).map((p) => ({ subnet: p.Subnet, gateway: p.Gateway })),
      ipv6_enabled: !!ipv6Pool(n), internal: n.Internal, dns_enabled: n.DnsEnabled,
      ...(mtu && !n.Predefined ? { options: { mtu } } : {}),
      ipam_options: { driver: 'host-local' },
    };
  }

  /**
   * Allocates the endpoint's addresses (IPv4, and IPv6 on networks with it)
   * and records the endpoint in the sandbox (file included), not yet up. The
   * names aardvark-dns answers for the container include the link aliases
   * that containers already up on the network gave it.
   */
  private addEndpoint(c: ContainerRecord, sb: Sandbox, n: NetworkRecord, cfg: Record<string, any>, ifname: string, ports: PublishedPort[]): Endpoint {
    const pool = n.IPAM.Config[0];
    const pool6 = ipv6Pool(n);
    const address = this.networks.store.allocate(n.Id, c.Id, (taken) => pickAddress(pool, taken, cfg.IPAMConfig?.IPv4Address || undefined));
    let address6 = '';
    if (pool6) {
      try {
        address6 = this.networks.store.allocate(n.Id, c.Id, (taken) => pickAddress(pool6, taken, cfg.IPAMConfig?.IPv6Address || undefined));
      } catch (e) {
        this.networks.store.release(c.Id, n.Id);
        throw e;
      }
    }
    const aliases: string[] = cfg.Aliases ?? [];
    const dnsNames = [c.Name, ...aliases, c.Id.slice(0, 12)];
    const mac: string = cfg.MacAddress || macForAddress(address);
    const options: NetworkOptions = {
      container_id: c.Id,
      container_name: c.Name,
      port_mappings: ports.map((p) => ({ host_ip: this.ports.ruleHostIp(p), container_port: p.containerPort, host_port: p.hostPort, range: 1, protocol: p.protocol })),
      networks: {
        [netavarkName(n)]: {
          interface_name: ifname, static_ips: address6 ? [address, address6] : [address],
          aliases: unique([...aliases, c.Id.slice(0, 12), ...this.linkAliasesFor(c, n)]), static_mac: mac,
        },
      },
      network_info: { [netavarkName(n)]: this.netavarkNetwork(n) },
      ...(c.HostConfig.Dns?.length ? { dns_servers: c.HostConfig.Dns } : {}),
    };
    const ep: Endpoint = {
      networkId: n.Id, networkName: n.Name, endpointId: randomBytes(32).toString('hex'), interfaceName: ifname,
      ipAddress: address, prefixLen: parseSubnet(pool.Subnet).prefix, gateway: n.Internal ? '' : pool.Gateway, macAddress: '',
      ...(pool6 ? { ipv6Address: address6, prefixLen6: parseSubnet6(pool6.Subnet).prefix, gateway6: n.Internal ? '' : pool6.Gateway } : {}),
      aliases, dnsNames, dnsServers: [], options, ready: false,
    };
    sb.endpoints.push(ep);
    this.sandboxes.save(sb);
    return ep;
  }

  /** Sets up an endpoint addEndpoint recorded: netavark, then the --link-local-ip addresses. */
  private async bringUp(c: ContainerRecord, sb: Sandbox, n: NetworkRecord, cfg: Record<string, any>, ep: Endpoint): Promise<Endpoint> {
    const { options, interfaceName: ifname } = ep;
    // The aliases this container's links give their targets are written before netavark's setup,
    // whose own reload of aardvark-dns then takes them in (see refreshLinkTargets).
    await this.refreshLinkTargets(c, n, cfg);
    let result;
    try {
      result = (await this.driver.setup(sb.netnsPath, options))[netavarkName(n)];
      // dockerd's --link-local-ip: extra addresses on the same interface, /16 (IPv4) or /64 (IPv6).
      for (const ll of (cfg.IPAMConfig?.LinkLocalIPs ?? []) as string[]) {
        await addLinkLocalAddress(sb.netnsName, ifname, ll.includes(':') ? `${ll}/64` : `${ll}/16`);
      }
    } catch (e) {
      throw new SystemError(`failed to set up container networking on network ${n.Name}: ${errorMessage(e)}`, { cause: e });
    }
    ep.macAddress = result?.interfaces?.[ifname]?.mac_address ?? '';
    ep.dnsServers = n.DnsEnabled ? result?.dns_server_ips ?? [] : [];
    ep.ready = true;
    this.sandboxes.save(sb);
    this.events.emit('network', 'connect', n.Id, { container: c.Id, name: n.Name, type: n.Driver });
    return ep;
  }

  // ---------------------------------------------------------------- links in DNS

  /**
   * The link aliases others gave container `target` on network `n`: one per
   * `Links` entry (`target:alias`) of every container whose sandbox has an
   * endpoint on `n` — up, or being set up.
   */
  private linkAliasesFor(
    target: ContainerRecord, n: NetworkRecord, pending?: { containerId: string; cfg: Record<string, any> | undefined }, leaving?: string,
  ): string[] {
    const out: string[] = [];
    for (const sb of this.sandboxes.all()) {
      if (sb.containerId === target.Id || sb.containerId === leaving) continue;
      const ep = sb.endpoints.find((e) => e.networkId === n.Id);
      const other = ep && this.containerStore.get(sb.containerId);
      if (!other) continue;
      // A container being connected has its endpoint's configuration recorded only once it is up.
      const cfg = pending?.containerId === other.Id ? pending.cfg : configuredNetworks(other)[ep.networkName];
      for (const link of (cfg?.Links ?? []) as string[]) {
        const [ref, alias] = splitLink(link);
        if (DNS_NAME.test(alias) && this.refersTo(ref, target)) out.push(alias);
      }
    }
    return out;
  }

  /** Whether a link's container reference (a name or an ID prefix) names `target`, as the lookup resolves it. */
  private refersTo(ref: string, target: ContainerRecord): boolean {
    if (ref === target.Name) return true;
    try { return this.containers().lookup(ref).Id === target.Id; } catch { return false; }
  }

  /**
   * As `linker`'s endpoint on `n` comes up (or, with `leaving`, goes down):
   * each running target of its links on `n` has aardvark-dns answer for
   * exactly the aliases the containers on `n` then give it. dockerd resolves
   * a link alias for the linking container only; aardvark-dns has no
   * per-client names, so on berth the alias resolves for every container on
   * the network. The names are written without a reload of their own, just
   * before netavark's setup or teardown of the linker, which reloads
   * aardvark-dns (SIGHUP) after its own edit: a second SIGHUP close behind
   * netavark's can reach aardvark-dns while it re-arms its handler after the
   * first, and end it (and the network's DNS) instead.
   */
  private async refreshLinkTargets(linker: ContainerRecord, n: NetworkRecord, cfg: Record<string, any> | undefined, leaving = false): Promise<void> {
    if (!this.driver.setDnsNames || !n.DnsEnabled) return;
    for (const link of (cfg?.Links ?? []) as string[]) {
      const [ref] = splitLink(link);
      let target: ContainerRecord;
      try { target = this.containers().lookup(ref); } catch { continue; }
      const ep = this.sandboxes.get(target.Id)?.endpoints.find((e) => e.networkId === n.Id && e.ready);
      if (!ep) continue;
      const others = leaving ? this.linkAliasesFor(target, n, undefined, linker.Id) : this.linkAliasesFor(target, n, { containerId: linker.Id, cfg });
      const names = unique([target.Name, ...ep.aliases, target.Id.slice(0, 12), ...others]);
      try {
        await this.driver.setDnsNames(netavarkName(n), target.Id, names, { reload: false });
      } catch (e) {
        console.error(`berthd: updating the DNS names of ${target.Name} on ${n.Name}: ${errorMessage(e)}`);
      }
    }
  }

  /** Undoes one endpoint: netavark teardown (best effort), then its address. */
  private async bringDown(sb: Sandbox, ep: Endpoint): Promise<void> {
    // The aliases this container's links gave their targets on the network go with it (before netavark's reload).
    const c = this.containerStore.get(sb.containerId);
    const n = this.networks.store.get(ep.networkId);
    if (c && n && ep.ready) await this.refreshLinkTargets(c, n, configuredNetworks(c)[ep.networkName], true);
    try {
      await this.driver.teardown(sb.netnsPath, ep.options);
    } catch (e) {
      if (ep.ready) console.error(`berthd: network teardown of ${sb.containerId.slice(0, 12)} on ${ep.networkName}: ${errorMessage(e)}`);
    }
    this.networks.store.release(sb.containerId, ep.networkId);
    sb.endpoints = sb.endpoints.filter((x) => x !== ep);
    if (ep.ready) this.events.emit('network', 'disconnect', ep.networkId, { container: sb.containerId, name: ep.networkName, type: 'bridge' });
  }

  /** At every exit: endpoints down in reverse order, namespace deleted, addresses and ports released. Idempotent. */
  async tearDown(c: ContainerRecord): Promise<void> {
    const sb = this.sandboxes.get(c.Id);
    if (sb) await this.tearDownSandbox(sb);
    else {
      this.networks.store.release(c.Id);
      await this.ports.release(c.Id);
    }
  }

  private async tearDownSandbox(sb: Sandbox): Promise<void> {
    for (const ep of [...sb.endpoints].reverse()) await this.bringDown(sb, ep);
    await deleteNetns(sb.netnsName).catch((e) => console.error(`berthd: deleting network namespace ${sb.netnsName}: ${errorMessage(e)}`));
    this.networks.store.release(sb.containerId);
    await this.ports.release(sb.containerId);
    this.sandboxes.delete(sb.containerId);
  }

  // ---------------------------------------------------------------- connect / disconnect

  /** `POST /networks/{id}/connect`: configures the endpoint, and brings it up at once if the container runs. */
  async connect(idOrName: string, containerRef: string, endpointConfig: Record<string, any> | undefined): Promise<void> {
    const n = this.networks.lookup(idOrName);
    const cref = this.containers().lookup(containerRef);
    await this.containers().exclusive(cref.Id, async (c) => {
      const mode: string = c.HostConfig.NetworkMode;
      if (mode.startsWith('container:')) throw new InvalidParameterError('container sharing network namespace with another container or host cannot be connected to any other network');
      if (mode === 'host' || n.Driver === 'host') throw new InvalidParameterError('container cannot be disconnected from host network or connected to host network');
      if (mode === 'none' || n.Driver === 'null') throw new InvalidParameterError('container cannot be connected to multiple networks with one of the networks in private (none) mode');
      const eps = { ...(c.NetworkingConfig?.EndpointsConfig ?? {}) } as Record<string, Record<string, any>>;
      if (eps[n.Name]) throw new ForbiddenError(`endpoint with name ${c.Name} already exists in network ${n.Name}`);
      const cfg = { ...this.checkEndpoint(n, endpointConfig ?? {}), NetworkID: n.Id };
      const sb = this.sandboxes.get(c.Id);
      if (isRunning(c) && sb) {
        const used = new Set(sb.endpoints.map((e) => e.interfaceName));
        let i = 0;
        while (used.has(`eth${i}`)) i++;
        let ep: Endpoint;
        try {
          ep = await this.bringUp(c, sb, n, cfg, this.addEndpoint(c, sb, n, cfg, `eth${i}`, []));
        } catch (e) {
          const half = sb.endpoints.find((x) => x.networkId === n.Id);
          if (half) await this.bringDown(sb, half);
          this.sandboxes.save(sb);
          throw e;
        }
        // Like dockerd's sandbox: the container's name for its new address, and the new endpoint's link aliases.
        const names = c.Config.Domainname ? `${c.Config.Hostname}.${c.Config.Domainname} ${c.Config.Hostname}` : c.Config.Hostname;
        const links = this.linkEntries({ [n.Name]: cfg }).map((e) => `${e.ip}\t${e.names}`);
        await this.editHosts(c, (lines) => [...lines, ...endpointAddresses(ep).map((a) => `${a}\t${names}`), ...links]);
      }
      eps[n.Name] = cfg;
      c.NetworkingConfig = { ...(c.NetworkingConfig ?? {}), EndpointsConfig: eps };
      this.containerStore.save(c);
    });
  }

  /** Rewrites a running container's /etc/hosts in place (it is bind-mounted: the inode must stay). */
  private async editHosts(c: ContainerRecord, edit: (lines: string[]) => string[]): Promise<void> {
    const file = join(this.paths.containerDir(c.Id), 'hosts');
    try {
      // The container writes the file: read bounded and through no symlink (container-files.ts).
      await editHostsFile(file, (lines) => [...edit(lines.filter((l) => l !== '')), '']);
    } catch (e) {
      console.error(`berthd: updating /etc/hosts of ${c.Name}: ${errorMessage(e)}`);
    }
  }

  /** `POST /networks/{id}/disconnect`. */
  async disconnect(idOrName: string, containerRef: string, force: boolean): Promise<void> {
    const n = this.networks.lookup(idOrName);
    const cref = this.containers().lookup(containerRef);
    await this.containers().exclusive(cref.Id, async (c) => {
      const mode: string = c.HostConfig.NetworkMode;
      if (mode === 'host' || n.Driver === 'host') throw new InvalidParameterError('container cannot be disconnected from host network or connected to host network');
      const eps = { ...(c.NetworkingConfig?.EndpointsConfig ?? {}) } as Record<string, Record<string, any>>;
      if (!eps[n.Name]) {
        // Forced or not, as dockerd answers (DisconnectFromNetwork): there is nothing to disconnect. Its
        // plain error is a 500; `force` only matters for endpoints a container left behind, which berth
        // never keeps (a removed container's endpoints go with it).
        throw new SystemError(isRunning(c) ? `container ${c.Id} is not connected to network ${n.Name}` : `container ${c.Id} is not connected to the network ${n.Name}`);
      }
      const sb = this.sandboxes.get(c.Id);
      const ep = sb?.endpoints.find((e) => e.networkId === n.Id);
      if (sb && ep) {
        await this.bringDown(sb, ep);
        this.sandboxes.save(sb);
        const gone = endpointAddresses(ep).map((a) => `${a}\t`);
        await this.editHosts(c, (lines) => lines.filter((l) => !gone.some((g) => l.startsWith(g))));
      }
      delete eps[n.Name];
      c.NetworkingConfig = { ...(c.NetworkingConfig ?? {}), EndpointsConfig: eps };
      this.containerStore.save(c);
    });
  }

  // ---------------------------------------------------------------- container views

  /** `NetworkSettings` of `GET /containers/{id}/json`. */
  settingsView(c: ContainerRecord): Record<string, unknown> {
    return networkSettingsView(c, this.sandboxes.get(c.Id), (x) => this.networks.store.get(x) ?? this.networks.store.byName(x));
  }

  /** ps's `Ports` and `NetworkSettings.Networks`. */
  summaryView(c: ContainerRecord): { Ports: Record<string, unknown>[]; Networks: Record<string, unknown> } {
    const running = isRunning(c);
    const sb = running ? this.sandboxes.get(c.Id) : undefined;
    const networks: Record<string, unknown> = {};
    for (const [name, cfg] of Object.entries(configuredNetworks(c))) {
      networks[name] = endpointView(cfg, this.networks.store.get(cfg.NetworkID ?? '') ?? this.networks.store.byName(name), sb?.endpoints.find((e) => e.networkName === name && e.ready));
    }
    const mode = c.HostConfig.NetworkMode;
    return { Ports: running && mode !== 'host' && mode !== 'none' ? portSummaries(c, sb?.ports ?? []) : [], Networks: networks };
  }

  /** Names and IDs of the networks a container is configured on (ps's `network` filter). */
  networksOf(c: ContainerRecord): string[] {
    return Object.entries(configuredNetworks(c)).flatMap(([name, cfg]) => [name, cfg.NetworkID ?? '']).filter(Boolean);
  }
}

/**
 * An endpoint's MAC address when none was asked for: 02:42 and the four
 * bytes of its IPv4 address, as dockerd made them until 26
 * (`GenerateMACFromIP`). An address handed out again then comes back with
 * the same MAC, so the neighbour caches of the host and of the other
 * containers (which a random MAC would leave pointing at the previous
 * holder until they re-probe, 5 to 30 s) stay right: a restarted service
 * answers on its published port and to its peers at once.
 */
/** The names of a link's /etc/hosts line: the alias, then the target's name when it differs. */
function linkNames(alias: string, targetName: string): string {
  return alias === targetName ? alias : `${alias} ${targetName}`;
}

/** `web:www` → ['web', 'www']; `web` → ['web', 'web'] (a leading `/` dropped, as in `/web:/app/www`). */
function splitLink(link: string): [string, string] {
  const [target, alias = target] = link.split(':').map((p) => p.replace(/^.*\//, ''));
  return [target, alias];
}

/** An endpoint's Links, checked (Docker's `bad format for links`). */
function endpointLinks(links: unknown): string[] {
  if (links === undefined || links === null) return [];
  if (!Array.isArray(links)) throw new InvalidParameterError('Links must be a list');
  return links.map((l) => {
    if (typeof l !== 'string' || !/^\/?[^:/\s][^:\s]*(:\/?[^:\s]+)?$/.test(l)) throw new InvalidParameterError(`bad format for links: ${String(l)}`);
    return l;
  });
}

/** A name aardvark-dns can carry: container names, network aliases, link aliases. */
const DNS_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/**
 * An endpoint's DriverOpts (`--driver-opt`): a map of strings kept as given
 * and shown in inspect, as dockerd does; the bridge driver reads none of
 * them except per-interface sysctls, which berth cannot apply and refuses
 * (after dockerd's own check of their form).
 */
function endpointDriverOpts(opts: unknown): Record<string, string> | null {
  if (opts === undefined || opts === null) return null;
  if (typeof opts !== 'object' || Array.isArray(opts)) throw new InvalidParameterError('DriverOpts must be a map of strings');
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(opts as Record<string, unknown>)) {
    if (typeof v !== 'string') throw new InvalidParameterError(`DriverOpts: the value of ${k} must be a string`);
    out[k] = v;
  }
  const sysctls = out['com.docker.network.endpoint.sysctls'];
  if (sysctls !== undefined) {
    for (const sysctl of sysctls.split(',')) {
      const parts = sysctl.split('.', 5);
      if (parts.length !== 5 || !['ipv4', 'ipv6', 'mpls'].includes(parts[1]) || (parts[3] !== 'IFNAME' && parts[3] !== 'ifname')) {
        throw new InvalidParameterError(`invalid endpoint settings:\nunrecognised network interface sysctl '${sysctl}'; represent 'net.X.Y.ethN.Z=V' as 'net.X.Y.IFNAME.Z=V', 'X' must be 'ipv4', 'ipv6' or 'mpls'`);
      }
    }
    throw new NotImplementedError('per-interface sysctls (com.docker.network.endpoint.sysctls) are not supported by berth');
  }
  return Object.keys(out).length ? out : null;
}

/**
 * `--link-local-ip`: addresses of 169.254.0.0/16 or fe80::/10 that the
 * container's interface gets besides its own (dockerd's checks: a valid,
 * specified address, then a link-local unicast one).
 */
function endpointLinkLocalIPs(ips: unknown): string[] {
  if (ips === undefined || ips === null) return [];
  if (!Array.isArray(ips)) throw new InvalidParameterError('LinkLocalIPs must be a list');
  return ips.map((raw) => {
    const ip = String(raw);
    if ((!isIPv4(ip) && !isIp6(ip)) || ip === '0.0.0.0' || (isIp6(ip) && parseIp6(ip) === 0n)) {
      throw new InvalidParameterError(`invalid endpoint settings:\ninvalid link-local IP address: ${ip}`);
    }
    const linkLocal = isIPv4(ip) ? ip.startsWith('169.254.') : (parseIp6(ip) >> 118n) === 0x3fan;
    if (!linkLocal) throw new InvalidParameterError(`invalid link local IP address: ${ip}`);
    return isIPv4(ip) ? ip : canonicalIp6(ip);
  });
}

/** The network's IPv6 pool when it hands out IPv6 addresses. */
function ipv6Pool(n: NetworkRecord): IpamPool | undefined {
  return n.EnableIPv6 ? n.IPAM.Config.find((p) => p.Subnet.includes(':')) : undefined;
}

/** The pools netavark is told about: the IPv4 one, and the IPv6 one when enabled. */
function activePools(n: NetworkRecord): IpamPool[] {
  const v4 = n.IPAM.Config.filter((p) => !p.Subnet.includes(':'));
  const v6 = ipv6Pool(n);
  return v6 ? [...v4, v6] : v4;
}

export function macForAddress(ip: string): string {
  return ['02', '42', ...ip.split('.').map((b) => Number(b).toString(16).padStart(2, '0'))].join(':');
}

/** An endpoint's own addresses: IPv4, then IPv6 when it has one. */
function endpointAddresses(ep: Endpoint): string[] {
  return ep.ipv6Address ? [ep.ipAddress, ep.ipv6Address] : [ep.ipAddress];
}

function unique(names: string[]): string[] {
  return [...new Set(names)];
}

function netavarkName(n: NetworkRecord): string {
  return `berth-${n.Id.slice(0, 12)}`;
}
