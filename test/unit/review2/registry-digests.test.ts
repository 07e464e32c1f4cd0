/**
 * The registry server's digest parsing, as an attacker would try it: every
 * digest that passes names a file under blobs/<algorithm>/ safely (a
 * registered algorithm, exactly its hex length, lower case), and file names
 * map back to one digest only.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { digestFileName, digestFromBlobName, digestFromFileName, parseDigest } from '../../../src/registry/server/names.js';

const h64 = 'a'.repeat(64);
const h128 = 'b'.repeat(128);

test('only registered algorithms at their own length, lower-case hex, pass', () => {
  assert.equal(parseDigest(`sha256:${h64}`).hex, h64);
  assert.equal(parseDigest(`sha512:${h128}`).algorithm, 'sha512');
  for (const bad of [
    `sha512:${h64}`, `sha256:${h128}`, `sha384:${'c'.repeat(96)}`, `SHA256:${h64}`, `sha256:${h64.toUpperCase()}`,
    `sha256:${h64}\n`, `sha256:${h64.slice(1)}/`, `sha256:../../${h64.slice(6)}`, `sha256+b64:${h64}`, `sha256:${h64}:x`,
    `sha512:${h128.slice(2)}==`, `__proto__:${h64}`, `constructor:${h64}`, `toString:${h64}`, '', 'sha256:',
  ]) {
    assert.throws(() => parseDigest(bad), (e: Error & { code?: string }) => e.code === 'DIGEST_INVALID' || /digest/i.test(e.message), bad);
  }
});

test('link and blob file names map to exactly one digest', () => {
  const d = parseDigest(`sha512:${h128}`);
  assert.equal(digestFileName(d), `sha512-${h128}`);
  assert.equal(digestFromFileName(`sha512-${h128}`)?.value, d.value);
  assert.equal(digestFromFileName(`sha256-${h64}`), undefined, 'sha256 links are bare hex only');
  assert.equal(digestFromFileName(h64)?.value, `sha256:${h64}`);
  assert.equal(digestFromFileName(`sha512-${h64}`), undefined);
  assert.equal(digestFromFileName('..'), undefined);
  assert.equal(digestFromBlobName('sha512', h64), undefined);
  assert.equal(digestFromBlobName('sha256', h64.toUpperCase()), undefined);
});
