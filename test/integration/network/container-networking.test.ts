/**
 * Containers on networks, through the real docker CLI where it matters:
 * name resolution on user networks (aardvark-dns), published ports reached
 * from the host, `docker port` and ps's PORTS, `--network none|host|
 * container:<id>`, NetworkSettings in inspect, the /etc files, and a host
 * that is clean again once the containers are gone.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { networkInterfaces } from 'node:os';
import { startDaemon, skipUnlessRoot, skipWithoutDocker, isClean, formatLeftovers, waitFor, type Daemon } from '../../helpers/daemon.js';
import { BUSYBOX_CHANGES, importBusybox } from '../../helpers/busybox.js';
import { fetchText, freePort } from './net-helpers.js';

/**
 * The host's own interfaces with an IPv4 address (eth0…), leaving out the
 * bridges and veths that engines — other test daemons included — create and
 * delete while a test runs.
 */
function stableHostInterfaces(): [string, string][] {
  return Object.entries(networkInterfaces())
    .filter(([name]) => !/^(br-|bt|berth|veth|docker|podman|cni)/.test(name))
    .flatMap(([name, addrs]) => (addrs ?? []).filter((a) => a.family === 'IPv4').map((a): [string, string] => [name, a.address]));
}

/** busybox httpd serving `text` at /index.html on `port` inside the container. */
const httpd = (text: string, port = 80) => ['sh', '-c', `mkdir -p /www && echo ${text} > /www/index.html && exec httpd -f -p ${port} -h /www`];

describe('containers on networks', { skip: skipUnlessRoot() || skipWithoutDocker() }, () => {
  let d!: Daemon;
  before(async () => {
    d = await startDaemon();
    await importBusybox(d);
    await importBusybox(d, 'busybox:expose', [...BUSYBOX_CHANGES, 'EXPOSE 8080']);
  }, { timeout: 120_000 });
  after(async () => { await d?.stop(); });

  const docker = async (args: string[]) => {
    const r = await d.docker(args);
    assert.equal(r.code, 0, `docker ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const cleanup = async (containers: string[], networks: string[] = []) => {
    if (containers.length) await d.docker(['rm', '-f', ...containers]);
    for (const n of networks) await d.docker(['network', 'rm', n]);
  };

  test('two containers on a user network reach each other by name and by alias', async () => {
    try {
      await docker(['network', 'create', 'appnet']);
      await docker(['run', '-d', '--name', 'web1', '--network', 'appnet', '--network-alias', 'www', 'busybox', ...httpd('hello-by-name')]);
      const ping = await docker(['run', '--rm', '--network', 'appnet', 'busybox', 'ping', '-c', '1', '-W', '5', 'web1']);
      assert.match(ping, /1 packets received/);
      assert.equal((await docker(['run', '--rm', '--network', 'appnet', 'busybox', 'wget', '-qO-', 'http://www/'])).trim(), 'hello-by-name');
      const resolv = await docker(['run', '--rm', '--network', 'appnet', 'busybox', 'cat', '/etc/resolv.conf']);
      const gw = (await docker(['network', 'inspect', '-f', '{{range .IPAM.Config}}{{.Gateway}}{{end}}', 'appnet'])).trim();
      assert.match(resolv, new RegExp(`^nameserver ${gw.replace(/\./g, '\\.')}$`, 'm'));
      // The default bridge has no names, as in Docker.
      const onBridge = await d.docker(['run', '--rm', 'busybox', 'ping', '-c', '1', '-W', '1', 'web1']);
      assert.notEqual(onBridge.code, 0);
    } finally {
      await cleanup(['web1'], ['appnet']);
    }
  });

  test('--link on a user network: the alias resolves through /etc/hosts and DNS while the linker is up; the default bridge cannot link to it', async () => {
    try {
      await docker(['network', 'create', 'linknet']);
      await docker(['run', '-d', '--name', 'linked1', '--network', 'linknet', 'busybox', ...httpd('via-link')]);
      const ip = (await docker(['inspect', '-f', '{{.NetworkSettings.Networks.linknet.IPAddress}}', 'linked1'])).trim();
      assert.equal((await docker(['run', '--rm', '--network', 'linknet', '--link', 'linked1:www-alias', 'busybox', 'wget', '-qO-', 'http://www-alias/'])).trim(), 'via-link');
      const hosts = await docker(['run', '--rm', '--network', 'linknet', '--link', 'linked1:www-alias', 'busybox', 'cat', '/etc/hosts']);
      assert.match(hosts, new RegExp(`^${ip.replace(/\./g, '\\.')}\twww-alias linked1$`, 'm'));
      await docker(['run', '-d', '--name', 'linker1', '--network', 'linknet', '--link', 'linked1:www-alias', 'busybox', 'sleep', '60']);
      assert.equal((await docker(['inspect', '-f', '{{json .NetworkSettings.Networks.linknet.Links}}', 'linker1'])).trim(), '["linked1:www-alias"]');
      // aardvark-dns has no per-client names: while linker1 is up, its alias is a DNS name of linked1 on the network
      // (dockerd answers it to the linker only), and it goes when the linker does.
      assert.match(await docker(['exec', 'linker1', 'nslookup', 'www-alias']), new RegExp(`Address: ${ip.replace(/\./g, '\\.')}`));
      await docker(['stop', '-t', '0', 'linker1']);
      const other = await d.docker(['run', '--rm', '--network', 'linknet', 'busybox', 'nslookup', 'www-alias']);
      assert.notEqual(other.code, 0, `with no linker up the alias is gone: ${other.stdout}`);
      await docker(['start', 'linker1']);
      // The target comes back on another address (a newcomer took its old one): the linker's alias follows.
      await docker(['stop', '-t', '0', 'linked1']);
      await docker(['run', '-d', '--name', 'linked-squatter', '--network', 'linknet', 'busybox', 'sleep', '60']);
      await docker(['start', 'linked1']);
      const moved = (await docker(['inspect', '-f', '{{.NetworkSettings.Networks.linknet.IPAddress}}', 'linked1'])).trim();
      assert.notEqual(moved, ip);
      assert.match(await docker(['exec', 'linker1', 'cat', '/etc/hosts']), new RegExp(`^${moved.replace(/\./g, '\\.')}\twww-alias linked1$`, 'm'));
      assert.equal((await docker(['exec', 'linker1', 'wget', '-qO-', 'http://www-alias/'])).trim(), 'via-link');
      const bridge = await d.docker(['run', '--rm', '--link', 'linked1:www-alias', 'busybox', 'true']);
      assert.notEqual(bridge.code, 0);
      // dockerd's addLegacyLinks: a legacy link's target must be on the default bridge.
      assert.match(bridge.stderr, /Cannot link to \/linked1, as it does not belong to the default network/);
    } finally {
      await cleanup(['linked1', 'linker1', 'linked-squatter'], ['linknet']);
    }
  });

  test('-p HOST:CONTAINER publishes a port reachable from the host; docker port and ps show it', async () => {
    const port = await freePort();
    try {
      await docker(['run', '-d', '--name', 'pub1', '-p', `${port}:80`, '-p', '127.0.0.1::81/udp', 'busybox', ...httpd('published')]);
      assert.equal((await fetchText('127.0.0.1', port)).trim(), 'published');
      const hostIp = stableHostInterfaces().find(([name]) => name !== 'lo')?.[1];
      if (hostIp) assert.equal((await fetchText(hostIp, port)).trim(), 'published');
      const mapping = await docker(['port', 'pub1']);
      assert.match(mapping, new RegExp(`^80/tcp -> 0\\.0\\.0\\.0:${port}$`, 'm'));
      assert.match(mapping, /^81\/udp -> 127\.0\.0\.1:\d+$/m);
      assert.equal((await docker(['port', 'pub1', '80'])).trim(), `0.0.0.0:${port}`);
      const ps = await docker(['ps', '--format', '{{.Ports}}', '--filter', 'name=pub1']);
      assert.match(ps, new RegExp(`0\\.0\\.0\\.0:${port}->80/tcp`));
      assert.match(ps, /127\.0\.0\.1:\d+->81\/udp/);
      const ports = JSON.parse(await docker(['inspect', '-f', '{{json .NetworkSettings.Ports}}', 'pub1']));
      assert.deepEqual(ports['80/tcp'], [{ HostIp: '0.0.0.0', HostPort: String(port) }]);
    } finally {
      await cleanup(['pub1']);
    }
  });

  test('a host port that is taken is refused with Docker\'s error', async () => {
    const port = await freePort();
    try {
      await docker(['run', '-d', '--name', 'holder', '-p', `${port}:80`, 'busybox', 'sleep', '300']);
      const r = await d.docker(['run', '-d', '--name', 'loser', '-p', `${port}:80`, 'busybox', 'sleep', '300']);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, new RegExp(`Bind for 0\\.0\\.0\\.0:${port} failed: port is already allocated`));
      const state = JSON.parse(await docker(['inspect', '-f', '{{json .State}}', 'loser']));
      assert.equal(state.Running, false);
      assert.match(state.Error, /port is already allocated/);
      // The loser left no namespace or address behind.
      const left = (await d.leftovers()).netns;
      assert.equal(left.length, 1, left.join(', '));
    } finally {
      await cleanup(['holder', 'loser']);
    }
  });

  test('a network setup that fails while the runtime creates the container: Docker\'s error, the container left created, nothing behind', async () => {
    // The kernel refuses a multicast MAC address when netavark makes the veth pair: a failure of
    // netavark itself, which berthd learns of while (or after) `crun create` runs.
    const mac = '01:00:5e:00:00:01';
    const refused = /failed to set up container networking on network bridge: netavark setup: create veth pair/;
    try {
      const r = await d.docker(['run', '-d', '--name', 'badmac', '--mac-address', mac, 'busybox', 'sleep', '300']);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, refused);
      const state = JSON.parse(await docker(['inspect', '-f', '{{json .State}}', 'badmac']));
      assert.equal(state.Status, 'created');
      assert.equal(state.Running, false);
      assert.equal(state.Pid, 0);
      assert.match(state.Error, refused);
      // No process (conmon, the container's), mount, cgroup or namespace of it is left.
      const gone = (l: Awaited<ReturnType<Daemon['leftovers']>>) => !l.processes.length && !l.mounts.length && !l.cgroups.length && !l.netns.length;
      await waitFor(async () => gone(await d.leftovers()), 10_000).catch(() => undefined);
      const left = await d.leftovers();
      assert.ok(gone(left), formatLeftovers(left));
      // With --rm the container is removed, as dockerd does after a failed start.
      const r2 = await d.docker(['run', '--rm', '--name', 'badmac2', '--mac-address', mac, 'busybox', 'true']);
      assert.notEqual(r2.code, 0);
      assert.match(r2.stderr, refused);
      await waitFor(async () => (await d.docker(['inspect', 'badmac2'])).code !== 0, 10_000);
      // The same container starts once its address is one the kernel takes.
      await docker(['rm', 'badmac']);
      await docker(['run', '-d', '--name', 'badmac', '--mac-address', '02:42:ac:11:00:63', 'busybox', 'sleep', '300']);
      const gw = d.net.bip.split('/')[0];
      assert.match(await docker(['exec', 'badmac', 'ping', '-c', '1', '-W', '5', gw]), /1 packets received/);
    } finally {
      await cleanup(['badmac', 'badmac2']);
    }
  });

  test('-p CONTAINER and -P with EXPOSE publish on random host ports', async () => {
    try {
      await docker(['run', '-d', '--name', 'rnd1', '-p', '80', 'busybox', ...httpd('random')]);
      const hp = Number((await docker(['port', 'rnd1', '80/tcp'])).trim().split(':')[1]);
      assert.ok(hp > 1024, String(hp));
      assert.equal((await fetchText('127.0.0.1', hp)).trim(), 'random');

      await docker(['run', '-d', '--name', 'rnd2', '-P', 'busybox:expose', ...httpd('exposed', 8080)]);
      const hp2 = Number((await docker(['port', 'rnd2', '8080'])).trim().split(':')[1]);
      assert.ok(hp2 > 1024 && hp2 !== hp, String(hp2));
      assert.equal((await fetchText('127.0.0.1', hp2)).trim(), 'exposed');
      // Exposed but not published: listed without a host side.
      await docker(['run', '-d', '--name', 'rnd3', 'busybox:expose', 'sleep', '300']);
      assert.equal((await docker(['ps', '--format', '{{.Ports}}', '--filter', 'name=rnd3'])).trim(), '8080/tcp');
      const names = async (filter: string) => (await docker(['ps', '--format', '{{.Names}}', '--filter', filter])).trim().split('\n').filter(Boolean).sort();
      assert.deepEqual(await names('publish=80'), ['rnd1']);
      assert.deepEqual(await names('publish=80-8080/tcp'), ['rnd1', 'rnd2']);
      assert.deepEqual(await names('expose=8080'), ['rnd2', 'rnd3']);
    } finally {
      await cleanup(['rnd1', 'rnd2', 'rnd3']);
    }
  });

  test('--network none has only lo, --network host sees the host\'s interfaces', async () => {
    const none = await docker(['run', '--rm', '--network', 'none', 'busybox', 'sh', '-c', 'ls /sys/class/net']);
    assert.deepEqual(none.trim().split(/\s+/), ['lo']);
    const host = (await docker(['run', '--rm', '--network', 'host', 'busybox', 'sh', '-c', 'ls /sys/class/net'])).trim().split(/\s+/);
    const expected = stableHostInterfaces().map(([name]) => name);
    assert.ok(expected.length >= 2, `the host's interfaces: ${expected.join(' ')}`);
    for (const name of expected) assert.ok(host.includes(name), `${name} missing from ${host.join(' ')}`);
    const bridged = (await docker(['run', '--rm', 'busybox', 'sh', '-c', 'ls /sys/class/net'])).trim().split(/\s+/).sort();
    assert.deepEqual(bridged, ['eth0', 'lo']);
  });

  test('--network container:<name> joins the other container\'s namespace', async () => {
    try {
      await docker(['run', '-d', '--name', 'owner', 'busybox', 'sleep', '300']);
      const ownerIp = (await docker(['inspect', '-f', '{{.NetworkSettings.IPAddress}}', 'owner'])).trim();
      assert.match(ownerIp, /^\d+\.\d+\.\d+\.\d+$/);
      const seen = await docker(['run', '--rm', '--network', 'container:owner', 'busybox', 'sh', '-c', 'ip -o -4 addr show eth0; hostname']);
      assert.match(seen, new RegExp(`inet ${ownerIp.replace(/\./g, '\\.')}/`));
      const hostname = (await docker(['inspect', '-f', '{{.Config.Hostname}}', 'owner'])).trim();
      assert.match(seen, new RegExp(`^${hostname}$`, 'm'));
      const conflict = await d.docker(['run', '--rm', '--network', 'container:owner', '-p', '80', 'busybox', 'true']);
      assert.notEqual(conflict.code, 0);
      assert.match(conflict.stderr, /conflicting options: port publishing and the container type network mode/);
    } finally {
      await cleanup(['owner']);
    }
  });

  test('inspect shows NetworkSettings like Docker, and /etc/hosts names the container\'s address', async () => {
    try {
      await docker(['run', '-d', '--name', 'insp', '--hostname', 'box', '--add-host', 'db:10.9.9.9', '--dns-search', 'example.test', 'busybox', 'sleep', '300']);
      const ns = JSON.parse(await docker(['inspect', '-f', '{{json .NetworkSettings}}', 'insp']));
      const id = (await docker(['inspect', '-f', '{{.Id}}', 'insp'])).trim();
      const bridge = ns.Networks.bridge;
      assert.equal(ns.SandboxKey, `/run/netns/berth-${id.slice(0, 12)}`);
      assert.match(ns.SandboxID, /^[0-9a-f]{64}$/);
      assert.equal(ns.IPAddress, bridge.IPAddress);
      assert.equal(ns.Gateway, d.net.bip.split('/')[0]);
      assert.equal(bridge.Gateway, ns.Gateway);
      assert.equal(bridge.IPPrefixLen, Number(d.net.bip.split('/')[1]));
      assert.match(bridge.MacAddress, /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
      assert.match(bridge.EndpointID, /^[0-9a-f]{64}$/);
      const list = (await d.request('GET', '/networks/bridge')).json();
      assert.equal(bridge.NetworkID, list.Id);
      const hosts = await docker(['exec', 'insp', 'cat', '/etc/hosts']);
      assert.match(hosts, new RegExp(`^${bridge.IPAddress.replace(/\./g, '\\.')}\\tbox$`, 'm'));
      assert.match(hosts, /^10\.9\.9\.9\tdb$/m);
      assert.match(await docker(['exec', 'insp', 'cat', '/etc/resolv.conf']), /^search example\.test$/m);
      await docker(['stop', '-t', '0', 'insp']);
      const stopped = JSON.parse(await docker(['inspect', '-f', '{{json .NetworkSettings}}', 'insp']));
      assert.equal(stopped.IPAddress, '');
      assert.equal(stopped.Networks.bridge.IPAddress, '');
      assert.equal(stopped.Networks.bridge.NetworkID, list.Id);
    } finally {
      await cleanup(['insp']);
    }
  });

  test('a container on the default bridge reaches its gateway and other containers by address', async () => {
    try {
      await docker(['run', '-d', '--name', 'peer', 'busybox', ...httpd('peer')]);
      const ip = (await docker(['inspect', '-f', '{{.NetworkSettings.IPAddress}}', 'peer'])).trim();
      assert.equal((await docker(['run', '--rm', 'busybox', 'wget', '-qO-', `http://${ip}/`])).trim(), 'peer');
      const gw = d.net.bip.split('/')[0];
      assert.match(await docker(['run', '--rm', 'busybox', 'ping', '-c', '1', '-W', '5', gw]), /1 packets received/);
    } finally {
      await cleanup(['peer']);
    }
  });

  test('when the containers are gone, so are namespaces, veths, bridges, rules and aardvark-dns', async () => {
    await docker(['network', 'create', 'lastnet']);
    await docker(['run', '-d', '--name', 'last1', '--network', 'lastnet', '-p', '80', 'busybox', 'sleep', '300']);
    await docker(['run', '-d', '--name', 'last2', '-p', '80', 'busybox', 'sleep', '300']);
    const during = await d.leftovers();
    assert.equal(during.netns.length, 2, formatLeftovers(during));
    // The default bridge itself stands while berthd runs (as docker0 does); the containers' veths on it are theirs.
    assert.ok(during.links.some((l) => l.startsWith('veth ') && l.endsWith(`(master ${d.net.bridge})`)), formatLeftovers(during));
    assert.ok(during.iptables.length > 0, 'netavark rules for the published ports');
    await cleanup(['last1', 'last2'], ['lastnet']);
    // aardvark-dns exits on its own once its last network is gone.
    await waitFor(async () => isClean(await d.leftovers()), 10_000).catch(() => undefined);
    const left = await d.leftovers();
    assert.ok(isClean(left), `left behind:\n${formatLeftovers(left)}`);
  });
});
