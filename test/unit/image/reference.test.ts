import { test } from 'node:test';
import assert from 'node:assert/strict';
import { familiarString, formatReference, normalizeTagged, parseReference, repoTagReference, withDefaultTag, looksLikeId } from '../../../src/image/reference.js';

test('a bare name normalises to docker.io/library/<name>:latest', () => {
  assert.equal(normalizeTagged('busybox'), 'docker.io/library/busybox:latest');
  assert.equal(normalizeTagged('user/app:1.0'), 'docker.io/user/app:1.0');
});

test('a first component with a dot, a port or localhost is a registry domain', () => {
  const r = parseReference('127.0.0.1:5000/a/b:tag');
  assert.deepEqual([r.domain, r.path, r.tag], ['127.0.0.1:5000', 'a/b', 'tag']);
  assert.equal(parseReference('localhost/x').domain, 'localhost');
  assert.equal(parseReference('registry.example.com/team/x').path, 'team/x');
});

test('digest references keep the digest and take no default tag', () => {
  const d = 'sha256:' + 'a'.repeat(64);
  const r = withDefaultTag(parseReference(`busybox@${d}`));
  assert.equal(r.digest, d);
  assert.equal(r.tag, undefined);
});

test('familiar form drops docker.io/library', () => {
  assert.equal(familiarString(withDefaultTag(parseReference('busybox'))), 'busybox:latest');
  assert.equal(familiarString(withDefaultTag(parseReference('host:5000/x'))), 'host:5000/x:latest');
});

test('invalid references are refused with Docker\'s message', () => {
  assert.throws(() => parseReference('Busybox'), /must be lowercase/);
  assert.throws(() => parseReference('a b'), /invalid reference format/);
  assert.throws(() => parseReference('x:'), /invalid reference format/);
  assert.throws(() => parseReference(''), /invalid reference format/);
});

test('an upper-case name is refused naming the repository as distribution\'s ParseNormalizedNamed does', () => {
  const lower = (remote: string) => ({ message: `invalid reference format: repository name (${remote}) must be lowercase` });
  assert.throws(() => parseReference('Busybox'), lower('library/Busybox'));
  assert.throws(() => parseReference('Busybox:1.36'), lower('library/Busybox'));
  assert.throws(() => parseReference('Bad:Ref:x'), lower('library/Bad'));
  assert.throws(() => parseReference('Bad/Repo'), lower('Repo'));
  assert.throws(() => parseReference('user/App:1'), lower('user/App'));
  assert.throws(() => parseReference('example.com/Foo:1'), lower('Foo'));
  assert.throws(() => parseReference('docker.io/Foo'), lower('library/Foo'));
  assert.throws(() => parseReference('localhost/Foo/bar'), lower('Foo/bar'));
});

test('hex strings look like image IDs', () => {
  assert.ok(looksLikeId('0123456789ab'));
  assert.ok(!looksLikeId('busybox'));
});

test('64 hex digits alone are an image ID, never a repository name', () => {
  const hex = 'b'.repeat(64);
  assert.throws(() => parseReference(hex), { message: `invalid repository name (${hex}), cannot specify 64-byte hexadecimal strings` });
  assert.equal(parseReference(`x/${hex}`).path, `x/${hex}`);
});

test('repo and tag query parameters: tag replaces the tag of repo, latest by default, no digests', () => {
  assert.equal(formatReference(repoTagReference('busybox')), 'docker.io/library/busybox:latest');
  assert.equal(formatReference(repoTagReference('busybox:1', '2')), 'docker.io/library/busybox:2');
  assert.throws(() => repoTagReference('b'.repeat(64), 'x'), /cannot specify 64-byte hexadecimal strings/);
  assert.throws(() => repoTagReference(`busybox@sha256:${'c'.repeat(64)}`), /cannot import digest reference/);
  assert.throws(() => repoTagReference('busybox', 'bad tag'), /invalid tag format/);
});
