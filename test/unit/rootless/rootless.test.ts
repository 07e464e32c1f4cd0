/**
 * Rootless berthd's pure parts: the flags' defaults for an ordinary user,
 * which HostConfig fields are resource limits (refused without delegated
 * cgroups), and how published ports go through a host forwarder (a
 * recording fake of slirp4netns's API: rootless/slirp4netns.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { parseDaemonFlags } from '../../../src/daemon/flags.js';
import { requestedLimitFlags, refuseUndelegatedLimits } from '../../../src/rootless/resource-limits.js';
import { PortReservations, PortInUseError, type HostPortForwarder, type PublishedPort } from '../../../src/network/ports.js';
import { InvalidParameterError } from '../../../src/errors.js';
import { namespaceResolvConf } from '../../../src/rootless/resolv-conf.js';

const userEnv = { XDG_RUNTIME_DIR: '/run/user/1000', HOME: '/home/alice' };

test('an ordinary user\'s berthd is rootless, with its socket and roots in the user\'s directories', () => {
  const f = parseDaemonFlags([], userEnv, 1000);
  assert.equal(f.rootless, true);
  assert.deepEqual(f.hosts, ['unix:///run/user/1000/berth.sock']);
  assert.equal(f.execRoot, '/run/user/1000/berth');
  assert.equal(f.dataRoot, '/home/alice/.local/share/berth');
  assert.equal(f.pidfile, '/run/user/1000/berth/berthd.pid');
  assert.equal(f.group, '', 'the socket keeps the user\'s group');
  assert.equal(parseDaemonFlags([], { ...userEnv, XDG_DATA_HOME: '/data/alice' }, 1000).dataRoot, '/data/alice/berth');
});

test('flags given to a rootless berthd win over its defaults', () => {
  const f = parseDaemonFlags(['--data-root', '/srv/b', '--exec-root=/tmp/x', '-H', 'unix:///tmp/s.sock'], {}, 1000);
  assert.equal(f.dataRoot, '/srv/b');
  assert.equal(f.execRoot, '/tmp/x');
  assert.deepEqual(f.hosts, ['unix:///tmp/s.sock']);
});

test('root\'s berthd keeps the system defaults; --rootless asks for rootless explicitly', () => {
  const f = parseDaemonFlags([], {}, 0);
  assert.equal(f.rootless, false);
  assert.equal(f.dataRoot, '/var/lib/berth');
  assert.equal(f.execRoot, '/run/berth');
  assert.deepEqual(f.hosts, ['unix:///run/berth/berth.sock']);
  assert.equal(f.group, 'berth');
  assert.equal(parseDaemonFlags(['--rootless'], userEnv, 0).rootless, true);
});

test('a rootless berthd without XDG_RUNTIME_DIR, or with --userns-remap, is refused with a clear error', () => {
  assert.throws(() => parseDaemonFlags([], { HOME: '/home/alice' }, 1000), (e: unknown) => e instanceof InvalidParameterError && /XDG_RUNTIME_DIR/.test(e.message));
  assert.throws(() => parseDaemonFlags(['--userns-remap', 'default'], userEnv, 1000), /--userns-remap is not supported in rootless mode/);
});

test('resource limits are named by their docker flags; Docker\'s unset values ask for none', () => {
  assert.deepEqual(requestedLimitFlags({
    Memory: 0, MemorySwap: -1, MemorySwappiness: -1, PidsLimit: null, OomKillDisable: false, CpusetCpus: '', BlkioWeightDevice: [], DeviceCgroupRules: null,
  }), []);
  assert.deepEqual(requestedLimitFlags({ Memory: 64 << 20, NanoCpus: 5e8, PidsLimit: 10, BlkioDeviceReadBps: [{ Path: '/dev/sda', Rate: 1 }] }),
    ['--memory', '--cpus', '--pids-limit', '--device-read-bps']);
  assert.doesNotThrow(() => refuseUndelegatedLimits({ Memory: 0 }));
  assert.throws(() => refuseUndelegatedLimits({ Memory: 64 << 20, CpuShares: 512 }),
    (e: unknown) => e instanceof InvalidParameterError && /not supported in rootless mode on this host \(--memory, --cpu-shares\)/.test(e.message));
});

/** A recording fake of the slirp4netns forwarder. */
class RecordingForwarder implements HostPortForwarder {
  readonly forwarded: PublishedPort[] = [];
  readonly undone: number[] = [];
  refuse = new Set<number>();
  async forward(p: PublishedPort): Promise<() => Promise<void>> {
    if (this.refuse.has(p.hostPort)) throw new PortInUseError(`listen tcp4 ${p.hostPort}: taken on the host`);
    this.forwarded.push(p);
    return async () => { this.undone.push(p.hostPort); };
  }
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

test('with a host forwarder, every published port is forwarded and given back, and its DNAT rule matches any address', async () => {
  const fwd = new RecordingForwarder();
  const ports = new PortReservations();
  ports.forwardFromHost(fwd);
  const port = await freePort();
  const got = await ports.reserve('c1', [{ containerPort: 80, protocol: 'tcp', hostIp: '127.0.0.1', hostPortStart: port, hostPortEnd: port }]);
  assert.deepEqual(got, [{ containerPort: 80, protocol: 'tcp', hostIp: '127.0.0.1', hostPort: port }]);
  assert.deepEqual(fwd.forwarded, got);
  assert.equal(ports.ruleHostIp(got[0]), '', 'the forwarded traffic arrives on the namespace\'s own address');
  await ports.release('c1');
  assert.deepEqual(fwd.undone, [port]);
  assert.equal(new PortReservations().ruleHostIp(got[0]), '127.0.0.1', 'without a forwarder the rule keeps the address');
});

test('a host port the forwarder cannot have fails the reservation and releases what was held', async () => {
  const fwd = new RecordingForwarder();
  const ports = new PortReservations();
  ports.forwardFromHost(fwd);
  const [a, b] = [await freePort(), await freePort()];
  fwd.refuse.add(b);
  await assert.rejects(ports.reserve('c1', [
    { containerPort: 80, protocol: 'tcp', hostIp: '', hostPortStart: a, hostPortEnd: a },
    { containerPort: 81, protocol: 'tcp', hostIp: '', hostPortStart: b, hostPortEnd: b },
  ]), PortInUseError);
  assert.deepEqual(fwd.undone, [a]);
  // The namespace-side port was closed too: it can be bound again.
  const s = net.createServer();
  await new Promise<void>((resolve, reject) => { s.once('error', reject); s.listen(b, '0.0.0.0', () => resolve()); });
  await new Promise<void>((r) => s.close(() => r()));
});

test('loopback nameservers, out of slirp4netns\'s reach, become its DNS forwarder; other resolv.conf files stay', () => {
  assert.equal(namespaceResolvConf('nameserver 127.0.0.53\noptions edns0 trust-ad\nsearch example.org\n'),
    'nameserver 10.0.2.3\noptions edns0 trust-ad\nsearch example.org\n');
  assert.equal(namespaceResolvConf('nameserver 127.0.0.1\nnameserver 192.0.2.1\nnameserver ::1\n'), 'nameserver 10.0.2.3\nnameserver 192.0.2.1\n');
  assert.equal(namespaceResolvConf('nameserver 10.255.255.53\n'), undefined);
  assert.equal(namespaceResolvConf(''), undefined);
});
