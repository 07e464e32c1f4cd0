/**
 * Issue 11 (acceptance 3b): `--cache-to` / `--cache-from` through the real
 * buildx on berthd. A build exports its cache as an OCI layout on the
 * client's machine; a second berthd with a fresh data root (and the same
 * base image, as a pull would give it) imports it and builds every step
 * from it — CACHED in plain progress, the same image ID.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startDaemon, skipUnlessRoot, skipWithoutDocker, type Daemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';
import { writeContext } from '../build/build-helpers.js';
import { installBuildx, skipWithoutBuildx } from './buildx.js';

let a!: Daemon;
let b!: Daemon;
let dir!: string;
let ctx!: string;

const skip = skipUnlessRoot() || skipWithoutDocker() || skipWithoutBuildx();

const STEPS = ['RUN mkdir -p /out && echo built > /out/artifact', 'WORKDIR /srv', 'COPY src/ ./src/', 'COPY --from=build /out/ /opt/', 'RUN cat /srv/src/a.txt > /srv/copy'];

/** Asserts each step shows as a vertex that is CACHED (or not). */
function assertCached(progress: string, steps: readonly string[], cached: boolean): void {
  for (const step of steps) {
    const re = new RegExp(`#(\\d+) \\[[^\\]]+\\] ${step.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`);
    const m = re.exec(progress);
    assert.ok(m, `step ${step} shown:\n${progress}`);
    const isCached = new RegExp(`#${m[1]} CACHED`).test(progress);
    assert.equal(isCached, cached, `step ${step} ${cached ? 'is' : 'is not'} CACHED:\n${progress}`);
  }
}

async function imageId(d: Daemon, ref: string): Promise<string> {
  return (await d.docker(['image', 'inspect', '-f', '{{.Id}}', ref])).stdout.trim();
}

before(async () => {
  if (skip) return;
  dir = await mkdtemp('/tmp/berth-test-buildx-cache-');
  ctx = join(dir, 'ctx');
  a = await startDaemon();
  b = await startDaemon();
  await importBusybox(a);
  // The fresh daemon gets the very same base image (same ID), as pulling it from a registry would.
  const saved = join(dir, 'busybox.tar');
  const save = await a.docker(['save', '-o', saved, 'busybox:latest']);
  assert.equal(save.code, 0, save.stderr);
  const load = await b.docker(['load', '-i', saved]);
  assert.equal(load.code, 0, load.stderr);
  assert.equal(await imageId(b, 'busybox:latest'), await imageId(a, 'busybox:latest'));
  await installBuildx(a);
  await installBuildx(b);
  await writeContext(ctx, {
    Dockerfile: [
      'FROM busybox AS build',
      STEPS[0],
      'FROM busybox',
      'ENV GREETING=hi',
      STEPS[1], STEPS[2], STEPS[3], STEPS[4],
      'CMD ["cat", "/opt/artifact"]',
      '',
    ].join('\n'),
    'src/a.txt': 'a-content\n',
  });
}, { timeout: 180_000 });

after(async () => {
  await a?.stop();
  await b?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('buildx --cache-to / --cache-from type=local', { skip }, () => {
  const cacheDir = () => join(dir, 'cache');

  test('--cache-to type=local,mode=max writes an OCI layout holding the build cache', async () => {
    const r = await a.docker(['buildx', 'build', '--progress=plain', '--cache-to', `type=local,dest=${cacheDir()},mode=max`, '-t', 'c:1', '--load', '.'], { cwd: ctx });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /exporting cache to client directory/);
    const layout = JSON.parse(await readFile(join(cacheDir(), 'oci-layout'), 'utf8')) as { imageLayoutVersion: string };
    assert.equal(layout.imageLayoutVersion, '1.0.0');
    const index = JSON.parse(await readFile(join(cacheDir(), 'index.json'), 'utf8')) as { manifests: { digest: string; mediaType: string; annotations?: Record<string, string> }[] };
    assert.equal(index.manifests.length, 1);
    assert.equal(index.manifests[0].annotations?.['org.opencontainers.image.ref.name'], 'latest');
    const blobs = new Set(await readdir(join(cacheDir(), 'blobs', 'sha256')));
    const manifest = JSON.parse(await readFile(join(cacheDir(), 'blobs', 'sha256', index.manifests[0].digest.slice(7)), 'utf8')) as {
      config: { mediaType: string; digest: string }; layers: { digest: string; mediaType: string }[];
    };
    assert.equal(manifest.config.mediaType, 'application/vnd.buildkit.cacheconfig.v0');
    // Every blob the manifest names is in the layout, with its digest.
    for (const d of [manifest.config, ...manifest.layers]) assert.ok(blobs.has(d.digest.slice(7)), `blob ${d.digest} in the layout`);
    const config = JSON.parse(await readFile(join(cacheDir(), 'blobs', 'sha256', manifest.config.digest.slice(7)), 'utf8')) as {
      layers: unknown[]; records: { digest: string }[];
    };
    // Three layers: the build stage's RUN, the final stage's WORKDIR, COPY, COPY, RUN make five; every step is a record.
    assert.ok(config.layers.length >= 5, JSON.stringify(config.layers));
    assert.ok(config.records.length >= 7, JSON.stringify(config.records));
    assert.ok(manifest.layers.some((l) => l.mediaType === 'application/vnd.oci.image.layer.v1.tar+gzip'));
  });

  test('a fresh data root builds every step from the imported cache: CACHED, and the same image ID', async () => {
    const r = await b.docker(['buildx', 'build', '--progress=plain', '--cache-from', `type=local,src=${cacheDir()}`, '-t', 'c:1', '--load', '.'], { cwd: ctx });
    assert.equal(r.code, 0, r.stderr);
    assertCached(r.stderr, STEPS, true);
    assert.match(r.stderr, /importing cache manifest from local:/);
    assert.equal(await imageId(b, 'c:1'), await imageId(a, 'c:1'));
    const run = await b.docker(['run', '--rm', 'c:1']);
    assert.equal(run.stdout, 'built\n');
    const copy = await b.docker(['run', '--rm', 'c:1', 'cat', '/srv/copy']);
    assert.equal(copy.stdout, 'a-content\n');
  });

  test('the imported steps are re-exported by the build that imported them (--cache-from and --cache-to together)', async () => {
    const again = join(dir, 'cache-again');
    const r = await b.docker(['buildx', 'build', '--progress=plain', '--cache-from', `type=local,src=${cacheDir()}`, '--cache-to', `type=local,dest=${again},mode=max`, '-t', 'c:1', '--load', '.'], { cwd: ctx });
    assert.equal(r.code, 0, r.stderr);
    assertCached(r.stderr, STEPS, true);
    const index = JSON.parse(await readFile(join(again, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
    const manifest = JSON.parse(await readFile(join(again, 'blobs', 'sha256', index.manifests[0].digest.slice(7)), 'utf8')) as { config: { digest: string } };
    const config = JSON.parse(await readFile(join(again, 'blobs', 'sha256', manifest.config.digest.slice(7)), 'utf8')) as { 'berth.steps.v1': { original: string }[] };
    const originals = config['berth.steps.v1'].map((s) => s.original);
    for (const step of STEPS) assert.ok(originals.includes(step), `${step} in:\n${originals.join('\n')}`);
  });

  test('a cache one build imported gives no hits to a later build that did not import it', async () => {
    // Nothing checks that an imported step made what the step would make: before, the import became the shared
    // cache's, so whoever imported a cache decided the result of those steps for every later build on the daemon.
    const r = await b.docker(['buildx', 'build', '--progress=plain', '-t', 'c:own', '--load', '.'], { cwd: ctx });
    assert.equal(r.code, 0, r.stderr);
    assertCached(r.stderr, STEPS, false);
    assert.equal((await b.docker(['run', '--rm', 'c:own'])).stdout, 'built\n');
    await b.docker(['rmi', 'c:own']);
  });

  test('a changed source misses from that step on, and the steps before it still come from the cache', async () => {
    const changed = join(dir, 'changed');
    await writeContext(changed, { Dockerfile: await readFile(join(ctx, 'Dockerfile'), 'utf8'), 'src/a.txt': 'changed\n' });
    const fresh = await startDaemon();
    try {
      const load = await fresh.docker(['load', '-i', join(dir, 'busybox.tar')]);
      assert.equal(load.code, 0, load.stderr);
      await installBuildx(fresh);
      const r = await fresh.docker(['buildx', 'build', '--progress=plain', '--cache-from', `type=local,src=${cacheDir()}`, '-t', 'c:2', '--load', '.'], { cwd: changed });
      assert.equal(r.code, 0, r.stderr);
      assertCached(r.stderr, [STEPS[0], STEPS[1]], true);
      assertCached(r.stderr, [STEPS[2], STEPS[4]], false);
      assert.equal((await fresh.docker(['run', '--rm', 'c:2', 'cat', '/srv/copy'])).stdout, 'changed\n');
    } finally {
      await fresh.stop();
    }
  });

  test('mode=min exports the final stage only', async () => {
    const minDir = join(dir, 'cache-min');
    const r = await a.docker(['buildx', 'build', '--progress=plain', '--cache-to', `type=local,dest=${minDir}`, '-t', 'c:min', '--load', '.'], { cwd: ctx });
    assert.equal(r.code, 0, r.stderr);
    const index = JSON.parse(await readFile(join(minDir, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
    const manifest = JSON.parse(await readFile(join(minDir, 'blobs', 'sha256', index.manifests[0].digest.slice(7)), 'utf8')) as { config: { digest: string } };
    const config = JSON.parse(await readFile(join(minDir, 'blobs', 'sha256', manifest.config.digest.slice(7)), 'utf8')) as { 'berth.steps.v1': { original: string }[] };
    const originals = config['berth.steps.v1'].map((s) => s.original);
    assert.ok(!originals.includes(STEPS[0]), originals.join('\n'));
    assert.ok(originals.includes(STEPS[4]), originals.join('\n'));
  });

  test('unknown cache types and attributes are refused by name', async () => {
    // (buildx itself drops type=gha and type=s3 when the builder lacks their LLB caps; a type it does not know reaches berthd.)
    const t = await a.docker(['buildx', 'build', '--progress=plain', '--cache-to', 'type=foo,name=x', '.'], { cwd: ctx });
    assert.notEqual(t.code, 0);
    assert.match(t.stderr, /--cache-to type=foo is not supported/);
    const f = await a.docker(['buildx', 'build', '--progress=plain', '--cache-from', 'type=foo,name=x', '.'], { cwd: ctx });
    assert.notEqual(f.code, 0);
    assert.match(f.stderr, /--cache-from type=foo is not supported/);
    const at = await a.docker(['buildx', 'build', '--progress=plain', '--cache-to', `type=local,dest=${join(dir, 'x')},frobnicate=1`, '.'], { cwd: ctx });
    assert.notEqual(at.code, 0);
    assert.match(at.stderr, /attribute "frobnicate" is not supported/);
    const mode = await a.docker(['buildx', 'build', '--progress=plain', '--cache-to', `type=local,dest=${join(dir, 'x')},mode=all`, '.'], { cwd: ctx });
    assert.notEqual(mode.code, 0);
    assert.match(mode.stderr, /invalid mode "all"/);
  });

  test('a cache whose blobs lie is refused, and leaves no image behind', async () => {
    const evil = join(dir, 'evil');
    // Copy the layout, then make a layer blob's content disagree with its name.
    await b.docker(['rmi', '-f', 'c:1']);
    const prune = await b.docker(['builder', 'prune', '-af']);
    assert.equal(prune.code, 0, prune.stderr);
    // The images earlier imports made are the builds' own, not build cache: they are dangling images once c:1 is gone
    // (else the lying blob would not be read at all: the image it describes is here, already verified).
    const images = await b.docker(['image', 'prune', '-f']);
    assert.equal(images.code, 0, images.stderr);
    await cp(cacheDir(), evil, { recursive: true });
    const index = JSON.parse(await readFile(join(evil, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
    const manifest = JSON.parse(await readFile(join(evil, 'blobs', 'sha256', index.manifests[0].digest.slice(7)), 'utf8')) as { layers: { digest: string; mediaType: string }[] };
    const layer = manifest.layers.find((l) => l.mediaType.includes('layer'))!;
    const path = join(evil, 'blobs', 'sha256', layer.digest.slice(7));
    const bytes = await readFile(path);
    bytes[bytes.length - 1] ^= 0xff;
    await writeFile(path, bytes);
    const r = await b.docker(['buildx', 'build', '--progress=plain', '--cache-from', `type=local,src=${evil}`, '-t', 'c:evil', '--load', '.'], { cwd: ctx });
    assert.notEqual(r.code, 0, r.stderr);
    assert.match(r.stderr, /has digest sha256:[0-9a-f]{64}|digest mismatch/);
    assert.equal((await b.docker(['images', '-q', 'c:evil'])).stdout.trim(), '');
    assert.deepEqual((await readdir(join(b.dataRoot, 'tmp'))).filter((n) => !n.startsWith('.')), []);
  });
});
