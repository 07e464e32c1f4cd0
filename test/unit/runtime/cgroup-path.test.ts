/** A container's cgroup path from its CgroupParent: composition, normalisation and refusals (pure). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidParameterError } from '../../../src/errors.js';
import { cgroupParentPath, containerCgroupPath, inCgroup } from '../../../src/runtime/cgroup-path.js';

const ID = 'a'.repeat(64);

test('a container without a parent goes under /berth, one with a parent under it, as <parent>/<id>', () => {
  assert.equal(containerCgroupPath(ID), `/berth/${ID}`);
  assert.equal(containerCgroupPath(ID, ''), `/berth/${ID}`);
  assert.equal(containerCgroupPath(ID, null), `/berth/${ID}`);
  assert.equal(containerCgroupPath(ID, '/mygroup'), `/mygroup/${ID}`);
  assert.equal(containerCgroupPath(ID, '/kubepods/besteffort/pod1234'), `/kubepods/besteffort/pod1234/${ID}`);
  assert.equal(containerCgroupPath(ID, '/'), `/${ID}`);
  assert.equal(containerCgroupPath(ID, '/berth'), `/berth/${ID}`, 'the default parent named outright');
});

test('a parent is normalised: anchored at the root, no dot components, doubled or trailing slashes', () => {
  assert.equal(cgroupParentPath('mygroup'), '/mygroup');
  assert.equal(cgroupParentPath('kubepods-besteffort-pod1.slice'), '/kubepods-besteffort-pod1.slice', 'a slice name is a directory name under cgroupfs');
  assert.equal(cgroupParentPath('/a//b/./c/'), '/a/b/c');
  assert.equal(cgroupParentPath('./a'), '/a');
});

test('a parent with a .. component is refused (400), wherever it stands and whatever it resolves to', () => {
  for (const p of ['..', '../etc', '/../../sys', '/a/../b', 'a/..', '/a/b/..']) {
    assert.throws(() => cgroupParentPath(p), (e: unknown) => e instanceof InvalidParameterError && /'\.\.' is not allowed/.test(e.message), p);
    assert.throws(() => containerCgroupPath(ID, p), InvalidParameterError, p);
  }
  // `..` inside a name is an ordinary name.
  assert.equal(cgroupParentPath('/a..b'), '/a..b');
});

test('control characters, over-long names, non-strings and parents inside /berth are refused', () => {
  assert.throws(() => cgroupParentPath('/a\nb'), /control characters/);
  assert.throws(() => cgroupParentPath('/a\0'), /control characters/);
  assert.throws(() => cgroupParentPath(`/${'x'.repeat(256)}`), /longer than 255/);
  assert.equal(cgroupParentPath(`/${'x'.repeat(255)}`), `/${'x'.repeat(255)}`);
  assert.throws(() => cgroupParentPath(7), /must be a string/);
  assert.throws(() => cgroupParentPath(`/berth/${ID}`), /\/berth holds berth's own container cgroups/);
  assert.throws(() => cgroupParentPath('berth/x'), /\/berth holds/);
  assert.equal(cgroupParentPath('/berthx'), '/berthx');
});

test('only a container id names a container cgroup', () => {
  assert.throws(() => containerCgroupPath('../x'), InvalidParameterError);
  assert.throws(() => containerCgroupPath(''), InvalidParameterError);
});

test('inCgroup matches the cgroup itself in some hierarchy, not a parent or a child', () => {
  const v1 = `12:memory:/mygroup/${ID}\n11:cpu,cpuacct:/mygroup/${ID}\n0::/\n`;
  assert.ok(inCgroup(v1, `/mygroup/${ID}`));
  assert.ok(!inCgroup(v1, '/mygroup'));
  assert.ok(!inCgroup(`0::/mygroup/${ID}/child\n`, `/mygroup/${ID}`));
  assert.ok(inCgroup(`0::/mygroup/${ID}\n`, `/mygroup/${ID}`), 'v2');
  assert.ok(inCgroup(`4:memory:/outer/mygroup/${ID}\n`, `/mygroup/${ID}`), 'hierarchies mounted from a sub-cgroup');
  assert.ok(!inCgroup(`0::/xmygroup/${ID}\n`, `/mygroup/${ID}`), 'only whole components');
  assert.ok(!inCgroup('', `/mygroup/${ID}`));
});
