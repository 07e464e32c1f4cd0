import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Router } from '../../../src/api/router.js';
import { statusFromError } from '../../../src/api/status.js';
import { ConflictError, NotFoundError, NotModifiedError } from '../../../src/errors.js';

test('image names with slashes and ports match :name* routes', () => {
  const r = new Router();
  const h = async () => {};
  r.get('/images/json', h);
  r.get('/images/:name*/json', h);
  const m = r.match('GET', '/images/127.0.0.1:5000/a/b:1/json');
  assert.ok(m && m !== 'method');
  assert.equal(m.params.name, '127.0.0.1:5000/a/b:1');
  const j = r.match('GET', '/images/json');
  assert.ok(j && j !== 'method');
  assert.deepEqual(j.params, {});
});

test('a malformed escape in a path parameter is a 400, not a 500', () => {
  const r = new Router();
  r.get('/containers/:id/json', async () => {});
  assert.throws(() => r.match('GET', '/containers/%zz/json'), (e: unknown) => statusFromError(e) === 400);
});

test('HEAD falls back to GET routes', () => {
  const r = new Router();
  r.get('/_ping', async () => {});
  assert.ok(r.match('HEAD', '/_ping'));
});

test('errors map to Docker status codes in one place', () => {
  assert.equal(statusFromError(new NotFoundError('No such container: x')), 404);
  assert.equal(statusFromError(new ConflictError('x')), 409);
  assert.equal(statusFromError(new NotModifiedError('x')), 304);
  assert.equal(statusFromError(new Error('boom')), 500);
});
