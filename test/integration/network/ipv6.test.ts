/**
 * IPv6 on user-defined networks, as dockerd does it: `--ipv6` with an IPv6
 * `--subnet` (or one from berth's ULA pool), containers with an address of
 * their own or one asked for (`--ip6`, `IPv6Address`), shown in container
 * and network inspect, and containers reaching each other over IPv6 by
 * address and by name.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startDaemon, skipUnlessRoot, skipWithoutDocker, type Daemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';

describe('IPv6 networks', { skip: skipUnlessRoot() || skipWithoutDocker() }, () => {
  let d!: Daemon;
  /** An IPv6 /64 of this daemon's own (test daemons run side by side), from its IPv4 pool's second octet. */
  let subnet6!: string;
  let prefix6!: string;
  before(async () => {
    d = await startDaemon();
    await importBusybox(d);
    const octet = Number(d.net.pool.slice('base='.length).split('.')[1]);
    prefix6 = `fd00:b7:${octet.toString(16)}:1::`;
    subnet6 = `${prefix6}/64`;
  }, { timeout: 120_000 });
  after(async () => { await d?.stop(); });

  const docker = async (args: string[]) => {
    const r = await d.docker(args);
    assert.equal(r.code, 0, `docker ${args.join(' ')}: ${r.stderr}`);
    return r.stdout.trim();
  };

  test('--ipv6 --subnet: containers get IPv6 addresses, --ip6 is honoured, and they reach each other over IPv6', async () => {
    try {
      await docker(['network', 'create', '--ipv6', '--subnet', subnet6, '--gateway', `${prefix6}ffff`, 'v6net']);
      const n = JSON.parse(await docker(['network', 'inspect', 'v6net']))[0];
      assert.equal(n.EnableIPv6, true);
      assert.equal(n.EnableIPv4, true);
      assert.equal(n.IPAM.Config.length, 2, 'an IPv4 subnet from the pool, then the IPv6 one');
      assert.deepEqual(n.IPAM.Config[1], { Subnet: subnet6, Gateway: `${prefix6}ffff` });

      await docker(['run', '-d', '--name', 'v6a', '--network', 'v6net', '--ip6', `${prefix6}f00d`, 'busybox', 'sleep', '120']);
      await docker(['run', '-d', '--name', 'v6b', '--network', 'v6net', 'busybox', 'sleep', '120']);
      const a = JSON.parse(await docker(['inspect', '-f', '{{json .NetworkSettings.Networks.v6net}}', 'v6a']));
      assert.equal(a.GlobalIPv6Address, `${prefix6}f00d`);
      assert.equal(a.GlobalIPv6PrefixLen, 64);
      assert.equal(a.IPv6Gateway, `${prefix6}ffff`);
      assert.deepEqual(a.IPAMConfig, { IPv6Address: `${prefix6}f00d` });
      const b = JSON.parse(await docker(['inspect', '-f', '{{json .NetworkSettings.Networks.v6net}}', 'v6b']));
      assert.equal(b.GlobalIPv6Address, `${prefix6}1`, 'the first address after the subnet-router anycast one');
      assert.match(await docker(['exec', 'v6a', 'ip', '-6', 'addr', 'show', 'eth0']), new RegExp(`inet6 ${prefix6}f00d/64 scope global`));

      const containers = JSON.parse(await docker(['network', 'inspect', '-f', '{{json .Containers}}', 'v6net'])) as Record<string, { Name: string; IPv6Address: string }>;
      assert.deepEqual(Object.values(containers).map((c) => [c.Name, c.IPv6Address]).sort(), [['v6a', `${prefix6}f00d/64`], ['v6b', `${prefix6}1/64`]]);

      // Reachable over IPv6 by address, and by name through the network's DNS (AAAA).
      assert.match(await docker(['exec', 'v6b', 'ping', '-6', '-c', '1', '-W', '5', `${prefix6}f00d`]), /1 packets received/);
      assert.match(await docker(['exec', 'v6b', 'nslookup', '-type=AAAA', 'v6a']), new RegExp(`Address: ${prefix6}f00d`));
      assert.match(await docker(['exec', 'v6b', 'ping', '-6', '-c', '1', '-W', '5', 'v6a']), /1 packets received/);
      assert.match(await docker(['exec', 'v6a', 'cat', '/etc/hosts']), new RegExp(`^${prefix6}f00d\\tv?[0-9a-f]*`, 'm'));

      // An address asked for twice, or outside the subnet, is refused.
      const taken = await d.docker(['run', '--rm', '--network', 'v6net', '--ip6', `${prefix6}f00d`, 'busybox', 'true']);
      assert.notEqual(taken.code, 0);
      assert.match(taken.stderr, /Address already in use/);
      const outside = await d.docker(['create', '--network', 'v6net', '--ip6', '2001:db8:ffff::1', 'busybox', 'true']);
      assert.notEqual(outside.code, 0);
      assert.match(outside.stderr, /no configured subnet contains IP address 2001:db8:ffff::1/);

      // connect with an IPv6 address (docker-py's test_connect_with_ipv6_address).
      await docker(['network', 'disconnect', 'v6net', 'v6b']);
      await docker(['network', 'connect', '--ip6', `${prefix6}beef`, 'v6net', 'v6b']);
      assert.equal(await docker(['inspect', '-f', '{{.NetworkSettings.Networks.v6net.IPAMConfig.IPv6Address}}', 'v6b']), `${prefix6}beef`);
      assert.match(await docker(['exec', 'v6a', 'ping', '-6', '-c', '1', '-W', '5', `${prefix6}beef`]), /1 packets received/);
    } finally {
      await d.docker(['rm', '-f', 'v6a', 'v6b']);
      await d.docker(['network', 'rm', 'v6net']);
    }
  });

  test('--ipv6 without an IPv6 subnet takes a /64 of the ULA pool; without --ipv6 an IPv6 address is refused', async () => {
    try {
      const r = await d.request('POST', '/networks/create', { Name: 'v6auto', EnableIPv6: true });
      assert.equal(r.status, 201, r.text);
      const n = (await d.request('GET', '/networks/v6auto')).json();
      assert.equal(n.EnableIPv6, true);
      assert.match(n.IPAM.Config[1].Subnet, /^fd62:6572:7468:([0-9a-f]+:)?:\/64$/);
      assert.equal(n.IPAM.Config[1].Gateway, n.IPAM.Config[1].Subnet.replace('/64', '1'));
      // The driver option dockerd also reads, overridden by the field.
      const viaOption = await d.request('POST', '/networks/create', { Name: 'v6opt', Options: { 'com.docker.network.enable_ipv6': 'true' }, IPAM: { Config: [{ Subnet: subnet6.replace(':1::', ':2::') }] } });
      assert.equal(viaOption.status, 201, viaOption.text);
      const opt = (await d.request('GET', '/networks/v6opt')).json();
      assert.equal(opt.EnableIPv6, true);
      assert.deepEqual(opt.Options, {});
      const bad = await d.request('POST', '/networks/create', { Name: 'v6bad', Options: { 'com.docker.network.enable_ipv6': 'maybe' } });
      assert.equal(bad.status, 400);
      assert.equal(bad.json().message, 'driver-opt "com.docker.network.enable_ipv6" is not a valid bool');

      await docker(['network', 'create', 'v4only']);
      const refused = await d.docker(['create', '--network', 'v4only', '--ip6', `${prefix6}5`, 'busybox', 'true']);
      assert.notEqual(refused.code, 0);
      assert.match(refused.stderr, /no configured subnet contains IP address/);
      const onBridge = await d.request('POST', '/containers/create', { Image: 'busybox', HostConfig: { NetworkMode: 'bridge' }, NetworkingConfig: { EndpointsConfig: { bridge: { IPAMConfig: { IPv6Address: `${prefix6}5` } } } } });
      assert.equal(onBridge.status, 400);
      assert.equal(onBridge.json().message, 'user specified IP address is supported on user defined networks only');
    } finally {
      for (const n of ['v6auto', 'v6opt', 'v4only']) await d.request('DELETE', `/networks/${n}`);
    }
  });

  test("berth's own CLI: network create --ipv6, run --ip6, network connect --ip6", async () => {
    const berth = async (args: string[]) => {
      const r = await d.berth(args);
      assert.equal(r.code, 0, `berth ${args.join(' ')}: ${r.stderr}`);
      return r.stdout.trim();
    };
    const sub = subnet6.replace(':1::', ':3::');
    const pre = prefix6.replace(':1::', ':3::');
    try {
      await berth(['network', 'create', '--ipv6', '--subnet', sub, 'v6berth']);
      assert.equal(await berth(['network', 'inspect', '-f', '{{.EnableIPv6}}', 'v6berth']), 'true');
      await berth(['run', '-d', '--name', 'v6c', '--network', 'v6berth', '--ip6', `${pre}c0de`, 'busybox', 'sleep', '120']);
      assert.equal(await berth(['inspect', '-f', '{{.NetworkSettings.Networks.v6berth.GlobalIPv6Address}}', 'v6c']), `${pre}c0de`);
      await berth(['run', '-d', '--name', 'v6d', 'busybox', 'sleep', '120']);
      await berth(['network', 'connect', '--ip6', `${pre}d00d`, 'v6berth', 'v6d']);
      assert.equal(await berth(['inspect', '-f', '{{.NetworkSettings.Networks.v6berth.GlobalIPv6Address}}', 'v6d']), `${pre}d00d`);
      assert.match(await berth(['exec', 'v6d', 'ping', '-6', '-c', '1', '-W', '5', `${pre}c0de`]), /1 packets received/);
    } finally {
      await d.berth(['rm', '-f', 'v6c', 'v6d']);
      await d.berth(['network', 'rm', 'v6berth']);
    }
  });
});
