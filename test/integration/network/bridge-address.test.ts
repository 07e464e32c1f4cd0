/**
 * MAC addresses that stay put, so that neighbour (ARP) caches stay right.
 *
 * A network's bridge keeps its MAC address while containers come and go.
 * Left to the kernel, a bridge takes the lowest MAC of its ports, so a
 * container leaving could change the gateway's address under the others,
 * whose ARP caches then point at the old one: DNS and the way out gone for
 * seconds (seen as `wget: bad address` while docker-compose recreated a
 * service). dockerd gives its bridges a fixed address; so does berth.
 *
 * A container's MAC follows from its IPv4 address (02:42:…, as dockerd's
 * did): a container restarted on its old address is reached at once by the
 * host and its peers, whose caches still hold the MAC of the previous run.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fetchText, freePort } from './net-helpers.js';
import { startDaemon, skipUnlessRoot, skipWithoutDocker, type Daemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';

describe('bridge address', { skip: skipUnlessRoot() || skipWithoutDocker() }, () => {
  let d!: Daemon;
  before(async () => { d = await startDaemon(); await importBusybox(d); }, { timeout: 120_000 });
  after(async () => { await d?.stop(); });

  const docker = async (args: string[]) => {
    const r = await d.docker(args);
    assert.equal(r.code, 0, `docker ${args.join(' ')}: ${r.stderr}`);
    return r.stdout.trim();
  };
  const sys = (bridge: string, file: string) => readFileSync(`/sys/class/net/${bridge}/${file}`, 'utf8').trim();
  const sleeper = ['busybox', 'sh', '-c', 'trap "exit 0" TERM; while true; do sleep 1; done'];

  test('containers leaving a user network leave its gateway\'s MAC alone, and names still resolve at once', async () => {
    const others = ['mac-b1', 'mac-b2', 'mac-b3', 'mac-b4', 'mac-b5'];
    try {
      const id = await docker(['network', 'create', 'macnet']);
      const bridge = `br-${id.slice(0, 12)}`;
      await docker(['run', '-d', '--name', 'mac-a', '--network', 'macnet', ...sleeper]);
      const mac = sys(bridge, 'address');
      assert.equal(sys(bridge, 'addr_assign_type'), '3', 'the bridge address is set, not derived from its ports');
      // With five more ports, one of them very likely has a lower MAC than mac-a's.
      for (const name of others) await docker(['run', '-d', '--name', name, '--network', 'macnet', ...sleeper]);
      assert.equal(sys(bridge, 'address'), mac);
      assert.equal(await docker(['exec', 'mac-a', 'ping', '-c', '1', '-W', '2', 'mac-b1']).then(() => 'ok'), 'ok');
      await docker(['rm', '-f', ...others]);
      assert.equal(sys(bridge, 'address'), mac);
      // The gateway (aardvark-dns) answers right away: an ARP cache pointing elsewhere would time out.
      const r = await d.docker(['exec', 'mac-a', 'timeout', '2', 'nslookup', '-type=a', 'mac-a']);
      assert.equal(r.code, 0, `nslookup: ${r.stdout}${r.stderr}`);
    } finally {
      await d.docker(['rm', '-f', 'mac-a', ...others]);
      await d.docker(['network', 'rm', 'macnet']);
    }
  });

  test('a container\'s MAC is 02:42 and its IPv4 address, so a restart on the same address is reached at once', async () => {
    const port = await freePort();
    try {
      await docker(['network', 'create', 'restartnet']);
      await docker(['run', '-d', '--name', 'mac-web', '--network', 'restartnet', '-p', `${port}:80`, 'busybox', 'sh', '-c', 'echo up > /index.html; exec httpd -f -p 80 -h /']);
      await docker(['run', '-d', '--name', 'mac-peer', '--network', 'restartnet', ...sleeper]);
      const addr = async () => (await docker(['inspect', '-f', '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{.MacAddress}}{{end}}', 'mac-web'])).split(' ');
      const [ip, mac] = await addr();
      assert.equal(mac, ['02', '42', ...ip.split('.').map((b) => Number(b).toString(16).padStart(2, '0'))].join(':'));
      assert.equal((await fetchText('127.0.0.1', port)).trim(), 'up');
      assert.equal(await docker(['exec', 'mac-peer', 'wget', '-qO-', `http://${ip}/`]), 'up');
      for (let i = 0; i < 3; i++) {
        await docker(['restart', '-t', '1', 'mac-web']);
        assert.deepEqual(await addr(), [ip, mac]);
        // One try, no retries: a neighbour entry left pointing at another MAC would time out.
        assert.equal((await fetchText('127.0.0.1', port, '/', 3000)).trim(), 'up');
        assert.equal(await docker(['exec', 'mac-peer', 'timeout', '3', 'wget', '-qO-', `http://${ip}/`]), 'up');
      }
    } finally {
      await d.docker(['rm', '-f', 'mac-web', 'mac-peer']);
      await d.docker(['network', 'rm', 'restartnet']);
    }
  });

  test('the default bridge keeps its MAC too', async () => {
    try {
      await docker(['run', '-d', '--name', 'mac-d1', ...sleeper]);
      const mac = sys(d.net.bridge, 'address');
      assert.equal(sys(d.net.bridge, 'addr_assign_type'), '3');
      await docker(['run', '-d', '--name', 'mac-d2', ...sleeper]);
      await docker(['rm', '-f', 'mac-d1', 'mac-d2']);
      assert.equal(sys(d.net.bridge, 'address'), mac);
    } finally {
      await d.docker(['rm', '-f', 'mac-d1', 'mac-d2']);
    }
  });
});
