import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  checkRepositoryName, isValidRepositoryName, isValidTag, parseDigest, parseManifestReference, MAX_NAME_LENGTH,
} from '../../../src/registry/server/names.js';
import { DistributionError } from '../../../src/registry/server/errors.js';

const HEX = 'a'.repeat(64);

test('repository names follow the spec grammar', () => {
  for (const ok of ['a', 'library/busybox', 'a.b_c/d__e/f-g', 'x--y', 'a0/1b', 'very/deep/path/of/components']) {
    assert.ok(isValidRepositoryName(ok), ok);
  }
  for (const bad of ['', 'A', 'a/', '/a', 'a//b', '_a', 'a_', '.a', 'a..b', 'a/../b', 'a___b', 'a b', 'a:b', 'a/_layers']) {
    assert.ok(!isValidRepositoryName(bad), bad);
  }
  assert.ok(isValidRepositoryName('a'.repeat(MAX_NAME_LENGTH)));
  assert.ok(!isValidRepositoryName('a'.repeat(MAX_NAME_LENGTH + 1)));
});

test('checkRepositoryName throws NAME_INVALID (400)', () => {
  assert.throws(() => checkRepositoryName('Bad'), (e: unknown) => e instanceof DistributionError && e.code === 'NAME_INVALID' && e.status === 400);
});

test('tags: up to 128 characters, no leading dot or dash', () => {
  assert.ok(isValidTag('latest'));
  assert.ok(isValidTag('_x.Y-1'));
  assert.ok(isValidTag('a'.repeat(128)));
  for (const bad of ['', '.x', '-x', 'a'.repeat(129), 'a/b', 'a:b']) assert.ok(!isValidTag(bad), bad);
});

test('digests: sha256 with 64 lowercase hex digits only', () => {
  assert.deepEqual(parseDigest(`sha256:${HEX}`), { algorithm: 'sha256', hex: HEX, value: `sha256:${HEX}` });
  for (const bad of ['sha256:abc', `sha256:${'A'.repeat(64)}`, `sha512:${'a'.repeat(128)}`, HEX, 'sha256:', `sha256:${HEX}x`]) {
    assert.throws(() => parseDigest(bad), (e: unknown) => e instanceof DistributionError && e.code === 'DIGEST_INVALID', bad);
  }
});

test('manifest references are a digest or a tag', () => {
  assert.deepEqual(parseManifestReference('v1'), { kind: 'tag', tag: 'v1' });
  assert.equal(parseManifestReference(`sha256:${HEX}`).kind, 'digest');
  assert.throws(() => parseManifestReference('.bad'), DistributionError);
});
