/**
 * The unpacked `docker load` archive and the plan read from its index:
 * names inside the archive are checked before they name a file, only
 * regular files of the archive are read, and descriptors' sizes and digests
 * hold. Unprivileged; nothing of the host is touched but a temp dir.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidParameterError } from '../../../src/errors.js';
import { planLoad } from '../../../src/image/load-plan.js';
import { MAX_JSON_SIZE, UnpackedArchive, openArchiveFile } from '../../../src/image/unpacked-archive.js';
import { collect, streamOf, tarOf, tempDir, type FixtureEntry } from '../../helpers/layer-fixtures.js';

const sha = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const hexOf = (d: string) => d.slice(7);
const refused = (re: RegExp) => (e: unknown) => e instanceof InvalidParameterError && re.test(e.message);

const LAYER = tarOf([{ name: 'hello', content: 'hi\n' }]);
const LAYER_ID = sha(LAYER);
const configOf = (diffIds: string[]) => Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: diffIds } }));
const CONFIG = configOf([LAYER_ID, LAYER_ID]);

async function unpack(t: TestContext, entries: FixtureEntry[] | Buffer): Promise<{ archive: UnpackedArchive; dir: string }> {
  const dir = await tempDir(t, 'berth-load-');
  const archive = await UnpackedArchive.unpack(streamOf(Buffer.isBuffer(entries) ? entries : tarOf(entries)), dir);
  return { archive, dir };
}

/** A docker save archive of the pre-25 kind: legacy layer dirs, the second a symlink to the first (what docker save writes for a repeated layer). */
function dockerSave(o: { manifest?: unknown; extra?: FixtureEntry[]; layerLink?: string } = {}): FixtureEntry[] {
  const configName = `${hexOf(sha(CONFIG))}.json`;
  return [
    { name: 'aaaa/', type: 'dir' },
    { name: 'aaaa/layer.tar', content: LAYER },
    { name: 'bbbb/', type: 'dir' },
    { name: 'bbbb/layer.tar', type: 'symlink', linkname: o.layerLink ?? '../aaaa/layer.tar' },
    { name: configName, content: CONFIG },
    ...(o.extra ?? []),
    { name: 'manifest.json', content: JSON.stringify(o.manifest ?? [{ Config: configName, RepoTags: ['busybox:latest', 'localhost:5000/x/y:2'], Layers: ['aaaa/layer.tar', 'bbbb/layer.tar'] }]) },
    { name: 'repositories', content: '{"../../../etc":{"x":"../../y"}}' },
  ];
}

/** An OCI image layout; `mutate` changes the index or the manifest before they are written. */
function ociLayout(o: { index?: (i: any) => void; manifest?: (m: any) => void; blobs?: FixtureEntry[] } = {}): FixtureEntry[] {
  const manifest: any = {
    schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha(CONFIG), size: CONFIG.length },
    layers: [0, 1].map(() => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: LAYER_ID, size: LAYER.length })),
  };
  o.manifest?.(manifest);
  const mBytes = Buffer.from(JSON.stringify(manifest));
  const index: any = { schemaVersion: 2, manifests: [{ mediaType: manifest.mediaType, digest: sha(mBytes), size: mBytes.length, annotations: { 'io.containerd.image.name': 'docker.io/library/app:1' } }] };
  o.index?.(index);
  return [
    { name: 'oci-layout', content: '{"imageLayoutVersion":"1.0.0"}' },
    { name: `blobs/sha256/${hexOf(LAYER_ID)}`, content: LAYER },
    { name: `blobs/sha256/${hexOf(sha(CONFIG))}`, content: CONFIG },
    { name: `blobs/sha256/${hexOf(sha(mBytes))}`, content: mBytes },
    ...(o.blobs ?? []),
    { name: 'index.json', content: JSON.stringify(index) },
  ];
}

test('a docker save archive: layer dirs, a symlinked repeated layer, tags normalised', async (t) => {
  const { archive, dir } = await unpack(t, dockerSave());
  const [img, ...rest] = await planLoad(archive);
  assert.equal(rest.length, 0);
  assert.deepEqual(await archive.read(img.config), CONFIG);
  assert.deepEqual(img.diffIds, [LAYER_ID, LAYER_ID]);
  assert.deepEqual(img.layers.map((l) => l.path), ['aaaa/layer.tar', 'aaaa/layer.tar']);
  assert.deepEqual(await collect(openArchiveFile(img.layers[1])), LAYER);
  assert.deepEqual(img.tags, [
    { ref: 'docker.io/library/busybox:latest', familiar: 'busybox:latest' },
    { ref: 'localhost:5000/x/y:2', familiar: 'localhost:5000/x/y:2' },
  ]);
  assert.ok((await readdir(dir)).every((n) => /^\d+$/.test(n)), 'files are stored under names of ours only');
});

test('an OCI layout: blobs by digest, sizes and digests checked, gzip-compressed archive accepted', async (t) => {
  const { archive } = await unpack(t, tarOf(ociLayout(), { gzip: true }));
  const [img] = await planLoad(archive);
  assert.deepEqual(img.diffIds, [LAYER_ID, LAYER_ID]);
  assert.deepEqual(img.tags, [{ ref: 'docker.io/library/app:1', familiar: 'app:1' }]);
  assert.equal(img.layers[0].size, LAYER.length);
});

test('digests that are not sha256:<64 hex> never name a file', async (t) => {
  for (const digest of ['sha256:../../../../etc/passwd', 'sha256:../oci-layout', `sha512:${'a'.repeat(128)}`, 'md5:x', `sha256:${'A'.repeat(64)}`]) {
    const { archive } = await unpack(t, ociLayout({ index: (i) => { i.manifests[0].digest = digest; } }));
    await assert.rejects(planLoad(archive), refused(/^invalid digest ".*" in index\.json: (invalid checksum digest format|unsupported digest algorithm)/), digest);
  }
  const { archive } = await unpack(t, ociLayout({ manifest: (m) => { m.layers[1].digest = 'sha256:../../x'; } }));
  await assert.rejects(planLoad(archive), refused(/^invalid digest "sha256:\.\.\/\.\.\/x" in manifest sha256:/));
  const cfg = await unpack(t, ociLayout({ blobs: [], manifest: (m) => { m.config.size = -1; } }));
  await assert.rejects(planLoad(cfg.archive), refused(/^invalid size "-1" for sha256:/));
});

test('a descriptor whose blob has another size or digest is refused', async (t) => {
  let u = await unpack(t, ociLayout({ manifest: (m) => { m.layers[0].size = LAYER.length - 1; } }));
  await assert.rejects(planLoad(u.archive), refused(/^"blobs\/sha256\/[0-9a-f]{64}" in archive: unexpected size 2048, expected 2047$/));
  u = await unpack(t, ociLayout({ index: (i) => { i.manifests[0].size += 1; } }));
  await assert.rejects(planLoad(u.archive), refused(/: unexpected size/));
  // The blob under the layer's name holds other bytes.
  const other = tarOf([{ name: 'evil', content: 'x' }]);
  u = await unpack(t, [...ociLayout(), { name: `blobs/sha256/${hexOf(LAYER_ID)}`, content: other }]);
  await assert.rejects(planLoad(u.archive), refused(/: unexpected digest sha256:[0-9a-f]{64}, expected sha256:/));
});

test('only regular files of the archive are read: FIFOs, devices, dirs, links out, loops are refused', async (t) => {
  const blob = `blobs/sha256/${hexOf(LAYER_ID)}`;
  const cases: [FixtureEntry, RegExp][] = [
    [{ name: blob, type: 'fifo' }, /^"blobs\/sha256\/[0-9a-f]{64}" in archive is not a regular file$/],
    [{ name: blob, type: 'char', devmajor: 1, devminor: 5 }, /is not a regular file/],
    [{ name: blob + '/', type: 'dir' }, /is not a regular file/],
    [{ name: blob, type: 'symlink', linkname: '/dev/zero' }, /is a symlink to "\/dev\/zero", outside the archive/],
    [{ name: blob, type: 'symlink', linkname: '../../../../../../etc/passwd' }, /outside the archive/],
    [{ name: blob, type: 'symlink', linkname: blob.split('/').pop()! }, /too many levels of symbolic links/],
    [{ name: blob, type: 'symlink', linkname: '../../missing' }, /^"blobs\/sha256\/[0-9a-f]{64}" not found in archive$/],
  ];
  for (const [entry, re] of cases) {
    const { archive } = await unpack(t, [...ociLayout(), entry]);
    await assert.rejects(planLoad(archive), refused(re), `${entry.type} ${entry.linkname ?? ''}`);
  }
  // A symlinked directory on the way is resolved inside the archive too.
  const { archive } = await unpack(t, dockerSave({ layerLink: '../aaaa/../aaaa/layer.tar', extra: [{ name: 'cccc', type: 'symlink', linkname: 'aaaa' }], manifest: [{ Config: `${hexOf(sha(CONFIG))}.json`, Layers: ['cccc/layer.tar', 'bbbb/layer.tar'] }] }));
  assert.deepEqual((await planLoad(archive))[0].layers.map((l) => l.path), ['aaaa/layer.tar', 'aaaa/layer.tar']);
  const out = await unpack(t, dockerSave({ layerLink: '../../../../dev/zero' }));
  await assert.rejects(planLoad(out.archive), refused(/"bbbb\/layer\.tar" in archive is a symlink to "\.\.\/\.\.\/\.\.\/\.\.\/dev\/zero", outside the archive/));
});

test('manifest.json paths are checked; a missing layer is named', async (t) => {
  const configName = `${hexOf(sha(CONFIG))}.json`;
  for (const bad of ['/etc/passwd', '../../../etc/passwd', 'aaaa/../../x']) {
    const { archive } = await unpack(t, dockerSave({ manifest: [{ Config: configName, Layers: [bad, 'aaaa/layer.tar'] }] }));
    await assert.rejects(planLoad(archive), refused(/^invalid path .* in manifest\.json \(image 0\): paths in an archive must be relative/), bad);
  }
  let u = await unpack(t, dockerSave({ manifest: [{ Config: '/etc/shadow', Layers: [] }] }));
  await assert.rejects(planLoad(u.archive), refused(/invalid path "\/etc\/shadow"/));
  u = await unpack(t, dockerSave({ manifest: [{ Config: configName, Layers: ['aaaa/layer.tar', 'gone/layer.tar'] }] }));
  await assert.rejects(planLoad(u.archive), refused(/^"gone\/layer\.tar" not found in archive$/));
  u = await unpack(t, dockerSave({ manifest: [{ Config: configName, Layers: ['aaaa/layer.tar'] }] }));
  await assert.rejects(planLoad(u.archive), refused(/^invalid manifest: 1 layers for 2 diff_ids$/));
  u = await unpack(t, dockerSave({ manifest: [{ Config: configName, RepoTags: ['busybox@sha256:' + 'a'.repeat(64)], Layers: ['aaaa/layer.tar', 'bbbb/layer.tar'] }] }));
  await assert.rejects(planLoad(u.archive), refused(/a digest reference cannot be a tag/));
  u = await unpack(t, dockerSave({ manifest: [{ Config: configName, RepoTags: ['bad tag!'], Layers: [] }] }));
  await assert.rejects(planLoad(u.archive), refused(/^invalid tag "bad tag!" in manifest\.json \(image 0\): invalid reference format$/));
  u = await unpack(t, dockerSave({ manifest: { not: 'a list' } }));
  await assert.rejects(planLoad(u.archive), refused(/^invalid manifest\.json: not a list of images$/));
});

test('JSON files are size-capped before reading, and a parse error quotes no content', async (t) => {
  const configName = `${hexOf(sha(CONFIG))}.json`;
  const secret = 'root:x:0:0:SECRET-CANARY';
  let u = await unpack(t, dockerSave({ extra: [{ name: 'not-json', content: secret }], manifest: [{ Config: 'not-json', Layers: [] }] }));
  await assert.rejects(planLoad(u.archive), (e: unknown) => e instanceof InvalidParameterError && e.message === '"not-json" in archive is not valid JSON' && !String(e.cause ?? '').includes('SECRET'));
  u = await unpack(t, dockerSave({ extra: [{ name: 'big.json', content: Buffer.alloc(MAX_JSON_SIZE + 1, 0x20) }], manifest: [{ Config: 'big.json', Layers: [] }] }));
  await assert.rejects(planLoad(u.archive), refused(/^"big\.json" in archive is too large: 8388609 bytes \(at most 8388608\)$/));
  u = await unpack(t, [{ name: 'manifest.json', type: 'fifo' }]);
  await assert.rejects(planLoad(u.archive), refused(/^"manifest\.json" in archive is not a regular file$/));
  u = await unpack(t, [{ name: 'oci-layout', content: '{}' }]);
  await assert.rejects(planLoad(u.archive), refused(/neither manifest\.json nor index\.json/));
});

test('entry names never write outside the directory: absolute, "..", hard links out, writes through symlinks', async (t) => {
  const outside = await tempDir(t, 'berth-outside-');
  await writeFile(join(outside, 'canary'), 'unchanged');
  for (const [entries, re] of [
    [[{ name: join(outside, 'canary'), content: 'owned' }], /^invalid tar entry name ".*canary": names in an archive must be relative/],
    [[{ name: '../../../../../../' + join(outside, 'canary').slice(1), content: 'owned' }], /invalid tar entry name/],
    [[{ name: 'x', type: 'link', linkname: join(outside, 'canary') }], /invalid tar entry name/],
    [[{ name: 'x', type: 'link', linkname: 'nothing-before' }], /^invalid archive: hard link "x" to "nothing-before", which is not a regular file in the archive$/],
  ] as [FixtureEntry[], RegExp][]) {
    const dir = await tempDir(t, 'berth-load-');
    await assert.rejects(UnpackedArchive.unpack(streamOf(tarOf(entries)), dir), refused(re));
  }
  // A symlink to a host dir, then a file "inside" it: the file is ours, the link only a name in the table.
  const { archive, dir } = await unpack(t, [
    { name: 'd', type: 'symlink', linkname: outside },
    { name: 'd/canary', content: 'owned' },
    { name: 'h', type: 'link', linkname: 'd/canary' },
  ]);
  assert.equal(await readFile(join(outside, 'canary'), 'utf8'), 'unchanged');
  assert.deepEqual((await readdir(outside)).sort(), ['canary']);
  assert.deepEqual(await readdir(dir), ['2']);
  assert.throws(() => archive.file('d/x'), refused(/outside the archive/));
  assert.equal(archive.file('h').path, 'd/canary', 'a hard link shares the earlier entry\'s file');
});

test('a truncated archive and a bad header are refused', async (t) => {
  const tar = tarOf(dockerSave());
  await assert.rejects(unpack(t, tar.subarray(0, 1000)), refused(/unexpected end of tar archive/));
  const bad = Buffer.from(tar);
  bad[0] ^= 0xff;
  await assert.rejects(unpack(t, bad), refused(/checksum mismatch/));
});

test('an index naming one manifest many times is parsed once and merged into one image with every tag', async (t) => {
  const { archive } = await unpack(t, ociLayout({
    index: (i) => {
      const one = i.manifests[0];
      i.manifests = Array.from({ length: 2000 }, (_, k) => ({ ...one, annotations: { 'io.containerd.image.name': `docker.io/library/app:${k % 3}` } }));
    },
  }));
  const plan = await planLoad(archive);
  assert.equal(plan.length, 1);
  assert.deepEqual(plan[0].tags.map((x) => x.familiar), ['app:0', 'app:1', 'app:2']);
});

test('the table of names is bounded: long symlink targets and too many layers are refused', async (t) => {
  const dir = await tempDir(t, 'berth-load-');
  await assert.rejects(UnpackedArchive.unpack(streamOf(tarOf([{ name: 'l', type: 'symlink', linkname: 'x'.repeat(5000) }])), dir), refused(/^invalid archive: symlink "l" has a target longer than 4096 bytes$/));
  const { archive } = await unpack(t, dockerSave({
    extra: [{ name: 'deep.json', content: configOf(Array(2000).fill(LAYER_ID)) }],
    manifest: Array.from({ length: 51 }, () => ({ Config: 'deep.json', Layers: Array(2000).fill('aaaa/layer.tar') })),
  }));
  await assert.rejects(planLoad(archive), refused(/^invalid archive: more than 100000 layers in all$/));
});
