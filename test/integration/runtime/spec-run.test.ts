/**
 * Runs real containers from `buildSpec` output: a busybox rootfs, a bundle,
 * `runc run` / `crun run` in the foreground, and checks what the process saw
 * (seccomp mode, capabilities, hostname, user, limits, cgroup files).
 * Everything is cleaned up even on failure: runtime state lives under a
 * private `--root`, cgroups under a test-only parent.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { allCapabilities, knownCapabilities } from '../../../src/runtime/capabilities.js';
import { buildSpec, type SpecInput } from '../../../src/runtime/spec.js';

const CGROUP_PARENT = 'berth-spec-test';
let work: string;
let rootfs: string;
let counter = 0;

function sh(argv: string[], opts: { input?: string; timeout?: number } = {}) {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', timeout: opts.timeout ?? 30_000, input: opts.input });
  return { code: r.status, stdout: r.stdout ?? '', stderr: (r.stderr ?? '') + (r.error ? String(r.error) : '') };
}

function has(bin: string): boolean {
  return sh(['sh', '-c', `command -v ${bin}`]).code === 0;
}

before(() => {
  work = mkdtempSync(join(tmpdir(), 'berth-spec-run-'));
  rootfs = join(work, 'rootfs');
  mkdirSync(join(rootfs, 'bin'), { recursive: true });
  mkdirSync(join(rootfs, 'etc'));
  copyFileSync('/bin/busybox', join(rootfs, 'bin/busybox'));
  const r = sh(['chroot', rootfs, '/bin/busybox', '--install', '-s', '/bin']);
  assert.equal(r.code, 0, r.stderr);
  writeFileSync(join(rootfs, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n');
  writeFileSync(join(rootfs, 'etc/group'), 'root:x:0:\nnogroup:x:65534:\n');
});

/** Removes `/sys/fs/cgroup/<controller>/<rel>` wherever it exists (empty cgroups only). */
function removeCgroup(rel: string): void {
  for (const ctrl of existsSync('/sys/fs/cgroup') ? readdirSync('/sys/fs/cgroup') : []) {
    const dir = join('/sys/fs/cgroup', ctrl, rel);
    if (existsSync(dir)) {
      try { rmdirSync(dir); } catch { /* still has processes or children */ }
    }
  }
}

after(() => {
  rmSync(work, { recursive: true, force: true });
  // The runtimes remove each container's leaf cgroup on delete; the test parent stays.
  removeCgroup(CGROUP_PARENT);
});

interface Run { code: number | null; stdout: string; stderr: string }

/** Builds the spec, writes the bundle, runs it to completion and cleans up the runtime state. */
function run(runtime: 'runc' | 'crun', script: string, over: Partial<SpecInput> = {}): Run {
  const id = `berth-spec-${process.pid}-${++counter}`;
  const bundle = join(work, id);
  const state = join(work, `${id}-state`);
  mkdirSync(bundle);
  mkdirSync(state);
  const spec = buildSpec({
    id, rootfsPath: rootfs, readonlyRootfs: false,
    args: ['sh', '-c', script], env: [], cwd: '/', tty: false, hostname: 'spec-test-host',
    user: { uid: 0, gid: 0, additionalGids: [0] }, mounts: [], network: { mode: 'new' },
    cgroupsPath: `/${CGROUP_PARENT}/${id}`,
    ...over,
  });
  writeFileSync(join(bundle, 'config.json'), JSON.stringify(spec));
  try {
    return sh([runtime, '--root', state, 'run', '--bundle', bundle, id], { input: '' });
  } finally {
    sh([runtime, '--root', state, 'delete', '-f', id]);
    // A container that failed during create has no state to delete but may
    // have left its cgroup behind.
    removeCgroup(`${CGROUP_PARENT}/${id}`);
    rmSync(bundle, { recursive: true, force: true });
    rmSync(state, { recursive: true, force: true });
  }
}

function statusField(out: string, field: string): string | undefined {
  return new RegExp(`^${field}:\\s*(\\S+)`, 'm').exec(out)?.[1];
}

const DEFAULT_SCRIPT = 'cat /proc/self/status; hostname; id';

function checkDefaults(r: Run): void {
  assert.equal(r.code, 0, r.stderr);
  assert.equal(statusField(r.stdout, 'Seccomp'), '2', 'filter mode seccomp');
  assert.equal(statusField(r.stdout, 'CapEff'), '00000000a80425fb', 'Docker\'s default capabilities');
  assert.equal(statusField(r.stdout, 'CapBnd'), '00000000a80425fb');
  assert.equal(statusField(r.stdout, 'NoNewPrivs'), '0');
  assert.match(r.stdout, /^spec-test-host$/m);
  assert.match(r.stdout, /uid=0\(root\) gid=0\(root\)/);
}

/** crun 1.8.1 refuses hybrid hosts while a controller sits on the unified hierarchy (berthd does this at start). */
function prepareCgroupsForCrun(): string | undefined {
  const controllers = '/sys/fs/cgroup/unified/cgroup.controllers';
  if (existsSync(controllers) && readFileSync(controllers, 'utf8').trim() !== '') {
    const r = sh(['sh', '-c', 'mkdir -p /sys/fs/cgroup/hugetlb && mount -t cgroup -o hugetlb cgroup /sys/fs/cgroup/hugetlb']);
    if (r.code !== 0) return `cannot move hugetlb off cgroup v2: ${r.stderr}`;
  }
  return undefined;
}

test('runc runs the default spec with Docker\'s seccomp, capabilities and hostname', (t) => {
  if (!has('runc')) return t.skip('no runc');
  checkDefaults(run('runc', DEFAULT_SCRIPT));
});

test('crun runs the default spec too', (t) => {
  if (!has('crun')) return t.skip('no crun');
  const why = prepareCgroupsForCrun();
  if (why) return t.skip(why);
  checkDefaults(run('crun', DEFAULT_SCRIPT));
});

test('the default mounts, masks and sysctls are in place', (t) => {
  if (!has('runc')) return t.skip('no runc');
  const r = run('runc', [
    'cat /proc/sys/net/ipv4/ip_unprivileged_port_start',
    'cat /proc/sys/net/ipv4/ping_group_range',
    'cat /proc/kcore | wc -c',
    'echo 1 > /proc/sys/kernel/ns_last_pid 2>/dev/null && echo sys-writable || echo sys-readonly',
    'touch /sys/x 2>/dev/null && echo sysfs-writable || echo sysfs-readonly',
    'grep -E " /dev/shm | /dev/mqueue | /dev/pts " /proc/mounts',
  ].join('; '), { shmSize: 8 * 1024 * 1024 });
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.split('\n');
  assert.equal(lines[0], '0');
  assert.match(lines[1], /^0\s+2147483647$/);
  assert.equal(lines[2].trim(), '0', '/proc/kcore masked');
  assert.equal(lines[3], 'sys-readonly');
  assert.equal(lines[4], 'sysfs-readonly');
  assert.match(r.stdout, /shm \/dev\/shm tmpfs rw,nosuid,nodev,noexec,relatime,size=8192k/);
  assert.match(r.stdout, /\/dev\/mqueue mqueue/);
});

test('a non-root user under --init with a ulimit and no-new-privileges', (t) => {
  if (!has('runc')) return t.skip('no runc');
  if (!existsSync('/usr/bin/tini-static') && !existsSync('/usr/bin/tini')) return t.skip('no tini on the host');
  const r = run('runc', 'id; ulimit -n; cat /proc/self/status; cat /proc/1/cmdline | tr "\\0" " "', {
    user: { uid: 65534, gid: 65534, additionalGids: [65534] },
    init: true,
    ulimits: [{ Name: 'nofile', Soft: 512, Hard: 1024 }],
    securityOpt: ['no-new-privileges'],
  });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /uid=65534\(nobody\) gid=65534\(nogroup\)/);
  assert.match(r.stdout, /^512$/m);
  assert.equal(statusField(r.stdout, 'CapEff'), '0000000000000000', 'non-root: no effective capabilities');
  assert.equal(statusField(r.stdout, 'CapBnd'), '00000000a80425fb');
  assert.equal(statusField(r.stdout, 'NoNewPrivs'), '1');
  assert.match(r.stdout, /\/sbin\/docker-init -- sh -c/);
});

test('privileged gets every capability berthd holds and no seccomp', (t) => {
  if (!has('runc')) return t.skip('no runc');
  const r = run('runc', 'cat /proc/self/status; ls /dev', { privileged: true });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(statusField(r.stdout, 'Seccomp'), '0');
  let mask = 0n;
  for (const c of allCapabilities()) mask |= 1n << BigInt(knownCapabilities().indexOf(c));
  assert.equal(statusField(r.stdout, 'CapEff'), mask.toString(16).padStart(16, '0'));
  assert.match(r.stdout, /^loop0$/m, 'host devices present');
});

test('resources land in the container\'s cgroups', (t) => {
  if (!has('runc')) return t.skip('no runc');
  if (existsSync('/sys/fs/cgroup/cgroup.controllers')) return t.skip('cgroup v1 file names checked here');
  const script = [
    'cat /sys/fs/cgroup/memory/memory.limit_in_bytes',
    'cat /sys/fs/cgroup/memory/memory.memsw.limit_in_bytes',
    'cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us',
    'cat /sys/fs/cgroup/cpu/cpu.cfs_period_us',
    'cat /sys/fs/cgroup/cpu/cpu.shares',
    'cat /sys/fs/cgroup/pids/pids.max',
  ].join('; ');
  // BlkioWeight rides along: where the host has no `blkio.weight` (BFQ only,
  // as here) it must be dropped rather than make crun fail.

  const resources = { Memory: 64 * 1024 * 1024, NanoCpus: 0.5e9, CpuShares: 512, PidsLimit: 50, BlkioWeight: 300 };
  for (const runtime of ['runc', 'crun'] as const) {
    if (!has(runtime) || (runtime === 'crun' && prepareCgroupsForCrun())) continue;
    const r = run(runtime, script, { resources });
    assert.equal(r.code, 0, `${runtime}: ${r.stderr}`);
    const [limit, memsw, quota, period, shares, pids] = r.stdout.trim().split('\n').map((l) => l.trim());
    assert.equal(limit, '67108864', runtime);
    assert.equal(memsw, '134217728', runtime);
    assert.equal(quota, '50000', runtime);
    assert.equal(period, '100000', runtime);
    assert.equal(shares, '512', runtime);
    assert.equal(pids, '50', runtime);
  }
});
