import { test } from 'node:test';
import assert from 'node:assert/strict';
import { goQuotedList, goTime, nextConfig, nopCreatedBy, normalizeDefaults, scratchConfig } from '../../../src/build/image-config.js';
import { exposedPorts, checkStopSignal } from '../../../src/build/builder.js';

test('normalizeDefaults: fixed key order, sorted maps, no empties or per-container noise', () => {
  const d = normalizeDefaults({
    Labels: { b: '2', a: '1' }, Cmd: ['sh'], Env: [], Hostname: 'abc', User: 'app', ExposedPorts: { '90/tcp': {}, '80/tcp': {} }, Image: 'x',
  } as never);
  assert.equal(JSON.stringify(d), '{"User":"app","ExposedPorts":{"80/tcp":{},"90/tcp":{}},"Cmd":["sh"],"Labels":{"a":"1","b":"2"}}');
});

test('nextConfig: the epoch is the time of the step and clamps later history; layers append', () => {
  const parent = { ...scratchConfig(), created: '2030-01-01T00:00:00Z', comment: 'Imported', history: [{ created: '2030-01-01T00:00:00Z', created_by: '', comment: 'Imported from -' }, { created: '1999-01-01T00:00:00Z', created_by: 'old' }] };
  const epochMs = 1_700_000_000_000;
  const { config, bytes } = nextConfig({ parent, defaults: { Cmd: ['sh'] }, diffId: 'sha256:d', createdBy: 'RUN x', createdMs: epochMs, epochMs });
  assert.equal(config.created, '2023-11-14T22:13:20Z');
  assert.deepEqual(config.history?.map((h) => h.created), ['2023-11-14T22:13:20Z', '1999-01-01T00:00:00Z', '2023-11-14T22:13:20Z']);
  assert.deepEqual(config.rootfs.diff_ids, ['sha256:d']);
  assert.equal((config as unknown as Record<string, unknown>).comment, undefined, "the base's import comment is not carried");
  const again = nextConfig({ parent, defaults: { Cmd: ['sh'] }, diffId: 'sha256:d', createdBy: 'RUN x', createdMs: epochMs, epochMs });
  assert.ok(again.bytes.equals(bytes), 'same inputs, same bytes');
  const meta = nextConfig({ parent, defaults: {}, createdBy: 'x', createdMs: epochMs });
  assert.equal(meta.config.history?.at(-1)?.empty_layer, true);
});

test('history text and instruction helpers', () => {
  assert.equal(nopCreatedBy(['/bin/sh', '-c'], 'ENV A=1'), '/bin/sh -c #(nop) ENV A=1');
  assert.equal(goQuotedList(['sh', '-c', 'echo "x"']), '["sh" "-c" "echo \\"x\\""]');
  assert.equal(goTime(0), '1970-01-01T00:00:00Z');
  assert.deepEqual(exposedPorts(['80', '53/UDP', '8000-8001']), ['80/tcp', '53/udp', '8000/tcp', '8001/tcp']);
  assert.throws(() => exposedPorts(['x']), /Invalid containerPort/);
  checkStopSignal('SIGINT');
  checkStopSignal('9');
  checkStopSignal('SIGRTMIN+3');
  assert.throws(() => checkStopSignal('not a signal'), /Invalid signal/);
});
