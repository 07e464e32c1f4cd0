import { test } from 'node:test';
import assert from 'node:assert/strict';
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
});
