import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalJson, filesDigest, stepKey, type FileInput, type StepInputs } from '../../../src/build/cache-key.js';

const run: StepInputs = {
  kind: 'RUN', instruction: 'RUN make', command: ['/bin/sh', '-c', 'make'], env: ['PATH=/bin'], user: '', workdir: '/src',
  shell: ['/bin/sh', '-c'], network: 'none', sourceDateEpoch: null, platform: 'linux/amd64',
};

test('canonicalJson sorts keys at every level and drops undefined', () => {
  assert.equal(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: undefined } }), '{"a":{"d":[3,{"y":2,"z":1}]},"b":1}');
});

test('stepKey: same parent and inputs give the same key, whatever the key order', () => {
  const reordered = Object.fromEntries(Object.entries(run).reverse()) as unknown as StepInputs;
  assert.equal(stepKey('sha256:p', run), stepKey('sha256:p', reordered));
  assert.match(stepKey('sha256:p', run), /^sha256:[0-9a-f]{64}$/);
});

test('stepKey: every input and the parent are in the key', () => {
  const base = stepKey('sha256:p', run);
  assert.notEqual(stepKey('sha256:q', run), base, 'parent');
  const variants: Partial<StepInputs>[] = [
    { command: ['/bin/sh', '-c', 'make all'] }, { env: ['PATH=/usr/bin'] }, { buildArgs: { V: '1' } }, { user: 'app' },
    { workdir: '/' }, { shell: ['/bin/bash', '-c'] }, { network: 'host' }, { sourceDateEpoch: 1 }, { platform: 'linux/arm64' },
  ];
  const keys = new Set([base]);
  for (const v of variants) keys.add(stepKey('sha256:p', { ...run, ...v }));
  assert.equal(keys.size, variants.length + 1);
  assert.notEqual(stepKey('sha256:p', { ...run, buildArgs: { V: '2' } }), stepKey('sha256:p', { ...run, buildArgs: { V: '1' } }));
});

test('filesDigest: independent of list order; content, mode and owner count; nothing else is in a FileInput', () => {
  const a: FileInput = { path: 'app/main.c', type: 'file', digest: 'aa', mode: 0o644, uid: 0, gid: 0 };
  const b: FileInput = { path: 'app/util.c', type: 'file', digest: 'bb', mode: 0o644, uid: 0, gid: 0 };
  assert.equal(filesDigest([a, b]), filesDigest([b, a]));
  const d = filesDigest([a, b]);
  assert.notEqual(filesDigest([{ ...a, digest: 'ab' }, b]), d);
  assert.notEqual(filesDigest([{ ...a, mode: 0o755 }, b]), d);
  assert.notEqual(filesDigest([{ ...a, uid: 1000 }, b]), d);
  assert.notEqual(filesDigest([a]), d);
  assert.deepEqual(Object.keys(a).sort(), ['digest', 'gid', 'mode', 'path', 'type', 'uid'], 'no mtime: touching a file keeps the key');
});
