/**
 * What clients see of networks and of a container's networking, in the
 * Docker Engine API v1.50 shapes: `Network` (network ls/inspect),
 * `NetworkSettings` and `EndpointSettings` (container inspect), `PortMap`
 * and `Port` (inspect, `docker port`, ps's PORTS column). Pure functions of
 * the records and the running sandbox.
 */
import type { ContainerRecord } from '../store/container-store.js';
import type { NetworkRecord } from '../store/network-store.js';
import type { Endpoint, Sandbox } from '../network/sandbox.js';
import type { PublishedPort } from '../network/ports.js';

export interface NetworkContainerView { Name: string; EndpointID: string; MacAddress: string; IPv4Address: string; IPv6Address: string }

/** `Network`; `containers` only for inspect (list leaves it empty, as dockerd ≥ API 1.28 does). */
export function networkView(n: NetworkRecord, containers: Record<string, NetworkContainerView> = {}): Record<string, unknown> {
  const bridge = n.Driver === 'bridge';
  return {
    Name: n.Name,
    Id: n.Id,
    Created: n.Created,
    Scope: 'local',
    Driver: n.Driver,
    EnableIPv4: bridge,
    EnableIPv6: !!n.EnableIPv6,
    IPAM: { Driver: 'default', Options: bridge && !n.Predefined ? n.IPAM.Options : null, Config: n.IPAM.Config.map((p) => ({ ...p })) },
    Internal: n.Internal,
    Attachable: n.Attachable,
    Ingress: false,
    ConfigFrom: { Network: '' },
    ConfigOnly: false,
    Containers: containers,
    Options: n.Options,
    Labels: n.Labels,
  };
}

/** `EndpointSettings` of one configured network, with the live endpoint's values when it is up. */
export function endpointView(config: Record<string, any> | undefined, network: NetworkRecord | undefined, ep: Endpoint | undefined): Record<string, unknown> {
  const cfg = config ?? {};
  return {
    IPAMConfig: cfg.IPAMConfig ?? null,
    Links: cfg.Links ?? null,
    Aliases: cfg.Aliases?.length ? cfg.Aliases : null,
    MacAddress: ep?.macAddress ?? cfg.MacAddress ?? '',
    DriverOpts: cfg.DriverOpts ?? null,
    GwPriority: cfg.GwPriority ?? 0,
    NetworkID: network?.Id ?? cfg.NetworkID ?? '',
    EndpointID: ep?.endpointId ?? '',
    Gateway: ep?.gateway ?? '',
    IPAddress: ep?.ipAddress ?? '',
    IPPrefixLen: ep?.prefixLen ?? 0,
    IPv6Gateway: ep?.gateway6 ?? '',
    GlobalIPv6Address: ep?.ipv6Address ?? '',
    GlobalIPv6PrefixLen: ep?.prefixLen6 ?? 0,
    DNSNames: ep && ep.dnsServers.length ? ep.dnsNames : null,
  };
}

/** `PortMap`: every exposed port, with its host bindings while the container runs (null when not published). */
export function portMap(c: ContainerRecord, ports: readonly PublishedPort[] | undefined): Record<string, { HostIp: string; HostPort: string }[] | null> {
  if (!ports) return {};
  const out: Record<string, { HostIp: string; HostPort: string }[] | null> = {};
  for (const key of Object.keys(c.Config.ExposedPorts ?? {})) out[key.includes('/') ? key : `${key}/tcp`] = null;
  for (const p of ports) {
    const key = `${p.containerPort}/${p.protocol}`;
    (out[key] ??= []).push({ HostIp: p.hostIp || '0.0.0.0', HostPort: String(p.hostPort) });
  }
  return out;
}

/** ps's `Ports`: published ports with their host side, exposed-only ports without. */
export function portSummaries(c: ContainerRecord, ports: readonly PublishedPort[] | undefined): Record<string, unknown>[] {
  if (!ports) return [];
  const out: Record<string, unknown>[] = [];
  const published = new Set(ports.map((p) => `${p.containerPort}/${p.protocol}`));
  for (const key of Object.keys(c.Config.ExposedPorts ?? {})) {
    const [port, proto = 'tcp'] = key.split('/');
    if (!published.has(`${port}/${proto}`)) out.push({ PrivatePort: Number(port), Type: proto });
  }
  for (const p of ports) out.push({ IP: p.hostIp || '0.0.0.0', PrivatePort: p.containerPort, PublicPort: p.hostPort, Type: p.protocol });
  return out;
}

/** The networks a container shows: its configured endpoints, or the mode itself for host and none. */
export function configuredNetworks(c: ContainerRecord): Record<string, Record<string, any>> {
  const mode: string = c.HostConfig.NetworkMode ?? '';
  if (mode.startsWith('container:')) return {};
  const eps = (c.NetworkingConfig?.EndpointsConfig ?? {}) as Record<string, Record<string, any>>;
  if (mode === 'host' || mode === 'none') return { [mode]: eps[mode] ?? {} };
  return eps;
}

/** `NetworkSettings` of container inspect. */
export function networkSettingsView(c: ContainerRecord, sandbox: Sandbox | undefined, networkOf: (nameOrId: string) => NetworkRecord | undefined): Record<string, unknown> {
  const running = c.State.Running || c.State.Paused || c.State.Restarting;
  const live = running ? sandbox : undefined;
  const networks: Record<string, unknown> = {};
  for (const [name, cfg] of Object.entries(configuredNetworks(c))) {
    const n = networkOf(cfg.NetworkID || name) ?? networkOf(name);
    networks[name] = endpointView(cfg, n, live?.endpoints.find((e) => e.networkName === name && e.ready));
  }
  // The deprecated top-level fields mirror the default bridge's endpoint (API v1.50 NetworkSettings).
  const onBridge = live?.endpoints.find((e) => e.networkName === 'bridge' && e.ready);
  const hostOrNone = c.HostConfig.NetworkMode === 'host' || c.HostConfig.NetworkMode === 'none';
  return {
    Bridge: '',
    SandboxID: live?.sandboxId ?? '',
    SandboxKey: live?.netnsPath ?? '',
    Ports: running && !hostOrNone ? portMap(c, live?.ports ?? []) : {},
    HairpinMode: false,
    LinkLocalIPv6Address: '',
    LinkLocalIPv6PrefixLen: 0,
    SecondaryIPAddresses: null,
    SecondaryIPv6Addresses: null,
    EndpointID: onBridge?.endpointId ?? '',
    Gateway: onBridge?.gateway ?? '',
    GlobalIPv6Address: '',
    GlobalIPv6PrefixLen: 0,
    IPAddress: onBridge?.ipAddress ?? '',
    IPPrefixLen: onBridge?.prefixLen ?? 0,
    IPv6Gateway: '',
    MacAddress: onBridge?.macAddress ?? '',
    Networks: networks,
  };
}
