import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dialHost, parseListenAddress } from '../../../src/registry/server/address.js';
import { formatAccessLog } from '../../../src/registry/server/access-log.js';
import { matchEndpoint } from '../../../src/registry/server/routes.js';
import { parseRegistryServeArgs } from '../../../src/registry/server/main.js';
import { InvalidParameterError } from '../../../src/errors.js';

const D = `sha256:${'b'.repeat(64)}`;

test('listen addresses: host:port, :port, [v6]:port', () => {
  assert.deepEqual(parseListenAddress('127.0.0.1:5000'), { host: '127.0.0.1', port: 5000 });
  assert.deepEqual(parseListenAddress(':5000'), { port: 5000 });
  assert.deepEqual(parseListenAddress('[::1]:0'), { host: '::1', port: 0 });
  assert.deepEqual(parseListenAddress('localhost:80'), { host: 'localhost', port: 80 });
  for (const bad of ['5000', 'host', 'h:99999', 'h:p']) assert.throws(() => parseListenAddress(bad), /invalid listen address/, bad);
  assert.equal(dialHost(undefined), '127.0.0.1');
  assert.equal(dialHost('::1'), '[::1]');
  assert.equal(dialHost('10.0.0.1'), '10.0.0.1');
});

test('access log lines are Common Log Format', () => {
  const line = formatAccessLog({
    remoteAddress: '::ffff:127.0.0.1', user: 'alice', time: new Date(2026, 10, 23, 9, 5, 7),
    method: 'GET', url: '/v2/a/blobs/x', httpVersion: '1.1', status: 200, bytes: 91,
  });
  assert.match(line, /^127\.0\.0\.1 - alice \[23\/Nov\/2026:09:05:07 [+-]\d{4}\] "GET \/v2\/a\/blobs\/x HTTP\/1\.1" 200 91$/);
  const anon = formatAccessLog({ remoteAddress: undefined, user: undefined, time: new Date(), method: 'HEAD', url: '/"q"', httpVersion: '1.1', status: 404, bytes: 0 });
  assert.match(anon, /^- - - \[.*\] "HEAD \/\\"q\\" HTTP\/1\.1" 404 -$/);
});

test('routes: every endpoint of the spec table, names with slashes', () => {
  assert.deepEqual(matchEndpoint('/v2/'), { kind: 'base' });
  assert.deepEqual(matchEndpoint('/v2'), { kind: 'base' });
  assert.deepEqual(matchEndpoint('/v2/_catalog'), { kind: 'catalog' });
  assert.deepEqual(matchEndpoint('/v2/a/b/tags/list'), { kind: 'tags', name: 'a/b' });
  assert.deepEqual(matchEndpoint('/v2/a/b/manifests/latest'), { kind: 'manifest', name: 'a/b', reference: 'latest' });
  assert.deepEqual(matchEndpoint(`/v2/a/manifests/${D.replace(':', '%3A')}`), { kind: 'manifest', name: 'a', reference: D });
  assert.deepEqual(matchEndpoint('/v2/a/b/blobs/uploads/'), { kind: 'uploads', name: 'a/b' });
  assert.deepEqual(matchEndpoint('/v2/a/b/blobs/uploads'), { kind: 'uploads', name: 'a/b' });
  assert.deepEqual(matchEndpoint('/v2/a/blobs/uploads/1234'), { kind: 'upload', name: 'a', uuid: '1234' });
  assert.deepEqual(matchEndpoint(`/v2/a/b/blobs/${D}`), { kind: 'blob', name: 'a/b', digest: D });
  assert.deepEqual(matchEndpoint(`/v2/blobs/blobs/${D}`), { kind: 'blob', name: 'blobs', digest: D });
  assert.deepEqual(matchEndpoint(`/v2/a/referrers/${D}`), { kind: 'referrers', name: 'a', digest: D });
  assert.equal(matchEndpoint('/v1/_ping'), null);
  assert.equal(matchEndpoint('/v2/a/unknown/x'), null);
  assert.equal(matchEndpoint('/v2/a/manifests/%E0%A4%A'), null);
});

test('registry serve flags', () => {
  const f = parseRegistryServeArgs(['--addr=127.0.0.1:0', '--storage', '/srv/reg', '--user', 'a:b:c', '--user=d:e', '--no-delete']);
  assert.equal(f.options.addr, '127.0.0.1:0');
  assert.equal(f.options.root, '/srv/reg');
  assert.deepEqual(f.options.basicAuth, { a: 'b:c', d: 'e' });
  assert.equal(f.options.deleteEnabled, false);
  assert.equal(parseRegistryServeArgs([]).options.addr, ':5000');
  assert.ok(parseRegistryServeArgs(['-h']).help);
  assert.throws(() => parseRegistryServeArgs(['--bogus']), InvalidParameterError);
  assert.throws(() => parseRegistryServeArgs(['--user', 'nocolon']), InvalidParameterError);
  assert.throws(() => parseRegistryServeArgs(['--tls-cert', 'c.pem']), /go together/);
  assert.throws(() => parseRegistryServeArgs(['--addr']), /needs an argument/);
});
