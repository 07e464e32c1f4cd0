import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatMirrorEntry, mirrorEndpoint, parseMirrorFlag, validateMirror } from '../../../src/registry/client/endpoint.js';

test('a mirror URL is kept with one trailing slash, as dockerd keeps it', () => {
  assert.equal(validateMirror('https://mirror.example'), 'https://mirror.example/');
  assert.equal(validateMirror('http://127.0.0.1:5000//'), 'http://127.0.0.1:5000/');
  assert.equal(validateMirror('https://[::1]:5000/'), 'https://[::1]:5000/');
});

test('a mirror URL must be http(s), without query, fragment, credentials or path', () => {
  for (const [url, re] of [
    ['mirror.example', /is not a valid URI/], ['ftp://m.example', /unsupported scheme "ftp"/], ['https://m.example/?a=b', /query or fragment/],
    ['https://m.example/#x', /query or fragment/], ['https://user:pw@m.example', /username\/password not allowed/], ['https://m.example/v2/', /has a path/],
  ] as const) {
    assert.throws(() => validateMirror(url), re, url);
  }
  assert.throws(() => validateMirror('https://user:pw@m.example'), (e: Error) => !e.message.includes('pw@'));
});

test('a mirror is reached by its own scheme; over https its certificate is skipped only where registries are insecure', () => {
  assert.deepEqual(mirrorEndpoint('http://10.1.2.3:5000/', []), { host: '10.1.2.3:5000', scheme: 'http' });
  assert.deepEqual(mirrorEndpoint('https://m.example/', []), { host: 'm.example', scheme: 'https' });
  assert.deepEqual(mirrorEndpoint('https://127.0.0.1:5000/', []), { host: '127.0.0.1:5000', scheme: 'https', insecureTls: true });
  assert.deepEqual(mirrorEndpoint('https://m.example:443/', ['m.example']), { host: 'm.example', scheme: 'https', insecureTls: true });
});

test('--registry-mirror REGISTRY=URL mirrors that registry; a bare URL mirrors Docker Hub', () => {
  assert.deepEqual(parseMirrorFlag('http://127.0.0.1:5000'), { registry: 'docker.io', url: 'http://127.0.0.1:5000/' });
  assert.deepEqual(parseMirrorFlag('registry.k8s.io=http://127.0.0.1:5000'), { registry: 'registry.k8s.io', url: 'http://127.0.0.1:5000/' });
  assert.deepEqual(parseMirrorFlag('Reg.Example:8443=https://m.example/'), { registry: 'reg.example:8443', url: 'https://m.example/' });
  assert.deepEqual(parseMirrorFlag('index.docker.io=https://m.example'), { registry: 'docker.io', url: 'https://m.example/' });
  assert.equal(formatMirrorEntry(parseMirrorFlag('gcr.io=http://10.0.0.1:5000')), 'gcr.io=http://10.0.0.1:5000/');
  assert.equal(formatMirrorEntry(parseMirrorFlag('docker.io=http://10.0.0.1:5000')), 'http://10.0.0.1:5000/');
  for (const bad of ['reg example=http://m', 'a/b=http://m', '=http://m', 'reg.example=ftp://m', 'reg.example=']) {
    assert.throws(() => parseMirrorFlag(bad), /invalid mirror/, bad);
  }
});
