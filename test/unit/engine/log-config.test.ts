/** Log options as Docker reads them: max-size through go-units (1000s), the local driver's defaults. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkLogConfig, logFileMaxSize, logRotation } from '../../../src/engine/log-config.js';

test('max-size counts in 1000s and takes fractions and a space (units.FromHumanSize)', () => {
  assert.equal(logFileMaxSize({ Type: 'json-file', Config: { 'max-size': '1.5m' } }), 1_500_000);
  assert.equal(logFileMaxSize({ Type: 'json-file', Config: { 'max-size': '10 k' } }), 10_000);
  assert.equal(logFileMaxSize({ Type: 'json-file', Config: { 'max-size': '2KiB' } }), 2000);
  assert.equal(logFileMaxSize({ Type: '', Config: {} }), undefined, 'json-file grows without limit by default');
  assert.equal(logFileMaxSize({ Type: 'none', Config: { 'max-size': 'x' } }), undefined);
  assert.throws(() => checkLogConfig({ Type: 'json-file', Config: { 'max-size': '10q' } }), /invalid suffix: 'q'/);
});

test('the local driver rotates 20 MiB files, five kept, unless told otherwise', () => {
  assert.deepEqual(logRotation({ Type: 'local', Config: {} }), { maxSize: 20 * 1024 * 1024, maxFiles: 5 });
  assert.deepEqual(logRotation({ Type: 'local', Config: { 'max-size': '1m', 'max-file': '3' } }), { maxSize: 1_000_000, maxFiles: 3 });
  assert.equal(logRotation({ Type: 'local', Config: { 'max-size': '0' } }), undefined);
  assert.throws(() => checkLogConfig({ Type: 'local', Config: { 'max-file': '1' } }), /compression cannot be enabled when max file count is 1/);
  assert.equal(logRotation({ Type: 'local', Config: { 'max-file': '1', compress: 'false' } }), undefined);
});
