/**
 * berth's registry server end to end: raw HTTP against the OCI distribution
 * spec v1.1 endpoints, then real clients (skopeo), interop with Debian's
 * docker-registry 2.8.2, basic auth and TLS. Every block starts its own
 * servers on free ports with temp roots and tears them down in `after`, which
 * runs on failure too.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { startRegistryServer } from '../../../src/registry/server/index.js';
import { indexOf, layoutDigest, sha256, tinyImage, writeOciLayout } from './image-fixture.js';
import { hasProgram, run, skopeo, startDockerRegistry, tempDir, type DockerRegistry } from './processes.js';

type Running = Awaited<ReturnType<typeof startRegistryServer>>;

interface Reply {
  status: number;
  headers: Headers;
  body: Buffer;
  json: () => any;
}

function client(base: () => string, auth?: () => string | undefined) {
  return async (method: string, p: string, opts: { body?: Buffer | string; headers?: Record<string, string> } = {}): Promise<Reply> => {
    const headers: Record<string, string> = { ...opts.headers };
    const a = auth?.();
    if (a && !('authorization' in headers)) headers.authorization = a;
    const res = await fetch(p.startsWith('http') ? p : base() + p, { method, body: opts.body as RequestInit['body'], headers, redirect: 'manual' });
    const body = Buffer.from(await res.arrayBuffer());
    return { status: res.status, headers: res.headers, body, json: () => JSON.parse(body.toString()) };
  };
}

const errorCodes = (r: Reply): string[] => (r.json().errors as Array<{ code: string }>).map((e) => e.code);

async function pushBlob(req: ReturnType<typeof client>, name: string, blob: Buffer): Promise<void> {
  const r = await req('POST', `/v2/${name}/blobs/uploads/?digest=${sha256(blob)}`, { body: blob, headers: { 'content-type': 'application/octet-stream' } });
  assert.equal(r.status, 201, r.body.toString());
}

async function pushImage(req: ReturnType<typeof client>, name: string, tag: string, img = tinyImage()): Promise<void> {
  await pushBlob(req, name, img.layer);
  await pushBlob(req, name, img.config);
  const r = await req('PUT', `/v2/${name}/manifests/${tag}`, { body: img.manifest, headers: { 'content-type': img.mediaType } });
  assert.equal(r.status, 201, r.body.toString());
}

const haveSkopeo = await hasProgram('skopeo');
const haveDockerRegistry = await hasProgram('docker-registry');
const haveOpenssl = await hasProgram('openssl');
const haveDockerCli = await hasProgram('docker');

describe('raw HTTP push and pull', () => {
  let root = '';
  let reg: Running | undefined;
  const req = client(() => reg!.url);
  const img = tinyImage();

  before(async () => {
    root = await tempDir('registry');
    reg = await startRegistryServer({ addr: '127.0.0.1:0', root });
  });
  after(async () => {
    await reg?.close();
    await fs.rm(root, { recursive: true, force: true });
  });

  test('GET /v2/ answers 200 with the API version header', async () => {
    const r = await req('GET', '/v2/');
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('docker-distribution-api-version'), 'registry/2.0');
    assert.deepEqual(r.json(), {});
  });

  test('monolithic single POST with ?digest= stores the blob (201)', async () => {
    const r = await req('POST', `/v2/mono/a/blobs/uploads/?digest=${sha256(img.config)}`, { body: img.config });
    assert.equal(r.status, 201);
    assert.equal(r.headers.get('location'), `/v2/mono/a/blobs/${sha256(img.config)}`);
    assert.equal(r.headers.get('docker-content-digest'), sha256(img.config));
    const got = await req('GET', `/v2/mono/a/blobs/${sha256(img.config)}`);
    assert.equal(got.status, 200);
    assert.deepEqual(got.body, img.config);
    assert.equal(got.headers.get('content-type'), 'application/octet-stream');
    assert.equal(got.headers.get('docker-content-digest'), sha256(img.config));
  });

  test('POST then PUT with the whole body (202 session, 201)', async () => {
    const s = await req('POST', '/v2/mono/b/blobs/uploads/');
    assert.equal(s.status, 202);
    assert.equal(s.headers.get('range'), '0-0');
    const uuid = s.headers.get('docker-upload-uuid')!;
    assert.match(uuid, /^[0-9a-f-]{36}$/);
    const loc = new URL(s.headers.get('location')!, reg!.url);
    assert.ok(loc.pathname.endsWith(`/blobs/uploads/${uuid}`));
    loc.searchParams.set('digest', sha256(img.layer));
    const r = await req('PUT', loc.toString(), { body: img.layer });
    assert.equal(r.status, 201);
    const head = await req('HEAD', `/v2/mono/b/blobs/${sha256(img.layer)}`);
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-length'), String(img.layer.length));
  });

  test('chunked upload: a gap is 416, status tells the offset, the upload resumes and completes', async () => {
    const blob = crypto.randomBytes(3000);
    const s = await req('POST', '/v2/chunked/x/blobs/uploads/');
    let loc = new URL(s.headers.get('location')!, reg!.url).toString();
    let r = await req('PATCH', loc, { body: blob.subarray(0, 1000), headers: { 'content-range': '0-999', 'content-type': 'application/octet-stream' } });
    assert.equal(r.status, 202);
    assert.equal(r.headers.get('range'), '0-999');
    loc = new URL(r.headers.get('location')!, reg!.url).toString();

    r = await req('PATCH', loc, { body: blob.subarray(2000), headers: { 'content-range': '2000-2999' } });
    assert.equal(r.status, 416);
    assert.equal(r.headers.get('range'), '0-999');
    assert.deepEqual(errorCodes(r), ['BLOB_UPLOAD_INVALID']);

    r = await req('GET', loc);
    assert.equal(r.status, 204);
    assert.equal(r.headers.get('range'), '0-999');
    assert.equal(r.headers.get('docker-upload-uuid'), s.headers.get('docker-upload-uuid'));

    r = await req('PATCH', loc, { body: blob.subarray(1000, 2000), headers: { 'content-range': '1000-1999' } });
    assert.equal(r.status, 202);
    assert.equal(r.headers.get('range'), '0-1999');

    const put = new URL(r.headers.get('location')!, reg!.url);
    put.searchParams.set('digest', sha256(blob));
    r = await req('PUT', put.toString(), { body: blob.subarray(2000), headers: { 'content-range': '2000-2999' } });
    assert.equal(r.status, 201, r.body.toString());
    const got = await req('GET', `/v2/chunked/x/blobs/${sha256(blob)}`);
    assert.deepEqual(got.body, blob);
  });

  test('a chunk whose length disagrees with Content-Range is SIZE_INVALID and rolled back', async () => {
    const s = await req('POST', '/v2/chunked/y/blobs/uploads/');
    const loc = new URL(s.headers.get('location')!, reg!.url).toString();
    let r = await req('PATCH', loc, { body: Buffer.alloc(10, 1), headers: { 'content-range': '0-19' } });
    assert.equal(r.status, 400);
    assert.deepEqual(errorCodes(r), ['SIZE_INVALID']);
    r = await req('GET', loc);
    assert.equal(r.headers.get('range'), '0-0');
    r = await req('PATCH', loc, { body: Buffer.alloc(10, 1), headers: { 'content-range': '0-9' } });
    assert.equal(r.headers.get('range'), '0-9');
    r = await req('DELETE', loc);
    assert.equal(r.status, 204);
    r = await req('GET', loc);
    assert.equal(r.status, 404);
    assert.deepEqual(errorCodes(r), ['BLOB_UPLOAD_UNKNOWN']);
  });

  test('a large blob streams through a chunked-encoding PATCH without Content-Range', async () => {
    const blob = crypto.randomBytes(16 << 20);
    const s = await req('POST', '/v2/big/blob/blobs/uploads/');
    const loc = new URL(s.headers.get('location')!, reg!.url);
    const status = await new Promise<number>((resolve, reject) => {
      const c = http.request(loc, { method: 'PATCH', headers: { 'content-type': 'application/octet-stream' } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode!));
      });
      c.on('error', reject);
      for (let off = 0; off < blob.length; off += 1 << 20) c.write(blob.subarray(off, off + (1 << 20)));
      c.end();
    });
    assert.equal(status, 202);
    loc.searchParams.set('digest', sha256(blob));
    const r = await req('PUT', loc.toString());
    assert.equal(r.status, 201, r.body.toString());
    const head = await req('HEAD', `/v2/big/blob/blobs/${sha256(blob)}`);
    assert.equal(head.headers.get('content-length'), String(blob.length));
  });

  test('a digest mismatch is 400 DIGEST_INVALID and commits nothing', async () => {
    const blob = Buffer.from('the real content');
    const wrong = sha256('something else');
    const s = await req('POST', '/v2/mismatch/a/blobs/uploads/');
    const loc = new URL(s.headers.get('location')!, reg!.url);
    loc.searchParams.set('digest', wrong);
    const r = await req('PUT', loc.toString(), { body: blob });
    assert.equal(r.status, 400);
    assert.deepEqual(errorCodes(r), ['DIGEST_INVALID']);
    for (const d of [wrong, sha256(blob)]) {
      assert.equal((await req('HEAD', `/v2/mismatch/a/blobs/${d}`)).status, 404);
      await assert.rejects(fs.stat(path.join(root, 'blobs', 'sha256', d.slice(7))));
    }
    assert.equal((await req('GET', loc.toString())).status, 404, 'the session is gone');
    const single = await req('POST', `/v2/mismatch/a/blobs/uploads/?digest=${wrong}`, { body: blob });
    assert.equal(single.status, 400);
    assert.deepEqual(errorCodes(single), ['DIGEST_INVALID']);
    await assert.rejects(fs.stat(path.join(root, 'blobs', 'sha256', sha256(blob).slice(7))));
  });

  test('Range on a blob gives 206; past the end 416', async () => {
    let r = await req('GET', `/v2/mono/b/blobs/${sha256(img.layer)}`, { headers: { range: 'bytes=0-9' } });
    assert.equal(r.status, 206);
    assert.deepEqual(r.body, img.layer.subarray(0, 10));
    assert.equal(r.headers.get('content-range'), `bytes 0-9/${img.layer.length}`);
    r = await req('GET', `/v2/mono/b/blobs/${sha256(img.layer)}`, { headers: { range: 'bytes=-5' } });
    assert.deepEqual(r.body, img.layer.subarray(img.layer.length - 5));
    r = await req('GET', `/v2/mono/b/blobs/${sha256(img.layer)}`, { headers: { range: `bytes=${img.layer.length}-` } });
    assert.equal(r.status, 416);
    assert.equal(r.headers.get('content-range'), `bytes */${img.layer.length}`);
  });

  test('cross-repository mount: 201 when the source holds the blob, else a 202 session', async () => {
    const d = sha256(img.layer);
    assert.equal((await req('HEAD', `/v2/mounted/c/blobs/${d}`)).status, 404);
    let r = await req('POST', `/v2/mounted/c/blobs/uploads/?mount=${d}&from=mono/b`);
    assert.equal(r.status, 201);
    assert.equal(r.headers.get('location'), `/v2/mounted/c/blobs/${d}`);
    assert.equal(r.headers.get('docker-content-digest'), d);
    assert.equal((await req('HEAD', `/v2/mounted/c/blobs/${d}`)).status, 200);
    // mono/a never held the layer: a normal session instead
    r = await req('POST', `/v2/mounted/d/blobs/uploads/?mount=${d}&from=mono/a`);
    assert.equal(r.status, 202);
    assert.ok(r.headers.get('docker-upload-uuid'));
    assert.equal((await req('HEAD', `/v2/mounted/d/blobs/${d}`)).status, 404);
  });

  test('a blob is served only through a repository that links it', async () => {
    const r = await req('GET', `/v2/other/repo/blobs/${sha256(img.layer)}`);
    assert.equal(r.status, 404);
    assert.deepEqual(errorCodes(r), ['BLOB_UNKNOWN']);
  });

  test('manifest PUT checks referenced blobs, Content-Type and the digest reference', async () => {
    let r = await req('PUT', '/v2/img/a/manifests/v1', { body: img.manifest, headers: { 'content-type': img.mediaType } });
    assert.equal(r.status, 400);
    assert.deepEqual(errorCodes(r), ['MANIFEST_BLOB_UNKNOWN', 'MANIFEST_BLOB_UNKNOWN']);
    await pushBlob(req, 'img/a', img.config);
    r = await req('PUT', '/v2/img/a/manifests/v1', { body: img.manifest, headers: { 'content-type': img.mediaType } });
    assert.deepEqual(errorCodes(r), ['MANIFEST_BLOB_UNKNOWN']);
    assert.equal(r.json().errors[0].detail, sha256(img.layer));
    await pushBlob(req, 'img/a', img.layer);

    r = await req('PUT', '/v2/img/a/manifests/v1', { body: img.manifest, headers: { 'content-type': 'application/vnd.docker.distribution.manifest.v2+json' } });
    assert.equal(r.status, 400);
    assert.deepEqual(errorCodes(r), ['MANIFEST_INVALID']);

    r = await req('PUT', `/v2/img/a/manifests/${sha256('not it')}`, { body: img.manifest, headers: { 'content-type': img.mediaType } });
    assert.equal(r.status, 400);
    assert.deepEqual(errorCodes(r), ['DIGEST_INVALID']);

    r = await req('PUT', '/v2/img/a/manifests/v1', { body: img.manifest, headers: { 'content-type': img.mediaType } });
    assert.equal(r.status, 201);
    assert.equal(r.headers.get('docker-content-digest'), img.manifestDigest);
    assert.equal(r.headers.get('location'), `/v2/img/a/manifests/${img.manifestDigest}`);
    r = await req('PUT', `/v2/img/a/manifests/${img.manifestDigest}`, { body: img.manifest, headers: { 'content-type': img.mediaType } });
    assert.equal(r.status, 201);
  });

  test('manifest GET/HEAD by tag and digest return the exact bytes and type', async () => {
    for (const ref of ['v1', img.manifestDigest]) {
      const g = await req('GET', `/v2/img/a/manifests/${ref}`, { headers: { accept: img.mediaType } });
      assert.equal(g.status, 200);
      assert.deepEqual(g.body, img.manifest);
      assert.equal(g.headers.get('content-type'), img.mediaType);
      assert.equal(g.headers.get('docker-content-digest'), img.manifestDigest);
      const h = await req('HEAD', `/v2/img/a/manifests/${ref}`);
      assert.equal(h.status, 200);
      assert.equal(h.headers.get('content-length'), String(img.manifest.length));
      assert.equal(h.body.length, 0);
    }
    let r = await req('GET', '/v2/img/a/manifests/nosuch');
    assert.equal(r.status, 404);
    assert.deepEqual(errorCodes(r), ['MANIFEST_UNKNOWN']);
    r = await req('GET', '/v2/never/pushed/manifests/latest');
    assert.deepEqual(errorCodes(r), ['NAME_UNKNOWN']);
  });

  test('an index is accepted once its manifests are in the repository', async () => {
    const idx = indexOf(img);
    let r = await req('PUT', '/v2/img/b/manifests/multi', { body: idx.index, headers: { 'content-type': idx.mediaType } });
    assert.deepEqual(errorCodes(r), ['MANIFEST_BLOB_UNKNOWN']);
    await pushImage(req, 'img/b', 'single', img);
    r = await req('PUT', '/v2/img/b/manifests/multi', { body: idx.index, headers: { 'content-type': idx.mediaType } });
    assert.equal(r.status, 201);
  });

  test('tags/list paginates with n and last and a Link header', async () => {
    for (const tag of ['c', 'a', 'e', 'b', 'd']) {
      const r = await req('PUT', `/v2/tags/repo/manifests/${tag}`, { body: img.manifest, headers: { 'content-type': img.mediaType } })
        .then(async (first) => {
          if (first.status === 201) return first;
          await pushBlob(req, 'tags/repo', img.layer);
          await pushBlob(req, 'tags/repo', img.config);
          return req('PUT', `/v2/tags/repo/manifests/${tag}`, { body: img.manifest, headers: { 'content-type': img.mediaType } });
        });
      assert.equal(r.status, 201);
    }
    let r = await req('GET', '/v2/tags/repo/tags/list');
    assert.deepEqual(r.json(), { name: 'tags/repo', tags: ['a', 'b', 'c', 'd', 'e'] });
    assert.equal(r.headers.get('link'), null);

    const seen: string[] = [];
    let next: string | null = '/v2/tags/repo/tags/list?n=2';
    let pages = 0;
    while (next) {
      r = await req('GET', next);
      seen.push(...r.json().tags);
      pages++;
      const link = r.headers.get('link');
      next = link ? /^<([^>]+)>; rel="next"$/.exec(link)![1] : null;
    }
    assert.deepEqual(seen, ['a', 'b', 'c', 'd', 'e']);
    assert.equal(pages, 3);

    r = await req('GET', '/v2/tags/repo/tags/list?n=0');
    assert.deepEqual(r.json().tags, []);
    assert.equal(r.headers.get('link'), null);
    r = await req('GET', '/v2/tags/repo/tags/list?last=c');
    assert.deepEqual(r.json().tags, ['d', 'e']);
    r = await req('GET', '/v2/nope/tags/list');
    assert.equal(r.status, 404);
    assert.deepEqual(errorCodes(r), ['NAME_UNKNOWN']);
  });

  test('_catalog lists repositories with n/last pagination', async () => {
    let r = await req('GET', '/v2/_catalog');
    const all: string[] = r.json().repositories;
    assert.ok(all.includes('img/a') && all.includes('tags/repo') && all.includes('mounted/c'));
    assert.ok(!all.includes('mounted/d'), 'a repository with only an open upload session is not listed');
    assert.deepEqual(all, [...all].sort());
    r = await req('GET', '/v2/_catalog?n=1');
    assert.deepEqual(r.json().repositories, [all[0]]);
    assert.equal(r.headers.get('link'), `</v2/_catalog?last=${encodeURIComponent(all[0])}&n=1>; rel="next"`);
    r = await req('GET', `/v2/_catalog?n=2&last=${encodeURIComponent(all[0])}`);
    assert.deepEqual(r.json().repositories, all.slice(1, 3));
  });

  test('manifest DELETE by digest drops its tags; by tag drops only the tag', async () => {
    let r = await req('DELETE', '/v2/tags/repo/manifests/e');
    assert.equal(r.status, 202);
    r = await req('GET', '/v2/tags/repo/tags/list');
    assert.deepEqual(r.json().tags, ['a', 'b', 'c', 'd']);
    assert.equal((await req('GET', `/v2/tags/repo/manifests/${img.manifestDigest}`)).status, 200);

    r = await req('DELETE', `/v2/tags/repo/manifests/${img.manifestDigest}`);
    assert.equal(r.status, 202);
    assert.equal((await req('GET', `/v2/tags/repo/manifests/${img.manifestDigest}`)).status, 404);
    assert.equal((await req('GET', '/v2/tags/repo/manifests/a')).status, 404);
    assert.deepEqual((await req('GET', '/v2/tags/repo/tags/list')).json().tags, []);
    r = await req('DELETE', `/v2/tags/repo/manifests/${img.manifestDigest}`);
    assert.equal(r.status, 404);
    assert.deepEqual(errorCodes(r), ['MANIFEST_UNKNOWN']);
    // other repositories keep the same manifest
    assert.equal((await req('GET', `/v2/img/a/manifests/${img.manifestDigest}`)).status, 200);
  });

  test('blob DELETE unlinks it from one repository only', async () => {
    const d = sha256(img.layer);
    let r = await req('DELETE', `/v2/mounted/c/blobs/${d}`);
    assert.equal(r.status, 202);
    assert.equal((await req('HEAD', `/v2/mounted/c/blobs/${d}`)).status, 404);
    assert.equal((await req('HEAD', `/v2/mono/b/blobs/${d}`)).status, 200);
    r = await req('DELETE', `/v2/mounted/c/blobs/${d}`);
    assert.equal(r.status, 404);
  });

  test('bad names are NAME_INVALID, bad digests DIGEST_INVALID, unknown methods 405', async () => {
    let r = await req('GET', '/v2/Upper/Case/tags/list');
    assert.equal(r.status, 400);
    assert.deepEqual(errorCodes(r), ['NAME_INVALID']);
    r = await req('POST', '/v2/a..b/blobs/uploads/');
    assert.deepEqual(errorCodes(r), ['NAME_INVALID']);
    r = await req('GET', '/v2/ok/blobs/sha256:1234');
    assert.equal(r.status, 400);
    assert.deepEqual(errorCodes(r), ['DIGEST_INVALID']);
    r = await req('POST', '/v2/ok/manifests/latest');
    assert.equal(r.status, 405);
    assert.deepEqual(errorCodes(r), ['UNSUPPORTED']);
    r = await req('GET', '/v2/ok/blobs/uploads/not-a-uuid');
    assert.equal(r.status, 404);
    assert.deepEqual(errorCodes(r), ['BLOB_UPLOAD_UNKNOWN']);
  });

  test('an upload session belongs to its repository', async () => {
    const s = await req('POST', '/v2/owner/a/blobs/uploads/');
    const uuid = s.headers.get('docker-upload-uuid');
    const r = await req('GET', `/v2/owner/b/blobs/uploads/${uuid}`);
    assert.equal(r.status, 404);
    assert.deepEqual(errorCodes(r), ['BLOB_UPLOAD_UNKNOWN']);
  });

  test('referrers API lists manifests whose subject is the digest', async () => {
    const empty = Buffer.from('{}');
    await pushBlob(req, 'img/a', empty);
    const sbom = Buffer.from(JSON.stringify({
      schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', artifactType: 'application/vnd.example.sbom',
      config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256(empty), size: 2 },
      layers: [{ mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256(empty), size: 2 }],
      subject: { mediaType: img.mediaType, digest: img.manifestDigest, size: img.manifest.length },
      annotations: { 'org.example': 'yes' },
    }));
    let r = await req('PUT', `/v2/img/a/manifests/${sha256(sbom)}`, { body: sbom, headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' } });
    assert.equal(r.status, 201);
    assert.equal(r.headers.get('oci-subject'), img.manifestDigest);

    r = await req('GET', `/v2/img/a/referrers/${img.manifestDigest}`);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'application/vnd.oci.image.index.v1+json');
    assert.deepEqual(r.json().manifests, [{
      mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha256(sbom), size: sbom.length,
      artifactType: 'application/vnd.example.sbom', annotations: { 'org.example': 'yes' },
    }]);
    r = await req('GET', `/v2/img/a/referrers/${img.manifestDigest}?artifactType=application/other`);
    assert.deepEqual(r.json().manifests, []);
    assert.equal(r.headers.get('oci-filters-applied'), 'artifactType');
    r = await req('GET', `/v2/never/pushed/referrers/${img.manifestDigest}`);
    assert.equal(r.status, 200);
    assert.deepEqual(r.json().manifests, []);
    r = await req('GET', '/v2/img/a/referrers/sha256:nothex');
    assert.equal(r.status, 400);
  });

  test('nothing is left in _tmp, and finished uploads leave no session behind', async () => {
    assert.deepEqual(await fs.readdir(path.join(root, '_tmp')), []);
    const sessions = await fs.readdir(path.join(root, '_uploads'));
    // open sessions from the tests above that were never completed: mount fallback, owner/a
    assert.ok(sessions.length <= 2, sessions.join(','));
  });
});

describe('deletion disabled', () => {
  let root = '';
  let reg: Running | undefined;
  const req = client(() => reg!.url);
  before(async () => {
    root = await tempDir('registry-nodelete');
    reg = await startRegistryServer({ addr: '127.0.0.1:0', root, deleteEnabled: false });
  });
  after(async () => {
    await reg?.close();
    await fs.rm(root, { recursive: true, force: true });
  });

  test('DELETE of manifests and blobs is 405 UNSUPPORTED', async () => {
    const img = tinyImage();
    await pushImage(req, 'keep/me', 'v1', img);
    for (const p of ['/v2/keep/me/manifests/v1', `/v2/keep/me/manifests/${img.manifestDigest}`, `/v2/keep/me/blobs/${sha256(img.layer)}`]) {
      const r = await req('DELETE', p);
      assert.equal(r.status, 405, p);
      assert.deepEqual(errorCodes(r), ['UNSUPPORTED']);
    }
    assert.equal((await req('GET', '/v2/keep/me/manifests/v1')).status, 200);
  });
});

describe('crash safety of the store', () => {
  let root = '';
  let reg: Running | undefined;
  const req = client(() => reg!.url);
  before(async () => {
    root = await tempDir('registry-crash');
  });
  after(async () => {
    await reg?.close();
    await fs.rm(root, { recursive: true, force: true });
  });

  test('an upload survives a restart; a torn chunk, stale sessions and temp files are cleaned at start', async () => {
    reg = await startRegistryServer({ addr: '127.0.0.1:0', root });
    const blob = crypto.randomBytes(5000);
    const s = await req('POST', '/v2/crash/a/blobs/uploads/');
    const uuid = s.headers.get('docker-upload-uuid')!;
    let r = await req('PATCH', `/v2/crash/a/blobs/uploads/${uuid}`, { body: blob.subarray(0, 2000), headers: { 'content-range': '0-1999' } });
    assert.equal(r.status, 202);
    const stale = await req('POST', '/v2/crash/a/blobs/uploads/');
    const staleUuid = stale.headers.get('docker-upload-uuid')!;
    await reg.close();

    // what a crash could leave: bytes of a chunk never acknowledged, a temp file, an old session, a session without state
    await fs.appendFile(path.join(root, '_uploads', uuid, 'data'), Buffer.from('torn chunk garbage'));
    await fs.writeFile(path.join(root, '_tmp', 'half-written.tmp'), 'x');
    const stateFile = path.join(root, '_uploads', staleUuid, 'state');
    const st = JSON.parse(await fs.readFile(stateFile, 'utf8'));
    await fs.writeFile(stateFile, JSON.stringify({ ...st, updatedAt: new Date(Date.now() - 48 * 3600e3).toISOString() }));
    await fs.mkdir(path.join(root, '_uploads', '00000000-0000-4000-8000-000000000000'));

    const lines: string[] = [];
    reg = await startRegistryServer({ addr: '127.0.0.1:0', root, log: (l) => lines.push(l) });
    assert.deepEqual(await fs.readdir(path.join(root, '_tmp')), []);
    assert.deepEqual(await fs.readdir(path.join(root, '_uploads')), [uuid]);
    assert.ok(lines.some((l) => /removed 2 stale upload/.test(l)), lines.join('\n'));

    r = await req('GET', `/v2/crash/a/blobs/uploads/${uuid}`);
    assert.equal(r.status, 204);
    assert.equal(r.headers.get('range'), '0-1999');
    r = await req('PATCH', `/v2/crash/a/blobs/uploads/${uuid}`, { body: blob.subarray(2000), headers: { 'content-range': '2000-4999' } });
    assert.equal(r.status, 202);
    r = await req('PUT', `/v2/crash/a/blobs/uploads/${uuid}?digest=${sha256(blob)}`);
    assert.equal(r.status, 201, r.body.toString());
    assert.deepEqual((await req('GET', `/v2/crash/a/blobs/${sha256(blob)}`)).body, blob);
    assert.ok(lines.some((l) => l.includes(`"PUT /v2/crash/a/blobs/uploads/${uuid}?digest=`) && l.includes('" 201 ')), 'access log in CLF');
  });
});

describe('skopeo: OCI layout into berth and back out', { skip: !haveSkopeo && 'skopeo not installed' }, () => {
  let root = '';
  let work = '';
  let reg: Running | undefined;
  const img = tinyImage('skopeo round trip\n');
  before(async () => {
    root = await tempDir('registry-skopeo');
    work = await tempDir('registry-skopeo-work');
    reg = await startRegistryServer({ addr: '127.0.0.1:0', root });
    await writeOciLayout(path.join(work, 'src'), img, 'v1', 'multi');
  });
  after(async () => {
    await reg?.close();
    await fs.rm(root, { recursive: true, force: true });
    await fs.rm(work, { recursive: true, force: true });
  });

  test('an image manifest keeps its digest both ways', async () => {
    const host = new URL(reg!.url).host;
    await skopeo(['copy', '--dest-tls-verify=false', `oci:${path.join(work, 'src')}:v1`, `docker://${host}/skopeo/img:v1`]);
    const inspect = JSON.parse((await skopeo(['inspect', '--tls-verify=false', `docker://${host}/skopeo/img:v1`])).stdout);
    assert.equal(inspect.Digest, img.manifestDigest);
    await skopeo(['copy', '--src-tls-verify=false', `docker://${host}/skopeo/img:v1`, `oci:${path.join(work, 'out')}:v1`]);
    assert.equal(await layoutDigest(path.join(work, 'out'), 'v1'), img.manifestDigest);
    const raw = await skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${host}/skopeo/img@${img.manifestDigest}`]);
    assert.equal(sha256(raw.stdout), img.manifestDigest);
  });

  test('an image index with --all keeps its digest both ways', async () => {
    const host = new URL(reg!.url).host;
    const idx = indexOf(img);
    await skopeo(['copy', '--all', '--dest-tls-verify=false', `oci:${path.join(work, 'src')}:multi`, `docker://${host}/skopeo/multi:idx`]);
    const raw = await skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${host}/skopeo/multi:idx`]);
    assert.equal(sha256(raw.stdout), idx.digest);
    await skopeo(['copy', '--all', '--src-tls-verify=false', `docker://${host}/skopeo/multi:idx`, `oci:${path.join(work, 'out-multi')}:idx`]);
    assert.equal(await layoutDigest(path.join(work, 'out-multi'), 'idx'), idx.digest);
  });

  test('a Docker schema 2 conversion is stored and served with its Docker media type', async () => {
    const host = new URL(reg!.url).host;
    await skopeo(['copy', '--format', 'v2s2', '--dest-tls-verify=false', `oci:${path.join(work, 'src')}:v1`, `docker://${host}/skopeo/docker:v1`]);
    const res = await fetch(`${reg!.url}/v2/skopeo/docker/manifests/v1`, { headers: { accept: 'application/vnd.docker.distribution.manifest.v2+json' } });
    assert.equal(res.headers.get('content-type'), 'application/vnd.docker.distribution.manifest.v2+json');
    const body = Buffer.from(await res.arrayBuffer());
    assert.equal(res.headers.get('docker-content-digest'), sha256(body));
  });
});

describe('docker CLI reads from berth', { skip: (!haveSkopeo || !haveDockerCli) && 'skopeo or docker CLI not installed' }, () => {
  let root = '';
  let work = '';
  let reg: Running | undefined;
  const img = tinyImage('docker cli\n');
  before(async () => {
    root = await tempDir('registry-dockercli');
    work = await tempDir('registry-dockercli-work');
    reg = await startRegistryServer({ addr: '127.0.0.1:0', root });
    await writeOciLayout(path.join(work, 'src'), img, 'v1', 'multi');
  });
  after(async () => {
    await reg?.close();
    await fs.rm(root, { recursive: true, force: true });
    await fs.rm(work, { recursive: true, force: true });
  });

  test('`docker manifest inspect --insecure` (no daemon needed) sees a Docker v2 manifest and an OCI index', async () => {
    const host = new URL(reg!.url).host;
    await skopeo(['copy', '--format', 'v2s2', '--dest-tls-verify=false', `oci:${path.join(work, 'src')}:v1`, `docker://${host}/cli/img:v1`]);
    await skopeo(['copy', '--all', '--dest-tls-verify=false', `oci:${path.join(work, 'src')}:multi`, `docker://${host}/cli/img:multi`]);
    const env = { ...process.env, DOCKER_HOST: `unix://${path.join(work, 'no-daemon.sock')}`, DOCKER_CONFIG: path.join(work, 'docker-config') };
    const inspect = async (ref: string) => JSON.parse((await run('docker', ['manifest', 'inspect', '--insecure', ref], 60_000, env)).stdout);
    const v2 = await inspect(`${host}/cli/img:v1`);
    assert.equal(v2.mediaType, 'application/vnd.docker.distribution.manifest.v2+json');
    assert.equal(v2.layers.length, 1);
    const index = await inspect(`${host}/cli/img:multi`);
    assert.equal(index.mediaType, 'application/vnd.oci.image.index.v1+json');
    assert.equal(index.manifests[0].digest, img.manifestDigest);
  });
});

describe('interop with docker-registry 2.8', { skip: (!haveSkopeo || !haveDockerRegistry) && 'skopeo or docker-registry not installed' }, () => {
  let root = '';
  let work = '';
  let reg: Running | undefined;
  let dr: DockerRegistry | undefined;
  const img = tinyImage('interop\n');
  before(async () => {
    root = await tempDir('registry-interop');
    work = await tempDir('registry-interop-work');
    reg = await startRegistryServer({ addr: '127.0.0.1:0', root });
    dr = await startDockerRegistry(work);
    await writeOciLayout(path.join(work, 'src'), img, 'v1', 'multi');
  });
  after(async () => {
    await reg?.close();
    await dr?.stop();
    await fs.rm(root, { recursive: true, force: true });
    await fs.rm(work, { recursive: true, force: true });
  });

  const rawDigest = async (ref: string) => sha256((await skopeo(['inspect', '--raw', '--tls-verify=false', ref])).stdout);

  test('berth → docker-registry → berth keeps manifest digests (OCI manifest, OCI index, Docker v2)', async () => {
    const berth = new URL(reg!.url).host;
    await skopeo(['copy', '--dest-tls-verify=false', `oci:${path.join(work, 'src')}:v1`, `docker://${berth}/interop/img:v1`]);
    await skopeo(['copy', '--all', '--dest-tls-verify=false', `oci:${path.join(work, 'src')}:multi`, `docker://${berth}/interop/img:multi`]);
    await skopeo(['copy', '--format', 'v2s2', '--dest-tls-verify=false', `oci:${path.join(work, 'src')}:v1`, `docker://${berth}/interop/img:docker`]);

    for (const tag of ['v1', 'multi', 'docker']) {
      const original = await rawDigest(`docker://${berth}/interop/img:${tag}`);
      const all = tag === 'multi' ? ['--all'] : [];
      await skopeo(['copy', ...all, '--src-tls-verify=false', '--dest-tls-verify=false', `docker://${berth}/interop/img:${tag}`, `docker://${dr!.host}/from-berth/img:${tag}`]);
      assert.equal(await rawDigest(`docker://${dr!.host}/from-berth/img:${tag}`), original, `${tag} in docker-registry`);
      await skopeo(['copy', ...all, '--src-tls-verify=false', '--dest-tls-verify=false', `docker://${dr!.host}/from-berth/img:${tag}`, `docker://${berth}/back/img:${tag}`]);
      assert.equal(await rawDigest(`docker://${berth}/back/img:${tag}`), original, `${tag} back in berth`);
    }
    assert.equal(await rawDigest(`docker://${berth}/back/img:v1`), img.manifestDigest);
    assert.equal(await rawDigest(`docker://${berth}/back/img:multi`), indexOf(img).digest);
  });

  test('the same raw protocol sequence gets the same status codes from both (one documented difference)', async () => {
    const blob = Buffer.from('same answers\n');
    const seq = async (base: string) => {
      const out: number[] = [];
      const r = async (method: string, p: string, body?: Buffer, headers: Record<string, string> = {}) => {
        const res = await fetch(p.startsWith('http') ? p : base + p, { method, body: body as RequestInit['body'], headers, redirect: 'manual' });
        await res.arrayBuffer();
        out.push(res.status);
        return res;
      };
      await r('GET', '/v2/');
      const s = await r('POST', '/v2/same/a/blobs/uploads/');
      const loc = new URL(s.headers.get('location')!, base);
      const p = await r('PATCH', loc.toString(), blob, { 'content-type': 'application/octet-stream' });
      const put = new URL(p.headers.get('location')!, base);
      put.searchParams.set('digest', sha256(blob));
      await r('PUT', put.toString());
      await r('HEAD', `/v2/same/a/blobs/${sha256(blob)}`);
      await r('GET', `/v2/same/a/blobs/${sha256('missing')}`);
      await r('POST', `/v2/same/b/blobs/uploads/?mount=${sha256(blob)}&from=same/a`);
      await r('PUT', '/v2/same/a/manifests/bad', Buffer.from(img.manifest), { 'content-type': img.mediaType });
      await r('GET', '/v2/same/a/manifests/nosuch');
      await r('GET', '/v2/same/a/tags/list');
      await r('DELETE', `/v2/same/b/blobs/${sha256(blob)}`);
      return out;
    };
    const ours = await seq(reg!.url);
    const theirs = await seq(dr!.url);
    // tags/list of a repository that holds blobs but no tags: the spec says 200 with an
    // empty list once the repository exists (end-8a); docker-registry 2.8.2 answers 404.
    assert.deepEqual([ours[9], theirs[9]], [200, 404]);
    ours[9] = theirs[9];
    assert.deepEqual(ours, theirs);
  });
});

describe('basic auth', { skip: !haveSkopeo && 'skopeo not installed' }, () => {
  let root = '';
  let work = '';
  let reg: Running | undefined;
  const img = tinyImage('auth\n');
  before(async () => {
    root = await tempDir('registry-auth');
    work = await tempDir('registry-auth-work');
    const htpasswd = path.join(work, 'htpasswd');
    await fs.writeFile(htpasswd, `carol:{SHA}${crypto.createHash('sha1').update('c4rol').digest('base64')}\n`);
    reg = await startRegistryServer({ addr: '127.0.0.1:0', root, htpasswd, basicAuth: { tester: 'secret' } });
    await writeOciLayout(path.join(work, 'src'), img, 'v1');
  });
  after(async () => {
    await reg?.close();
    await fs.rm(root, { recursive: true, force: true });
    await fs.rm(work, { recursive: true, force: true });
  });

  const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;

  test('no or wrong credentials are 401 UNAUTHORIZED with a Basic challenge', async () => {
    const req = client(() => reg!.url);
    const attempts: Array<Record<string, string>> = [{}, { authorization: basic('tester', 'wrong') }, { authorization: basic('nobody', 'secret') }];
    for (const headers of attempts) {
      const r = await req('GET', '/v2/', { headers });
      assert.equal(r.status, 401);
      assert.equal(r.headers.get('www-authenticate'), 'Basic realm="berth-registry"');
      assert.equal(r.headers.get('docker-distribution-api-version'), 'registry/2.0');
      assert.deepEqual(errorCodes(r), ['UNAUTHORIZED']);
    }
    const blob = await req('POST', '/v2/a/blobs/uploads/?digest=' + sha256('x'), { body: 'x' });
    assert.equal(blob.status, 401);
    await assert.rejects(fs.stat(path.join(root, 'repositories', 'a')));
  });

  test('right credentials from --user and from the {SHA} htpasswd line pass', async () => {
    const req = client(() => reg!.url);
    assert.equal((await req('GET', '/v2/', { headers: { authorization: basic('tester', 'secret') } })).status, 200);
    assert.equal((await req('GET', '/v2/', { headers: { authorization: basic('carol', 'c4rol') } })).status, 200);
  });

  test('skopeo pushes with --dest-creds and fails without', async () => {
    const host = new URL(reg!.url).host;
    const src = `oci:${path.join(work, 'src')}:v1`;
    await assert.rejects(skopeo(['copy', '--dest-tls-verify=false', '--dest-no-creds', src, `docker://${host}/auth/img:v1`]), /401|unauthorized|authentication/i);
    await skopeo(['copy', '--dest-tls-verify=false', '--dest-creds', 'tester:secret', src, `docker://${host}/auth/img:v1`]);
    const inspect = await skopeo(['inspect', '--raw', '--tls-verify=false', '--creds', 'carol:c4rol', `docker://${host}/auth/img:v1`]);
    assert.equal(sha256(inspect.stdout), img.manifestDigest);
  });

  test('a bcrypt htpasswd user (htpasswd -B, what docker-registry requires) gets in with the password and only with it', async () => {
    const file = path.join(work, 'bcrypt');
    // libxcrypt's bcrypt of "secret" (python3 crypt.crypt('secret', '$2b$05$abcdefghijklmnopqrstuu')).
    await fs.writeFile(file, 'dave:$2b$05$abcdefghijklmnopqrstuuOQiyCxlgf/oeuTqixKmWdcYUh4Hjl0a\n');
    // A root of its own: the block's server holds `root` (one server per root).
    const server = await startRegistryServer({ addr: '127.0.0.1:0', root: path.join(work, 'bcrypt-root'), htpasswd: file });
    try {
      const get = (auth?: string) => fetch(`${server.url}/v2/`, auth ? { headers: { Authorization: `Basic ${Buffer.from(auth).toString('base64')}` } } : {});
      assert.equal((await get('dave:secret')).status, 200);
      assert.equal((await get('dave:secret')).status, 200, 'again, from the remembered check');
      assert.equal((await get('dave:wrong')).status, 401);
      assert.equal((await get()).status, 401);
    } finally {
      await server.close();
    }
  });
});

describe('TLS', { skip: (!haveSkopeo || !haveOpenssl) && 'skopeo or openssl not installed' }, () => {
  let root = '';
  let work = '';
  let reg: Running | undefined;
  const img = tinyImage('tls\n');
  before(async () => {
    root = await tempDir('registry-tls');
    work = await tempDir('registry-tls-work');
    const certs = path.join(work, 'certs');
    await fs.mkdir(certs);
    await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
      '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', path.join(work, 'key.pem'), '-out', path.join(certs, 'ca.crt')]);
    reg = await startRegistryServer({ addr: '127.0.0.1:0', root, tlsCert: path.join(certs, 'ca.crt'), tlsKey: path.join(work, 'key.pem'), basicAuth: { u: 'p' } });
    await writeOciLayout(path.join(work, 'src'), img, 'v1');
  });
  after(async () => {
    await reg?.close();
    await fs.rm(root, { recursive: true, force: true });
    await fs.rm(work, { recursive: true, force: true });
  });

  test('serves HTTPS; skopeo verifies the certificate and pushes with credentials', async () => {
    assert.match(reg!.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const host = new URL(reg!.url).host;
    await skopeo(['copy', '--dest-cert-dir', path.join(work, 'certs'), '--dest-creds', 'u:p', `oci:${path.join(work, 'src')}:v1`, `docker://${host}/tls/img:v1`]);
    const raw = await skopeo(['inspect', '--raw', '--cert-dir', path.join(work, 'certs'), '--creds', 'u:p', `docker://${host}/tls/img:v1`]);
    assert.equal(sha256(raw.stdout), img.manifestDigest);
  });
});
