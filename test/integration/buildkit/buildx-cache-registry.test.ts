/**
 * Issue 11: `--cache-to type=registry|inline` and `--cache-from` through the
 * real buildx, with berth's registry server on loopback. One berthd builds
 * and exports; another, with a fresh data root and the same base image,
 * builds the same Dockerfile from the registry's cache.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { startDaemon, skipUnlessRoot, skipWithoutDocker, type Daemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';
import { writeContext } from '../build/build-helpers.js';
import { startRegistryServer } from '../../../src/registry/server/index.js';
import { installBuildx, skipWithoutBuildx } from './buildx.js';

let a!: Daemon;
let b!: Daemon;
let dir!: string;
let ctx!: string;
let host!: string;
let registry: Awaited<ReturnType<typeof startRegistryServer>> | undefined;

const skip = skipUnlessRoot() || skipWithoutDocker() || skipWithoutBuildx();
const BUILD_STEP = 'RUN mkdir -p /out && echo built > /out/artifact';
const FINAL_STEPS = ['WORKDIR /srv', 'COPY src/ ./src/', 'COPY --from=build /out/ /opt/', 'RUN cat /srv/src/a.txt > /srv/copy'];

function assertCached(progress: string, steps: readonly string[], cached: boolean): void {
  for (const step of steps) {
    const m = new RegExp(`#(\\d+) \\[[^\\]]+\\] ${step.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`).exec(progress);
    assert.ok(m, `step ${step} shown:\n${progress}`);
    assert.equal(new RegExp(`#${m[1]} CACHED`).test(progress), cached, `step ${step} ${cached ? 'is' : 'is not'} CACHED:\n${progress}`);
  }
}

async function imageId(d: Daemon, ref: string): Promise<string> {
  return (await d.docker(['image', 'inspect', '-f', '{{.Id}}', ref])).stdout.trim();
}

/** Forgets every build on `d`: its images and its build cache (the base image stays). */
async function forget(d: Daemon, refs: string[]): Promise<void> {
  for (const r of refs) await d.docker(['rmi', '-f', r]);
  const p = await d.berth(['builder', 'prune', '-af']);
  assert.equal(p.code, 0, p.stderr);
}

before(async () => {
  if (skip) return;
  dir = await mkdtemp('/tmp/berth-test-buildx-cache-reg-');
  ctx = join(dir, 'ctx');
  registry = await startRegistryServer({ addr: '127.0.0.1:0', root: join(dir, 'registry') });
  host = `127.0.0.1:${registry.port}`;
  a = await startDaemon();
  b = await startDaemon();
  await importBusybox(a);
  const saved = join(dir, 'busybox.tar');
  assert.equal((await a.docker(['save', '-o', saved, 'busybox:latest'])).code, 0);
  assert.equal((await b.docker(['load', '-i', saved])).code, 0);
  await installBuildx(a);
  await installBuildx(b);
  await writeContext(ctx, {
    Dockerfile: ['FROM busybox AS build', BUILD_STEP, 'FROM busybox', 'ENV GREETING=hi', ...FINAL_STEPS, 'CMD ["cat", "/opt/artifact"]', ''].join('\n'),
    'src/a.txt': 'a-content\n',
  });
}, { timeout: 180_000 });

after(async () => {
  await a?.stop();
  await b?.stop();
  await registry?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('buildx --cache-to / --cache-from with a registry', { skip }, () => {
  test('type=registry,mode=max: another daemon builds every step from the registry\'s cache', async () => {
    const ref = `${host}/cache/app:buildcache`;
    const r = await a.docker(['buildx', 'build', '--progress=plain', '--cache-to', `type=registry,ref=${ref},mode=max`, '-t', 'reg:1', '--load', '.'], { cwd: ctx });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /exporting cache to registry/);
    // The registry holds a cache manifest under the tag.
    const m = await fetch(`http://${host}/v2/cache/app/manifests/buildcache`, { headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' } });
    assert.equal(m.status, 200);
    assert.equal(((await m.json()) as { config: { mediaType: string } }).config.mediaType, 'application/vnd.buildkit.cacheconfig.v0');
    const r2 = await b.docker(['buildx', 'build', '--progress=plain', '--cache-from', `type=registry,ref=${ref}`, '-t', 'reg:1', '--load', '.'], { cwd: ctx });
    assert.equal(r2.code, 0, r2.stderr);
    assertCached(r2.stderr, [BUILD_STEP, ...FINAL_STEPS], true);
    assert.equal(await imageId(b, 'reg:1'), await imageId(a, 'reg:1'));
    assert.equal((await b.docker(['run', '--rm', 'reg:1'])).stdout, 'built\n');
  });

  test('type=inline: the pushed image carries its cache; --cache-from IMAGE on another daemon hits and gives that very image', async () => {
    await forget(a, ['reg:1']);
    await forget(b, ['reg:1']);
    const ref = `${host}/app/inline:1`;
    const r = await a.docker(['buildx', 'build', '--progress=plain', '--cache-to', 'type=inline', '-t', ref, '--load', '.'], { cwd: ctx });
    assert.equal(r.code, 0, r.stderr);
    const inspect = JSON.parse((await a.docker(['image', 'inspect', ref])).stdout) as { Id: string }[];
    const push = await a.docker(['push', ref]);
    assert.equal(push.code, 0, push.stderr);
    // The config in the registry has the inline cache field.
    const manifest = await (await fetch(`http://${host}/v2/app/inline/manifests/1`, { headers: { Accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json' } })).json() as { config: { digest: string } };
    const config = await (await fetch(`http://${host}/v2/app/inline/blobs/${manifest.config.digest}`)).json() as Record<string, unknown>;
    assert.equal(typeof config['moby.buildkit.cache.v0'], 'string');
    assert.equal(manifest.config.digest, inspect[0].Id);

    const r2 = await b.docker(['buildx', 'build', '--progress=plain', '--cache-from', ref, '-t', 'inl:1', '--load', '.'], { cwd: ctx });
    assert.equal(r2.code, 0, r2.stderr);
    assertCached(r2.stderr, FINAL_STEPS, true);
    // Inline caches are mode=min: the other stage runs.
    assertCached(r2.stderr, [BUILD_STEP], false);
    assert.equal(await imageId(b, 'inl:1'), inspect[0].Id);
  });

  test('a registry that needs a login gets the credentials `docker login` stored, over the client\'s session', async () => {
    const locked = await startRegistryServer({ addr: '127.0.0.1:0', root: join(dir, 'locked'), basicAuth: { builder: 's3cret' } });
    try {
      const ref = `127.0.0.1:${locked.port}/cache/app:locked`;
      const denied = await a.docker(['buildx', 'build', '--progress=plain', '--cache-to', `type=registry,ref=${ref}`, '.'], { cwd: ctx });
      assert.notEqual(denied.code, 0, denied.stderr);
      assert.match(denied.stderr, /unauthorized|authentication required|401/i);
      const login = await a.docker(['login', '-u', 'builder', '--password-stdin', `127.0.0.1:${locked.port}`], { input: 's3cret\n' });
      assert.equal(login.code, 0, login.stderr);
      const r = await a.docker(['buildx', 'build', '--progress=plain', '--cache-to', `type=registry,ref=${ref}`, '.'], { cwd: ctx });
      assert.equal(r.code, 0, r.stderr);
      const m = await fetch(`http://127.0.0.1:${locked.port}/v2/cache/app/manifests/locked`, {
        headers: { Accept: 'application/vnd.oci.image.manifest.v1+json', Authorization: `Basic ${Buffer.from('builder:s3cret').toString('base64')}` },
      });
      assert.equal(m.status, 200);
    } finally {
      await locked.close();
    }
  });

  test('--cache-from an image with no inline cache gives no hits', async () => {
    await forget(b, ['inl:1', `${host}/app/inline:1`]);
    const plain = `${host}/app/plain:1`;
    assert.equal((await a.docker(['tag', 'busybox:latest', plain])).code, 0);
    assert.equal((await a.docker(['push', plain])).code, 0);
    const r = await b.docker(['buildx', 'build', '--progress=plain', '--cache-from', plain, '-t', 'none:1', '--load', '.'], { cwd: ctx });
    assert.equal(r.code, 0, r.stderr);
    assertCached(r.stderr, [BUILD_STEP, ...FINAL_STEPS], false);
  });
});
