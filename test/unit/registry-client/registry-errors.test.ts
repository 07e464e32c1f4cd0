import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeEntries, errorFromResponse, registryErrorCode, parseErrorBody } from '../../../src/registry/client/registry-errors.js';
import { nextLink } from '../../../src/registry/client/link-header.js';
import { manifestMediaType } from '../../../src/registry/client/media-types.js';
import { ForbiddenError, NotFoundError, SystemError, UnauthorizedError } from '../../../src/errors.js';

const body = (errors: unknown) => Buffer.from(JSON.stringify({ errors }));

test('registry errors in Docker\'s words, with typed kinds', () => {
  const u = errorFromResponse(401, 'Unauthorized', body([{ code: 'UNAUTHORIZED', message: 'authentication required', detail: [] }]), 'GET x');
  assert.ok(u instanceof UnauthorizedError);
  assert.equal(u.message, 'unauthorized: authentication required');
  assert.equal(registryErrorCode(u), 'UNAUTHORIZED');

  const d = errorFromResponse(403, 'Forbidden', body([{ code: 'DENIED', message: 'requested access to the resource is denied' }]), 'GET x');
  assert.ok(d instanceof ForbiddenError);
  assert.equal(d.message, 'denied: requested access to the resource is denied');

  const m = errorFromResponse(404, 'Not Found', body([{ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown', detail: { Tag: 'x' } }]), 'GET x', 'manifest for a:x not found');
  assert.ok(m instanceof NotFoundError);
  assert.equal(m.message, 'manifest for a:x not found: manifest unknown: manifest unknown');

  const b = errorFromResponse(404, 'Not Found', body([{ code: 'BLOB_UNKNOWN', message: 'blob unknown to registry' }]), 'GET x');
  assert.equal(b.message, 'blob unknown: blob unknown to registry');

  const s = errorFromResponse(400, 'Bad Request', body([{ code: 'DIGEST_INVALID', message: 'provided digest did not match uploaded content' }]), 'PUT x');
  assert.ok(s instanceof SystemError);
  assert.equal(s.message, 'digest invalid: provided digest did not match uploaded content');
});

test('bodies without errors: 401/429 get the code default, others name the request and status', () => {
  assert.equal(errorFromResponse(401, 'Unauthorized', undefined, 'GET u').message, 'unauthorized: authentication required');
  assert.equal(errorFromResponse(429, 'Too Many Requests', Buffer.from('<html>'), 'GET u').message, 'toomanyrequests: too many requests');
  const e = errorFromResponse(502, 'Bad Gateway', Buffer.from('<html>'), 'GET https://r/v2/');
  assert.ok(e instanceof SystemError);
  assert.equal(e.message, 'GET https://r/v2/: received unexpected HTTP status: 502 Bad Gateway');
  assert.ok(errorFromResponse(404, 'Not Found', undefined, 'GET u') instanceof NotFoundError);
});

test('token server refusals ({"details": …}) are unauthorized errors', () => {
  const e = errorFromResponse(401, 'Unauthorized', Buffer.from('{"details":"incorrect username or password"}'), 'GET t');
  assert.ok(e instanceof UnauthorizedError);
  assert.equal(e.message, 'unauthorized: incorrect username or password');
});

test('several errors are listed; missing messages get defaults', () => {
  const entries = parseErrorBody(400, body([{ code: 'MANIFEST_BLOB_UNKNOWN', message: 'blob unknown to registry', detail: 'sha256:a' }, { code: 'manifest_blob_unknown', message: '' }]));
  assert.equal(entries[1].code, 'MANIFEST_BLOB_UNKNOWN');
  assert.equal(describeEntries(entries), 'errors:\nmanifest blob unknown: blob unknown to registry\nmanifest blob unknown: unknown error\n');
  assert.deepEqual(parseErrorBody(500, Buffer.from('not json')), []);
});

test('Link rel="next" resolves against the request URL', () => {
  const base = new URL('http://r:5000/v2/a/tags/list?n=2');
  assert.equal(nextLink('</v2/a/tags/list?last=b&n=2>; rel="next"', base)?.href, 'http://r:5000/v2/a/tags/list?last=b&n=2');
  assert.equal(nextLink('<https://other/x>; rel=next', base)?.href, 'https://other/x');
  assert.equal(nextLink('</p>; rel="prev", </n>; rel="next"', base)?.href, 'http://r:5000/n');
  assert.equal(nextLink('</p>; rel="prev"', base), undefined);
  assert.equal(nextLink(undefined, base), undefined);
});

test('manifest media type: the body speaks when Content-Type is generic', () => {
  const oci = Buffer.from('{"schemaVersion":2,"config":{},"layers":[]}');
  assert.equal(manifestMediaType('application/vnd.docker.distribution.manifest.v2+json', oci), 'application/vnd.docker.distribution.manifest.v2+json');
  assert.equal(manifestMediaType('application/json', oci), 'application/vnd.oci.image.manifest.v1+json');
  assert.equal(manifestMediaType(undefined, Buffer.from('{"manifests":[]}')), 'application/vnd.oci.image.index.v1+json');
  assert.equal(manifestMediaType('text/plain', Buffer.from('{"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json"}')), 'application/vnd.docker.distribution.manifest.list.v2+json');
});
