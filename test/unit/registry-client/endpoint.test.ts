import { test } from 'node:test';
import assert from 'node:assert/strict';
import { domainOf, endpointFor, isInsecureRegistry, splitHostPort } from '../../../src/registry/client/endpoint.js';

test('docker.io is served from registry-1.docker.io over verified HTTPS', () => {
  assert.deepEqual(endpointFor('docker.io', []), { host: 'registry-1.docker.io', scheme: 'https' });
  assert.deepEqual(endpointFor('index.docker.io', []), { host: 'registry-1.docker.io', scheme: 'https' });
  assert.equal(domainOf(endpointFor('docker.io', [])), 'docker.io');
  assert.deepEqual(endpointFor('ghcr.io', []), { host: 'ghcr.io', scheme: 'https' });
});

test('loopback registries are insecure: HTTPS without verification, then plain HTTP', () => {
  const insecure = { scheme: 'https', insecureTls: true, httpFallback: true };
  for (const d of ['localhost:5000', 'localhost', '127.0.0.1:5000', '127.1.2.3', '[::1]:5000', 'registry.localhost:80']) {
    assert.deepEqual(endpointFor(d, []), { host: d, ...insecure }, d);
  }
  assert.deepEqual(endpointFor('128.0.0.1:5000', []), { host: '128.0.0.1:5000', scheme: 'https' });
});

test('insecure-registries entries: exact host[:port] or a CIDR the IP falls in', () => {
  const list = ['myreg.example.com:5000', '10.1.0.0/16', 'http://other.example.com'];
  assert.ok(isInsecureRegistry('myreg.example.com:5000', list));
  assert.ok(!isInsecureRegistry('myreg.example.com', list), 'port must match, as in dockerd');
  assert.ok(isInsecureRegistry('10.1.2.3:5000', list));
  assert.ok(!isInsecureRegistry('10.2.0.1:5000', list));
  assert.ok(isInsecureRegistry('other.example.com', list), 'a scheme in the entry is ignored');
  assert.equal(endpointFor('10.1.9.9:443', list).insecureTls, true);
});

test('host and port splitting handles IPv6 brackets', () => {
  assert.deepEqual(splitHostPort('[::1]:5000'), { hostname: '::1', port: '5000' });
  assert.deepEqual(splitHostPort('reg:5000'), { hostname: 'reg', port: '5000' });
  assert.deepEqual(splitHostPort('reg'), { hostname: 'reg' });
  assert.deepEqual(splitHostPort('::1'), { hostname: '::1' });
});
