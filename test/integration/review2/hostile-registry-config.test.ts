/**
 * A hostile registry (or mirror) answering a pull's config request with an
 * endless body: berthd reads the config into memory to parse it, so it must
 * stop at a bound whatever the descriptor claims (a size of 2^52, or no
 * number at all as GET /distribution/{name}/json takes it), and answer the
 * request with an error rather than run out of memory. The registry counts
 * what it managed to send; it stops by itself at 256 MiB.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startDaemon, skipUnlessRoot } from '../../helpers/daemon.js';

const CAP = 256 << 20;
const CHUNK = Buffer.alloc(1 << 20);

test('an endless config body is cut off at a bound (pull and distribution inspect)', { skip: skipUnlessRoot(), timeout: 180_000 }, async (t) => {
  let configSize: unknown = 2 ** 52;
  const sent: number[] = [];
  const registry = http.createServer((req, res) => {
    if (req.url === '/v2/' || req.url === '/v2') { res.writeHead(200, { 'Docker-Distribution-Api-Version': 'registry/2.0' }); res.end('{}'); return; }
    if (req.url?.startsWith('/v2/evil/manifests/')) {
      const body = JSON.stringify({
        schemaVersion: 2, mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
        config: { mediaType: 'application/vnd.docker.container.image.v1+json', digest: `sha256:${'a'.repeat(64)}`, size: configSize },
        layers: [{ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', digest: `sha256:${'b'.repeat(64)}`, size: 10 }],
      });
      res.writeHead(200, { 'Content-Type': 'application/vnd.docker.distribution.manifest.v2+json', 'Content-Length': Buffer.byteLength(body) });
      res.end(body);
      return;
    }
    if (req.url?.startsWith('/v2/evil/blobs/')) {
      res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
      let n = 0;
      const i = sent.push(0) - 1;
      const pump = () => {
        while (n < CAP) {
          n += CHUNK.length;
          sent[i] = n;
          if (!res.write(CHUNK)) { res.once('drain', pump); return; }
        }
        res.end();
      };
      res.on('close', () => { n = CAP; });
      pump();
      return;
    }
    res.writeHead(404); res.end();
  });
  await new Promise<void>((resolve) => registry.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => { registry.closeAllConnections(); registry.close(() => resolve()); }));
  const host = `127.0.0.1:${(registry.address() as AddressInfo).port}`;

  const d = await startDaemon();
  t.after(() => d.stop());

  const pull = await d.request('POST', `/images/create?fromImage=${host}/evil&tag=latest`, undefined, { timeoutMs: 120_000 });
  assert.match(pull.text, /"error"/, pull.text.slice(0, 500));
  assert.ok(sent[0] < 64 << 20, `berthd read ${sent[0]} bytes of a config`);

  configSize = 'many';
  const inspect = await d.request('GET', `/distribution/${host}/evil/json`, undefined, { timeoutMs: 120_000 });
  assert.equal(inspect.status, 200, inspect.text); // a config that cannot be read just gives no platform
  assert.ok(sent[1] < 64 << 20, `berthd read ${sent[1]} bytes of a config`);
  assert.equal((await d.request('GET', '/_ping')).status, 200);
});
