import { test } from 'node:test';
import assert from 'node:assert/strict';
import { familiarRef, isImageIdPrefix, isSingleReference, tagRef } from '../../../src/engine/image-references.js';

const id = `sha256:3f57${'0'.repeat(60)}`;

test('only the image ID or a prefix of it is an ID; a tag that looks like a digest is not', () => {
  assert.ok(isImageIdPrefix(id, id));
  assert.ok(isImageIdPrefix(id, 'sha256:3f57'));
  assert.ok(isImageIdPrefix(id, '3f570000'));
  assert.ok(!isImageIdPrefix(id, 'sha256:sometag'));
  assert.ok(!isImageIdPrefix(id, 'busybox'));
});

test('one name: at most one tag, and digest references of that repository only', () => {
  const bb = 'docker.io/library/busybox';
  assert.ok(!isSingleReference([]));
  assert.ok(isSingleReference([{ repository: bb, tag: 'latest' }]));
  assert.ok(isSingleReference([{ repository: bb, tag: 'latest' }, { repository: bb, digest: 'sha256:aa' }]));
  assert.ok(isSingleReference([{ repository: bb, digest: 'sha256:aa' }, { repository: bb, digest: 'sha256:bb' }]));
  assert.ok(!isSingleReference([{ repository: bb, tag: 'latest' }, { repository: bb, tag: '1' }]));
  assert.ok(!isSingleReference([{ repository: bb, tag: 'latest' }, { repository: 'docker.io/library/other', digest: 'sha256:aa' }]));
});

test('names show in their familiar form', () => {
  assert.equal(familiarRef(tagRef('docker.io/library/sha256:sometag')), 'sha256:sometag');
  assert.equal(familiarRef({ repository: 'localhost:5000/a/b', digest: `sha256:${'a'.repeat(64)}` }), `localhost:5000/a/b@sha256:${'a'.repeat(64)}`);
});
