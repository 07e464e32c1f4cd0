/**
 * review1: IPv6 pools that would break the host's routing or make no sense
 * on a bridge are refused at network create, as dockerd's bridge driver
 * refuses them (moby bridge validateIPv6Subnet). `::/0` would put a route
 * for all of IPv6 on the bridge and give it `::1` as its gateway address.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidParameterError } from '../../../src/errors.js';
import { validateIpamConfig } from '../../../src/network/ipam-config.js';

function refused(subnet: string, message: RegExp, gateway?: string): void {
  assert.throws(() => validateIpamConfig([{ Subnet: subnet, ...(gateway ? { Gateway: gateway } : {}) }]), (e: unknown) => {
    assert.ok(e instanceof InvalidParameterError, String(e));
    assert.match(e.message, message);
    return true;
  }, subnet);
}

test('IPv6 pools that swallow the host routes, multicast or IPv4-mapped ones are refused', () => {
  refused('::/0', /^'::1\/0' clashes with the Link-Local prefix 'fe80::\/64'$/);
  refused('fe00::/7', /clashes with the Link-Local prefix/);
  refused('fe80::/80', /^'fe80::1\/80' clashes with the Link-Local prefix 'fe80::\/64'$/);
  refused('ff02::/64', /^multicast subnet 'ff02::1\/64' is not allowed$/);
  refused('::ffff:10.0.0.0/104', /is not a valid IPv6 subnet/);
});

test('ordinary IPv6 pools, and fe80::/64 itself, are accepted', () => {
  for (const subnet of ['2001:db8::/64', 'fd00:1::/48', 'fe80::/64', '2001:db8:1::/120']) validateIpamConfig([{ Subnet: subnet }]);
  validateIpamConfig([{ Subnet: '2001:db8::/64', Gateway: '2001:db8::ff' }, { Subnet: '10.9.0.0/24' }]);
});
