import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findRuntime, lastRuntimeError, OciRuntime } from '../../../src/runtime/oci-runtime.js';
import { InvalidParameterError } from '../../../src/errors.js';

const dir = mkdtempSync('/tmp/berth-oci-');
after(() => rmSync(dir, { recursive: true, force: true }));

test('findRuntime knows runc and crun only', () => {
  assert.throws(() => findRuntime('kata'), (e: Error) => e instanceof InvalidParameterError && e.message === 'unknown or invalid runtime name: kata');
});

test('the state root is passed before the subcommand, to conmon too', () => {
  const r = new OciRuntime('runc', '/usr/sbin/runc', '/run/x/runc');
  assert.deepEqual(r.globalArgs, ['--root=/run/x/runc']);
  assert.deepEqual(r.monitorArgs('/b/oci-log'), ['--root=/run/x/runc', '--log-format=json', '--log=/b/oci-log']);
  assert.deepEqual(new OciRuntime('crun', '/usr/bin/crun').globalArgs, []);
});

test('lastRuntimeError reads runc\'s and crun\'s JSON logs', () => {
  const runc = join(dir, 'runc-log');
  writeFileSync(runc, '{"level":"info","msg":"hello","time":"x"}\n{"level":"error","msg":"exec failed: boom","time":"2026-11-23T08:58:20Z"}\n');
  assert.equal(lastRuntimeError(runc), 'exec failed: boom');
  const crun = join(dir, 'crun-log');
  writeFileSync(crun, '{"msg":"first","level":"error","time":"t"}{"msg":"executable file `x` not found","level":"error","time":"t"}');
  assert.equal(lastRuntimeError(crun), 'executable file `x` not found');
  writeFileSync(join(dir, 'junk'), 'not json');
  assert.equal(lastRuntimeError(join(dir, 'junk')), null);
  assert.equal(lastRuntimeError(join(dir, 'none')), null);
});
