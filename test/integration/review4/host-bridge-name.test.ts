/**
 * Review 4, trust: `network create -o com.docker.network.bridge.name=X`
 * where X is a bridge of the host's own (libvirt's virbr0, another engine's
 * docker0, one made by hand). netavark adds the network's gateway to it at
 * the first container and deletes the bridge, addresses and all, after the
 * last one: a plain `run --rm` on such a network removed the host's
 * bridge. berth makes and removes its bridges itself, so a name the host
 * already uses is refused at create (409), and the host's bridge stays.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { startDaemon, skipUnlessRoot, runCommand, type Daemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';

const HOST_BRIDGE = `r4br${process.pid % 100000}`;

describe('review4: a network cannot take over a bridge of the host', { skip: skipUnlessRoot() }, () => {
  let d!: Daemon;
  before(async () => {
    d = await startDaemon();
    await importBusybox(d);
    const r = await runCommand('ip', ['link', 'add', HOST_BRIDGE, 'type', 'bridge']);
    assert.equal(r.code, 0, r.stderr);
    await runCommand('ip', ['addr', 'add', '192.0.2.1/24', 'dev', HOST_BRIDGE]);
    await runCommand('ip', ['link', 'set', HOST_BRIDGE, 'up']);
  }, { timeout: 120_000 });
  after(async () => {
    await d?.berth(['network', 'rm', 'r4-hostbr']).catch(() => undefined);
    await d?.stop();
    await runCommand('ip', ['link', 'delete', HOST_BRIDGE]);
  });

  test('create is refused with 409, and a container run on the network cannot remove the bridge', async () => {
    const created = await d.request('POST', '/networks/create', {
      Name: 'r4-hostbr', Options: { 'com.docker.network.bridge.name': HOST_BRIDGE }, IPAM: { Config: [{ Subnet: d.net.userSubnet(4) }] },
    });
    // On the old code the create succeeds: run a container there as a user would, then look at the host.
    if (created.status === 201) await d.berth(['run', '--rm', '--network', 'r4-hostbr', 'busybox', 'true']);
    assert.ok(existsSync(`/sys/class/net/${HOST_BRIDGE}`), 'the host\'s bridge is still there');
    const addr = await runCommand('ip', ['-o', '-4', 'addr', 'show', 'dev', HOST_BRIDGE]);
    assert.match(addr.stdout, /192\.0\.2\.1\/24/, 'with its address');
    assert.equal(created.status, 409, created.text);
    assert.match(created.json().message, new RegExp(`bridge name ${HOST_BRIDGE} names an existing interface of the host`));
  });

  test('a bridge name the host does not use still works, and the bridge goes with the network', async () => {
    const name = `r4own${process.pid % 100000}`;
    const created = await d.request('POST', '/networks/create', {
      Name: 'r4-own', Options: { 'com.docker.network.bridge.name': name }, IPAM: { Config: [{ Subnet: d.net.userSubnet(5) }] },
    });
    assert.equal(created.status, 201, created.text);
    const r = await d.berth(['run', '--rm', '--network', 'r4-own', 'busybox', 'cat', '/sys/class/net/eth0/mtu']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await d.request('DELETE', '/networks/r4-own')).status, 204);
  });
});
