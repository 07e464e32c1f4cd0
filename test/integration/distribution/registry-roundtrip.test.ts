/**
 * Issue 3, acceptance 1–3: an image made by berth pushed to Debian's
 * docker-registry and copied by skopeo keeps the manifest digest berth shows;
 * an image skopeo put there is pulled by berth and runs; the same round trip
 * through `berth registry serve`; a layer whose bytes do not match its digest
 * fails the pull and leaves no image, layer, blob or temporary file.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon, skipUnlessRoot, type Daemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';
import { createContainer, logs, remove, start, waitExit } from '../engine/api.js';
import { startRegistryServer } from '../../../src/registry/server/index.js';
import { startDockerRegistry, type DockerRegistry } from '../../helpers/docker-registry.js';

/** Async on purpose: berth's registry server runs in this process and must keep answering. */
const run = async (cmd: string, args: string[]) => (await promisify(execFile)(cmd, args, { maxBuffer: 1 << 24 })).stdout;

function skopeoMissing(): string | false {
  return existsSync('/usr/bin/skopeo') && existsSync('/usr/bin/docker-registry') ? false : 'skopeo and docker-registry are needed';
}

/** Reads a JSON progress stream and returns its messages; throws on an error message. */
function messages(text: string): Record<string, any>[] {
  return text.split(/\r?\n/).filter(Boolean).map((l) => JSON.parse(l));
}

describe('pull and push against real registries', { skip: skipUnlessRoot() || skopeoMissing() }, () => {
  let d!: Daemon;
  let dir!: string;
  let registry: DockerRegistry | undefined;
  let regPort = 0;
  let regRoot!: string;

  before(async () => {
    dir = await mkdtemp('/tmp/berth-test-dist-');
    registry = await startDockerRegistry(dir);
    regPort = Number(registry.host.split(':')[1]);
    regRoot = join(dir, 'storage');
    d = await startDaemon();
    await importBusybox(d);
  }, { timeout: 120_000 });

  after(async () => {
    await registry?.stop();
    await d?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('a berth image pushed to docker-registry keeps its manifest digest through skopeo', async () => {
    const ref = `127.0.0.1:${regPort}/berth/bb:1`;
    assert.equal((await d.request('POST', `/images/busybox/tag?repo=127.0.0.1:${regPort}/berth/bb&tag=1`)).status, 201);
    const push = await d.request('POST', `/images/127.0.0.1:${regPort}/berth/bb/push?tag=1`, undefined, { timeoutMs: 60_000 });
    const msgs = messages(push.text);
    assert.ok(!msgs.some((m) => m.error), push.text);
    const pushed = msgs.find((m) => m.aux?.Digest)?.aux.Digest as string;
    assert.match(pushed, /^sha256:[0-9a-f]{64}$/);
    const inspect = (await d.request('GET', `/images/${ref}/json`)).json();
    assert.ok((inspect.RepoDigests as string[]).includes(`127.0.0.1:${regPort}/berth/bb@${pushed}`), JSON.stringify(inspect.RepoDigests));
    const oci = join(dir, 'oci');
    await run('skopeo', ['copy', '--src-tls-verify=false', `docker://${ref}`, `oci:${oci}:bb`]);
    const index = JSON.parse(await readFile(join(oci, 'index.json'), 'utf8'));
    assert.equal(index.manifests[0].digest, pushed, 'skopeo must see the digest berth reports');
  });

  test('a layer made here is kept as its tar, and gzipped once, at its first push', async () => {
    const id = await createContainer(d, { Image: 'busybox', Cmd: ['sh', '-c', 'seq 1 20000 > /numbers'] });
    try {
      await start(d, id);
      assert.equal(await waitExit(d, id), 0);
      const commit = await d.request('POST', `/commit?container=${id}&repo=127.0.0.1:${regPort}/lazy/one&tag=1`);
      assert.equal(commit.status, 201, commit.text);
    } finally {
      await remove(d, id);
    }
    const ref = `127.0.0.1:${regPort}/lazy/one:1`;
    const diffIds = (await d.request('GET', `/images/${ref}/json`)).json().RootFS.Layers as string[];
    const top = diffIds[diffIds.length - 1];
    const blobs = join(d.dataRoot, 'blobs', 'sha256');
    // The commit compressed nothing: the layer's one blob is its tar, named by its diffId.
    const before = new Set(await readdir(blobs));
    assert.ok(before.has(top.slice('sha256:'.length)), 'the committed layer is kept as its tar');
    const pushOnce = async (r: string) => {
      const [repo, tag] = r.split(/:(?=[^:/]+$)/);
      const push = await d.request('POST', `/images/${repo}/push?tag=${tag}`, undefined, { timeoutMs: 60_000 });
      assert.ok(!messages(push.text).some((m) => m.error), push.text);
      const manifest = JSON.parse(await run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${r}`]));
      return manifest.layers as { mediaType: string; digest: string; size: number }[];
    };
    const first = await pushOnce(ref);
    const pushedTop = first[first.length - 1];
    assert.equal(pushedTop.mediaType, 'application/vnd.oci.image.layer.v1.tar+gzip');
    assert.notEqual(pushedTop.digest, top, 'a registry gets the gzip, not the tar');
    const made = (await readdir(blobs)).filter((n) => !before.has(n));
    assert.ok(made.includes(pushedTop.digest.slice('sha256:'.length)), 'the gzip made at the push is kept');
    // Another repository: the same blobs again (mounted from the first), so the same layer digests.
    assert.equal((await d.request('POST', `/images/${ref}/tag?repo=127.0.0.1:${regPort}/lazy/two&tag=1`)).status, 201);
    assert.deepEqual(await pushOnce(`127.0.0.1:${regPort}/lazy/two:1`), first);
    assert.equal((await readdir(blobs)).filter((n) => !before.has(n)).length, made.length, 'the second push compressed nothing new');
  });

  test('an image skopeo put into the registry is pulled by berth and runs', async () => {
    const src = join(dir, 'oci');
    await run('skopeo', ['copy', '--dest-tls-verify=false', '--format', 'oci', `oci:${src}:bb`, `docker://127.0.0.1:${regPort}/other/bb:2`]);
    const pull = await d.request('POST', `/images/create?fromImage=127.0.0.1:${regPort}/other/bb&tag=2`, undefined, { timeoutMs: 60_000 });
    assert.ok(!messages(pull.text).some((m) => m.error), pull.text);
    const id = await createContainer(d, { Image: `127.0.0.1:${regPort}/other/bb:2`, Cmd: ['echo', 'pulled-ok'] });
    try {
      await start(d, id);
      assert.equal(await waitExit(d, id), 0);
      assert.match(await logs(d, id), /pulled-ok/);
    } finally {
      await remove(d, id);
    }
  });

  test('berth registry serve round-trips with skopeo and berth, chunked and mounted', async () => {
    const reg = await startRegistryServer({ addr: '127.0.0.1:0', root: join(dir, 'berth-registry') });
    try {
      const host = `127.0.0.1:${reg.port}`;
      assert.equal((await d.request('POST', `/images/busybox/tag?repo=${host}/a/bb&tag=1`)).status, 201);
      const p1 = await d.request('POST', `/images/${host}/a/bb/push?tag=1`, undefined, { timeoutMs: 60_000 });
      assert.ok(!messages(p1.text).some((m) => m.error), p1.text);
      // The same image into a second repository: its layer is mounted, not uploaded again.
      assert.equal((await d.request('POST', `/images/busybox/tag?repo=${host}/b/bb&tag=1`)).status, 201);
      const p2 = await d.request('POST', `/images/${host}/b/bb/push?tag=1`, undefined, { timeoutMs: 60_000 });
      assert.match(p2.text, /Mounted from|already exists/);
      const tags = await (await fetch(`http://${host}/v2/a/bb/tags/list`)).json() as { tags: string[] };
      assert.deepEqual(tags.tags, ['1']);
      await run('skopeo', ['copy', '--src-tls-verify=false', `docker://${host}/a/bb:1`, `oci:${join(dir, 'oci2')}:x`]);
      const digest = messages(p1.text).find((m) => m.aux?.Digest)?.aux.Digest;
      assert.equal(JSON.parse(await readFile(join(dir, 'oci2', 'index.json'), 'utf8')).manifests[0].digest, digest);
    } finally {
      await reg.close();
    }
  });

  test('a layer whose bytes do not match its digest fails the pull and leaves nothing behind', async () => {
    const ref = `127.0.0.1:${regPort}/bad/bb`;
    // An image with a layer of its own: commit a change, push it, then forget it locally.
    const c = await createContainer(d, { Cmd: ['sh', '-c', 'echo unique-$RANDOM > /unique'] });
    await start(d, c);
    await waitExit(d, c);
    assert.equal((await d.request('POST', `/commit?container=${c}&repo=${ref}&tag=1`)).status, 201);
    await remove(d, c);
    const push = await d.request('POST', `/images/${ref}/push?tag=1`, undefined, { timeoutMs: 60_000 });
    assert.ok(!messages(push.text).some((m) => m.error), push.text);
    assert.equal((await d.request('DELETE', `/images/${ref}:1`)).status, 200);

    const manifest = JSON.parse(await run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${ref}:1`]));
    const layer = (manifest.layers.at(-1).digest as string).slice(7);
    await writeFile(join(regRoot, 'docker/registry/v2/blobs/sha256', layer.slice(0, 2), layer, 'data'), Buffer.alloc(manifest.layers.at(-1).size, 7));
    const imagesBefore = (await d.request('GET', '/images/json')).json().length;
    const layersBefore = (await readdir(join(d.dataRoot, 'layers'))).sort();
    const blobsBefore = (await readdir(join(d.dataRoot, 'blobs/sha256'))).sort();

    const pull = await d.request('POST', `/images/create?fromImage=${ref}&tag=1`, undefined, { timeoutMs: 60_000 });
    const err = messages(pull.text).find((m) => m.error);
    assert.ok(err, pull.text);
    assert.match(err!.error, /digest mismatch|failed to verify/);
    assert.equal((await d.request('GET', '/images/json')).json().length, imagesBefore);
    assert.deepEqual((await readdir(join(d.dataRoot, 'layers'))).sort(), layersBefore);
    assert.deepEqual((await readdir(join(d.dataRoot, 'blobs/sha256'))).sort(), blobsBefore);
    assert.deepEqual(await readdir(join(d.dataRoot, 'tmp')), []);
  });
});
