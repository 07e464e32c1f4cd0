import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MEDIA_TYPES, bareMediaType, isExternalLayer, parseManifest } from '../../../src/registry/server/manifest.js';
import { DistributionError } from '../../../src/registry/server/errors.js';

const d = (c: string) => `sha256:${c.repeat(64)}`;
const image = {
  schemaVersion: 2,
  mediaType: MEDIA_TYPES.ociManifest,
  config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: d('1'), size: 10 },
  layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: d('2'), size: 20 }],
};
const buf = (v: unknown) => Buffer.from(JSON.stringify(v));
const invalid = (e: unknown) => e instanceof DistributionError && e.code === 'MANIFEST_INVALID' && e.status === 400;

test('an image manifest: its config and layers are the blobs it needs', () => {
  const p = parseManifest(buf(image), MEDIA_TYPES.ociManifest);
  assert.equal(p.mediaType, MEDIA_TYPES.ociManifest);
  assert.deepEqual(p.blobs.map((b) => b.digest), [d('1'), d('2')]);
  assert.deepEqual(p.manifests, []);
  assert.equal(p.artifactType, 'application/vnd.oci.image.config.v1+json');
});

test('an index: its manifests are what it needs', () => {
  const idx = { schemaVersion: 2, mediaType: MEDIA_TYPES.ociIndex, manifests: [{ mediaType: MEDIA_TYPES.ociManifest, digest: d('3'), size: 5 }] };
  const p = parseManifest(buf(idx), `${MEDIA_TYPES.ociIndex}; charset=utf-8`);
  assert.deepEqual(p.manifests.map((m) => m.digest), [d('3')]);
  assert.deepEqual(p.blobs, []);
  assert.equal(p.artifactType, undefined);
});

test('Content-Type must match the body mediaType', () => {
  assert.throws(() => parseManifest(buf(image), MEDIA_TYPES.dockerManifest), invalid);
});

test('the media type comes from the body, else the header, else the shape', () => {
  const { mediaType: _m, ...bare } = image;
  assert.equal(parseManifest(buf(bare), MEDIA_TYPES.dockerManifest).mediaType, MEDIA_TYPES.dockerManifest);
  assert.equal(parseManifest(buf(bare), undefined).mediaType, MEDIA_TYPES.ociManifest);
  assert.equal(parseManifest(buf(image), 'application/octet-stream').mediaType, MEDIA_TYPES.ociManifest);
  assert.equal(parseManifest(buf({ schemaVersion: 2, manifests: [] }), undefined).mediaType, MEDIA_TYPES.ociIndex);
});

test('subject, artifactType and annotations are read for the referrers API', () => {
  const art = { ...image, artifactType: 'application/x.sbom', subject: { mediaType: MEDIA_TYPES.ociManifest, digest: d('9'), size: 1 }, annotations: { k: 'v' } };
  const p = parseManifest(buf(art), MEDIA_TYPES.ociManifest);
  assert.equal(p.subject?.digest, d('9'));
  assert.equal(p.artifactType, 'application/x.sbom');
  assert.deepEqual(p.annotations, { k: 'v' });
});

test('broken manifests are MANIFEST_INVALID', () => {
  assert.throws(() => parseManifest(Buffer.from('{not json'), undefined), invalid);
  assert.throws(() => parseManifest(buf([1]), undefined), invalid);
  assert.throws(() => parseManifest(buf({ ...image, schemaVersion: 1 }), undefined), /schema 1/);
  assert.throws(() => parseManifest(buf({ ...image, schemaVersion: 3 }), undefined), invalid);
  assert.throws(() => parseManifest(buf({ ...image, config: undefined }), undefined), /config is required/);
  assert.throws(() => parseManifest(buf({ ...image, layers: [{ digest: 'nope', size: 1 }] }), undefined), /invalid digest/);
  assert.throws(() => parseManifest(buf({ ...image, layers: [{ digest: d('2'), size: -1 }] }), undefined), /invalid size/);
  assert.throws(() => parseManifest(buf({ schemaVersion: 2, mediaType: MEDIA_TYPES.ociIndex }), undefined), /manifests is required/);
});

test('foreign layers with urls need not be in the registry', () => {
  assert.ok(isExternalLayer({ mediaType: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip', digest: d('1'), size: 1, urls: ['https://x'] }));
  assert.ok(!isExternalLayer({ mediaType: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip', digest: d('1'), size: 1 }));
  assert.ok(!isExternalLayer({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: d('1'), size: 1, urls: ['https://x'] }));
});

test('bareMediaType drops parameters', () => {
  assert.equal(bareMediaType('Application/JSON; charset=utf-8'), 'application/json');
  assert.equal(bareMediaType(''), undefined);
});
