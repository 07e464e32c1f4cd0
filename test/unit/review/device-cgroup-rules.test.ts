/**
 * review1: a device cgroup rule never grants more than it says. cgroup v1
 * reads any `a` line of devices.allow as every device with rwm, so a type-a
 * rule narrower than `a *:* rwm` must reach the runtime as a char and a
 * block entry of the same numbers and access.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deviceCgroupEntries } from '../../../src/runtime/device-cgroup-rules.js';

test('type a narrower than everything becomes c and b entries; a *:* rwm stays one entry', () => {
  assert.deepEqual(deviceCgroupEntries(['a 8:0 r']), [
    { allow: true, type: 'c', major: 8, minor: 0, access: 'r' },
    { allow: true, type: 'b', major: 8, minor: 0, access: 'r' },
  ]);
  assert.deepEqual(deviceCgroupEntries(['a *:* rw']), [{ allow: true, type: 'c', access: 'rw' }, { allow: true, type: 'b', access: 'rw' }]);
  assert.deepEqual(deviceCgroupEntries(['a 1:* rwm']), [{ allow: true, type: 'c', major: 1, access: 'rwm' }, { allow: true, type: 'b', major: 1, access: 'rwm' }]);
  assert.deepEqual(deviceCgroupEntries(['a *:* rwm']), [{ allow: true, type: 'a', access: 'rwm' }]);
  assert.deepEqual(deviceCgroupEntries(['a *:* mwr']), [{ allow: true, type: 'a', access: 'mwr' }]);
  assert.deepEqual(deviceCgroupEntries(['c 7:128 rwm', 'b *:3 m']), [
    { allow: true, type: 'c', major: 7, minor: 128, access: 'rwm' }, { allow: true, type: 'b', minor: 3, access: 'm' },
  ]);
});

test('malformed rules are refused, never widened', () => {
  for (const rule of ['a 8:0 r\n', 'a 8:0  r', 'a 8:0 rx', 'a 8:0', 'a -1:0 r', 'a 8:0 r ', 'A 8:0 r', 'a 8: r', 'a ８:0 r']) {
    assert.throws(() => deviceCgroupEntries([rule]), /invalid device cgroup rule format/, JSON.stringify(rule));
  }
});
