import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { PortReservations, portRequests } from '../../../src/network/ports.js';

test('PortBindings and -P become port requests', () => {
  const r = portRequests(
    { '80/tcp': [{ HostIp: '', HostPort: '8080' }], '53/udp': [{ HostIp: '127.0.0.1', HostPort: '' }], '90': [{ HostPort: '9000-9010' }] },
    { '80/tcp': {}, '443/tcp': {} }, true,
  );
  // ('90' is an integer-like key, which JavaScript objects list first.)
  assert.deepEqual([...r].sort((a, b) => a.containerPort - b.containerPort), [
    { containerPort: 53, protocol: 'udp', hostIp: '127.0.0.1', hostPortStart: 0, hostPortEnd: 0 },
    { containerPort: 80, protocol: 'tcp', hostIp: '', hostPortStart: 8080, hostPortEnd: 8080 },
    { containerPort: 90, protocol: 'tcp', hostIp: '', hostPortStart: 9000, hostPortEnd: 9010 },
    { containerPort: 443, protocol: 'tcp', hostIp: '', hostPortStart: 0, hostPortEnd: 0 },
  ]);
  assert.throws(() => portRequests({ '80/xtp': [{}] }, {}, false), /invalid proto/);
  assert.throws(() => portRequests({ '80/tcp': [{ HostPort: 'x' }] }, {}, false), /invalid port specification/);
  assert.throws(() => portRequests({ '80/tcp': [{ HostIp: '::1', HostPort: '1' }] }, {}, false), /IPv4 only/);
});

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

test('a host port held for one container is refused to another with Docker\'s message', async () => {
  const ports = new PortReservations();
  const port = await freePort();
  try {
    const got = await ports.reserve('a', [{ containerPort: 80, protocol: 'tcp', hostIp: '127.0.0.1', hostPortStart: port, hostPortEnd: port }]);
    assert.deepEqual(got, [{ containerPort: 80, protocol: 'tcp', hostIp: '127.0.0.1', hostPort: port }]);
    await assert.rejects(ports.reserve('b', [{ containerPort: 81, protocol: 'tcp', hostIp: '', hostPortStart: port, hostPortEnd: port }]),
      new RegExp(`Bind for 0\\.0\\.0\\.0:${port} failed: port is already allocated`));
    // The same number over UDP is another port.
    await ports.reserve('c', [{ containerPort: 80, protocol: 'udp', hostIp: '127.0.0.1', hostPortStart: port, hostPortEnd: port }]);
    await ports.release('a');
    await ports.reserve('b', [{ containerPort: 81, protocol: 'tcp', hostIp: '127.0.0.1', hostPortStart: port, hostPortEnd: port }]);
  } finally {
    await ports.close();
  }
});

test('a port another process listens on is refused, and a random port is picked when none is asked for', async () => {
  const other = net.createServer();
  await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
  const port = (other.address() as net.AddressInfo).port;
  const ports = new PortReservations();
  try {
    await assert.rejects(ports.reserve('a', [{ containerPort: 80, protocol: 'tcp', hostIp: '127.0.0.1', hostPortStart: port, hostPortEnd: port }]),
      /address already in use/);
    const [p] = await ports.reserve('a', [{ containerPort: 80, protocol: 'tcp', hostIp: '127.0.0.1', hostPortStart: 0, hostPortEnd: 0 }]);
    assert.ok(p.hostPort >= 1024 && p.hostPort !== port, String(p.hostPort));
  } finally {
    await ports.close();
    await new Promise<void>((r) => other.close(() => r()));
  }
});
