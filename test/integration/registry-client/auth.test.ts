/**
 * Registry authentication end to end:
 * - Basic: berth's registry server with `basicAuth`, right, wrong and no credentials.
 * - Bearer: docker-registry 2.8.2 configured with `auth.token` behind a token
 *   server written here (RS256 JWTs signed with a key and certificate made by
 *   openssl), as in the fact sheet's token-auth-probe.mjs: pulls and pushes
 *   with right and wrong credentials, anonymous pulls, `insufficient_scope`
 *   and its one retry, token caching and expiry, identity (refresh) tokens.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import { RegistryClient, endpointFor } from '../../../src/registry/client/registry-client.js';
import { registryErrorCode } from '../../../src/registry/client/registry-errors.js';
import { startRegistryServer } from '../../../src/registry/server/index.js';
import { UnauthorizedError } from '../../../src/errors.js';
import { image, readAll, source, tempDir, type Image } from './fixtures.js';
import { hasProgram, selfSignedCert, startDockerRegistry, startProxy, startTokenServer, type Access, type DockerRegistry, type TokenServer } from './servers.js';

const haveDockerRegistry = await hasProgram('docker-registry');
const haveOpenssl = await hasProgram('openssl');

async function push(c: RegistryClient, repo: string, tag: string, img: Image): Promise<void> {
  for (const b of [img.layer, img.config]) {
    if (!(await c.blobExists(repo, b.digest))) await c.uploadBlob(repo, b.digest, b.bytes.length, source(b.bytes));
  }
  await c.putManifest(repo, tag, img.oci.bytes, img.oci.mediaType);
}

async function pull(c: RegistryClient, repo: string, tag: string, img: Image): Promise<void> {
  const m = await c.getManifest(repo, tag);
  assert.equal(m.digest, img.oci.digest);
  assert.deepEqual(await readAll(await c.getBlob(repo, img.config.digest)), img.config.bytes);
  assert.deepEqual(await readAll(await c.getBlob(repo, img.layer.digest)), img.layer.bytes);
}

const noRetry = { retry: { retries: 0, baseDelayMs: 1 } };

describe("basic auth against berth's registry server", () => {
  let dir = '';
  let reg: Awaited<ReturnType<typeof startRegistryServer>> | undefined;
  let host = '';
  const clients: RegistryClient[] = [];
  const client = (creds?: { username: string; password: string }) => {
    const c = new RegistryClient(endpointFor(host, []), creds, noRetry);
    clients.push(c);
    return c;
  };
  const img = image();

  before(async () => {
    dir = await tempDir('basic');
    reg = await startRegistryServer({ addr: '127.0.0.1:0', root: dir, basicAuth: { u: 'p' } });
    host = new URL(reg.url).host;
  });
  after(async () => {
    for (const c of clients) c.close();
    await reg?.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  test('right credentials: login (ping), push and pull', async () => {
    const c = client({ username: 'u', password: 'p' });
    await c.ping();
    await push(c, 'basic/a', 'v1', img);
    await pull(c, 'basic/a', 'v1', img);
    assert.deepEqual(await c.listTags('basic/a'), ['v1']);
  });

  test('wrong credentials: UnauthorizedError from login and from every call', async () => {
    const c = client({ username: 'u', password: 'wrong' });
    await assert.rejects(c.ping(), (e: unknown) => e instanceof UnauthorizedError && e.message === 'unauthorized: invalid username or password');
    await assert.rejects(c.getManifest('basic/a', 'v1'), UnauthorizedError);
    await assert.rejects(c.blobExists('basic/a', img.layer.digest), (e: unknown) => e instanceof UnauthorizedError && e.message === 'unauthorized: authentication required');
  });

  test('no credentials: unauthorized: authentication required', async () => {
    const c = client();
    await assert.rejects(c.ping(), (e: unknown) => e instanceof UnauthorizedError && e.message === 'unauthorized: authentication required');
    await assert.rejects(c.uploadBlob('basic/b', img.layer.digest, img.layer.bytes.length, source(img.layer.bytes)), UnauthorizedError);
  });
});

describe('Bearer token auth against docker-registry 2.8.2 with a token server', { skip: (!haveDockerRegistry || !haveOpenssl) && 'needs docker-registry and openssl' }, () => {
  const SERVICE = 'berth-test-registry';
  const ISSUER = 'berth-test-issuer';
  let dir = '';
  let tokens: TokenServer | undefined;
  let reg: DockerRegistry | undefined;
  const clients: RegistryClient[] = [];
  const client = (creds?: ConstructorParameters<typeof RegistryClient>[1], opts: ConstructorParameters<typeof RegistryClient>[2] = noRetry) => {
    const c = new RegistryClient(endpointFor(reg!.host, []), creds, opts);
    clients.push(c);
    return c;
  };
  /** Scope strings of the token requests made since `from`. */
  const asked = (from: number) => tokens!.requests.slice(from).map((r) => r.scopes.join(' '));
  const img = image();
  const users = { tester: 'secret', reader: 'readonly', stingy: 'stingy' };

  before(async () => {
    dir = await tempDir('token');
    const { key, cert } = await selfSignedCert(dir, 'berth-token-signer');
    tokens = await startTokenServer({
      keyPem: await fs.readFile(key, 'utf8'), certPem: await fs.readFile(cert, 'utf8'), issuer: ISSUER, users,
      grant(user, access, log) {
        const pullOnly = (a: Access[]) => a.map((x) => ({ ...x, actions: x.actions.filter((y) => y === 'pull') }));
        if (user === '' || user === 'reader') return pullOnly(access);
        // `stingy` gets push only when asking for it a second time in a row: a token server
        // that grants less than asked, which the registry answers with insufficient_scope.
        if (user === 'stingy') {
          const prev = log.at(-2);
          const again = prev?.user === 'stingy' && prev.scopes.some((s) => s.endsWith('push'));
          return again ? access : pullOnly(access);
        }
        return access;
      },
    });
    reg = await startDockerRegistry(dir, { realm: tokens.realm, service: SERVICE, issuer: ISSUER, rootCertBundle: cert });
  });
  after(async () => {
    for (const c of clients) c.close();
    await reg?.stop();
    await tokens?.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  test('right credentials: login, push and pull; one token per scope set, reused', async () => {
    const c = client({ username: 'tester', password: 'secret' });
    let from = tokens!.requests.length;
    await c.ping();
    assert.deepEqual(tokens!.requests.slice(from).map((r) => [r.user, r.scopes.length, r.offline]), [['tester', 0, true]], 'login asks for an unscoped, offline token');
    assert.match(c.identityToken ?? '', /^refresh-/);

    from = tokens!.requests.length;
    await push(c, 'tok/a', 'v1', img);
    assert.deepEqual(asked(from), ['repository:tok/a:pull', 'repository:tok/a:pull,push'], 'blobExists pulls, uploads push; each token fetched once');

    from = tokens!.requests.length;
    await pull(c, 'tok/a', 'v1', img);
    await pull(c, 'tok/a', 'v1', img);
    assert.deepEqual(asked(from), [], 'cached pull token reused');
  });

  test('wrong credentials: the token server refuses, UnauthorizedError in Docker Hub\'s words', async () => {
    const c = client({ username: 'tester', password: 'nope' });
    await assert.rejects(c.ping(), (e: unknown) => e instanceof UnauthorizedError && e.message === 'unauthorized: incorrect username or password');
    await assert.rejects(c.getManifest('tok/a', 'v1'), (e: unknown) => e instanceof UnauthorizedError && e.message === 'unauthorized: incorrect username or password');
  });

  test('anonymous pull works; push with the pull-only token: insufficient_scope, one retry, then UnauthorizedError', async () => {
    const c = client();
    await pull(c, 'tok/a', 'v1', img);
    const from = tokens!.requests.length;
    const other = image();
    await assert.rejects(c.uploadBlob('tok/a', other.layer.digest, other.layer.bytes.length, source(other.layer.bytes)), (e: unknown) => {
      assert.ok(e instanceof UnauthorizedError);
      assert.equal(e.message, 'unauthorized: authentication required');
      assert.equal(registryErrorCode(e), 'UNAUTHORIZED');
      return true;
    });
    assert.deepEqual(asked(from), ['repository:tok/a:pull,push', 'repository:tok/a:pull,push'], 'the refused token is not reused; the retry asks for the challenge scope');
  });

  test('a reader (pull-only user) cannot push either', async () => {
    const c = client({ username: 'reader', password: 'readonly' });
    await pull(c, 'tok/a', 'v1', img);
    await assert.rejects(c.putManifest('tok/a', 'v2', img.oci.bytes, img.oci.mediaType), UnauthorizedError);
  });

  test('insufficient_scope then retry with the challenge scope: the push succeeds', async () => {
    const proxy = await startProxy(reg!.url);
    try {
      const c = new RegistryClient(endpointFor(proxy.host, []), { username: 'stingy', password: 'stingy' }, noRetry);
      clients.push(c);
      const other = image();
      const from = tokens!.requests.length;
      await c.uploadBlob('tok/s', other.layer.digest, other.layer.bytes.length, source(other.layer.bytes));
      assert.deepEqual(asked(from), ['repository:tok/s:pull,push', 'repository:tok/s:pull,push']);
      const posts = proxy.log.filter((e) => e.method === 'POST');
      assert.deepEqual(posts.map((e) => e.status), [401, 202], 'refused once, then accepted');
      assert.match(posts[0].wwwAuthenticate ?? '', /error="insufficient_scope"/);
      // docker-registry lists the actions in map order: pull,push or push,pull.
      assert.match(posts[0].wwwAuthenticate ?? '', /scope="repository:tok\/s:(pull,push|push,pull)"/);
      assert.match(posts[0].authorization ?? '', /^Bearer /, 'the first try already carried the (pull-only) token');
      const anon = client();
      assert.deepEqual(await readAll(await anon.getBlob('tok/s', other.layer.digest)), other.layer.bytes);
    } finally {
      await proxy.close();
    }
  });

  test('tokens are fetched again once expired', async () => {
    let now = Date.now();
    const c = client({ username: 'tester', password: 'secret' }, { ...noRetry, now: () => now });
    const from = tokens!.requests.length;
    await c.getManifest('tok/a', 'v1');
    await c.getManifest('tok/a', 'v1');
    assert.equal(tokens!.requests.length - from, 1);
    now += 301_000;
    await c.getManifest('tok/a', 'v1');
    assert.equal(tokens!.requests.length - from, 2);
  });

  test('identity token from login: OAuth2 refresh_token POST; a bad one is UnauthorizedError', async () => {
    const login = client({ username: 'tester', password: 'secret' });
    await login.ping();
    const identityToken = login.identityToken!;
    const c = client({ identityToken });
    const from = tokens!.requests.length;
    await pull(c, 'tok/a', 'v1', img);
    const reqs = tokens!.requests.slice(from);
    assert.deepEqual(reqs.map((r) => [r.method, r.grantType, r.user, r.scopes.join(' ')]), [['POST', 'refresh_token', 'tester', 'repository:tok/a:pull']]);
    const bad = client({ identityToken: 'refresh-bogus' });
    await assert.rejects(bad.getManifest('tok/a', 'v1'), (e: unknown) => e instanceof UnauthorizedError && e.message === 'unauthorized: invalid refresh token');
  });

  test('a registry token is sent as the bearer token as is', async () => {
    const login = client({ username: 'tester', password: 'secret' });
    await login.getManifest('tok/a', 'v1');
    // Mint a pull token for tok/a the way a credential store would hand one out.
    const res = await fetch(`${tokens!.realm}?service=${SERVICE}&scope=repository:tok/a:pull`, { headers: { authorization: `Basic ${Buffer.from('tester:secret').toString('base64')}` } });
    const { token } = await res.json() as { token: string };
    const from = tokens!.requests.length;
    const c = client({ registryToken: token });
    assert.equal((await c.getManifest('tok/a', 'v1')).digest, img.oci.digest);
    assert.equal(tokens!.requests.length, from, 'no token request');
    await assert.rejects(c.putManifest('tok/a', 'x', img.oci.bytes, img.oci.mediaType), UnauthorizedError);
  });
});
