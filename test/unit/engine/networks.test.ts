/**
 * Network records and the create-time rules for a container's networks,
 * against an in-memory database (no netavark, no namespaces).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openDb } from '../../../src/store/db.js';
import { ContainerStore, type ContainerRecord } from '../../../src/store/container-store.js';
import { NetworkStore } from '../../../src/store/network-store.js';
import { DataPaths } from '../../../src/store/paths.js';
import { Sandboxes } from '../../../src/network/sandbox.js';
import type { NetworkDriver, NetworkOptions } from '../../../src/network/netavark.js';
import { EventBus } from '../../../src/engine/events.js';
import { NetworkService } from '../../../src/engine/networks.js';
import { EndpointService, type ContainerAccess } from '../../../src/engine/endpoints.js';
import { effectiveConfig, type CreateRequest } from '../../../src/engine/container-config.js';
import { DEFAULT_POOL6, parseAddressPool } from '../../../src/network/ipam.js';

/** Records what netavark would have been asked to do. */
class RecordingDriver implements NetworkDriver {
  readonly calls: { op: string; netns: string; options: NetworkOptions }[] = [];
  async setup(netns: string, options: NetworkOptions) { this.calls.push({ op: 'setup', netns, options }); return {}; }
  async teardown(netns: string, options: NetworkOptions) { this.calls.push({ op: 'teardown', netns, options }); }
}

function fixture() {
  const db = openDb(':memory:');
  const containers = new ContainerStore(db);
  const sandboxes = new Sandboxes('/nonexistent/berth-test-sandboxes');
  const events = new EventBus();
  const networks = new NetworkService(new NetworkStore(db), containers, sandboxes, events, {
    bridgeName: 'bt-unit0', bip: '10.250.0.1/24', pools: [parseAddressPool('base=10.251.0.0/16,size=24')], pools6: [DEFAULT_POOL6],
  });
  networks.ensurePredefined();
  const owner = { Id: 'a'.repeat(64), Name: 'owner', Config: { Hostname: 'ownerhost', Domainname: '' }, State: { Running: true } } as unknown as ContainerRecord;
  const idle = {
    Id: 'b'.repeat(64), Name: 'idle', Config: {}, State: { Running: false, Paused: false },
    HostConfig: { NetworkMode: 'bridge' }, NetworkingConfig: { EndpointsConfig: { bridge: {} } },
  } as unknown as ContainerRecord;
  const byName: Record<string, ContainerRecord> = { owner, idle };
  const access: ContainerAccess = {
    lookup: (n) => { if (byName[n]) return byName[n]; throw new Error(`No such container: ${n}`); },
    exclusive: async (id, fn) => fn(id === idle.Id ? idle : owner),
  };
  const driver = new RecordingDriver();
  const endpoints = new EndpointService(networks, sandboxes, driver, containers, new DataPaths('/nonexistent', '/nonexistent'), events, () => access);
  const prepare = (req: CreateRequest) => {
    const eff = effectiveConfig({ Cmd: ['true'], ...req }, {}, 'busybox', 'f'.repeat(64));
    return { eff, ...endpoints.prepareCreate(eff, { Cmd: ['true'], ...req }) };
  };
  return { networks, endpoints, prepare, events, driver, idle };
}

test('the predefined networks exist once, and follow --bridge/--bip while unused', () => {
  const { networks } = fixture();
  const names = networks.list({}).map((n) => n.Name).sort();
  assert.deepEqual(names, ['bridge', 'host', 'none']);
  const bridge = networks.lookup('bridge');
  assert.equal(bridge.BridgeName, 'bt-unit0');
  assert.deepEqual(bridge.IPAM.Config, [{ Subnet: '10.250.0.0/24', Gateway: '10.250.0.1' }]);
  networks.ensurePredefined();
  assert.equal(networks.list({}).length, 3);
});

test('create picks a pool subnet and a br-<id> bridge, and lookups take names, IDs and prefixes', () => {
  const { networks, events } = fixture();
  const seen: string[] = [];
  events.subscribe((e) => seen.push(`${e.Type} ${e.Action}`));
  const { Id } = networks.create({ Name: 'u1', Labels: { a: 'b' } });
  const n = networks.lookup('u1');
  assert.equal(n.Id, Id);
  assert.equal(networks.lookup(Id.slice(0, 6)).Name, 'u1');
  assert.equal(n.BridgeName, `br-${Id.slice(0, 12)}`);
  assert.equal(n.IPAM.Config[0].Subnet, '10.251.0.0/24');
  assert.equal(networks.lookup(networks.create({ Name: 'u2' }).Id).IPAM.Config[0].Subnet, '10.251.1.0/24');
  assert.deepEqual(seen, ['network create', 'network create']);
  assert.throws(() => networks.lookup('nope'), /network nope not found/);
  networks.remove('u1');
  assert.throws(() => networks.lookup('u1'), /not found/);
});

test('a container\'s networks are normalised at create: default is the bridge, endpoints carry network IDs', () => {
  const { networks, prepare } = fixture();
  const bridge = networks.lookup('bridge');
  const plain = prepare({ HostConfig: { NetworkMode: 'default' }, NetworkingConfig: { EndpointsConfig: { default: {} } } });
  assert.equal(plain.eff.HostConfig.NetworkMode, 'bridge');
  assert.deepEqual(Object.keys(plain.NetworkingConfig.EndpointsConfig), ['bridge']);
  assert.equal(plain.NetworkingConfig.EndpointsConfig.bridge.NetworkID, bridge.Id);

  const { Id } = networks.create({ Name: 'app', IPAM: { Config: [{ Subnet: '10.252.0.0/24' }] } });
  const onApp = prepare({ HostConfig: { NetworkMode: 'app', PortBindings: { '80/tcp': [{ HostPort: '8080' }] } }, NetworkingConfig: { EndpointsConfig: { app: { Aliases: ['web'], IPAMConfig: { IPv4Address: '10.252.0.9' } } } } });
  assert.equal(onApp.eff.HostConfig.NetworkMode, 'app');
  assert.deepEqual(onApp.NetworkingConfig.EndpointsConfig.app.Aliases, ['web']);
  assert.equal(onApp.NetworkingConfig.EndpointsConfig.app.NetworkID, Id);
  // Published ports are exposed too, as dockerd records them.
  assert.deepEqual(onApp.eff.Config.ExposedPorts, { '80/tcp': {} });
  assert.throws(() => prepare({ HostConfig: { NetworkMode: 'app' }, NetworkingConfig: { EndpointsConfig: { app: { IPAMConfig: { IPv4Address: '10.9.9.9' } } } } }),
    /no configured subnet or ip-range contain the IP address 10\.9\.9\.9/);
});

test('Docker\'s network-mode rules are enforced at create', () => {
  const { networks, prepare } = fixture();
  networks.create({ Name: 'pooled' });
  const cases: [CreateRequest, RegExp][] = [
    [{ HostConfig: { NetworkMode: 'bridge' }, NetworkingConfig: { EndpointsConfig: { bridge: { Aliases: ['x'] } } } }, /network-scoped alias is supported only for containers in user defined networks/],
    [{ HostConfig: { NetworkMode: 'pooled' }, NetworkingConfig: { EndpointsConfig: { pooled: { IPAMConfig: { IPv4Address: '10.251.0.9' } } } } }, /only when connecting to networks with user configured subnets/],
    [{ HostConfig: { NetworkMode: 'container:owner', PortBindings: { '80/tcp': [{}] } } }, /conflicting options: port publishing and the container type network mode/],
    [{ Hostname: 'h', HostConfig: { NetworkMode: 'container:owner' } }, /conflicting options: hostname and the network mode/],
    [{ HostConfig: { NetworkMode: 'container:owner', Dns: ['1.1.1.1'] } }, /conflicting options: dns and the network mode/],
    [{ HostConfig: { NetworkMode: 'host' }, NetworkingConfig: { EndpointsConfig: { pooled: {} } } }, /cannot be disconnected from host network or connected to host network/],
    [{ HostConfig: { NetworkMode: 'bridge' }, NetworkingConfig: { EndpointsConfig: { bridge: { Links: ['a:b:c'] } } } }, /bad format for links: a:b:c/],
    [{ HostConfig: { NetworkMode: 'pooled' }, NetworkingConfig: { EndpointsConfig: { pooled: { Links: ['a:b:c'] } } } }, /bad format for links: a:b:c/],
    [{ HostConfig: { NetworkMode: 'pooled' }, NetworkingConfig: { EndpointsConfig: { pooled: { Links: 'a:b' } } } } as unknown as CreateRequest, /Links must be a list/],
    [{ HostConfig: { NetworkMode: 'nosuch' } }, /network nosuch not found/],
  ];
  for (const [req, re] of cases) assert.throws(() => prepare(req), re, JSON.stringify(req));
  const linked = prepare({ HostConfig: { NetworkMode: 'pooled' }, NetworkingConfig: { EndpointsConfig: { pooled: { Links: ['web:www', '/db:/app/database', 'cache'] } } } });
  assert.deepEqual(linked.NetworkingConfig.EndpointsConfig.pooled.Links, ['web:www', '/db:/app/database', 'cache'], 'links on a user network are kept');
  // dockerd keeps them on the default bridge too (they change nothing there).
  const onBridge = prepare({ HostConfig: { NetworkMode: 'bridge' }, NetworkingConfig: { EndpointsConfig: { bridge: { Links: ['web:www'] } } } });
  assert.deepEqual(onBridge.NetworkingConfig.EndpointsConfig.bridge.Links, ['web:www'], 'links on the default bridge are kept');
  const joined = prepare({ HostConfig: { NetworkMode: 'container:owner' } });
  assert.equal(joined.eff.Config.Hostname, 'ownerhost');
  assert.deepEqual(joined.NetworkingConfig.EndpointsConfig, {});
  const host = prepare({ HostConfig: { NetworkMode: 'host', PortBindings: { '80/tcp': [{ HostPort: '80' }] } } });
  assert.deepEqual(host.warnings, ['Published ports are discarded when using host network mode']);
  assert.deepEqual(host.eff.HostConfig.PortBindings, {});
});

test('connect and disconnect of a stopped container only change its configuration', async () => {
  const { networks, endpoints, driver, idle } = fixture();
  networks.create({ Name: 'later' });
  await endpoints.connect('later', 'idle', { Aliases: ['al'] });
  assert.deepEqual(Object.keys(idle.NetworkingConfig!.EndpointsConfig).sort(), ['bridge', 'later']);
  assert.deepEqual(idle.NetworkingConfig!.EndpointsConfig.later.Aliases, ['al']);
  await assert.rejects(endpoints.connect('later', 'idle', {}), /endpoint with name idle already exists in network later/);
  await assert.rejects(endpoints.connect('host', 'idle', {}), /connected to host network/);
  await endpoints.disconnect('later', 'idle', false);
  assert.deepEqual(Object.keys(idle.NetworkingConfig!.EndpointsConfig), ['bridge']);
  // A second disconnect is dockerd's error, forced or not (the stopped container's wording).
  await assert.rejects(endpoints.disconnect('later', 'idle', false), /is not connected to the network later/);
  await assert.rejects(endpoints.disconnect('later', 'idle', true), /is not connected to the network later/);
  assert.deepEqual(driver.calls, [], 'nothing runs for a stopped container');
});
