import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hex } from '../../../src/store/paths.js';

const H = 'a'.repeat(64);

test('hex: a sha256 digest, prefixed or bare, names its hex', () => {
  assert.equal(hex(`sha256:${H}`), H);
  assert.equal(hex(H), H);
});

test('hex: nothing but 64 lower-case hex digits ever names a file', () => {
  for (const bad of [
    'sha256:../../../../etc/passwd', `sha256:${H}/..`, `sha512:${'b'.repeat(128)}`, `sha256:${H.toUpperCase()}`,
    '', 'sha256:', `${H}\n`, `sha256:${H.slice(1)}`, '../x',
  ]) {
    assert.throws(() => hex(bad), /invalid digest/, bad);
  }
});
