import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  DEFAULT_CAPABILITIES, allCapabilities, knownCapabilities, normalizeCapability, resolveCapabilities,
} from '../../../src/runtime/capabilities.js';

const reference = JSON.parse(readFileSync('/work/shared/notes/interfaces/reference/dockerd-20.10-config.json', 'utf8'));

/** The capabilities as a CapEff-style hex mask. */
function mask(caps: readonly string[]): string {
  let m = 0n;
  for (const c of caps) m |= 1n << BigInt(knownCapabilities().indexOf(c));
  return m.toString(16).padStart(16, '0');
}

test('the default set is dockerd\'s, in its order', () => {
  assert.deepEqual([...DEFAULT_CAPABILITIES], reference.process.capabilities.bounding);
  assert.deepEqual(resolveCapabilities([], [], false), reference.process.capabilities.bounding);
  assert.equal(mask(DEFAULT_CAPABILITIES), '00000000a80425fb');
});

test('the kernel\'s list follows cap_last_cap', () => {
  const last = Number(readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8'));
  assert.equal(knownCapabilities().length, Math.min(last + 1, 41));
  assert.equal(knownCapabilities()[0], 'CAP_CHOWN');
  assert.equal(knownCapabilities()[21], 'CAP_SYS_ADMIN');
});

test('names are accepted with or without CAP_, in any case', () => {
  assert.equal(normalizeCapability('net_admin'), 'CAP_NET_ADMIN');
  assert.equal(normalizeCapability('CAP_NET_ADMIN'), 'CAP_NET_ADMIN');
  assert.equal(normalizeCapability('cap_Net_Admin'), 'CAP_NET_ADMIN');
  assert.equal(normalizeCapability('all'), 'ALL');
});

test('unknown names are refused with Docker\'s message', () => {
  assert.throws(() => resolveCapabilities(['foo'], [], false), (e: any) => e.kind === 'InvalidParameter' && e.message === 'unknown capability: "CAP_FOO"');
  assert.throws(() => resolveCapabilities([], ['CAP_BAR'], false), /unknown capability: "CAP_BAR"/);
});

test('add and drop', () => {
  const caps = resolveCapabilities(['NET_ADMIN', 'sys_ptrace'], ['mknod', 'CAP_NET_RAW'], false);
  assert.ok(caps.includes('CAP_NET_ADMIN') && caps.includes('CAP_SYS_PTRACE'));
  assert.ok(!caps.includes('CAP_MKNOD') && !caps.includes('CAP_NET_RAW'));
  assert.equal(caps.length, 14);
  // Adding one already in the set does not duplicate it.
  assert.equal(resolveCapabilities(['chown'], [], false).length, 14);
});

test('ALL on either side', () => {
  assert.deepEqual(resolveCapabilities(['chown', 'kill'], ['ALL'], false), ['CAP_CHOWN', 'CAP_KILL']);
  assert.deepEqual(resolveCapabilities([], ['all'], false), []);
  const most = resolveCapabilities(['ALL'], ['SYS_ADMIN'], false);
  assert.ok(!most.includes('CAP_SYS_ADMIN'));
  assert.equal(most.length, allCapabilities().length - 1);
  // add ALL wins over drop ALL, as in Docker
  assert.deepEqual(resolveCapabilities(['ALL'], ['ALL'], false), [...allCapabilities()]);
});

test('privileged gets every capability berthd can pass on', () => {
  const caps = resolveCapabilities(['chown'], ['kill'], true);
  assert.deepEqual(caps, [...allCapabilities()]);
  const bnd = BigInt('0x' + /^CapBnd:\s*([0-9a-f]+)/m.exec(readFileSync('/proc/self/status', 'utf8'))![1]);
  for (const c of caps) assert.ok((bnd >> BigInt(knownCapabilities().indexOf(c))) & 1n, c);
  assert.ok(caps.includes('CAP_SYS_ADMIN'));
});

test('adding a capability berthd lacks is refused up front', (t) => {
  const missing = knownCapabilities().find((c) => !allCapabilities().includes(c));
  if (!missing) return t.skip('berthd holds every capability here');
  assert.throws(() => resolveCapabilities([missing], [], false), (e: any) => e.kind === 'InvalidParameter' && e.message.includes(missing));
});
