/**
 * The registry client against both registries it must work with: berth's
 * own server and Debian's docker-registry 2.8.2, each behind a recording
 * proxy so the request sequence (monolithic upload vs its PATCH+PUT
 * fallback, chunk PATCHes, pagination) can be checked. Every block tears its
 * servers and temp dirs down in `after`, which runs on failure too.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import { RegistryClient, endpointFor } from '../../../src/registry/client/registry-client.js';
import { selectManifest, parsePlatform, type PlatformDescriptor } from '../../../src/registry/client/platform.js';
import { VerificationError, verifyingStream } from '../../../src/registry/client/verify.js';
import { startRegistryServer } from '../../../src/registry/server/index.js';
import { NotFoundError } from '../../../src/errors.js';
import { DOCKER_LIST, OCI_INDEX, blob, image, indexOf, readAll, sha256, source, tempDir } from './fixtures.js';
import { hasProgram, run, startDockerRegistry, startProxy, type Proxy } from './servers.js';

const haveDockerRegistry = await hasProgram('docker-registry');
const haveSkopeo = await hasProgram('skopeo');

interface Target {
  name: string;
  start(dir: string): Promise<{ url: string; stop(): Promise<void> }>;
  /** Does a single monolithic POST complete the upload (201)? */
  monolithic: boolean;
  /** Does it honour `n` on tags/list? */
  paginatesTags: boolean;
  skip?: string | false;
}

const targets: Target[] = [
  {
    name: "berth's registry server",
    monolithic: true,
    paginatesTags: true,
    async start(dir) {
      const reg = await startRegistryServer({ addr: '127.0.0.1:0', root: dir });
      return { url: reg.url, stop: () => reg.close() };
    },
  },
  {
    name: 'docker-registry 2.8.2',
    monolithic: false,
    paginatesTags: false,
    skip: !haveDockerRegistry && 'docker-registry not installed',
    async start(dir) {
      const reg = await startDockerRegistry(dir);
      return { url: reg.url, stop: () => reg.stop() };
    },
  },
];

const calls = (p: Proxy, from: number) => p.log.slice(from).map((e) => `${e.method} ${e.path.split('?')[0].replace(/uploads\/[^/]+$/, 'uploads/<id>')} ${e.status}`);

for (const t of targets) {
  describe(`registry client against ${t.name}`, { skip: t.skip }, () => {
    let dir = '';
    let reg: { url: string; stop(): Promise<void> } | undefined;
    let proxy: Proxy | undefined;
    let client: RegistryClient;
    let domain = '';
    const img = image();

    before(async () => {
      dir = await tempDir('ops');
      reg = await t.start(dir);
      proxy = await startProxy(reg.url);
      domain = proxy.host;
      client = new RegistryClient(endpointFor(domain, []), undefined, { retry: { retries: 0, baseDelayMs: 1 } });
    });
    after(async () => {
      client?.close();
      await proxy?.close();
      await reg?.stop();
      await fs.rm(dir, { recursive: true, force: true });
    });

    test('ping: an insecure loopback registry is reached over HTTP after HTTPS fails', async () => {
      await client.ping();
      assert.ok(proxy!.log.some((e) => e.method === 'GET' && e.path === '/v2/' && e.status === 200));
    });

    test(`small blob: monolithic POST ${t.monolithic ? 'completes it' : 'answered 202, falls back to PATCH + PUT'}`, async () => {
      const from = proxy!.log.length;
      await client.uploadBlob('ops/a', img.config.digest, img.config.bytes.length, source(img.config.bytes));
      const seq = calls(proxy!, from);
      if (t.monolithic) {
        assert.deepEqual(seq, ['POST /v2/ops/a/blobs/uploads/ 201']);
      } else {
        assert.deepEqual(seq, ['POST /v2/ops/a/blobs/uploads/ 202', 'PATCH /v2/ops/a/blobs/uploads/<id> 202', 'PUT /v2/ops/a/blobs/uploads/<id> 201']);
      }
      assert.equal(await client.blobExists('ops/a', img.config.digest), true);
      assert.deepEqual(await readAll(await client.getBlob('ops/a', img.config.digest)), img.config.bytes);
    });

    test('large blob: POST, one streamed PATCH, PUT ?digest=; progress reaches the size', async () => {
      const big = blob(700_000);
      const from = proxy!.log.length;
      const progress: number[] = [];
      await client.uploadBlob('ops/a', big.digest, big.bytes.length, source(big.bytes), { onProgress: (n) => progress.push(n) });
      assert.deepEqual(calls(proxy!, from), ['POST /v2/ops/a/blobs/uploads/ 202', 'PATCH /v2/ops/a/blobs/uploads/<id> 202', 'PUT /v2/ops/a/blobs/uploads/<id> 201']);
      assert.equal(progress.at(-1), big.bytes.length);
      assert.ok(progress.every((n, i) => i === 0 || n >= progress[i - 1]));
      const pulled = await readAll((await client.getBlob('ops/a', big.digest)).pipe(verifyingStream(big.digest, big.bytes.length)));
      assert.equal(pulled.length, big.bytes.length);
    });

    test('chunked upload: PATCHes of chunkSize with Content-Range, then PUT', async () => {
      const from = proxy!.log.length;
      await client.uploadBlob('ops/a', img.layer.digest, img.layer.bytes.length, source(img.layer.bytes, 100), { chunkSize: 1024 });
      const seq = calls(proxy!, from);
      assert.deepEqual(seq, ['POST /v2/ops/a/blobs/uploads/ 202', ...Array(3).fill('PATCH /v2/ops/a/blobs/uploads/<id> 202'), 'PUT /v2/ops/a/blobs/uploads/<id> 201']);
      assert.deepEqual(await readAll(await client.getBlob('ops/a', img.layer.digest)), img.layer.bytes);
    });

    test('a source that does not match its digest fails before the PUT and cancels the session', async () => {
      const good = blob(300_000);
      const from = proxy!.log.length;
      await assert.rejects(client.uploadBlob('ops/a', good.digest, good.bytes.length, source(blob(300_000).bytes)),
        (e: unknown) => e instanceof VerificationError && /digest mismatch/.test(e.message));
      const seq = calls(proxy!, from);
      assert.ok(!seq.some((s) => s.startsWith('PUT')), seq.join('\n'));
      assert.ok(seq.some((s) => s.startsWith('DELETE /v2/ops/a/blobs/uploads/<id>')), seq.join('\n'));
      assert.equal(await client.blobExists('ops/a', good.digest), false);
    });

    test('cross-repository mount: 201 for a known blob, false (session cancelled) for an unknown one', async () => {
      assert.equal(await client.mountBlob('ops/b', img.layer.digest, 'ops/a'), true);
      assert.equal(await client.blobExists('ops/b', img.layer.digest), true);
      const from = proxy!.log.length;
      assert.equal(await client.mountBlob('ops/c', blob(10).digest, 'ops/a'), false);
      assert.deepEqual(calls(proxy!, from).map((s) => s.split(' ')[0]), ['POST', 'DELETE']);
    });

    test('Docker v2 and OCI manifests: put by tag and digest, get, head', async () => {
      await client.mountBlob('ops/b', img.config.digest, 'ops/a');
      for (const m of [img.docker, img.oci]) {
        const tag = m === img.docker ? 'docker' : 'oci';
        assert.equal(await client.putManifest('ops/b', tag, m.bytes, m.mediaType), m.digest);
        assert.equal(await client.putManifest('ops/b', m.digest, m.bytes, m.mediaType), m.digest);
        const got = await client.getManifest('ops/b', tag);
        assert.deepEqual(got, { bytes: m.bytes, mediaType: m.mediaType, digest: m.digest });
        assert.deepEqual(await client.getManifest('ops/b', m.digest), got);
        assert.deepEqual(await client.headManifest('ops/b', tag), { digest: m.digest, mediaType: m.mediaType, size: m.bytes.length });
      }
      const accept = proxy!.log.filter((e) => e.path === '/v2/ops/b/manifests/docker').length;
      assert.ok(accept >= 2);
    });

    test('what the client pushed is a complete image for skopeo (a real client) too', { skip: !haveSkopeo && 'skopeo not installed' }, async () => {
      const out = `${dir}/skopeo-copy`;
      await run('skopeo', ['--insecure-policy', 'copy', '--src-tls-verify=false', `docker://${domain}/ops/b:oci`, `oci:${out}:copied`]);
      const index = JSON.parse(await fs.readFile(`${out}/index.json`, 'utf8')) as { manifests: Array<{ digest: string }> };
      assert.equal(index.manifests.length, 1);
      // skopeo verified every blob it fetched; the config arrives byte for byte (the layer, random bytes
      // labelled tar+gzip, is recompressed by skopeo on the way, so its digest changes).
      assert.deepEqual(await fs.readFile(`${out}/blobs/sha256/${img.config.digest.slice(7)}`), img.config.bytes);
    });

    test('an OCI index and a Docker list: stored as such, linux/amd64 child chosen and fetched by digest', async () => {
      const arm = image('arm64');
      for (const b of [arm.config, arm.layer]) await client.uploadBlob('ops/b', b.digest, b.bytes.length, source(b.bytes));
      await client.putManifest('ops/b', arm.oci.digest, arm.oci.bytes, arm.oci.mediaType);
      await client.putManifest('ops/b', arm.docker.digest, arm.docker.bytes, arm.docker.mediaType);
      const oci = indexOf([{ m: arm.oci, arch: 'arm64', variant: 'v8' }, { m: img.oci, arch: 'amd64' }], OCI_INDEX);
      const list = indexOf([{ m: arm.docker, arch: 'arm64', variant: 'v8' }, { m: img.docker, arch: 'amd64' }], DOCKER_LIST);
      for (const [tag, idx, child] of [['index', oci, img.oci], ['list', list, img.docker]] as const) {
        assert.equal(await client.putManifest('ops/b', tag, idx.bytes, idx.mediaType), idx.digest);
        const got = await client.getManifest('ops/b', tag);
        assert.equal(got.mediaType, idx.mediaType);
        assert.equal(got.digest, idx.digest);
        const entries = (JSON.parse(got.bytes.toString()) as { manifests: PlatformDescriptor[] }).manifests;
        const chosen = selectManifest(entries, parsePlatform('linux/amd64'));
        assert.equal(chosen.digest, child.digest);
        assert.equal(selectManifest(entries, parsePlatform('linux/arm64')).digest, tag === 'index' ? arm.oci.digest : arm.docker.digest);
        assert.deepEqual((await client.getManifest('ops/b', chosen.digest)).bytes, child.bytes);
      }
    });

    test('missing manifests: Docker\'s not-found wording; HEAD gives null', async () => {
      await assert.rejects(client.getManifest('ops/b', 'nosuch'), (e: unknown) => {
        assert.ok(e instanceof NotFoundError);
        assert.equal(e.message, `manifest for ${domain}/ops/b:nosuch not found: manifest unknown: manifest unknown`);
        return true;
      });
      assert.equal(await client.headManifest('ops/b', 'nosuch'), null);
      const d = sha256('nothing');
      await assert.rejects(client.getManifest('ops/b', d), (e: unknown) => e instanceof NotFoundError && e.message.startsWith(`manifest for ${domain}/ops/b@${d} not found: manifest unknown`));
      await assert.rejects(client.getManifest('never/pushed', 'latest'), NotFoundError);
      assert.equal(await client.headManifest('never/pushed', 'latest'), null);
    });

    test('missing blobs: NotFoundError in Docker\'s words; blobExists false', async () => {
      const d = blob(5).digest;
      assert.equal(await client.blobExists('ops/a', d), false);
      await assert.rejects(client.getBlob('ops/a', d), (e: unknown) => e instanceof NotFoundError && /^blob unknown: /.test(e.message));
    });

    test(`tags: all pages are followed (${t.paginatesTags ? 'Link pagination' : 'n ignored, one page'})`, async () => {
      const tags = ['t1', 't2', 't3', 't4', 't5'];
      for (const tag of tags) await client.putManifest('ops/tags', tag, img.oci.bytes, img.oci.mediaType).catch(async () => {
        for (const b of [img.config, img.layer]) await client.mountBlob('ops/tags', b.digest, 'ops/a');
        await client.putManifest('ops/tags', tag, img.oci.bytes, img.oci.mediaType);
      });
      const from = proxy!.log.length;
      assert.deepEqual((await client.listTags('ops/tags', { pageSize: 2 })).sort(), tags);
      const pages = proxy!.log.slice(from).filter((e) => e.path.startsWith('/v2/ops/tags/tags/list')).length;
      assert.equal(pages, t.paginatesTags ? 3 : 1);
      assert.deepEqual((await client.listTags('ops/tags')).sort(), tags);
      await assert.rejects(client.listTags('never/pushed'), NotFoundError);
    });

    test('Range resume: getBlob from an offset returns the rest', async () => {
      const rest = await readAll(await client.getBlob('ops/a', img.layer.digest, { offset: 1000 }));
      assert.deepEqual(rest, img.layer.bytes.subarray(1000));
      assert.equal(proxy!.log.at(-1)!.range, 'bytes=1000-');
    });
  });
}
