import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { Credentials, HtpasswdError } from '../../../src/registry/server/htpasswd.js';
import { authenticate, parseBasicAuthorization } from '../../../src/registry/server/basic-auth.js';
import { DistributionError } from '../../../src/registry/server/errors.js';

const sha = (pw: string) => `{SHA}${crypto.createHash('sha1').update(pw).digest('base64')}`;
const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;

test('htpasswd {SHA} and plain lines are checked; comments and blank lines skipped', () => {
  const c = Credentials.fromHtpasswd(`# users\nalice:${sha('s3cret')}\n\nbob:plainpw\r\n`);
  assert.equal(c.size, 2);
  assert.ok(c.verify('alice', 's3cret'));
  assert.ok(!c.verify('alice', 'wrong'));
  assert.ok(c.verify('bob', 'plainpw'));
  assert.ok(!c.verify('bob', 'plainPW'));
  assert.ok(!c.verify('carol', 'plainpw'));
});

test('a password may contain colons', () => {
  assert.ok(Credentials.fromHtpasswd('u:a:b:c').verify('u', 'a:b:c'));
});

test('bcrypt lines (htpasswd -B) are checked, and a password that passed is remembered', () => {
  // Hash made by libxcrypt: python3 -c "import crypt; print(crypt.crypt('secret', '$2b$05$abcdefghijklmnopqrstuu'))"
  const c = Credentials.fromHtpasswd('ok:pw\ndave:$2b$05$abcdefghijklmnopqrstuuOQiyCxlgf/oeuTqixKmWdcYUh4Hjl0a\n');
  assert.ok(c.verify('dave', 'secret'));
  assert.ok(c.verify('dave', 'secret'));
  assert.ok(!c.verify('dave', 'Secret'));
  assert.ok(!c.verify('dave', ''));
  assert.ok(c.verify('ok', 'pw'));
  assert.throws(() => Credentials.fromHtpasswd('eve:$2y$05$tooshort'), /user "eve": malformed bcrypt hash/);
});

test('$2x$, APR1 and crypt lines are refused with an error naming the user and line', () => {
  assert.throws(() => Credentials.fromHtpasswd('ok:pw\ndave:$2x$05$abcdefghijklmnopqrstuuOQiyCxlgf/oeuTqixKmWdcYUh4Hjl0a\n', '/etc/x/htpasswd'),
    (e: unknown) => e instanceof HtpasswdError && /htpasswd:2: user "dave" has a bcrypt \$2x\$ password/.test(e.message));
  assert.throws(() => Credentials.fromHtpasswd('erin:$apr1$xyz$abc'), /user "erin" has a APR1-MD5 password/);
  assert.throws(() => Credentials.fromHtpasswd('fay:$6$salt$hash'), /user "fay" has a crypt SHA password/);
});

test('malformed lines are refused', () => {
  assert.throws(() => Credentials.fromHtpasswd('nocolon'), HtpasswdError);
  assert.throws(() => Credentials.fromHtpasswd('u:{SHA}short'), /malformed \{SHA\}/);
});

test('fromMap users merge over htpasswd users', () => {
  const c = Credentials.fromHtpasswd('a:1').merge(Credentials.fromMap({ a: '2', b: '3' }));
  assert.ok(c.verify('a', '2'));
  assert.ok(!c.verify('a', '1'));
  assert.ok(c.verify('b', '3'));
});

test('Authorization: Basic is decoded; other schemes are not', () => {
  assert.deepEqual(parseBasicAuthorization(basic('u', 'p:w')), { user: 'u', password: 'p:w' });
  assert.equal(parseBasicAuthorization('Bearer abc'), null);
  assert.equal(parseBasicAuthorization(undefined), null);
});

test('authenticate returns the user or throws UNAUTHORIZED with the Basic challenge', () => {
  const c = Credentials.fromMap({ u: 'p' });
  assert.equal(authenticate(c, basic('u', 'p')), 'u');
  for (const h of [undefined, basic('u', 'x'), basic('x', 'p')]) {
    assert.throws(() => authenticate(c, h), (e: unknown) =>
      e instanceof DistributionError && e.status === 401 && e.code === 'UNAUTHORIZED' &&
      e.headers['WWW-Authenticate'] === 'Basic realm="berth-registry"');
  }
});
