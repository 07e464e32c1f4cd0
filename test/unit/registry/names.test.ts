import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  checkRepositoryName, digestFileName, digestFromFileName, isValidRepositoryName, isValidTag, parseDigest, parseManifestReference, MAX_NAME_LENGTH,
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

test('digests: the registered algorithms, each with exactly its length of lowercase hex', () => {
  assert.deepEqual(parseDigest(`sha256:${HEX}`), { algorithm: 'sha256', hex: HEX, value: `sha256:${HEX}` });
  const HEX512 = 'a'.repeat(128);
  assert.deepEqual(parseDigest(`sha512:${HEX512}`), { algorithm: 'sha512', hex: HEX512, value: `sha512:${HEX512}` });
  for (const bad of [
    'sha256:abc', `sha256:${'A'.repeat(64)}`, `sha512:${HEX}`, `sha512:${'A'.repeat(128)}`, `sha256:${HEX512}`, `md5:${'a'.repeat(32)}`,
    `blake3:${HEX}`, `toString:${HEX}`, `__proto__:${HEX}`, HEX, 'sha256:', `sha256:${HEX}x`,
  ]) {
    assert.throws(() => parseDigest(bad), (e: unknown) => e instanceof DistributionError && e.code === 'DIGEST_INVALID', bad);
  }
});

test('manifest references are a digest or a tag', () => {
  assert.deepEqual(parseManifestReference('v1'), { kind: 'tag', tag: 'v1' });
  assert.equal(parseManifestReference(`sha256:${HEX}`).kind, 'digest');
  assert.throws(() => parseManifestReference('.bad'), DistributionError);
});

test('link file names: the hex for sha256, <algorithm>-<hex> otherwise, and nothing else reads as a digest', () => {
  const d512 = parseDigest(`sha512:${'b'.repeat(128)}`);
  assert.equal(digestFileName(parseDigest(`sha256:${HEX}`)), HEX);
  assert.equal(digestFileName(d512), `sha512-${'b'.repeat(128)}`);
  assert.deepEqual(digestFromFileName(HEX), parseDigest(`sha256:${HEX}`));
  assert.deepEqual(digestFromFileName(`sha512-${'b'.repeat(128)}`), d512);
  for (const other of [`sha256-${HEX}`, `sha512-${HEX}`, 'b'.repeat(128), `${HEX}.tmp`, '..', `md5-${'a'.repeat(32)}`]) {
    assert.equal(digestFromFileName(other), undefined, other);
  }
});
