/**
 * The client's transport under bad conditions, against berth's registry
 * server behind a fault-injecting proxy: a blob served with wrong bytes
 * (the verifying stream must refuse it), blobs redirected to a storage
 * origin (followed, without leaking credentials), a registry that ignores
 * ranges, 503s and connection resets (retried for idempotent requests),
 * stalls (timeouts), and the HTTPS/HTTP choice for insecure registries
 * (fallback to HTTP, self-signed TLS accepted only when insecure).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { RegistryClient, endpointFor } from '../../../src/registry/client/registry-client.js';
import { VerificationError, verifyingStream } from '../../../src/registry/client/verify.js';
import { NetworkError } from '../../../src/registry/client/transport.js';
import { startRegistryServer } from '../../../src/registry/server/index.js';
import { SystemError } from '../../../src/errors.js';
import { blob, image, readAll, source, tempDir } from './fixtures.js';
import { hasProgram, selfSignedCert, startProxy, type Proxy } from './servers.js';

const haveOpenssl = await hasProgram('openssl');
const sink = () => new Writable({ write(_c, _e, cb) { cb(); } });

describe('transport against a misbehaving path to the registry', () => {
  let dir = '';
  let reg: Awaited<ReturnType<typeof startRegistryServer>> | undefined;
  let proxy: Proxy | undefined;
  const clients: RegistryClient[] = [];
  const client = (opts: ConstructorParameters<typeof RegistryClient>[2] = {}, creds?: { username: string; password: string }) => {
    const c = new RegistryClient(endpointFor(proxy!.host, []), creds, { retry: { retries: 2, baseDelayMs: 10 }, ...opts });
    clients.push(c);
    return c;
  };
  const img = image('amd64', 200_000);
  const basic = `Basic ${Buffer.from('u:p').toString('base64')}`;

  before(async () => {
    dir = await tempDir('transport');
    reg = await startRegistryServer({ addr: '127.0.0.1:0', root: dir, basicAuth: { u: 'p' } });
    proxy = await startProxy(reg.url, { storageUpstreamAuthorization: basic });
    const c = client({}, { username: 'u', password: 'p' });
    for (const b of [img.layer, img.config]) await c.uploadBlob('t/a', b.digest, b.bytes.length, source(b.bytes));
    await c.putManifest('t/a', 'v1', img.oci.bytes, img.oci.mediaType);
  });
  after(async () => {
    for (const c of clients) c.close();
    await proxy?.close();
    await reg?.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  test('a blob served with wrong bytes: the verifying stream errors, naming both digests', async () => {
    proxy!.opts.corrupt = new Set([img.layer.digest]);
    try {
      const c = client({}, { username: 'u', password: 'p' });
      const body = await c.getBlob('t/a', img.layer.digest);
      await assert.rejects(pipeline(body, verifyingStream(img.layer.digest, img.layer.bytes.length), sink()), (e: unknown) => {
        assert.ok(e instanceof VerificationError);
        assert.match(e.message, new RegExp(`^failed to verify blob: digest mismatch: expected ${img.layer.digest}, got sha256:[0-9a-f]{64}$`));
        assert.notEqual(e.actual, img.layer.digest);
        return true;
      });
    } finally {
      proxy!.opts.corrupt = undefined;
    }
  });

  test('blob GETs redirected to storage: followed, and credentials stay with the registry', async () => {
    proxy!.opts.redirectBlobs = true;
    try {
      const c = client({}, { username: 'u', password: 'p' });
      const before = proxy!.storageLog.length;
      const got = await readAll((await c.getBlob('t/a', img.layer.digest)).pipe(verifyingStream(img.layer.digest, img.layer.bytes.length)));
      assert.equal(got.length, img.layer.bytes.length);
      const storage = proxy!.storageLog.slice(before);
      assert.equal(storage.length, 1);
      assert.match(storage[0].path, /\?X-Signature=abc$/);
      assert.equal(storage[0].authorization, undefined, 'no Authorization sent to another origin');
      assert.equal(proxy!.log.at(-1)!.authorization, basic, 'the registry itself got the credentials');
      // Resuming through a redirect keeps the Range.
      const rest = await readAll(await c.getBlob('t/a', img.layer.digest, { offset: 123 }));
      assert.deepEqual(rest, img.layer.bytes.subarray(123));
      assert.equal(proxy!.storageLog.at(-1)!.range, 'bytes=123-');
    } finally {
      proxy!.opts.redirectBlobs = false;
    }
  });

  test('a registry that ignores Range: the skipped bytes are dropped client-side', async () => {
    proxy!.opts.ignoreRange = true;
    try {
      const c = client({}, { username: 'u', password: 'p' });
      const rest = await readAll(await c.getBlob('t/a', img.layer.digest, { offset: 150_000 }));
      assert.deepEqual(rest, img.layer.bytes.subarray(150_000));
    } finally {
      proxy!.opts.ignoreRange = false;
    }
  });

  test('idempotent requests are retried after 503s and resets', async () => {
    const c = client({}, { username: 'u', password: 'p' });
    await c.ping();
    proxy!.opts.faults = [{ match: /\/manifests\/v1$/, fault: '503' }, { match: /\/manifests\/v1$/, fault: 'reset' }];
    const from = proxy!.log.length;
    assert.equal((await c.getManifest('t/a', 'v1')).digest, img.oci.digest);
    assert.deepEqual(proxy!.log.slice(from).map((e) => e.status), [503, -1, 200]);
    proxy!.opts.faults = [{ match: /\/blobs\/sha256:/, fault: 'reset' }];
    assert.equal(await c.blobExists('t/a', img.config.digest), true);
  });

  test('retries are bounded: the last 503 becomes an error; POSTs are not retried', async () => {
    const c = client({ retry: { retries: 1, baseDelayMs: 5 } }, { username: 'u', password: 'p' });
    await c.ping();
    proxy!.opts.faults = [{ match: /\/manifests\/v1$/, fault: '503' }, { match: /\/manifests\/v1$/, fault: '503' }];
    await assert.rejects(c.getManifest('t/a', 'v1'), (e: unknown) => e instanceof SystemError && /received unexpected HTTP status: 503/.test(e.message));
    proxy!.opts.faults = [{ match: /\/blobs\/uploads\/(\?|$)/, fault: 'reset' }];
    const b = blob(10);
    const from = proxy!.log.length;
    await assert.rejects(c.uploadBlob('t/a', b.digest, 10, source(b.bytes)), NetworkError);
    assert.equal(proxy!.log.slice(from).filter((e) => e.method === 'POST').length, 1, 'the POST was not repeated');
    proxy!.opts.faults = [];
  });

  test('a stalled registry times out: before the answer, and in the middle of a blob', async () => {
    const c = client({ timeoutMs: 300, retry: { retries: 0, baseDelayMs: 1 } }, { username: 'u', password: 'p' });
    await c.ping();
    proxy!.opts.faults = [{ match: /\/manifests\/v1$/, fault: 'stall' }];
    const t0 = Date.now();
    await assert.rejects(c.getManifest('t/a', 'v1'), (e: unknown) => e instanceof NetworkError && e.code === 'ETIMEDOUT');
    assert.ok(Date.now() - t0 < 5000);
    proxy!.opts.faults = [{ match: /\/blobs\/sha256:/, fault: 'stall-body' }];
    const body = await c.getBlob('t/a', img.layer.digest);
    await assert.rejects(pipeline(body, verifyingStream(img.layer.digest, img.layer.bytes.length), sink()),
      (e: unknown) => e instanceof NetworkError && e.code === 'ETIMEDOUT' && e.message.startsWith(`GET ${proxy!.url}/v2/t/a/blobs/${img.layer.digest}: `));
    proxy!.opts.faults = [];
  });
});

describe('HTTPS first for insecure registries', { skip: !haveOpenssl && 'needs openssl' }, () => {
  let dir = '';
  let plain: Awaited<ReturnType<typeof startRegistryServer>> | undefined;
  let tls: Awaited<ReturnType<typeof startRegistryServer>> | undefined;
  const clients: RegistryClient[] = [];
  const img = image();

  before(async () => {
    dir = await tempDir('tls');
    const { key, cert } = await selfSignedCert(dir);
    plain = await startRegistryServer({ addr: '127.0.0.1:0', root: `${dir}/plain` });
    tls = await startRegistryServer({ addr: '127.0.0.1:0', root: `${dir}/tls`, tlsCert: cert, tlsKey: key });
  });
  after(async () => {
    for (const c of clients) c.close();
    await plain?.close();
    await tls?.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  test('a self-signed TLS registry on loopback is used over HTTPS without verification', async () => {
    assert.match(tls!.url, /^https:/);
    const c = new RegistryClient(endpointFor(new URL(tls!.url).host, []));
    clients.push(c);
    await c.ping();
    await c.uploadBlob('tls/a', img.layer.digest, img.layer.bytes.length, source(img.layer.bytes));
    assert.deepEqual(await readAll(await c.getBlob('tls/a', img.layer.digest)), img.layer.bytes);
  });

  test('a secure endpoint refuses the self-signed certificate and does not fall back', async () => {
    const c = new RegistryClient({ host: new URL(tls!.url).host, scheme: 'https' }, undefined, { retry: { retries: 0, baseDelayMs: 1 } });
    clients.push(c);
    await assert.rejects(c.ping(), (e: unknown) => e instanceof NetworkError && /self[- ]signed certificate/i.test(e.message));
  });

  test('a plain-HTTP loopback registry is reached after the HTTPS attempt fails', async () => {
    const c = new RegistryClient(endpointFor(new URL(plain!.url).host, []));
    clients.push(c);
    await c.ping();
    await c.uploadBlob('plain/a', img.config.digest, img.config.bytes.length, source(img.config.bytes));
    assert.equal(await c.blobExists('plain/a', img.config.digest), true);
  });

  test('a secure endpoint never downgrades to HTTP', async () => {
    const c = new RegistryClient({ host: new URL(plain!.url).host, scheme: 'https' }, undefined, { retry: { retries: 0, baseDelayMs: 1 } });
    clients.push(c);
    await assert.rejects(c.ping(), NetworkError);
  });
});
