import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseChunkRange, resolveByteRange, uploadRangeHeader } from '../../../src/registry/server/ranges.js';

test('a chunk Content-Range is start-end, inclusive', () => {
  assert.deepEqual(parseChunkRange('0-99'), { start: 0, end: 99 });
  assert.deepEqual(parseChunkRange('100-100'), { start: 100, end: 100 });
});

test('the RFC 9110 form some clients send is accepted too', () => {
  assert.deepEqual(parseChunkRange('bytes 0-9/10'), { start: 0, end: 9 });
  assert.deepEqual(parseChunkRange('bytes=5-9'), { start: 5, end: 9 });
  assert.deepEqual(parseChunkRange('bytes 5-9/*'), { start: 5, end: 9 });
});

test('malformed or backwards chunk ranges are refused', () => {
  for (const bad of ['', '5', '-5', '5-', 'a-b', '9-5', '1-2-3', '0x1-2']) assert.equal(parseChunkRange(bad), null, bad);
});

test('upload progress is 0-<last byte>, and 0-0 when empty (as docker-registry writes)', () => {
  assert.equal(uploadRangeHeader(0), '0-0');
  assert.equal(uploadRangeHeader(1), '0-0');
  assert.equal(uploadRangeHeader(100), '0-99');
});

test('blob Range requests: explicit, open-ended, suffix, clamped', () => {
  assert.deepEqual(resolveByteRange('bytes=0-9', 100), { kind: 'range', start: 0, end: 9 });
  assert.deepEqual(resolveByteRange('bytes=90-', 100), { kind: 'range', start: 90, end: 99 });
  assert.deepEqual(resolveByteRange('bytes=-10', 100), { kind: 'range', start: 90, end: 99 });
  assert.deepEqual(resolveByteRange('bytes=-500', 100), { kind: 'range', start: 0, end: 99 });
  assert.deepEqual(resolveByteRange('bytes=50-500', 100), { kind: 'range', start: 50, end: 99 });
});

test('blob Range requests that cannot be met are 416, others fall back to the whole blob', () => {
  assert.deepEqual(resolveByteRange('bytes=100-', 100), { kind: 'unsatisfiable' });
  assert.deepEqual(resolveByteRange('bytes=-0', 100), { kind: 'unsatisfiable' });
  assert.deepEqual(resolveByteRange(undefined, 100), { kind: 'none' });
  assert.deepEqual(resolveByteRange('bytes=0-1,5-6', 100), { kind: 'none' });
  assert.deepEqual(resolveByteRange('items=0-1', 100), { kind: 'none' });
  assert.deepEqual(resolveByteRange('bytes=9-2', 100), { kind: 'none' });
});
