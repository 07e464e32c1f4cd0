import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { prepareCgroupsForCrun, removeCgroup } from '../../../src/runtime/cgroup-setup.js';

const mountsAt = (p: string): number => readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.split(' ')[4] === p).length;

test('prepareCgroupsForCrun: the host ends up without controllers on v2; calling again is harmless', async () => {
  await prepareCgroupsForCrun();
  await prepareCgroupsForCrun();
  const unified = '/sys/fs/cgroup/unified/cgroup.controllers';
  if (existsSync(unified)) assert.equal(readFileSync(unified, 'utf8').trim(), '');
  assert.ok(mountsAt('/sys/fs/cgroup/hugetlb') <= 1);
});

test('prepareCgroupsForCrun mounts a v1 hierarchy per v2 controller, once', async (t) => {
  // A stand-in cgroup root that claims hugetlb sits on v2: mounting the (already
  // existing) hugetlb hierarchy a second time is allowed and harmless.
  const root = mkdtempSync('/tmp/berth-cgroot-');
  mkdirSync(join(root, 'unified'));
  writeFileSync(join(root, 'unified', 'cgroup.controllers'), 'hugetlb\n');
  t.after(() => {
    try { execFileSync('umount', [join(root, 'hugetlb')]); } catch { /* not mounted */ }
    rmSync(root, { recursive: true, force: true });
  });
  await prepareCgroupsForCrun(root);
  await prepareCgroupsForCrun(root);
  assert.equal(mountsAt(join(root, 'hugetlb')), 1);
  assert.ok(existsSync(join(root, 'hugetlb', 'hugetlb.2MB.limit_in_bytes')) || existsSync(join(root, 'hugetlb', 'cgroup.procs')));
});

test('removeCgroup removes the leaf and its children under every hierarchy, leaves the parent', async () => {
  const leaf = `/berth-test-rm/c${process.pid}`;
  const made: string[] = [];
  for (const h of ['memory', 'pids', 'cpu', 'unified']) {
    const d = join('/sys/fs/cgroup', h, leaf, 'child');
    if (!existsSync(join('/sys/fs/cgroup', h))) continue;
    mkdirSync(d, { recursive: true });
    made.push(join('/sys/fs/cgroup', h, leaf));
  }
  assert.ok(made.length > 0);
  await removeCgroup(leaf);
  for (const d of made) {
    assert.ok(!existsSync(d), d);
    assert.ok(existsSync(join(d, '..')));
    execFileSync('rmdir', [join(d, '..')]);
  }
  await removeCgroup(leaf); // gone already: fine
});

test('removeCgroup refuses paths that leave the container\'s own cgroup', async () => {
  await assert.rejects(removeCgroup('/'), /invalid cgroups path/);
  await assert.rejects(removeCgroup('/a/../..'), /invalid cgroups path/);
  await assert.rejects(removeCgroup(''), /invalid cgroups path/);
});
