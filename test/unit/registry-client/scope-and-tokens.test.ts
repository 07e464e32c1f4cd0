import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatScope, mergeScopes, parseScope, repositoryScope, scopesCover } from '../../../src/registry/client/scope.js';
import { EXPIRY_MARGIN_MS, TokenCache } from '../../../src/registry/client/token-cache.js';
import { Authenticator } from '../../../src/registry/client/auth.js';
import { Transport } from '../../../src/registry/client/transport.js';

test('scopes parse with colons in the name and format back', () => {
  assert.deepEqual(parseScope('repository:localhost:5000/a/b:pull,push'), { type: 'repository', name: 'localhost:5000/a/b', actions: ['pull', 'push'] });
  assert.deepEqual(parseScope('registry:catalog:*'), { type: 'registry', name: 'catalog', actions: ['*'] });
  assert.equal(parseScope('nonsense'), undefined);
  assert.equal(parseScope('repository:x'), undefined);
  assert.equal(formatScope(repositoryScope('a/b', 'pull', 'push')), 'repository:a/b:pull,push');
});

test('merging joins actions per resource and sorts canonically', () => {
  const merged = mergeScopes([repositoryScope('b', 'push'), 'repository:a:pull'], ['repository:b:pull', 'repository:a:pull']);
  assert.deepEqual(merged.map(formatScope), ['repository:a:pull', 'repository:b:pull,push']);
  assert.ok(scopesCover(merged, [repositoryScope('b', 'push')]));
  assert.ok(!scopesCover(merged, [repositoryScope('a', 'push')]));
  assert.ok(scopesCover([{ type: 'repository', name: 'a', actions: ['*'] }], [repositoryScope('a', 'pull', 'push')]));
});

test('token cache: a token lives expires_in seconds from when it was asked for, minus a margin', () => {
  let now = 1_000_000;
  const cache = new TokenCache(() => now);
  const key = TokenCache.key('reg', 'svc', ['repository:a:pull']);
  cache.set(key, 'T1', 300, now);
  assert.equal(cache.get(key), 'T1');
  now += 300_000 - EXPIRY_MARGIN_MS - 1;
  assert.equal(cache.get(key), 'T1');
  now += 1;
  assert.equal(cache.get(key), undefined, 'expired (within the margin)');
  assert.equal(cache.size, 0, 'expired entries are dropped');
});

test('token cache: no or short expires_in counts as 60 s (token.md default, Docker minimum)', () => {
  let now = 0;
  const cache = new TokenCache(() => now);
  cache.set('a', 'A', undefined, 0);
  cache.set('b', 'B', 10, 0);
  now = 50_000;
  assert.equal(cache.get('a'), 'A');
  assert.equal(cache.get('b'), 'B');
  now = 60_000;
  assert.equal(cache.get('a'), undefined);
});

test('token cache keys: per registry and service, scope order does not matter', () => {
  assert.equal(TokenCache.key('r', 's', ['x', 'y']), TokenCache.key('r', 's', ['y', 'x']));
  assert.notEqual(TokenCache.key('r', 's', ['x']), TokenCache.key('r2', 's', ['x']));
  assert.notEqual(TokenCache.key('r', 's', ['x']), TokenCache.key('r', 's2', ['x']));
  assert.notEqual(TokenCache.key('r', 's', ['x']), TokenCache.key('r', 's', ['x', 'y']));
});

test('authenticator: insufficient_scope merges the challenge scope into the retry and forgets the refused token', async () => {
  let now = 0;
  const cache = new TokenCache(() => now);
  const transport = new Transport();
  const auth = new Authenticator('reg:5000', {}, transport, { cache, now: () => now });
  auth.learn('Bearer realm="http://127.0.0.1:1/token",service="svc"');
  const pull = [repositoryScope('a', 'pull')];
  const key = TokenCache.key('reg:5000 http://127.0.0.1:1/token', 'svc', ['repository:a:pull']);
  cache.set(key, 'PULLTOKEN', 300, 0);
  assert.equal(await auth.authorization(pull), 'Bearer PULLTOKEN', 'cached token used without a request');
  const next = auth.challenged('Bearer realm="http://127.0.0.1:1/token",service="svc",scope="repository:a:pull,push",error="insufficient_scope"', pull, 'Bearer PULLTOKEN');
  assert.deepEqual(next?.map(formatScope), ['repository:a:pull,push']);
  assert.equal(cache.get(key), undefined, 'the refused token is not reused');
  transport.close();
});

test('authenticator: Basic is sent once the registry asks for it, and not retried when refused', async () => {
  const transport = new Transport();
  const auth = new Authenticator('reg', { username: 'u', password: 'p:w' }, transport);
  assert.equal(await auth.authorization([]), undefined, 'nothing before a challenge');
  const retry = auth.challenged('Basic realm="x"', [], undefined);
  assert.deepEqual(retry, []);
  const header = await auth.authorization([]);
  assert.equal(header, `Basic ${Buffer.from('u:p:w').toString('base64')}`);
  assert.equal(auth.challenged('Basic realm="x"', [], header), undefined, 'same credentials refused: no second retry');
  const anon = new Authenticator('reg', {}, transport);
  assert.equal(anon.challenged('Basic realm="x"', [], undefined), undefined, 'no credentials: nothing to retry with');
  const static_ = new Authenticator('reg', { registryToken: 'RT' }, transport);
  assert.equal(await static_.authorization([]), 'Bearer RT');
  transport.close();
});
