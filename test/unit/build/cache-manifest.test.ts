/**
 * The build cache artifact (build/cache-manifest.ts): what `--cache-to`
 * writes parses back to the same steps, in BuildKit's shape, and what a
 * hostile cache directory may hold is refused before it names anything.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  CACHE_CONFIG_MEDIA_TYPE, INLINE_CACHE_FIELD, buildCacheArtifact, inlineCacheValue, isCacheManifest, parseCacheConfig, parseCacheManifest,
  parseInlineCache, type CacheStep,
} from '../../../src/build/cache-manifest.js';

const sha = (s: string) => `sha256:${createHash('sha256').update(s).digest('hex')}`;

function steps(): CacheStep[] {
  const base = sha('base-image');
  const img1 = sha('config-1');
  const img2 = sha('config-2');
  return [
    {
      key: sha('key-1'), parent: base, kind: 'RUN', original: 'RUN make', inputs: '{"kind":"RUN"}', context: '{}',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: img1, size: 100 },
      layer: {
        blob: { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha('blob-1'), size: 10 },
        diffId: sha('diff-1'), chainId: sha('chain-1'), parentChainId: sha('base-chain'), created: 1_700_000_000_000,
      },
      created: 1_700_000_000_000,
    },
    {
      key: sha('key-2'), parent: img1, kind: 'ENV', original: 'ENV A=b', inputs: '{"kind":"ENV"}', context: '{}',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: img2, size: 120 }, created: 1_700_000_000_000,
    },
  ];
}

test('an artifact parses back to the steps it was made of', () => {
  const a = buildCacheArtifact(steps());
  const m = JSON.parse(a.manifest.toString()) as { mediaType: string; config: { mediaType: string; digest: string }; layers: { digest: string }[] };
  assert.equal(m.mediaType, 'application/vnd.oci.image.manifest.v1+json');
  assert.equal(m.config.mediaType, CACHE_CONFIG_MEDIA_TYPE);
  assert.equal(a.manifestDesc.digest, sha(a.manifest.toString()));
  assert.equal(a.cacheConfigDesc.digest, sha(a.cacheConfig.toString()));
  const parsed = parseCacheManifest(a.manifest);
  assert.equal(parsed.cacheConfig.digest, a.cacheConfigDesc.digest);
  assert.deepEqual([...parsed.blobs.keys()].sort(), [sha('blob-1'), sha('config-1'), sha('config-2')].sort());
  const back = parseCacheConfig(a.cacheConfig, parsed.blobs);
  assert.equal(back.size, 2);
  const s1 = back.get(sha('key-1'))!;
  assert.equal(s1.parent, sha('base-image'));
  assert.equal(s1.config.digest, sha('config-1'));
  assert.equal(s1.layer?.diffId, sha('diff-1'));
  assert.equal(s1.layer?.blob.digest, sha('blob-1'));
  const s2 = back.get(sha('key-2'))!;
  assert.equal(s2.parent, sha('config-1'));
  assert.equal(s2.layer, undefined);
  // BuildKit's part: records linked to their parent, layers with their uncompressed digest.
  const c = JSON.parse(a.cacheConfig.toString()) as { layers: { blob: string; annotations: { diffID: string } }[]; records: { digest: string; inputs?: { link: number }[][] }[] };
  assert.equal(c.layers[0].annotations.diffID, sha('diff-1'));
  assert.deepEqual(c.records[1].inputs, [[{ link: 0 }]]);
});

test('a cache config without berth\'s steps (BuildKit\'s own) gives no steps', () => {
  const cfg = Buffer.from(JSON.stringify({ layers: [], records: [{ digest: sha('llb') }] }));
  assert.equal(parseCacheConfig(cfg, new Map()).size, 0);
});

test('hostile manifests and configs are refused', () => {
  assert.throws(() => parseCacheManifest(Buffer.from('not json')), /not JSON/);
  assert.throws(() => parseCacheManifest(Buffer.from(JSON.stringify({ mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: CACHE_CONFIG_MEDIA_TYPE, digest: 'sha256:../../etc/passwd', size: 1 }, layers: [] }))), /invalid digest/);
  assert.throws(() => parseCacheManifest(Buffer.from(JSON.stringify({ mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha('x'), size: 1 }, layers: [] }))), /not a cache manifest/);
  assert.throws(() => parseCacheManifest(Buffer.from(JSON.stringify({ mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: CACHE_CONFIG_MEDIA_TYPE, digest: sha('x'), size: -1 }, layers: [] }))), /invalid size/);
  const a = buildCacheArtifact(steps());
  const { blobs } = parseCacheManifest(a.manifest);
  const cfg = JSON.parse(a.cacheConfig.toString()) as Record<string, any>;
  const mutate = (f: (c: Record<string, any>) => void) => {
    const c = structuredClone(cfg);
    f(c);
    return Buffer.from(JSON.stringify(c));
  };
  assert.throws(() => parseCacheConfig(mutate((c) => { c['berth.steps.v1'][0].key = '../x'; }), blobs), /invalid digest/);
  assert.throws(() => parseCacheConfig(mutate((c) => { c['berth.steps.v1'][0].layer = 7; }), blobs), /invalid layer index/);
  assert.throws(() => parseCacheConfig(mutate((c) => { c['berth.steps.v1'][0].image = sha('unlisted'); }), blobs), /not in the manifest/);
  assert.throws(() => parseCacheConfig(mutate((c) => { c.layers[0].blob = sha('unlisted-blob'); }), blobs), /not in the manifest/);
  assert.throws(() => parseCacheConfig(mutate((c) => { c.layers[0].annotations.diffID = 'md5:x'; }), blobs), /invalid digest/);
  assert.throws(() => parseCacheConfig(mutate((c) => { c['berth.steps.v1'][1].parent = 'sha256:zz'; }), blobs), /invalid digest/);
});

test('an inline cache value parses back to its steps\' keys and history lines; malformed records give none', () => {
  const value = inlineCacheValue([{ key: sha('k1'), history: 3, layer: 1 }, { key: sha('k2'), history: 4 }]);
  const steps = parseInlineCache({ [INLINE_CACHE_FIELD]: value }, 5);
  assert.deepEqual([...steps.entries()], [[sha('k1'), 3], [sha('k2'), 4]]);
  // A history line the image does not have, a bad key, not base64 JSON, BuildKit's records: skipped.
  assert.equal(parseInlineCache({ [INLINE_CACHE_FIELD]: value }, 4).size, 1);
  const records = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64');
  assert.equal(parseInlineCache({ [INLINE_CACHE_FIELD]: records([{ digest: '../x', 'berth.step.v1': { history: 0 } }]) }, 5).size, 0);
  assert.equal(parseInlineCache({ [INLINE_CACHE_FIELD]: records([{ digest: sha('k'), 'berth.step.v1': { history: -1 } }]) }, 5).size, 0);
  assert.equal(parseInlineCache({ [INLINE_CACHE_FIELD]: records([{ digest: sha('k'), layers: [{ layer: 0 }] }]) }, 5).size, 0);
  assert.equal(parseInlineCache({ [INLINE_CACHE_FIELD]: 'not base64 json' }, 5).size, 0);
  assert.equal(parseInlineCache({}, 5).size, 0);
});

test('a manifest is told apart as a cache artifact or an image', () => {
  assert.equal(isCacheManifest(buildCacheArtifact(steps()).manifest), true);
  assert.equal(isCacheManifest(Buffer.from(JSON.stringify({ manifests: [{ mediaType: CACHE_CONFIG_MEDIA_TYPE, digest: sha('c'), size: 1 }] }))), true);
  assert.equal(isCacheManifest(Buffer.from(JSON.stringify({ config: { mediaType: 'application/vnd.oci.image.config.v1+json' }, layers: [] }))), false);
  assert.equal(isCacheManifest(Buffer.from('{')), false);
});
