/**
 * A registry mirror is another party than Docker Hub: the credentials a
 * client sends for Docker Hub (X-Registry-Auth) must never reach it. A
 * hostile mirror asks for them the way every registry does, with a 401
 * whose Bearer challenge names a token realm of its own; the pull must
 * answer it anonymously (and then fall back to Docker Hub, unreachable
 * here, which does not matter: what the mirror saw is the test).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startDaemon, skipUnlessRoot } from '../../helpers/daemon.js';

const PASSWORD = 'hub-secret-review2';

test('Docker Hub credentials are never sent to a --registry-mirror, even when it challenges', { skip: skipUnlessRoot(), timeout: 120_000 }, async (t) => {
  const seen: string[] = [];
  const mirror = http.createServer((req, res) => {
    seen.push(`${req.method} ${req.url} ${req.headers.authorization ?? ''}`);
    const base = `http://127.0.0.1:${(mirror.address() as AddressInfo).port}`;
    if (req.url?.startsWith('/token')) {
      // Answer as a token server would, so the client goes on to use what it got.
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ token: 'tok', access_token: 'tok' }));
      return;
    }
    res.writeHead(401, {
      'Content-Type': 'application/json',
      'Docker-Distribution-Api-Version': 'registry/2.0',
      'WWW-Authenticate': `Bearer realm="${base}/token",service="mirror",scope="repository:library/busybox:pull"`,
    });
    res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }));
  });
  await new Promise<void>((resolve) => mirror.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => mirror.close(() => resolve())));
  const port = (mirror.address() as AddressInfo).port;

  const d = await startDaemon({ args: ['--registry-mirror', `http://127.0.0.1:${port}`] });
  t.after(() => d.stop());

  const auth = Buffer.from(JSON.stringify({ username: 'hubuser', password: PASSWORD, serveraddress: 'https://index.docker.io/v1/' })).toString('base64url');
  await d.request('POST', '/images/create?fromImage=busybox&tag=latest', undefined, {
    headers: { 'X-Registry-Auth': auth }, timeoutMs: 90_000,
  }).catch(() => undefined); // Docker Hub is out of reach here; only the mirror's view matters.

  assert.ok(seen.length > 0, 'the pull asked the mirror first');
  const basic = `Basic ${Buffer.from(`hubuser:${PASSWORD}`).toString('base64')}`;
  for (const line of seen) {
    assert.ok(!line.includes(basic) && !line.includes(PASSWORD) && !line.includes('hubuser'), `the mirror got Docker Hub's credentials: ${line}`);
  }
});
