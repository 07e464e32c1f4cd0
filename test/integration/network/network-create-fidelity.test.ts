/**
 * `POST /networks/create` and `GET /networks/{id}` as dockerd answers them:
 * any name but a blank one (spaces too), the IPAM configuration shown as it
 * was given (Options null when none came), dockerd's IPAM checks and
 * wording, the swarm-only and plugin drivers refused as dockerd refuses
 * them, and `scope` an exact-match filter.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startDaemon, skipUnlessRoot, skipWithoutDocker, type Daemon } from '../../helpers/daemon.js';

describe('network create and inspect, as dockerd', { skip: skipUnlessRoot() || skipWithoutDocker() }, () => {
  let d!: Daemon;
  before(async () => { d = await startDaemon(); }, { timeout: 60_000 });
  after(async () => { await d?.stop(); });

  test('a name with a space is created, found by that name and removed, through the API and the docker CLI', async () => {
    const r = await d.request('POST', '/networks/create', { Name: 'test 01' });
    assert.equal(r.status, 201, r.text);
    try {
      const n = await d.request('GET', `/networks/${encodeURIComponent('test 01')}`);
      assert.equal(n.status, 200, n.text);
      assert.equal(n.json().Name, 'test 01');
      assert.equal(n.json().Id, r.json().Id);
    } finally {
      assert.equal((await d.request('DELETE', `/networks/${encodeURIComponent('test 01')}`)).status, 204);
    }
    const cli = await d.docker(['network', 'create', 'my net']);
    assert.equal(cli.code, 0, cli.stderr);
    assert.equal((await d.docker(['network', 'inspect', '-f', '{{.Name}}', 'my net'])).stdout.trim(), 'my net');
    const rm = await d.docker(['network', 'rm', 'my net']);
    assert.equal(rm.code, 0, rm.stderr);
  });

  test('the IPAM configuration is shown as given: range, gateway, auxiliary addresses, and no Options', async () => {
    const subnet = d.net.userSubnet(0).replace(/\/24$/, '/23');
    const base = subnet.split('.').slice(0, 3).join('.');
    const config = { Subnet: subnet, IPRange: `${base}.128/25`, Gateway: `${base}.254`, AuxiliaryAddresses: { a: `${base}.5`, b: `${base}.6` } };
    const r = await d.request('POST', '/networks/create', { Name: 'ipam-echo', IPAM: { Driver: 'default', Config: [config] } });
    assert.equal(r.status, 201, r.text);
    try {
      const ipam = (await d.request('GET', '/networks/ipam-echo')).json().IPAM;
      assert.equal(ipam.Driver, 'default');
      assert.equal(ipam.Options, null);
      assert.deepEqual(ipam.Config, [config]);
    } finally {
      await d.request('DELETE', '/networks/ipam-echo');
    }
    // The docker CLI always sends IPAM options, an empty map: shown as one, as dockerd keeps it.
    assert.equal((await d.docker(['network', 'create', 'ipam-cli'])).code, 0);
    try {
      assert.equal((await d.docker(['network', 'inspect', '-f', '{{json .IPAM.Options}}', 'ipam-cli'])).stdout.trim(), '{}');
    } finally {
      await d.docker(['network', 'rm', 'ipam-cli']);
    }
  });

  test("IPAM configurations are checked as dockerd checks them, every problem in one answer", async () => {
    const subnet = d.net.userSubnet(1);
    const base = subnet.split('.').slice(0, 3).join('.');
    const other = d.net.userSubnet(2).split('.').slice(0, 3).join('.');
    for (const [config, message] of [
      [{ Subnet: `${base}.3/24` }, `invalid network config:\ninvalid subnet ${base}.3/24: it should be ${base}.0/24`],
      [{ Subnet: subnet, Gateway: `${other}.1` }, `invalid network config:\ninvalid gateway ${other}.1: parent subnet ${subnet} doesn't contain this address`],
      [{ Subnet: subnet, IPRange: `${other}.0/25`, AuxiliaryAddresses: { x: 'fd00:1::1' } },
        `invalid network config:\n* invalid ip-range ${other}.0/25: parent subnet ${subnet} doesn't contain ip-range\n* invalid auxiliary address x: parent subnet is an IPv4 block`],
      [{ Subnet: subnet, IPRange: `${base}.0/16` },
        `invalid network config:\n* invalid ip-range ${base}.0/16: CIDR block is bigger than its parent subnet ${subnet}\n* invalid ip-range ${base}.0/16: it should be ${base.split('.').slice(0, 2).join('.')}.0.0/16`],
      [{ Subnet: 'fd00:77::/64', Gateway: `${base}.1` }, `invalid network config:\ninvalid gateway ${base}.1: parent subnet is an IPv6 block`],
    ] as const) {
      const r = await d.request('POST', '/networks/create', { Name: 'ipam-bad', EnableIPv6: true, IPAM: { Config: [config] } });
      assert.equal(r.status, 400, `${JSON.stringify(config)}: ${r.text}`);
      assert.equal(r.json().message, message);
    }
  });

  test('swarm drivers and plugins are refused as dockerd refuses them on a node outside a swarm', async () => {
    const overlay = await d.request('POST', '/networks/create', { Name: 'ov', Driver: 'overlay', Attachable: true });
    assert.equal(overlay.status, 403, overlay.text);
    assert.equal(overlay.json().message, 'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.');
    const plugin = await d.request('POST', '/networks/create', { Name: 'pl', Driver: 'weave' });
    assert.equal(plugin.status, 404, plugin.text);
    assert.equal(plugin.json().message, 'plugin "weave" not found');
    const cli = await d.docker(['network', 'create', '-d', 'overlay', 'ov']);
    assert.equal(cli.code, 1);
    assert.match(cli.stderr, /^Error response from daemon: This node is not a swarm manager\./);
  });

  test('inspect takes scope as an exact-match filter: a local network is not found in another scope', async () => {
    assert.equal((await d.request('POST', '/networks/create', { Name: 'scoped' })).status, 201);
    try {
      assert.equal((await d.request('GET', '/networks/scoped?scope=local')).status, 200);
      for (const scope of ['global', 'swarm']) {
        const r = await d.request('GET', `/networks/scoped?scope=${scope}`);
        assert.equal(r.status, 404, r.text);
        assert.equal(r.json().message, 'network scoped not found');
      }
      const v = await d.request('GET', '/networks/scoped?verbose=maybe');
      assert.equal(v.status, 400, v.text);
    } finally {
      await d.request('DELETE', '/networks/scoped');
    }
  });
});
