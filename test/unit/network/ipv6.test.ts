import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_POOL6, pickAddress, pickSubnet6 } from '../../../src/network/ipam.js';
import { validateIpamConfig } from '../../../src/network/ipam-config.js';
import { canonicalIp6, formatSubnet6, hostRange6, overlaps6, parseIp6, parseSubnet6 } from '../../../src/network/ipv6.js';

test('IPv6 addresses parse in every form and print in RFC 5952 form', () => {
  assert.equal(canonicalIp6('2001:0389:0000:0000:0000:0000:0000:f00d'), '2001:389::f00d');
  assert.equal(canonicalIp6('2001:DB8:0:0:1:0:0:1'), '2001:db8::1:0:0:1', 'the first of equal zero runs is compressed');
  assert.equal(canonicalIp6('2001:db8:0:1:1:1:1:1'), '2001:db8:0:1:1:1:1:1', 'a single zero group stays');
  assert.equal(canonicalIp6('::'), '::');
  assert.equal(canonicalIp6('::1'), '::1');
  assert.equal(canonicalIp6('fe80::'), 'fe80::');
  assert.equal(parseIp6('::ffff:10.0.0.1'), (0xffffn << 32n) | 0x0a000001n);
  assert.throws(() => parseIp6('fe80::1%eth0'), /invalid IPv6 address/);
  assert.throws(() => parseIp6('10.0.0.1'), /invalid IPv6 address/);
});

test('IPv6 subnets parse strictly; containers never get the subnet-router anycast address', () => {
  assert.equal(formatSubnet6(parseSubnet6('2001:389::/64')), '2001:389::/64');
  assert.throws(() => parseSubnet6('2001:389::1/64'), /should be 2001:389::\/64/);
  assert.throws(() => parseSubnet6('2001:389::/129'), /invalid CIDR address/);
  const s = parseSubnet6('2001:389::/64');
  assert.deepEqual(hostRange6(s), [s.base + 1n, s.base + (1n << 64n) - 1n]);
  assert.ok(overlaps6(parseSubnet6('fd00::/8'), s) === false);
  assert.ok(overlaps6(parseSubnet6('2001:389::/32'), s));
});

test('IPv6 addresses are picked lowest first, past the gateway and auxiliary ones; a requested one is checked', () => {
  const pool = { Subnet: '2001:389::/64', Gateway: '2001:389::1', AuxiliaryAddresses: { a: '2001:389::2' } };
  assert.equal(pickAddress(pool, new Set()), '2001:389::3');
  assert.equal(pickAddress(pool, new Set(['2001:389::3'])), '2001:389::4');
  assert.equal(pickAddress({ ...pool, IPRange: '2001:389::100/120' }, new Set()), '2001:389::101');
  assert.equal(pickAddress(pool, new Set(), '2001:0389::F00D'), '2001:389::f00d');
  assert.throws(() => pickAddress(pool, new Set(['2001:389::f00d']), '2001:389::f00d'), /Address already in use/);
  assert.throws(() => pickAddress(pool, new Set(), '2001:db8::1'), /does not belong/);
  assert.throws(() => pickAddress(pool, new Set(), '2001:389::'), /anycast/);
});

test("the ULA pool gives /64s that overlap nothing in use", () => {
  assert.equal(formatSubnet6(pickSubnet6([DEFAULT_POOL6], [])), 'fd62:6572:7468::/64');
  assert.equal(formatSubnet6(pickSubnet6([DEFAULT_POOL6], [parseSubnet6('fd62:6572:7468::/64')])), 'fd62:6572:7468:1::/64');
  assert.throws(() => pickSubnet6([DEFAULT_POOL6], [parseSubnet6('fd00::/8')]), /non-overlapping IPv6 address pool/);
});

test("dockerd's IPAM checks: each problem in its words, several as a list", () => {
  validateIpamConfig([{ Subnet: '10.1.0.0/16', IPRange: '10.1.5.0/24', Gateway: '10.1.5.254', AuxiliaryAddresses: { a: '10.1.1.5' } }, { Subnet: '2001:389::/64', Gateway: '2001:389::ffff' }]);
  validateIpamConfig([{}]);
  assert.throws(() => validateIpamConfig([{ Subnet: '10.1.2.3/24' }]), { message: 'invalid network config:\ninvalid subnet 10.1.2.3/24: it should be 10.1.2.0/24' });
  assert.throws(() => validateIpamConfig([{ Subnet: '10.1.2.0/24', IPRange: '2001:389::/80', Gateway: '10.9.9.9' }]), {
    message: "invalid network config:\n* invalid ip-range 2001:389::/80: parent subnet is an IPv4 block\n* invalid gateway 10.9.9.9: parent subnet 10.1.2.0/24 doesn't contain this address",
  });
  assert.throws(() => validateIpamConfig([{ Subnet: 'nonsense' }]), /invalid CIDR address: nonsense/);
});
