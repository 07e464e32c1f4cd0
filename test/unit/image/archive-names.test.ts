import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidParameterError } from '../../../src/errors.js';
import { blobPath, parseArchivePath, parseDigest, symlinkTarget, tarEntryName } from '../../../src/image/archive-names.js';

const HEX = 'a'.repeat(64);
const refused = (re: RegExp) => (e: unknown) => e instanceof InvalidParameterError && re.test(e.message);

test('a digest is sha256: and 64 lowercase hex digits', () => {
  assert.equal(parseDigest(`sha256:${HEX}`, 'index.json'), `sha256:${HEX}`);
  assert.throws(() => parseDigest('sha256:../../etc/passwd', 'index.json'), refused(/^invalid digest "sha256:\.\.\/\.\.\/etc\/passwd" in index\.json: invalid checksum digest format$/));
  assert.throws(() => parseDigest(`sha256:${HEX}/x`, 'index.json'), refused(/invalid checksum digest format/));
  assert.throws(() => parseDigest(`sha256:${'A'.repeat(64)}`, 'index.json'), refused(/invalid checksum digest format/));
  assert.throws(() => parseDigest(`sha256:${HEX.slice(1)}`, 'index.json'), refused(/invalid checksum digest length/));
  assert.throws(() => parseDigest(`sha512:${'a'.repeat(128)}`, 'index.json'), refused(/unsupported digest algorithm sha512/));
  assert.throws(() => parseDigest(HEX, 'index.json'), refused(/invalid checksum digest format/));
  assert.throws(() => parseDigest(`sha256:${HEX}\n`, 'x'), refused(/invalid digest "sha256:a+\\n"/));
  assert.throws(() => parseDigest(42, 'x'), refused(/invalid digest "42" in x: not a string/));
  assert.throws(() => parseDigest(undefined, 'x'), refused(/not a string/));
  assert.throws(() => parseDigest('sha256:' + '.'.repeat(10_000), 'x'), (e: unknown) => e instanceof Error && e.message.length < 300, 'long names are cut short');
});

test('blob paths come from checked digests', () => {
  assert.equal(blobPath(`sha256:${HEX}`), `blobs/sha256/${HEX}`);
});

test('manifest.json paths are relative, without "..", in canonical form', () => {
  assert.equal(parseArchivePath(`${HEX}/layer.tar`, 'm'), `${HEX}/layer.tar`);
  assert.equal(parseArchivePath('./blobs//sha256/./x/', 'm'), 'blobs/sha256/x');
  for (const bad of ['/etc/passwd', '../x', 'a/../../x', 'a/../b', '..', '', '.', './', 'a\0b', 'x'.repeat(5000)]) {
    assert.throws(() => parseArchivePath(bad, 'manifest.json'), refused(/^invalid path .* in manifest\.json: paths in an archive must be relative/), JSON.stringify(bad.slice(0, 20)));
  }
  assert.throws(() => parseArchivePath(7, 'manifest.json'), refused(/invalid path "7"/));
  assert.throws(() => parseArchivePath(null, 'manifest.json'), refused(/invalid path "null"/));
});

test('tar entry names: "./" is the root; absolute names and ".." are refused', () => {
  assert.equal(tarEntryName('./'), '');
  assert.equal(tarEntryName('./manifest.json'), 'manifest.json');
  assert.equal(tarEntryName('blobs/sha256/'), 'blobs/sha256');
  for (const bad of ['/etc/cron.d/x', '../escape', 'blobs/../../escape', 'a/..']) {
    assert.throws(() => tarEntryName(bad), refused(/^invalid tar entry name .*: names in an archive must be relative and must not contain "\.\."$/), bad);
  }
});

test('symlink targets resolve by name inside the archive, or not at all', () => {
  // What docker save writes for a layer two images share.
  assert.equal(symlinkTarget('b/layer.tar', '../a/layer.tar'), 'a/layer.tar');
  assert.equal(symlinkTarget('blobs/sha256/x', 'y'), 'blobs/sha256/y');
  assert.equal(symlinkTarget('x', './y/./z'), 'y/z');
  assert.equal(symlinkTarget('a/b', '..'), '');
  assert.equal(symlinkTarget('a/b', '../..'), null, 'above the root');
  assert.equal(symlinkTarget('b/layer.tar', '../../../../dev/zero'), null);
  assert.equal(symlinkTarget('x', '/dev/zero'), null, 'absolute');
  assert.equal(symlinkTarget('x', ''), null);
  assert.equal(symlinkTarget('x', 'a\0b'), null);
});
