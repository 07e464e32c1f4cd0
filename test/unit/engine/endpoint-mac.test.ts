import { test } from 'node:test';
import assert from 'node:assert/strict';
import { macForAddress } from '../../../src/engine/endpoints.js';

test('an endpoint without --mac-address gets 02:42 and its IPv4 address, as dockerd gave them', () => {
  assert.equal(macForAddress('172.17.0.2'), '02:42:ac:11:00:02');
  assert.equal(macForAddress('10.255.0.254'), '02:42:0a:ff:00:fe');
});
