import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bearerChallenge, hasBasicChallenge, parseWwwAuthenticate } from '../../../src/registry/client/challenge.js';

test('Bearer challenge: realm, service, scope with a comma inside quotes, error', () => {
  const h = 'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull,push",error="insufficient_scope"';
  const cs = parseWwwAuthenticate(h);
  assert.equal(cs.length, 1);
  assert.equal(cs[0].scheme, 'bearer');
  assert.deepEqual(cs[0].params, {
    realm: 'https://auth.docker.io/token',
    service: 'registry.docker.io',
    scope: 'repository:library/busybox:pull,push',
    error: 'insufficient_scope',
  });
  assert.deepEqual(bearerChallenge(cs), {
    realm: 'https://auth.docker.io/token',
    service: 'registry.docker.io',
    scopes: ['repository:library/busybox:pull,push'],
    error: 'insufficient_scope',
  });
});

test('several space-separated scopes are split', () => {
  const b = bearerChallenge(parseWwwAuthenticate('Bearer realm="r",scope="repository:a:pull repository:b:pull,push"'));
  assert.deepEqual(b?.scopes, ['repository:a:pull', 'repository:b:pull,push']);
});

test('Basic challenge, scheme and parameter names case-insensitive', () => {
  const cs = parseWwwAuthenticate('BASIC Realm="berth-registry"');
  assert.deepEqual(cs, [{ scheme: 'basic', params: { realm: 'berth-registry' } }]);
  assert.ok(hasBasicChallenge(cs));
  assert.equal(bearerChallenge(cs), undefined);
});

test('several challenges in one header and across headers; spaces around = and commas', () => {
  const cs = parseWwwAuthenticate(['Basic realm="a b, c" , Bearer realm = "https://t/token" , service=svc', 'Negotiate abc123==']);
  assert.deepEqual(cs.map((c) => c.scheme), ['basic', 'bearer', 'negotiate']);
  assert.equal(cs[0].params.realm, 'a b, c');
  assert.deepEqual(cs[1].params, { realm: 'https://t/token', service: 'svc' });
  assert.deepEqual(cs[2].params, {});
});

test('escaped quotes in quoted strings; unquoted token values', () => {
  const cs = parseWwwAuthenticate('Bearer realm="say \\"hi\\"",service=registry.example.com');
  assert.equal(cs[0].params.realm, 'say "hi"');
  assert.equal(cs[0].params.service, 'registry.example.com');
});

test('empty, absent and garbage headers give no challenge', () => {
  assert.deepEqual(parseWwwAuthenticate(undefined), []);
  assert.deepEqual(parseWwwAuthenticate(''), []);
  assert.deepEqual(parseWwwAuthenticate('=x, "y"'), []);
  assert.equal(bearerChallenge(parseWwwAuthenticate('Bearer service="s"')), undefined, 'a Bearer challenge without realm is unusable');
});
