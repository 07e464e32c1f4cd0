/**
 * berth's registry server takes every digest algorithm the OCI image spec
 * registers (sha256 and sha512) wherever a digest appears: a monolithic or
 * chunked blob upload's `digest=`, blob GET/HEAD, a cross-repository mount,
 * a manifest PUT and GET by digest, the references a manifest makes, and
 * garbage collection. A digest of any other algorithm, or of the wrong
 * length, is refused (400 DIGEST_INVALID) before it names a file.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { startRegistryServer } from '../../../src/registry/server/index.js';
import { collectGarbage } from '../../../src/registry/server/garbage-collect.js';
import { tempDir } from './processes.js';

type Running = Awaited<ReturnType<typeof startRegistryServer>>;

const sha512 = (b: Buffer) => `sha512:${crypto.createHash('sha512').update(b).digest('hex')}`;
const sha256 = (b: Buffer) => `sha256:${crypto.createHash('sha256').update(b).digest('hex')}`;

/** Every file under `dir`, relative. */
async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const e of await fs.readdir(d, { withFileTypes: true }).catch(() => [])) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else out.push(path.relative(dir, p));
    }
  };
  await walk(dir);
  return out.sort();
}

describe('registry server: sha512 digests', () => {
  let root = '';
  let reg: Running | undefined;
  const req = async (method: string, p: string, body?: Buffer, headers: Record<string, string> = {}) => {
    const res = await fetch(reg!.url + p, { method, body: body as RequestInit['body'], headers, redirect: 'manual' });
    const bytes = Buffer.from(await res.arrayBuffer());
    return { status: res.status, headers: res.headers, body: bytes, json: () => JSON.parse(bytes.toString()) };
  };
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
  const layer = crypto.randomBytes(3000);
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha512(config), size: config.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha512(layer), size: layer.length }],
  }));

  before(async () => {
    root = await tempDir('registry-sha512');
    reg = await startRegistryServer({ addr: '127.0.0.1:0', root });
  });
  after(async () => {
    await reg?.close();
    await fs.rm(root, { recursive: true, force: true });
  });

  test('a monolithic upload with a sha512 digest is stored, served and named by it', async () => {
    const r = await req('POST', `/v2/a/blobs/uploads/?digest=${sha512(config)}`, config, { 'content-type': 'application/octet-stream' });
    assert.equal(r.status, 201, r.body.toString());
    assert.equal(r.headers.get('docker-content-digest'), sha512(config));
    assert.equal(r.headers.get('location'), `/v2/a/blobs/${sha512(config)}`);
    const got = await req('GET', `/v2/a/blobs/${sha512(config)}`);
    assert.equal(got.status, 200);
    assert.deepEqual(got.body, config);
    const head = await req('HEAD', `/v2/a/blobs/${sha512(config)}`);
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-length'), String(config.length));
  });

  test('a chunked upload closed with a sha512 digest is verified against it', async () => {
    const start = await req('POST', '/v2/a/blobs/uploads/');
    assert.equal(start.status, 202);
    const loc = start.headers.get('location')!;
    const half = layer.length / 2;
    const p1 = await req('PATCH', loc, layer.subarray(0, half), { 'content-type': 'application/octet-stream', 'content-range': `0-${half - 1}` });
    assert.equal(p1.status, 202);
    const loc2 = p1.headers.get('location')!;
    const done = await req('PUT', `${loc2}&digest=${sha512(layer)}`, layer.subarray(half), { 'content-type': 'application/octet-stream' });
    assert.equal(done.status, 201, done.body.toString());
    assert.deepEqual((await req('GET', `/v2/a/blobs/${sha512(layer)}`)).body, layer);
  });

  test('an upload whose bytes do not match its sha512 digest is refused and stores nothing', async () => {
    const other = crypto.randomBytes(100);
    const r = await req('POST', `/v2/a/blobs/uploads/?digest=${sha512(layer)}`, other);
    assert.equal(r.status, 400);
    assert.deepEqual(r.json().errors.map((e: { code: string }) => e.code), ['DIGEST_INVALID']);
    assert.equal((await req('HEAD', `/v2/a/blobs/${sha512(other)}`)).status, 404);
  });

  test('a cross-repository mount by a sha512 digest links the blob', async () => {
    const r = await req('POST', `/v2/b/blobs/uploads/?mount=${sha512(layer)}&from=a`);
    assert.equal(r.status, 201, r.body.toString());
    assert.equal((await req('GET', `/v2/b/blobs/${sha512(layer)}`)).status, 200);
  });

  test('a manifest referencing sha512 blobs is accepted; PUT and GET by its sha512 digest', async () => {
    const headers = { 'content-type': 'application/vnd.oci.image.manifest.v1+json' };
    const byDigest = await req('PUT', `/v2/a/manifests/${sha512(manifest)}`, manifest, headers);
    assert.equal(byDigest.status, 201, byDigest.body.toString());
    assert.equal(byDigest.headers.get('docker-content-digest'), sha512(manifest));
    const got = await req('GET', `/v2/a/manifests/${sha512(manifest)}`, undefined, { accept: headers['content-type'] });
    assert.equal(got.status, 200);
    assert.deepEqual(got.body, manifest);
    assert.equal(got.headers.get('docker-content-digest'), sha512(manifest));
    // By tag the registry names it by sha256, as every client expects.
    const byTag = await req('PUT', '/v2/a/manifests/v1', manifest, headers);
    assert.equal(byTag.status, 201, byTag.body.toString());
    assert.equal(byTag.headers.get('docker-content-digest'), sha256(manifest));
    const wrong = await req('PUT', `/v2/a/manifests/${sha512(layer)}`, manifest, headers);
    assert.equal(wrong.status, 400);
  });

  test('digests of other algorithms or lengths are refused before they name a file', async () => {
    const before = await filesUnder(root);
    const hex64 = 'a'.repeat(64);
    for (const digest of [`md5:${'a'.repeat(32)}`, `blake3:${hex64}`, `sha512:${hex64}`, `sha256:${'a'.repeat(128)}`, `sha512:${'A'.repeat(128)}`, `constructor:${hex64}`]) {
      for (const [method, p] of [
        ['POST', `/v2/a/blobs/uploads/?digest=${digest}`], ['GET', `/v2/a/blobs/${digest}`], ['HEAD', `/v2/a/blobs/${digest}`],
        ['GET', `/v2/a/manifests/${digest}`], ['POST', `/v2/a/blobs/uploads/?mount=${digest}&from=b`],
      ] as const) {
        const r = await req(method, p, method === 'POST' ? Buffer.from('x') : undefined);
        assert.equal(r.status, 400, `${method} ${p}: ${r.status}`);
        if (method !== 'HEAD') assert.ok(r.json().errors.some((e: { code: string }) => e.code === 'DIGEST_INVALID'), `${method} ${p}`);
      }
    }
    assert.deepEqual((await filesUnder(root)).filter((f) => !f.startsWith('_uploads/') && !f.startsWith('_tmp/')), before.filter((f) => !f.startsWith('_uploads/') && !f.startsWith('_tmp/')));
    assert.deepEqual(await fs.readdir(path.join(root, 'blobs')).then((l) => l.sort()), ['sha256', 'sha512']);
  });

  test('garbage collection keeps the sha512 blobs a manifest references and removes the others', async () => {
    const stray = crypto.randomBytes(50);
    assert.equal((await req('POST', `/v2/c/blobs/uploads/?digest=${sha512(stray)}`, stray)).status, 201);
    await reg!.close();
    reg = undefined;
    try {
      const result = await collectGarbage(root, { out: () => undefined });
      assert.deepEqual(result.blobs.map((b) => b.digest), [sha512(stray)]);
    } finally {
      reg = await startRegistryServer({ addr: '127.0.0.1:0', root });
    }
    assert.equal((await req('GET', `/v2/a/blobs/${sha512(layer)}`)).status, 200);
    assert.equal((await req('GET', `/v2/a/manifests/${sha512(manifest)}`)).status, 200);
    assert.equal((await req('GET', `/v2/c/blobs/${sha512(stray)}`)).status, 404);
  });
});
