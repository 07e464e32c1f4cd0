import { test } from 'node:test';
import assert from 'node:assert/strict';
import { diffFiles, diffStepInputs, explainMiss, type StepContext } from '../../../src/build/cache-explain.js';
import type { FileInput, StepInputs } from '../../../src/build/cache-key.js';

const f = (path: string, digest = 'x', mode = 0o644, uid = 0): FileInput => ({ path, type: 'file', digest, mode, uid, gid: uid });
const run = (over: Partial<StepInputs> = {}): StepInputs => ({
  kind: 'RUN', instruction: 'RUN make', command: ['/bin/sh', '-c', 'make'], env: ['A=1'], user: '', workdir: '', shell: ['/bin/sh', '-c'],
  network: 'none', sourceDateEpoch: null, platform: 'linux/amd64', ...over,
});
const ctx = (over: Partial<StepContext> = {}): StepContext => ({ original: 'RUN make', base: 'sha256:b1', baseRef: 'busybox', ...over });

test('diffFiles names the first file that differs and how', () => {
  assert.equal(diffFiles([f('a'), f('b')], [f('a'), f('b')]), undefined);
  assert.deepEqual(diffFiles([f('a'), f('b')], [f('a'), f('b', 'y')]), { reason: 'file', path: 'b', changes: ['content'], message: 'file b changed (content)' });
  assert.equal(diffFiles([f('a')], [f('a', 'x', 0o755)])?.message, 'file a changed (mode)');
  assert.equal(diffFiles([f('a')], [f('a', 'x', 0o644, 1000)])?.message, 'file a changed (owner)');
  assert.equal(diffFiles([f('a')], [f('a', 'y', 0o600, 1)])?.message, 'file a changed (content, mode, owner)');
  assert.equal(diffFiles([f('a'), f('c')], [f('a'), f('b'), f('c')])?.message, 'file b added');
  assert.equal(diffFiles([f('a'), f('b')], [f('a')])?.message, 'file b removed');
  assert.deepEqual(diffFiles([f('a')], [{ ...f('a'), type: 'dir' }])?.changes, ['type']);
});

test('diffStepInputs: build arg before env before the rest; values are never printed', () => {
  const m = diffStepInputs(run({ buildArgs: { V: 'secret1' } }), run({ buildArgs: { V: 'secret2' } }));
  assert.deepEqual(m, { reason: 'build-arg', name: 'V', message: 'build arg V changed' });
  assert.equal(diffStepInputs(run(), run({ buildArgs: { N: '1' } }))?.message, 'build arg N is now set');
  assert.equal(diffStepInputs(run(), run({ env: ['A=2'] }))?.message, 'environment variable A changed');
  assert.equal(diffStepInputs(run(), run({ command: ['/bin/sh', '-c', 'make all'], instruction: 'RUN make all' }))?.reason, 'command');
  assert.equal(diffStepInputs(run(), run({ user: 'app' }))?.message, 'user changed (root → app)');
  assert.equal(diffStepInputs(run(), run({ sourceDateEpoch: 5 }))?.reason, 'source-date-epoch');
  assert.equal(diffStepInputs(run(), run()), undefined);
});

test('diffStepInputs: COPY compares the file lists when both are known', () => {
  const copy = (digest: string): StepInputs => ({ kind: 'COPY', instruction: 'COPY . /app', filesDigest: digest, sourceDateEpoch: null, platform: 'p' });
  assert.equal(diffStepInputs(copy('d1'), copy('d2'), [f('app/main.c', '1')], [f('app/main.c', '2')])?.message, 'file app/main.c changed (content)');
  assert.equal(diffStepInputs(copy('d1'), copy('d2'))?.message, 'the copied files changed');
});

test('explainMiss: same parent first, then the same instruction on another base, then new', () => {
  const cur = { parent: 'sha256:p2', inputs: run({ env: ['A=2'] }), context: ctx({ base: 'sha256:b2' }) };
  assert.equal(explainMiss(cur, { sameParent: { parent: 'sha256:p2', inputs: run(), context: ctx() } }).message, 'environment variable A changed');
  const base = explainMiss(cur, { sameInstruction: { parent: 'sha256:p1', inputs: run(), context: ctx() } });
  assert.equal(base.reason, 'base');
  assert.equal(base.message, 'base image busybox changed (b1 → b2)');
  const other = explainMiss({ ...cur, context: ctx({ baseRef: 'alpine', base: 'sha256:b2' }) }, { sameInstruction: { parent: 'sha256:p1', inputs: run(), context: ctx() } });
  assert.equal(other.message, 'base image changed (busybox → alpine)');
  const parent = explainMiss({ ...cur, context: ctx() }, { sameInstruction: { parent: 'sha256:p1', inputs: run(), context: ctx() } });
  assert.equal(parent.reason, 'parent');
  assert.equal(explainMiss(cur, {}).reason, 'new');
});
