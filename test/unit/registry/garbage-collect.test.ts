/**
 * The pure parts of garbage collection: what a manifest references, which
 * manifests of a repository are live, and the lock file's format.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MEDIA_TYPES, manifestReferences, type ManifestReferences } from '../../../src/registry/server/manifest.js';
import { liveManifests } from '../../../src/registry/server/garbage-collect.js';
import { sha256Digest, type Digest } from '../../../src/registry/server/names.js';
import { formatLockHolder, parseLockHolder } from '../../../src/registry/server/root-lock.js';
import { DistributionError } from '../../../src/registry/server/errors.js';

const hex = (c: string) => c.repeat(64);
const d = (c: string) => `sha256:${hex(c)}`;
const buf = (v: unknown) => Buffer.from(JSON.stringify(v));
const digests = (ds: Digest[]) => ds.map((x) => x.value);

test('an OCI image manifest references its config and layers', () => {
  const refs = manifestReferences(buf({
    schemaVersion: 2, mediaType: MEDIA_TYPES.ociManifest,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: d('1'), size: 1 },
    layers: [
      { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: d('2'), size: 2 },
      { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: d('3'), size: 3 },
    ],
  }), MEDIA_TYPES.ociManifest);
  assert.deepEqual(digests(refs.blobs), [d('1'), d('2'), d('3')]);
  assert.deepEqual(refs.manifests, []);
  assert.equal(refs.subject, undefined);
});

test('a Docker schema 2 manifest without mediaType in the body is read by the type stored with it', () => {
  const refs = manifestReferences(buf({
    schemaVersion: 2,
    config: { mediaType: 'application/vnd.docker.container.image.v1+json', digest: d('4'), size: 1 },
    layers: [{ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', digest: d('5'), size: 2 }],
  }), MEDIA_TYPES.dockerManifest);
  assert.deepEqual(digests(refs.blobs), [d('4'), d('5')]);
});

test('an OCI index and a Docker manifest list reference their manifests, not blobs', () => {
  for (const mediaType of [MEDIA_TYPES.ociIndex, MEDIA_TYPES.dockerList]) {
    const refs = manifestReferences(buf({
      schemaVersion: 2, mediaType,
      manifests: [
        { mediaType: MEDIA_TYPES.ociManifest, digest: d('6'), size: 1, platform: { os: 'linux', architecture: 'amd64' } },
        { mediaType: MEDIA_TYPES.ociManifest, digest: d('7'), size: 1, platform: { os: 'linux', architecture: 'arm64' } },
      ],
    }), mediaType);
    assert.deepEqual(digests(refs.manifests), [d('6'), d('7')], mediaType);
    assert.deepEqual(refs.blobs, []);
  }
});

test('an artifact references its config, blobs and layers, and names its subject', () => {
  const refs = manifestReferences(buf({
    schemaVersion: 2, mediaType: MEDIA_TYPES.ociManifest, artifactType: 'application/example',
    config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: d('8'), size: 2 },
    layers: [{ mediaType: 'application/octet-stream', digest: d('9'), size: 5 }],
    blobs: [{ mediaType: 'application/octet-stream', digest: d('a'), size: 5 }],
    subject: { mediaType: MEDIA_TYPES.ociManifest, digest: d('b'), size: 100 },
  }), MEDIA_TYPES.ociManifest);
  assert.deepEqual(digests(refs.blobs), [d('8'), d('9'), d('a')]);
  assert.equal(refs.subject?.value, d('b'));
});

test('sha512 digests are references like sha256 ones; digests of no registered algorithm are left out; foreign layers kept', () => {
  const refs = manifestReferences(buf({
    schemaVersion: 2, mediaType: MEDIA_TYPES.ociManifest,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: d('1'), size: 1 },
    layers: [
      { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: `sha512:${'c'.repeat(128)}`, size: 2 },
      { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: `md5:${'e'.repeat(32)}`, size: 2 },
      { mediaType: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip', digest: d('d'), size: 3, urls: ['https://example.com/l'] },
    ],
  }), MEDIA_TYPES.ociManifest);
  assert.deepEqual(digests(refs.blobs), [d('1'), `sha512:${'c'.repeat(128)}`, d('d')]);
});

test('what PUT would refuse throws MANIFEST_INVALID: not JSON, schema 1, an index without manifests', () => {
  const invalid = (e: unknown) => e instanceof DistributionError && e.code === 'MANIFEST_INVALID';
  assert.throws(() => manifestReferences(Buffer.from('{"schemaVersion": 2, "config": '), MEDIA_TYPES.ociManifest), invalid);
  assert.throws(() => manifestReferences(buf({ schemaVersion: 1, name: 'x', tag: 'y', fsLayers: [] }), MEDIA_TYPES.dockerSchema1Signed), invalid);
  assert.throws(() => manifestReferences(buf({ schemaVersion: 2, mediaType: MEDIA_TYPES.ociIndex }), MEDIA_TYPES.ociIndex), invalid);
  assert.throws(() => manifestReferences(buf({ schemaVersion: 2, mediaType: MEDIA_TYPES.ociIndex, manifests: [] }), MEDIA_TYPES.ociManifest), invalid,
    'a body that contradicts the stored type');
});

/** A repository in memory: manifests by letter, each with its references. */
function graph(revisions: string[], tagged: string[], refs: Record<string, Partial<Record<keyof ManifestReferences, string | string[]>> | 'unreadable'>) {
  const digest = (c: string) => sha256Digest(hex(c));
  return {
    revisions: revisions.map(digest),
    tagged: tagged.map(digest),
    async references(x: Digest): Promise<ManifestReferences | undefined> {
      const entry = Object.entries(refs).find(([c]) => hex(c) === x.hex)?.[1];
      if (entry === 'unreadable') return undefined;
      const list = (v: string | string[] | undefined) => (Array.isArray(v) ? v : v ? [v] : []).map(digest);
      const out: ManifestReferences = { blobs: list(entry?.blobs), manifests: list(entry?.manifests) };
      if (typeof entry?.subject === 'string') out.subject = digest(entry.subject);
      return out;
    },
  };
}
const letters = (live: Set<string>) => [...live].map((d) => d.slice(d.indexOf(':') + 1)[0]).sort();

test('without --delete-untagged every revision is live, and what live indexes list', async () => {
  const g = graph(['1', '2', '3'], [], { 1: { manifests: ['4'] }, 2: {}, 3: 'unreadable' });
  assert.deepEqual(letters(await liveManifests(g, false)), ['1', '2', '3', '4']);
});

test('with --delete-untagged a tag keeps its manifest, an index its children (nested), nothing else', async () => {
  const g = graph(['1', '2', '3', '4', '5', '6'], ['1'], {
    1: { manifests: ['2', '3'] }, // index
    2: { manifests: ['4'] }, // nested index
    3: { blobs: ['a'] },
    4: { blobs: ['b'] },
    5: { blobs: ['c'] }, // untagged
    6: { manifests: ['5'] }, // untagged index: its child is not kept by it
  });
  assert.deepEqual(letters(await liveManifests(g, true)), ['1', '2', '3', '4']);
});

test('referrers live while their subject does, referrers of referrers too; a dead subject takes its referrers along', async () => {
  const g = graph(['1', '2', '3', '4', '5', '6'], ['1'], {
    1: {},
    2: { subject: '1' }, // signature of a tagged image
    3: { subject: '2' }, // signature of the signature
    4: {}, // untagged
    5: { subject: '4' }, // referrer of an untagged image
    6: { subject: '9' }, // referrer of a manifest that does not exist
  });
  assert.deepEqual(letters(await liveManifests(g, true)), ['1', '2', '3']);
});

test('referrers are found whatever order the revisions are listed in', async () => {
  const g = graph(['1', '2', '3'], ['3'], { 1: { subject: '3' }, 2: { subject: '1' }, 3: {} });
  assert.deepEqual(letters(await liveManifests(g, true)), ['1', '2', '3']);
});

test('the lock file: pid first, then what holds it, its start time and pid namespace', () => {
  const h = { pid: 4242, command: 'registry serve', startTime: '123456', pidNamespace: 'pid:[4026531836]' };
  const text = formatLockHolder(h);
  assert.equal(text.split('\n')[0], '4242');
  assert.deepEqual(parseLockHolder(text), h);
  assert.deepEqual(parseLockHolder('77\n'), { pid: 77, command: '' });
  for (const bad of ['', '\n', 'abc\nregistry serve\n', '0\n', '-1\n', '12 34\n']) assert.equal(parseLockHolder(bad), undefined, JSON.stringify(bad));
});
