import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAddressPool, pickAddress, pickSubnet } from '../../../src/network/ipam.js';
import { formatSubnet, overlaps, parseSubnet } from '../../../src/network/ipv4.js';

test('subnets parse strictly, --bip style values mask their host bits', () => {
  assert.equal(formatSubnet(parseSubnet('10.1.2.0/24')), '10.1.2.0/24');
  assert.throws(() => parseSubnet('10.1.2.3/24'), /should be 10\.1\.2\.0\/24/);
  assert.equal(formatSubnet(parseSubnet('10.1.2.1/24', false)), '10.1.2.0/24');
  assert.throws(() => parseSubnet('10.1.2.0'), /invalid CIDR address/);
  assert.throws(() => parseSubnet('10.1.2.0/33'), /invalid CIDR address/);
  assert.ok(overlaps(parseSubnet('10.0.0.0/8'), parseSubnet('10.9.0.0/16')));
  assert.ok(!overlaps(parseSubnet('10.1.0.0/24'), parseSubnet('10.1.1.0/24')));
});

test('a new network takes the first pool subnet that overlaps nothing in use', () => {
  const pools = [parseAddressPool('base=10.78.0.0/16,size=24')];
  assert.equal(formatSubnet(pickSubnet(pools, [])), '10.78.0.0/24');
  assert.equal(formatSubnet(pickSubnet(pools, [parseSubnet('10.78.0.0/24'), parseSubnet('10.78.1.0/25')])), '10.78.2.0/24');
  // A host route covering the start of the pool pushes the choice past it.
  assert.equal(formatSubnet(pickSubnet(pools, [parseSubnet('10.78.0.0/20')])), '10.78.16.0/24');
  assert.throws(() => pickSubnet([parseAddressPool('base=10.5.0.0/24,size=25')], [parseSubnet('10.5.0.0/24')]), /could not find an available/);
});

test('--default-address-pool values are checked', () => {
  assert.deepEqual(parseAddressPool('base=10.1.0.0/16,size=24'), { base: parseSubnet('10.1.0.0/16'), size: 24 });
  assert.throws(() => parseAddressPool('base=10.1.0.0/16'), /base and size/);
  assert.throws(() => parseAddressPool('base=10.1.0.0/16,size=8'), /size must be between 16 and 30/);
});

test('containers get the lowest free host address; the gateway and aux addresses are skipped', () => {
  const pool = { Subnet: '10.5.0.0/24', Gateway: '10.5.0.1', AuxiliaryAddresses: { router: '10.5.0.3' } };
  assert.equal(pickAddress(pool, new Set()), '10.5.0.2');
  assert.equal(pickAddress(pool, new Set(['10.5.0.2'])), '10.5.0.4');
  assert.equal(pickAddress({ ...pool, IPRange: '10.5.0.128/25' }, new Set()), '10.5.0.129');
  const full = new Set(Array.from({ length: 254 }, (_, i) => `10.5.0.${i + 1}`));
  assert.throws(() => pickAddress(pool, full), /no available IPv4 addresses/);
});

test('a requested address (--ip) must be free and inside the subnet', () => {
  const pool = { Subnet: '10.5.0.0/24', Gateway: '10.5.0.1' };
  assert.equal(pickAddress(pool, new Set(), '10.5.0.77'), '10.5.0.77');
  assert.throws(() => pickAddress(pool, new Set(['10.5.0.77']), '10.5.0.77'), /Address already in use/);
  assert.throws(() => pickAddress(pool, new Set(), '10.5.0.1'), /Address already in use/);
  assert.throws(() => pickAddress(pool, new Set(), '10.6.0.7'), /does not belong/);
  assert.throws(() => pickAddress(pool, new Set(), '10.5.0.255'), /broadcast/);
});
