/**
 * Network records through the Engine API: the predefined networks,
 * create/inspect/list/remove/prune with Docker's statuses and messages, and
 * berth's IPAM (`--ip`, addresses released at stop, pools).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startDaemon, skipUnlessRoot, isClean, formatLeftovers, type Daemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';
import { createContainer, inspect, remove, start } from '../engine/api.js';

describe('networks through the API', { skip: skipUnlessRoot() }, () => {
  let d!: Daemon;
  before(async () => { d = await startDaemon(); await importBusybox(d); }, { timeout: 120_000 });
  after(async () => { await d?.stop(); });

  const createNetwork = async (body: Record<string, unknown>) => {
    const r = await d.request('POST', '/networks/create', body);
    assert.equal(r.status, 201, r.text);
    return r.json().Id as string;
  };
  const removeNetwork = (ref: string) => d.request('DELETE', `/networks/${ref}`);

  test('bridge, host and none are predefined: listed, never created or removed', async () => {
    const list = (await d.request('GET', '/networks')).json() as { Name: string; Driver: string; Scope: string; IPAM: { Config: { Subnet: string; Gateway: string }[] }; Options: Record<string, string> }[];
    const byName = Object.fromEntries(list.map((n) => [n.Name, n]));
    assert.deepEqual(Object.keys(byName).sort(), ['bridge', 'host', 'none']);
    assert.equal(byName.bridge.Driver, 'bridge');
    assert.equal(byName.host.Driver, 'host');
    assert.equal(byName.none.Driver, 'null');
    assert.equal(byName.bridge.Options['com.docker.network.bridge.name'], d.net.bridge);
    assert.equal(byName.bridge.IPAM.Config[0].Gateway, d.net.bip.split('/')[0]);
    for (const name of ['bridge', 'host', 'none']) {
      const c = await d.request('POST', '/networks/create', { Name: name });
      assert.equal(c.status, 403, c.text);
      assert.match(c.json().message, new RegExp(`${name} is a pre-defined network and cannot be created`));
      const r = await removeNetwork(name);
      assert.equal(r.status, 403, r.text);
      assert.match(r.json().message, new RegExp(`${name} is a pre-defined network and cannot be removed`));
    }
  });

  test('a network is created, found by name, ID and ID prefix, filtered, and removed', async () => {
    const subnet = d.net.userSubnet(0);
    const gateway = subnet.replace(/0\/24$/, '254');
    const id = await createNetwork({
      Name: 'n-api', Driver: 'bridge', Internal: true, Labels: { team: 'a' },
      IPAM: { Driver: 'default', Config: [{ Subnet: subnet, Gateway: gateway }] }, Options: { 'com.docker.network.driver.mtu': '1400' },
    });
    try {
      assert.match(id, /^[0-9a-f]{64}$/);
      for (const ref of ['n-api', id, id.slice(0, 12)]) {
        const r = await d.request('GET', `/networks/${ref}`);
        assert.equal(r.status, 200, r.text);
        const n = r.json();
        assert.equal(n.Id, id);
        assert.equal(n.Name, 'n-api');
        assert.equal(n.Scope, 'local');
        assert.equal(n.Internal, true);
        assert.deepEqual(n.Labels, { team: 'a' });
        assert.deepEqual(n.IPAM.Config, [{ Subnet: subnet, Gateway: gateway }]);
        assert.deepEqual(n.Containers, {});
      }
      const dup = await d.request('POST', '/networks/create', { Name: 'n-api' });
      assert.equal(dup.status, 409, dup.text);
      assert.equal(dup.json().message, 'network with name n-api already exists');
      const overlap = await d.request('POST', '/networks/create', { Name: 'n-overlap', IPAM: { Config: [{ Subnet: subnet.replace(/\/24$/, '/25') }] } });
      assert.equal(overlap.status, 403, overlap.text);
      assert.match(overlap.json().message, /Pool overlaps with other one on this address space/);

      const filtered = async (f: Record<string, string[]>) => ((await d.request('GET', `/networks?filters=${encodeURIComponent(JSON.stringify(f))}`)).json() as { Name: string }[]).map((n) => n.Name).sort();
      assert.deepEqual(await filtered({ label: ['team=a'] }), ['n-api']);
      assert.deepEqual(await filtered({ type: ['custom'] }), ['n-api']);
      assert.deepEqual(await filtered({ type: ['builtin'] }), ['bridge', 'host', 'none']);
      assert.deepEqual(await filtered({ name: ['n-a'] }), ['n-api']);
      assert.deepEqual(await filtered({ driver: ['null'] }), ['none']);
      assert.equal((await d.request('GET', `/networks?filters=${encodeURIComponent('{"bogus":["x"]}')}`)).status, 400);
    } finally {
      assert.equal((await removeNetwork('n-api')).status, 204);
    }
    const gone = await d.request('GET', '/networks/n-api');
    assert.equal(gone.status, 404);
    assert.equal(gone.json().message, 'network n-api not found');
    assert.equal((await removeNetwork('n-api')).status, 404);
  });

  test('networks without --subnet get distinct subnets from the daemon\'s pool', async () => {
    const a = await createNetwork({ Name: 'pool-a' });
    const b = await createNetwork({ Name: 'pool-b' });
    try {
      const sa = (await d.request('GET', `/networks/${a}`)).json().IPAM.Config[0];
      const sb = (await d.request('GET', `/networks/${b}`)).json().IPAM.Config[0];
      const prefix = d.net.pool.slice('base='.length).split('.').slice(0, 2).join('.') + '.';
      assert.ok(sa.Subnet.startsWith(prefix) && sb.Subnet.startsWith(prefix), `${sa.Subnet} ${sb.Subnet} in ${d.net.pool}`);
      assert.notEqual(sa.Subnet, sb.Subnet);
      assert.equal(sa.Gateway, sa.Subnet.replace(/0\/24$/, '1'));
    } finally {
      await removeNetwork(a);
      await removeNetwork(b);
    }
  });

  test('what berth cannot do is refused, not ignored', async () => {
    for (const [body, status, re] of [
      [{ Name: 'x1', Driver: 'macvlan' }, 501, /network driver "macvlan" is not supported/],
      [{ Name: 'x2', EnableIPv4: false }, 501, /networks without IPv4 are not supported/],
      [{ Name: 'x3', Options: { 'com.docker.network.bridge.enable_icc': 'false' } }, 400, /invalid value/],
      [{ Name: 'x4', Options: { 'com.example.unknown': '1' } }, 501, /bridge option com.example.unknown is not supported/],
      [{ Name: 'x5', Driver: 'host' }, 403, /only one instance of "host" network is allowed/],
      [{ Name: 'x6', IPAM: { Config: [{ Subnet: '10.1.2.3/24' }] } }, 400, /invalid subnet/],
      [{ Name: '  ' }, 400, /^invalid name: name is empty$/],
    ] as const) {
      const r = await d.request('POST', '/networks/create', body);
      assert.equal(r.status, status, `${JSON.stringify(body)}: ${r.text}`);
      assert.match(r.json().message, re);
    }
    const bridgeIp = await d.request('POST', '/containers/create', {
      Image: 'busybox', Cmd: ['true'], HostConfig: { NetworkMode: 'bridge' },
      NetworkingConfig: { EndpointsConfig: { bridge: { IPAMConfig: { IPv4Address: '10.240.0.50' } } } },
    });
    assert.equal(bridgeIp.status, 400, bridgeIp.text);
    assert.equal(bridgeIp.json().message, 'user specified IP address is supported on user defined networks only');
    const missing = await d.request('POST', '/containers/create', { Image: 'busybox', Cmd: ['true'], HostConfig: { NetworkMode: 'nosuchnet' } });
    assert.equal(missing.status, 404, missing.text);
    assert.equal(missing.json().message, 'network nosuchnet not found');
  });

  test('--ip is honoured, a taken address is refused, and addresses return at stop', async () => {
    const subnet = d.net.userSubnet(1);
    const ip = subnet.replace(/0\/24$/, '77');
    await createNetwork({ Name: 'ipnet', IPAM: { Config: [{ Subnet: subnet }] } });
    const endpoint = { EndpointsConfig: { ipnet: { IPAMConfig: { IPv4Address: ip } } } };
    const a = await createContainer(d, { Cmd: ['sleep', '300'], HostConfig: { NetworkMode: 'ipnet' }, NetworkingConfig: endpoint });
    const b = await createContainer(d, { Cmd: ['sleep', '300'], HostConfig: { NetworkMode: 'ipnet' }, NetworkingConfig: endpoint });
    try {
      await start(d, a);
      const ia = await inspect(d, a);
      assert.equal(ia.NetworkSettings.Networks.ipnet.IPAddress, ip);
      assert.deepEqual(ia.NetworkSettings.Networks.ipnet.IPAMConfig, { IPv4Address: ip });
      const net = (await d.request('GET', '/networks/ipnet')).json();
      assert.deepEqual(Object.keys(net.Containers), [a]);
      assert.equal(net.Containers[a].IPv4Address, `${ip}/24`);

      const clash = await d.request('POST', `/containers/${b}/start`);
      assert.equal(clash.status, 409, clash.text);
      assert.match(clash.json().message, /Address already in use/);

      const busy = await removeNetwork('ipnet');
      assert.equal(busy.status, 403, busy.text);
      assert.match(busy.json().message, /has active endpoints/);

      assert.equal((await d.request('POST', `/containers/${a}/stop?t=0`)).status, 204);
      const stopped = await inspect(d, a);
      assert.equal(stopped.NetworkSettings.Networks.ipnet.IPAddress, '');
      assert.equal(stopped.NetworkSettings.SandboxKey, '');
      await start(d, b);
      assert.equal((await inspect(d, b)).NetworkSettings.Networks.ipnet.IPAddress, ip);
    } finally {
      await remove(d, a);
      await remove(d, b);
      await removeNetwork('ipnet');
    }
  });

  test('prune removes user networks without running containers, and only those', async () => {
    await createNetwork({ Name: 'prune-idle', Labels: { keep: 'no' } });
    await createNetwork({ Name: 'prune-busy' });
    await createNetwork({ Name: 'prune-labelled', Labels: { keep: 'yes' } });
    const c = await createContainer(d, { Cmd: ['sleep', '300'], HostConfig: { NetworkMode: 'prune-busy' } });
    try {
      await start(d, c);
      const r = await d.request('POST', `/networks/prune?filters=${encodeURIComponent(JSON.stringify({ 'label!': ['keep=yes'] }))}`);
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(r.json(), { NetworksDeleted: ['prune-idle'] });
      const names = ((await d.request('GET', '/networks')).json() as { Name: string }[]).map((n) => n.Name).sort();
      assert.deepEqual(names, ['bridge', 'host', 'none', 'prune-busy', 'prune-labelled']);
    } finally {
      await remove(d, c);
      await removeNetwork('prune-busy');
      await removeNetwork('prune-labelled');
    }
    const left = await d.leftovers();
    assert.ok(isClean(left), `left behind:\n${formatLeftovers(left)}`);
  });
});
