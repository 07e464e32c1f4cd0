/**
 * A pull takes nothing in a registry's manifest on trust: a descriptor
 * whose digest is not a digest (`sha256:../../…`) or whose size is not a
 * byte count fails the pull before it names a file in the content store —
 * no "Already exists", no "Download complete" for a host file that happens
 * to sit at that path. The registry is a small fake on loopback serving
 * exactly such a manifest.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startDaemon, skipUnlessRoot, type Daemon } from '../../helpers/daemon.js';

const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: ['sha256:' + 'a'.repeat(64)] } }));
const configDigest = `sha256:${crypto.createHash('sha256').update(config).digest('hex')}`;

/** Manifests by tag: each with one layer descriptor as given. */
const LAYERS: Record<string, Record<string, unknown>> = {
  traversal: { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: 'sha256:../../../../../../../../../../etc/passwd', size: 10 },
  badsize: { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: `sha256:${'b'.repeat(64)}`, size: -1 },
  notstring: { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: 42, size: 1 },
};

describe('pull: the manifest is checked before it names anything', { skip: skipUnlessRoot() }, () => {
  let d!: Daemon;
  let server!: http.Server;
  let host = '';
  const requested: string[] = [];
  before(async () => {
    server = http.createServer((req, res) => {
      requested.push(req.url ?? '');
      const m = /^\/v2\/evil\/manifests\/(\w+)$/.exec(req.url ?? '');
      if (req.url === '/v2/') { res.writeHead(200, { 'Content-Type': 'application/json' }); res.end('{}'); return; }
      if (m && LAYERS[m[1]]) {
        const body = Buffer.from(JSON.stringify({
          schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
          config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
          layers: [LAYERS[m[1]]],
        }));
        res.writeHead(200, { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json', 'Content-Length': body.length });
        res.end(req.method === 'HEAD' ? undefined : body);
        return;
      }
      if (req.url === `/v2/evil/blobs/${configDigest}`) { res.writeHead(200, { 'Content-Length': config.length }); res.end(config); return; }
      res.writeHead(404, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ errors: [{ code: 'BLOB_UNKNOWN', message: 'blob unknown' }] }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    d = await startDaemon();
  }, { timeout: 120_000 });
  after(async () => {
    await d?.stop();
    await new Promise<void>((resolve) => server?.close(() => resolve()));
  });

  for (const [tag, what] of [['traversal', /invalid layer digest in manifest/], ['badsize', /invalid layer size in manifest/], ['notstring', /invalid layer digest in manifest: 42/]] as const) {
    test(`a layer descriptor with ${tag === 'traversal' ? 'a path for a digest' : tag === 'badsize' ? 'a negative size' : 'a number for a digest'} fails the pull`, async () => {
      const r = await d.request('POST', `/images/create?fromImage=${host}/evil&tag=${tag}`, undefined, { timeoutMs: 60_000 });
      const msgs = r.text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, string>);
      const error = msgs.find((m) => m.error)?.error ?? (r.status >= 400 ? r.text : '');
      assert.match(error, what, r.text);
      for (const m of msgs) assert.doesNotMatch(m.status ?? '', /Already exists|Download complete|Extracting|Pulling fs layer/, r.text);
      assert.equal((await d.request('GET', `/images/${host}/evil:${tag}/json`)).status, 404);
      assert.ok(!requested.some((u) => u.includes('..') || u.includes('etc/passwd')), requested.join('\n'));
    });
  }
});
