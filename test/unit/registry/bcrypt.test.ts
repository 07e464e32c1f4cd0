import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { bcryptHash, bcryptVerify, isBcryptHash } from '../../../src/registry/server/bcrypt.js';

// Every expected hash below was made by libxcrypt (glibc's crypt on Debian 12):
//   python3 -c "import crypt, sys; print(crypt.crypt(sys.argv[1], sys.argv[2]))" PASSWORD SETTING
const VECTORS: [string, string, string][] = [
  ['secret', '$2b$05$abcdefghijklmnopqrstuu', '$2b$05$abcdefghijklmnopqrstuuOQiyCxlgf/oeuTqixKmWdcYUh4Hjl0a'],
  ['', '$2b$05$abcdefghijklmnopqrstuu', '$2b$05$abcdefghijklmnopqrstuu0oImNDIy4flhldV9YqunRgBAePKmw7m'],
  ['a much longer password with spaces and ünïcode', '$2b$05$abcdefghijklmnopqrstuu', '$2b$05$abcdefghijklmnopqrstuuxJ0TkdZY55pFbSL479z2G31AS92DS7W'],
  // Longer than bcrypt's 72-byte key: only the first 72 bytes count.
  ['x'.repeat(80), '$2b$05$abcdefghijklmnopqrstuu', '$2b$05$abcdefghijklmnopqrstuujf8SX2ahXLwp9w/B.Y5XdysS6yR576q'],
  ['pw', '$2y$10$0123456789ABCDEFGHIJKu', '$2y$10$0123456789ABCDEFGHIJKubhvMxSFQ8QmXOEgby1DldX0t30aDz96'],
];

// The published vectors of jBCrypt's and OpenBSD's bcrypt tests ($2a$), also what libxcrypt gives.
const PUBLISHED: [string, string][] = [
  ['', '$2a$06$DCq7YPn5Rq63x1Lad4cll.TV4S6ytwfsfvkgY8jIucDrjc8deX1s.'],
  ['a', '$2a$06$m0CrhHm10qJ3lXRY.5zDGO3rS2KdeeWLuGmsfGlMfOxih58VYVfxe'],
  ['abc', '$2a$06$If6bvum7DFjUnE9p2uDeDu0YHzrHM6tf.iqN8.yx.jNN1ILEf7h0i'],
  ['abcdefghijklmnopqrstuvwxyz', '$2a$06$.rCVZVOThsIa97pEDOxvGuRRgzG64bvtJ0938xuqzv18d3ZpQhstC'],
  ['~!@#$%^&*()      ~!@#$%^&*()PNBFRD', '$2a$06$fPIsBO8qRqkjj273rfaOI.HtSV9jLDpTbZn782DC6/t7qT67P6FfO'],
];

test('the published $2a$ test vectors verify, and hash to themselves', () => {
  for (const [password, hash] of PUBLISHED) {
    assert.equal(bcryptVerify(password, hash), true, JSON.stringify(password));
    assert.equal(bcryptVerify(password + 'x', hash), false, JSON.stringify(password));
    assert.equal(bcryptHash(password, hash), hash, JSON.stringify(password));
  }
});

function htpasswdBinary(): string | undefined {
  try {
    return execFileSync('sh', ['-c', 'command -v htpasswd'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

test('a line written by htpasswd -B (apache2-utils) verifies', { skip: htpasswdBinary() ? false : 'htpasswd (apache2-utils) is not installed' }, () => {
  const line = execFileSync(htpasswdBinary()!, ['-nbB', '-C', '5', 'alice', 'wonder land'], { encoding: 'utf8' }).trim();
  const hash = line.slice('alice:'.length);
  assert.match(hash, /^\$2y\$05\$/);
  assert.equal(bcryptVerify('wonder land', hash), true);
  assert.equal(bcryptVerify('wonderland', hash), false);
});

test('bcrypt hashes match libxcrypt for $2b$ and $2y$, short, empty, non-ASCII and over-long passwords', () => {
  for (const [password, setting, expected] of VECTORS) assert.equal(bcryptHash(password, setting), expected, JSON.stringify(password));
});

test('verify accepts the password and nothing else; malformed hashes never match', () => {
  const [, , hash] = VECTORS[0];
  assert.equal(bcryptVerify('secret', hash), true);
  assert.equal(bcryptVerify('secreT', hash), false);
  assert.equal(bcryptVerify('x'.repeat(72), VECTORS[3][2]), true, 'bytes past the 72nd do not count');
  assert.equal(bcryptVerify('secret', '$2b$05$short'), false);
  assert.equal(isBcryptHash(hash), true);
  assert.equal(isBcryptHash('{SHA}abc'), false);
  assert.equal(isBcryptHash('$2b$99$abcdefghijklmnopqrstuuOQiyCxlgf/oeuTqixKmWdcYUh4Hjl0a'), false, 'cost out of range');
  assert.equal(isBcryptHash('$2x$05$abcdefghijklmnopqrstuuOQiyCxlgf/oeuTqixKmWdcYUh4Hjl0a'), false, '$2x$ is not ours to check');
});
