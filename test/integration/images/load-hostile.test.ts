/**
 * Issue 9, item 3: `docker load` (and import) must not trust names inside
 * the archive. Hostile docker-save archives and OCI layouts, crafted here:
 * digests and paths that climb to a host file, entries that are FIFOs,
 * devices or symlinks out of the archive, blobs that lie about their size,
 * missing layers, absolute and `..` entry names, hard links to host files.
 * Each must be refused with a message that quotes no host bytes, and leave
 * berthd up, nothing new listed, no layer or blob more in the store, the
 * tmp dir clean and the host canary as it was.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startDaemon, skipUnlessRoot, skipWithoutDocker, type Daemon } from '../../helpers/daemon.js';
import { tarOf, type FixtureEntry } from '../../helpers/layer-fixtures.js';

const sha = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const hexOf = (d: string) => d.slice(7);
/** Enough `..` to climb out of any tmp dir berthd could unpack into. */
const CLIMB = '../'.repeat(24);

const layerOf = (name: string, content: string) => tarOf([{ name, content }]);
const configOf = (diffIds: string[], tag = 'x') => Buffer.from(JSON.stringify({
  architecture: 'amd64', os: 'linux', created: '2024-01-01T00:00:00Z', config: { Cmd: ['/hello'], Labels: { t: tag } },
  rootfs: { type: 'layers', diff_ids: diffIds },
}));

interface OciImage { layers: Buffer[]; config?: Buffer; name?: string }

/**
 * An OCI layout; `edit` may change the manifest and index descriptors
 * before they are written, `extra` adds (or, later in the tar, replaces) entries.
 */
function ociArchive(img: OciImage, o: { manifest?: (m: any) => void; index?: (i: any) => void; extra?: FixtureEntry[] } = {}): Buffer {
  const config = img.config ?? configOf(img.layers.map(sha));
  const manifest: any = {
    schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha(config), size: config.length },
    layers: img.layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha(l), size: l.length })),
  };
  o.manifest?.(manifest);
  const m = Buffer.from(JSON.stringify(manifest));
  const index: any = {
    schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [{ mediaType: manifest.mediaType, digest: sha(m), size: m.length, annotations: { 'io.containerd.image.name': `docker.io/library/${img.name ?? 'hostile:1'}` } }],
  };
  o.index?.(index);
  return tarOf([
    { name: 'oci-layout', content: '{"imageLayoutVersion":"1.0.0"}' },
    { name: 'blobs/', type: 'dir' },
    { name: 'blobs/sha256/', type: 'dir' },
    ...img.layers.map((l) => ({ name: `blobs/sha256/${hexOf(sha(l))}`, content: l })),
    { name: `blobs/sha256/${hexOf(sha(config))}`, content: config },
    { name: `blobs/sha256/${hexOf(sha(m))}`, content: m },
    ...(o.extra ?? []),
    { name: 'index.json', content: JSON.stringify(index) },
  ]);
}

interface SaveImage { layers: Buffer[]; config?: Buffer; tags?: string[]; layerPaths?: string[]; configPath?: string }

/** A docker save archive of the pre-25 kind (`<id>/layer.tar`, `<id>.json`, manifest.json). */
function dockerSaveArchive(images: SaveImage[], extra: FixtureEntry[] = []): Buffer {
  const entries: FixtureEntry[] = [];
  const manifest = images.map((img, i) => {
    const config = img.config ?? configOf(img.layers.map(sha), `save${i}`);
    const configPath = img.configPath ?? `${hexOf(sha(config))}.json`;
    entries.push({ name: configPath, content: config });
    const layerPaths = img.layerPaths ?? img.layers.map((l, j) => `${i}${j}${hexOf(sha(l)).slice(0, 8)}/layer.tar`);
    img.layers.forEach((l, j) => entries.push({ name: layerPaths[j], content: l }));
    return { Config: configPath, RepoTags: img.tags ?? [], Layers: layerPaths };
  });
  return tarOf([...entries, ...extra, { name: 'manifest.json', content: JSON.stringify(manifest) }, { name: 'repositories', content: '{}' }]);
}

describe('docker load of hostile archives', { skip: skipUnlessRoot(), timeout: 240_000 }, () => {
  let d!: Daemon;
  let host!: string;
  let canary!: string;
  let fifo!: string;
  const CANARY = `CANARY-${randomBytes(8).toString('hex')}`;
  let baseline!: { images: string; layers: string[]; blobs: string[]; df: number };

  const dirList = async (p: string) => (await readdir(p).catch(() => [] as string[])).sort();
  const state = async () => {
    const images = (await d.request('GET', '/images/json?all=1')).json<{ Id: string; RepoTags: string[] }[]>()
      .map((i) => `${i.Id} ${[...(i.RepoTags ?? [])].sort().join(',')}`).sort().join('\n');
    const df = (await d.request('GET', '/system/df')).json<{ LayersSize: number }>().LayersSize;
    return { images, layers: await dirList(join(d.dataRoot, 'layers')), blobs: await dirList(join(d.dataRoot, 'blobs', 'sha256')), df };
  };

  /** berthd is up, lists what it listed before, stores what it stored before, and the host is untouched. */
  const assertUnharmed = async (what: string) => {
    assert.equal((await d.request('GET', '/_ping')).status, 200, `${what}: berthd must still answer`);
    const now = await state();
    assert.deepEqual(now, baseline, `${what}: no image, tag, layer or blob may be left`);
    assert.deepEqual(await dirList(join(d.dataRoot, 'tmp')), [], `${what}: the tmp dir must be clean`);
    assert.equal(await readFile(canary, 'utf8'), CANARY, `${what}: the canary is unchanged`);
    assert.deepEqual(await dirList(host), ['canary', 'fifo', 'victim'], `${what}: nothing new on the host`);
    assert.deepEqual(await dirList(join(host, 'victim')), [], `${what}: nothing written through a symlink`);
  };

  /** The error of a load: a 4xx status, or (as dockerd reports load errors) an error in the 200 message stream. */
  const load = async (archive: Buffer): Promise<{ status: number; error?: string; text: string }> => {
    const res = await d.request('POST', '/images/load?quiet=1', archive, { headers: { 'Content-Type': 'application/x-tar' }, timeoutMs: 60_000 });
    if (res.status !== 200) return { status: res.status, error: res.json<{ message: string }>().message, text: res.text };
    let error: string | undefined;
    for (const line of res.text.split(/\r?\n/)) if (line.trim()) error ??= (JSON.parse(line) as { error?: string }).error;
    return { status: res.status, error, text: res.text };
  };

  const refused = async (what: string, archive: Buffer, re: RegExp) => {
    const r = await load(archive);
    assert.ok(r.status === 200 || r.status === 400, `${what}: status ${r.status}: ${r.text}`);
    assert.ok(r.error, `${what}: the load must fail, got ${r.text}`);
    assert.match(r.error!, re, what);
    assert.ok(!r.text.includes(CANARY) && !r.text.includes('root:x:0:0'), `${what}: no host bytes in the answer: ${r.text}`);
    await assertUnharmed(what);
  };

  const rssOf = async (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(await readFile(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;

  before(async () => {
    d = await startDaemon();
    host = await mkdtemp('/tmp/berth-test-load-hostile-');
    canary = join(host, 'canary');
    fifo = join(host, 'fifo');
    await writeFile(canary, CANARY);
    execFileSync('mkfifo', [fifo]);
    await mkdir(join(host, 'victim'));
    // Something in the store already, which a failed load's clean-up must leave alone.
    const good = await load(ociArchive({ layers: [layerOf('hello', 'base\n')], name: 'base:1' }));
    assert.equal(good.error, undefined, good.text);
    baseline = await state();
    assert.match(baseline.images, /docker\.io\/library\/base:1|base:1/);
  });
  after(async () => {
    await d?.stop();
    if (host) await rm(host, { recursive: true, force: true });
  });

  test('an index.json digest that climbs to a host file is an invalid digest, and its bytes stay on the host', async () => {
    const layer = layerOf('a', 'a\n');
    await refused('index digest', ociArchive({ layers: [layer] }, { index: (i) => { i.manifests[0].digest = `sha256:${CLIMB}${canary.slice(1)}`; } }),
      /^invalid digest "sha256:(\.\.\/)+.*" in index\.json: invalid checksum digest format$/);
    await refused('config digest', ociArchive({ layers: [layer] }, { manifest: (m) => { m.config.digest = `sha256:${CLIMB}etc/passwd`; } }), /^invalid digest .* in manifest sha256:[0-9a-f]{64}: invalid checksum digest format$/);
    await refused('sha512', ociArchive({ layers: [layer] }, { manifest: (m) => { m.layers[0].digest = `sha512:${'a'.repeat(128)}`; } }), /unsupported digest algorithm sha512/);
    await refused('manifest.json Config path', tarOf([
      { name: 'manifest.json', content: JSON.stringify([{ Config: `${CLIMB}${canary.slice(1)}`, RepoTags: ['evil:1'], Layers: [] }]) },
    ]), /^invalid path ".*" in manifest\.json \(image 0\): paths in an archive must be relative and must not contain "\.\."$/);
    await refused('manifest.json absolute layer path', tarOf([
      { name: 'c.json', content: configOf([sha(layer)]) },
      { name: 'manifest.json', content: JSON.stringify([{ Config: 'c.json', RepoTags: ['evil:1'], Layers: [canary] }]) },
    ]), /^invalid path ".*canary" in manifest\.json \(image 0\)/);
  });

  test('a digest or path naming a FIFO fails at once instead of hanging the load', async () => {
    const layer = layerOf('f', 'f\n');
    // A FIFO entry inside the archive, named by a valid digest.
    await refused('fifo entry', ociArchive({ layers: [layer] }, { extra: [{ name: `blobs/sha256/${hexOf(sha(layer))}`, type: 'fifo' }] }),
      /^"blobs\/sha256\/[0-9a-f]{64}" in archive is not a regular file$/);
    // The host's FIFO, by a climbing path and by a climbing digest.
    await refused('host fifo path', tarOf([
      { name: 'manifest.json', content: JSON.stringify([{ Config: `${CLIMB}${fifo.slice(1)}`, RepoTags: [], Layers: [] }]) },
    ]), /invalid path/);
    await refused('host fifo digest', ociArchive({ layers: [layer] }, { index: (i) => { i.manifests[0].digest = `sha256:${CLIMB}${fifo.slice(1)}`; } }), /invalid digest/);
  });

  test('symlink entries to /dev/zero or to a host file are refused, and berthd does not grow by what it was fed', async () => {
    const layer = layerOf('z', 'z\n');
    const config = configOf([sha(layer)]);
    const rssBefore = await rssOf(d.pid!);
    await refused('config -> /dev/zero', ociArchive({ layers: [layer], config }, { extra: [{ name: `blobs/sha256/${hexOf(sha(config))}`, type: 'symlink', linkname: '/dev/zero' }] }),
      /^"blobs\/sha256\/[0-9a-f]{64}" in archive is a symlink to "\/dev\/zero", outside the archive$/);
    await refused('layer -> ../../dev/zero', ociArchive({ layers: [layer] }, { extra: [{ name: `blobs/sha256/${hexOf(sha(layer))}`, type: 'symlink', linkname: `${CLIMB}dev/zero` }] }), /outside the archive/);
    await refused('digest -> /dev/zero', ociArchive({ layers: [layer] }, { manifest: (m) => { m.layers[0].digest = `sha256:${CLIMB}dev/zero`; } }), /invalid digest/);
    await refused('config -> host canary', ociArchive({ layers: [layer], config }, { extra: [{ name: `blobs/sha256/${hexOf(sha(config))}`, type: 'symlink', linkname: canary }] }), /outside the archive/);
    await refused('legacy layer -> host canary', dockerSaveArchive([{ layers: [layer], tags: ['evil:1'], layerPaths: ['l1/layer.tar'] }], [
      { name: 'l1/layer.tar', type: 'symlink', linkname: `../${CLIMB}${canary.slice(1)}` },
    ]), /"l1\/layer\.tar" in archive is a symlink to .*, outside the archive/);
    // A config far over the JSON cap is refused by its size, never read into memory.
    const huge = Buffer.alloc(96 << 20, 0x20);
    await refused('96 MiB config', tarOf([
      { name: 'c.json', content: huge },
      { name: 'manifest.json', content: JSON.stringify([{ Config: 'c.json', RepoTags: ['evil:1'], Layers: [] }]) },
    ]), /^"c\.json" in archive is too large: 100663296 bytes \(at most 8388608\)$/);
    const grown = (await rssOf(d.pid!)) - rssBefore;
    assert.ok(grown < 48 << 20, `berthd's RSS grew by ${(grown / 2 ** 20).toFixed(1)} MiB`);
  });

  test('a blob whose size or digest differs from its descriptor, or a missing layer, is refused', async () => {
    const layer = layerOf('s', 'size\n');
    await refused('short size', ociArchive({ layers: [layer] }, { manifest: (m) => { m.layers[0].size -= 1; } }),
      /^"blobs\/sha256\/[0-9a-f]{64}" in archive: unexpected size 2048, expected 2047$/);
    await refused('long size', ociArchive({ layers: [layer] }, { manifest: (m) => { m.layers[0].size = 2 ** 40; } }), /unexpected size 2048, expected 1099511627776/);
    await refused('other bytes', ociArchive({ layers: [layer] }, { extra: [{ name: `blobs/sha256/${hexOf(sha(layer))}`, content: layerOf('s', 'SIZE\n') }] }), /unexpected digest/);
    await refused('missing OCI layer', ociArchive({ layers: [layer] }, { manifest: (m) => { m.layers[0].digest = sha('nothing'); } }), /^"blobs\/sha256\/[0-9a-f]{64}" not found in archive$/);
    await refused('missing legacy layer', tarOf([
      { name: 'c.json', content: configOf([sha(layer)]) },
      { name: 'manifest.json', content: JSON.stringify([{ Config: 'c.json', RepoTags: ['evil:1'], Layers: ['gone/layer.tar'] }]) },
    ]), /^"gone\/layer\.tar" not found in archive$/);
  });

  test('the second image failing leaves the first unlisted and its new layer collected', async () => {
    const a = layerOf('a', 'first image\n');
    const b = layerOf('b', 'second image\n');
    await refused('diffID mismatch in image 2', dockerSaveArchive([
      { layers: [a], tags: ['half:1'] },
      { layers: [b], tags: ['half:2'], config: configOf([sha(layerOf('b', 'other\n'))]) },
    ]), /^invalid diffID for layer 0: calculated sha256:[0-9a-f]{64}, expected sha256:[0-9a-f]{64}$/);
  });

  test('absolute, ".." and hard-link entry names in the load archive write nothing outside', async () => {
    const layer = layerOf('h', 'h\n');
    const ok = (extra: FixtureEntry[]) => ociArchive({ layers: [layer] }, { extra });
    await refused('absolute entry', ok([{ name: join(host, 'victim', 'abs'), content: 'owned' }]), /^invalid tar entry name ".*victim\/abs": names in an archive must be relative/);
    await refused('.. entry', ok([{ name: `${CLIMB}${host.slice(1)}/victim/up`, content: 'owned' }]), /invalid tar entry name/);
    await refused('hard link to host file', ok([{ name: 'stolen', type: 'link', linkname: canary }]), /invalid tar entry name/);
    await refused('hard link by ..', ok([{ name: 'stolen', type: 'link', linkname: `${CLIMB}${canary.slice(1)}` }]), /invalid tar entry name/);
    // A symlink to a host dir, then a file "inside" it: only a name in the archive, never a path on the host.
    await refused('write through symlink', ociArchive({ layers: [layer] }, {
      extra: [{ name: 'v', type: 'symlink', linkname: join(host, 'victim') }, { name: 'v/dropped', content: 'owned' }],
      manifest: (m) => { m.layers.push({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha('v/dropped'), size: 5 }); },
    }), /not found in archive|invalid manifest/);
  });

  test('import (fromSrc=-) and load keep a hostile layer tar inside its layer; a restart sweeps what is left', async () => {
    const cases: [string, FixtureEntry[], RegExp][] = [
      ['absolute', [{ name: join(host, 'victim', 'abs'), content: 'owned' }], /tar entry escapes layer/],
      ['..', [{ name: `${CLIMB}${host.slice(1)}/victim/up`, content: 'owned' }], /tar entry escapes layer/],
      ['hard link to host file', [{ name: 'stolen', type: 'link', linkname: canary }], /tar entry escapes layer/],
      ['symlink then write through it', [{ name: 'v', type: 'symlink', linkname: join(host, 'victim') }, { name: 'v/dropped', content: 'owned' }], /tar entry escapes layer/],
      ['symlink then replace it', [{ name: 'c', type: 'symlink', linkname: canary }, { name: 'c', content: 'owned' }, { name: 'c', type: 'link', linkname: '../../etc/passwd' }], /tar entry escapes layer/],
    ];
    for (const [what, entries, re] of cases) {
      const res = await d.request('POST', '/images/create?fromSrc=-&repo=imported&tag=evil', tarOf(entries), { headers: { 'Content-Type': 'application/x-tar' } });
      const error = res.status === 200 ? res.text.split(/\r?\n/).filter(Boolean).map((l) => JSON.parse(l).error).find(Boolean) : res.json().message;
      assert.ok(error, `${what}: import must fail: ${res.status} ${res.text}`);
      assert.match(error, re, what);
      assert.ok(!res.text.includes(CANARY), what);
      await assertUnharmed(`import: ${what}`);
      await refused(`load of a layer: ${what}`, ociArchive({ layers: [tarOf(entries)] }), re);
    }
    await d.restart();
    await assertUnharmed('after a restart');
  });

  test('the docker CLI shows the refusal and exits non-zero', { skip: skipWithoutDocker() }, async () => {
    const file = join(host, '..', `berth-test-load-hostile-${randomBytes(4).toString('hex')}.tar`);
    await writeFile(file, ociArchive({ layers: [layerOf('c', 'c\n')] }, { index: (i) => { i.manifests[0].digest = `sha256:${CLIMB}${canary.slice(1)}`; } }));
    try {
      const r = await d.docker(['load', '-i', file]);
      assert.notEqual(r.code, 0, r.stdout);
      assert.match(r.stderr, /invalid digest "sha256:(\.\.\/)+.*" in index\.json: invalid checksum digest format/);
      assert.ok(!`${r.stdout}${r.stderr}`.includes(CANARY));
    } finally {
      await rm(file, { force: true });
    }
    await assertUnharmed('docker load');
    // And a good archive still loads through the same path, symlinked repeated layer and all.
    const layer = layerOf('dup', 'dup\n');
    const good = join(host, '..', `berth-test-load-good-${randomBytes(4).toString('hex')}.tar`);
    await writeFile(good, tarOf([
      { name: 'c.json', content: configOf([sha(layer), sha(layer)], 'dup') },
      { name: 'l1/layer.tar', content: layer },
      { name: 'l2/layer.tar', type: 'symlink', linkname: '../l1/layer.tar' },
      { name: 'manifest.json', content: JSON.stringify([{ Config: 'c.json', RepoTags: ['dup:1'], Layers: ['l1/layer.tar', 'l2/layer.tar'] }]) },
    ]));
    try {
      const r = await d.docker(['load', '-i', good]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /Loaded image: dup:1/);
      assert.ok((await stat(good)).size > 0);
    } finally {
      await rm(good, { force: true });
      await d.request('DELETE', '/images/dup:1');
    }
    await assertUnharmed('after the good load was removed');
  });
});
