import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { DEFAULT_CAPABILITIES, allCapabilities } from '../../../src/runtime/capabilities.js';
import { cgroupVersion } from '../../../src/runtime/cgroup-version.js';
import { defaultSeccomp } from '../../../src/runtime/seccomp.js';
import {
  buildSpec, containerEnv, mapResources, parseSecurityOpts, rlimitsFor, DEFAULT_PATH_ENV, type SpecInput,
} from '../../../src/runtime/spec.js';

const reference = JSON.parse(readFileSync('/work/shared/notes/interfaces/reference/dockerd-20.10-config.json', 'utf8'));

function input(over: Partial<SpecInput> = {}): SpecInput {
  return {
    id: 'abc', rootfsPath: '/var/lib/berth/overlay/abc/merged', readonlyRootfs: false,
    args: ['sleep', '300'], env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], cwd: '/', tty: false,
    hostname: 'd0c437d6fb04', user: { uid: 0, gid: 0, additionalGids: [0] },
    mounts: reference.mounts.slice(7), network: { mode: 'new' }, cgroupsPath: '/berth/abc',
    ...over,
  };
}

test('defaults equal the bundle dockerd wrote', () => {
  const s = buildSpec(input({ resources: { Memory: 64 * 1024 * 1024, NanoCpus: 0.5e9, PidsLimit: 50, OomKillDisable: false } }));
  assert.equal(s.ociVersion, '1.0.2-dev');
  assert.equal(s.root.path, '/var/lib/berth/overlay/abc/merged');
  assert.equal(s.root.readonly, undefined);
  assert.equal(s.hostname, reference.hostname);
  assert.deepEqual(s.process.user, reference.process.user);
  assert.deepEqual(s.process.args, reference.process.args);
  assert.deepEqual(s.process.env, reference.process.env);
  assert.equal(s.process.cwd, '/');
  assert.equal(s.process.terminal, false);
  assert.deepEqual(s.process.capabilities, reference.process.capabilities);
  assert.equal(s.process.rlimits, undefined);
  assert.equal(s.process.noNewPrivileges, undefined);
  assert.equal(s.process.oomScoreAdj, 0);
  assert.deepEqual(s.mounts, reference.mounts);
  assert.deepEqual(s.linux.namespaces, cgroupVersion() === 1 ? reference.linux.namespaces : [...reference.linux.namespaces, { type: 'cgroup' }]);
  assert.deepEqual(s.linux.sysctl, reference.linux.sysctl);
  assert.deepEqual(s.linux.resources!.devices, reference.linux.resources.devices);
  assert.deepEqual(s.linux.readonlyPaths, reference.linux.readonlyPaths);
  // v28 masks two paths more than 20.10 did, plus thermal_throttle dirs where present
  const extra = s.linux.maskedPaths!.filter((p) => !reference.linux.maskedPaths.includes(p));
  assert.deepEqual(extra.filter((p) => !p.endsWith('/thermal_throttle')), ['/proc/interrupts', '/sys/devices/virtual/powercap']);
  assert.ok(reference.linux.maskedPaths.every((p: string) => s.linux.maskedPaths!.includes(p)));
  assert.equal(s.linux.cgroupsPath, '/berth/abc');
  assert.equal(s.linux.seccomp, defaultSeccomp(DEFAULT_CAPABILITIES));
  assert.equal(s.linux.devices, undefined);
  // resources as dockerd mapped them (it also wrote zero shares and blkio weight, which change nothing)
  assert.deepEqual(s.linux.resources!.memory, reference.linux.resources.memory);
  assert.deepEqual(s.linux.resources!.cpu, { quota: 50000, period: 100000 });
  assert.deepEqual(s.linux.resources!.pids, reference.linux.resources.pids);
  JSON.stringify(s); // serialisable as is
});

test('thermal_throttle directories are masked where the host has them', () => {
  const s = buildSpec(input());
  for (const p of s.linux.maskedPaths!.filter((x) => x.endsWith('/thermal_throttle'))) assert.ok(existsSync(p));
});

test('environment: Docker defaults, replaced in place, bare keys unset', () => {
  assert.deepEqual(containerEnv([], 'h', false), [`PATH=${DEFAULT_PATH_ENV}`, 'HOSTNAME=h']);
  assert.deepEqual(containerEnv(['FOO=1', 'PATH=/bin', 'TERM=vt100'], 'h', true), ['PATH=/bin', 'HOSTNAME=h', 'TERM=vt100', 'FOO=1']);
  assert.deepEqual(containerEnv(['HOSTNAME', 'A=1', 'A=2'], 'h', false), [`PATH=${DEFAULT_PATH_ENV}`, 'A=2']);
  // already merged by the engine: unchanged
  const merged = [`PATH=${DEFAULT_PATH_ENV}`, 'HOSTNAME=h', 'TERM=xterm', 'HOME=/root'];
  assert.deepEqual(containerEnv(merged, 'h', true), merged);
});

test('host namespaces drop the namespace; a netns path is joined', () => {
  const s = buildSpec(input({ network: { mode: 'host' }, pid: 'host', ipc: 'host', uts: 'host', cgroupns: 'host' }));
  assert.deepEqual(s.linux.namespaces, [{ type: 'mount' }]);
  assert.equal(s.hostname, undefined);
  assert.equal(s.linux.sysctl, undefined, 'no netns sysctls in the host netns');
  const shm = s.mounts.find((m) => m.destination === '/dev/shm')!;
  assert.deepEqual(shm, { destination: '/dev/shm', type: 'bind', source: '/dev/shm', options: ['rbind', 'rprivate'] });

  const j = buildSpec(input({ network: { mode: 'path', path: '/run/netns/berth-abc' }, cgroupns: 'private' }));
  assert.deepEqual(j.linux.namespaces.find((n) => n.type === 'network'), { type: 'network', path: '/run/netns/berth-abc' });
  assert.ok(j.linux.namespaces.some((n) => n.type === 'cgroup'));
  assert.deepEqual(j.linux.sysctl, reference.linux.sysctl);
});

test('sysctls: user values override defaults; non-namespaced or host-namespace ones are refused', () => {
  const s = buildSpec(input({ sysctls: { 'net.ipv4.ip_unprivileged_port_start': '1024', 'kernel.shmmax': '1000000' } }));
  assert.equal(s.linux.sysctl!['net.ipv4.ip_unprivileged_port_start'], '1024');
  assert.equal(s.linux.sysctl!['kernel.shmmax'], '1000000');
  assert.throws(() => buildSpec(input({ sysctls: { 'vm.swappiness': '1' } })), (e: any) => e.kind === 'InvalidParameter' && /not in a separate kernel namespace/.test(e.message));
  assert.throws(() => buildSpec(input({ network: { mode: 'host' }, sysctls: { 'net.core.somaxconn': '1' } })), /host network namespace/);
  assert.throws(() => buildSpec(input({ ipc: 'host', sysctls: { 'fs.mqueue.msg_max': '1' } })), /host IPC namespace/);
});

test('user mounts replace defaults at the same place; /dev replaces all below it', () => {
  const tmpShm = { destination: '/dev/shm', type: 'tmpfs', source: 'tmpfs', options: ['size=1m'] };
  const s = buildSpec(input({ mounts: [tmpShm] }));
  assert.deepEqual(s.mounts.filter((m) => m.destination === '/dev/shm'), [tmpShm]);
  const d = buildSpec(input({ mounts: [{ destination: '/dev', type: 'bind', source: '/dev', options: ['rbind'] }] }));
  assert.deepEqual(d.mounts.map((m) => m.destination), ['/proc', '/sys', '/sys/fs/cgroup', '/dev']);
});

test('shm size', () => {
  const s = buildSpec(input({ shmSize: 1 << 20 }));
  assert.ok(s.mounts.find((m) => m.destination === '/dev/shm')!.options!.includes('size=1048576'));
  assert.throws(() => buildSpec(input({ shmSize: -1 })), /SHM size can not be less than 0/);
});

test('read-only rootfs', () => {
  const s = buildSpec(input({ readonlyRootfs: true }));
  assert.equal(s.root.readonly, true);
  assert.deepEqual(s.mounts.slice(0, 7), reference.mounts.slice(0, 7), 'defaults already as Docker leaves them');
  assert.deepEqual(s.mounts.slice(7), reference.mounts.slice(7), 'user mounts untouched');
});

test('privileged: all caps, no seccomp, no masks, /sys rw, all devices', () => {
  const s = buildSpec(input({ privileged: true, securityOpt: ['seccomp=builtin'] }));
  assert.deepEqual(s.process.capabilities!.bounding, [...allCapabilities()]);
  assert.equal(s.linux.seccomp, undefined);
  assert.equal(s.linux.maskedPaths, undefined);
  assert.equal(s.linux.readonlyPaths, undefined);
  assert.ok(!s.mounts.find((m) => m.destination === '/sys')!.options!.includes('ro'));
  assert.ok(!s.mounts.find((m) => m.destination === '/sys/fs/cgroup')!.options!.includes('ro'));
  assert.deepEqual(s.linux.resources!.devices, [{ allow: true, access: 'rwm' }]);
  const nul = s.linux.devices!.find((d) => d.path === '/dev/null');
  assert.deepEqual({ type: nul?.type, major: nul?.major, minor: nul?.minor }, { type: 'c', major: 1, minor: 3 });
  assert.ok(!s.linux.devices!.some((d) => d.path.startsWith('/dev/pts/') || d.path === '/dev/console'));
});

test('capabilities: add/drop and non-root users', () => {
  const s = buildSpec(input({ capAdd: ['NET_ADMIN'], capDrop: ['chown'] }));
  assert.ok(s.process.capabilities!.effective!.includes('CAP_NET_ADMIN'));
  assert.ok(!s.process.capabilities!.bounding!.includes('CAP_CHOWN'));
  assert.notEqual(s.linux.seccomp, defaultSeccomp(DEFAULT_CAPABILITIES), 'seccomp follows the bounding set');
  const u = buildSpec(input({ user: { uid: 1000, gid: 1000, additionalGids: [1000], umask: 0o22 } }));
  assert.deepEqual(u.process.user, { uid: 1000, gid: 1000, umask: 0o22, additionalGids: [1000] });
  assert.deepEqual(Object.keys(u.process.capabilities!), ['bounding'], 'moby SetCapabilities: bounding only for non-root');
});

test('security options', () => {
  assert.deepEqual(parseSecurityOpts(['no-new-privileges']), { noNewPrivileges: true });
  assert.deepEqual(parseSecurityOpts(['no-new-privileges=false', 'seccomp:unconfined', 'apparmor=unconfined', 'label=disable']), { noNewPrivileges: false, seccomp: 'unconfined' });
  assert.throws(() => parseSecurityOpts(['bogus']), (e: any) => e.kind === 'InvalidParameter' && e.message === 'invalid --security-opt 1: "bogus"');
  assert.throws(() => parseSecurityOpts(['foo=bar']), /invalid --security-opt 2: "foo=bar"/);
  assert.throws(() => parseSecurityOpts(['no-new-privileges=maybe']), /invalid --security-opt 2/);
  assert.throws(() => parseSecurityOpts(['apparmor=docker-default']), (e: any) => e.kind === 'NotImplemented');
  assert.throws(() => parseSecurityOpts(['label=type:svirt_t']), (e: any) => e.kind === 'NotImplemented');
  const s = buildSpec(input({ securityOpt: ['seccomp=unconfined', 'no-new-privileges:true'] }));
  assert.equal(s.linux.seccomp, undefined);
  assert.equal(s.process.noNewPrivileges, true);
});

test('--init runs the command under tini at /sbin/docker-init', (t) => {
  if (!existsSync('/usr/bin/tini-static') && !existsSync('/usr/bin/tini')) {
    assert.throws(() => buildSpec(input({ init: true })), (e: any) => e.kind === 'NotImplemented' && /--init requires tini/.test(e.message));
    return;
  }
  const s = buildSpec(input({ init: true }));
  assert.deepEqual(s.process.args, ['/sbin/docker-init', '--', 'sleep', '300']);
  const m = s.mounts.find((x) => x.destination === '/sbin/docker-init')!;
  assert.equal(m.type, 'bind');
  assert.deepEqual(m.options, ['bind', 'ro']);
  assert.ok(existsSync(m.source!));
  t.diagnostic(`init binary: ${m.source}`);
});

test('input validation', () => {
  assert.throws(() => buildSpec(input({ args: [] })), /No command specified/);
  assert.throws(() => buildSpec(input({ cwd: 'relative' })), /needs to be an absolute path/);
  assert.throws(() => buildSpec(input({ oomScoreAdj: 1001 })), /range for oom score adj is \[-1000, 1000\]/);
  const s = buildSpec(input({ oomScoreAdj: 500 }));
  assert.equal(s.process.oomScoreAdj, 500);
});

test('resources: Docker\'s mapping and checks', () => {
  const MiB = 1024 * 1024;
  const m = (r: Parameters<typeof mapResources>[0]) => mapResources(r).resources;
  assert.deepEqual(m({ Memory: 64 * MiB }).memory, { limit: 64 * MiB, swap: 128 * MiB });
  assert.deepEqual(m({ Memory: 64 * MiB, MemorySwap: -1 }).memory, { limit: 64 * MiB });
  assert.deepEqual(m({ Memory: 64 * MiB, MemorySwap: 100 * MiB, MemoryReservation: 32 * MiB }).memory, { limit: 64 * MiB, swap: 100 * MiB, reservation: 32 * MiB });
  assert.deepEqual(m({ CpuShares: 512, CpuQuota: 20000, CpuPeriod: 50000, CpusetCpus: '0', CpusetMems: '0' }).cpu, { shares: 512, quota: 20000, period: 50000, cpus: '0', mems: '0' });
  assert.deepEqual(m({ NanoCpus: 1.5e9 }).cpu, { period: 100000, quota: 150000 });
  assert.deepEqual(m({ PidsLimit: 0 }).pids, { limit: -1 });
  assert.deepEqual(m({ PidsLimit: 50 }).pids, { limit: 50 });
  assert.deepEqual(m({ CpuShares: 1000000 }).cpu, { shares: 262144 });
  assert.deepEqual(m({ Memory: 0, MemorySwap: 0, NanoCpus: 0, CpuShares: 0, PidsLimit: null, MemorySwappiness: null, BlkioWeight: 0 }), {});
  if (cgroupVersion() === 1) assert.equal(m({ MemorySwappiness: 10 }).memory!.swappiness, 10);
  else assert.equal(m({ MemorySwappiness: 10 }).memory, undefined);

  const bad: [Parameters<typeof mapResources>[0], RegExp][] = [
    [{ Memory: 1024 }, /Minimum memory limit allowed is 6MB/],
    [{ MemorySwap: 100 * MiB }, /always set the Memory limit/],
    [{ Memory: 64 * MiB, MemorySwap: 32 * MiB }, /memoryswap limit should be larger/],
    [{ Memory: 64 * MiB, MemoryReservation: 128 * MiB }, /can not be less than memory reservation/],
    [{ MemorySwappiness: 101 }, /valid memory swappiness range is 0-100/],
    [{ NanoCpus: 1e9, CpuQuota: 50000 }, /Nano CPUs and CPU Quota/],
    [{ NanoCpus: 1e9, CpuPeriod: 50000 }, /Nano CPUs and CPU Period/],
    [{ NanoCpus: 1e15 }, /Range of CPUs is from 0.01/],
    [{ CpuPeriod: 10 }, /CPU cfs period/],
    [{ CpuQuota: 10 }, /CPU cfs quota/],
    [{ CpusetCpus: 'x' }, /Invalid value x for cpuset cpus/],
    [{ CpusetCpus: '0-4095' }, /Requested CPUs are not available/],
    [{ BlkioWeight: 5 }, /Range of blkio weight/],
  ];
  for (const [r, re] of bad) assert.throws(() => mapResources(r), (e: any) => e.kind === 'InvalidParameter' && re.test(e.message), JSON.stringify(r));
});

test('blkio weight is applied where the host can, else dropped with Docker\'s warning', () => {
  const { resources, warnings } = mapResources({ BlkioWeight: 500 });
  const supported = cgroupVersion() === 2
    || existsSync('/sys/fs/cgroup/blkio/blkio.weight');
  if (supported) {
    assert.deepEqual(resources.blockIO, { weight: 500 });
    assert.deepEqual(warnings, []);
  } else {
    assert.equal(resources.blockIO, undefined);
    assert.deepEqual(warnings, ['Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded.']);
  }
});

/** The hard limit berthd (this process) has for `name`, from /proc/self/limits. */
function hostHard(row: string): number {
  const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith(row))!;
  const hard = line.slice(row.length).trim().split(/\s+/)[1];
  return hard === 'unlimited' ? Infinity : Number(hard);
}

test('ulimits become rlimits; raising above the host\'s hard limit is refused', (t) => {
  assert.deepEqual(rlimitsFor([{ Name: 'nofile', Soft: 1024, Hard: 2048 }]), [{ type: 'RLIMIT_NOFILE', soft: 1024, hard: 2048 }]);
  const s = buildSpec(input({ ulimits: [{ Name: 'nproc', Soft: 100, Hard: 200 }] }));
  assert.deepEqual(s.process.rlimits, [{ type: 'RLIMIT_NPROC', soft: 100, hard: 200 }]);
  assert.throws(() => rlimitsFor([{ Name: 'bogus', Soft: 1, Hard: 1 }]), /invalid ulimit type: bogus/);
  assert.throws(() => rlimitsFor([{ Name: 'nofile', Soft: 10, Hard: 5 }]), /soft limit must be less than or equal to hard limit: 10 > 5/);
  const hard = hostHard('Max open files');
  const caps = BigInt('0x' + /^CapEff:\s*([0-9a-f]+)/m.exec(readFileSync('/proc/self/status', 'utf8'))![1]);
  if (hard === Infinity || ((caps >> 24n) & 1n)) return t.skip('berthd could raise nofile here');
  assert.throws(
    () => buildSpec(input({ ulimits: [{ Name: 'nofile', Soft: 1024, Hard: hard + 1 }] })),
    (e: any) => e.kind === 'InvalidParameter' && /host's hard limit/.test(e.message) && /CAP_SYS_RESOURCE/.test(e.message),
  );
  assert.throws(() => rlimitsFor([{ Name: 'nofile', Soft: -1, Hard: -1 }]), /above the host's hard limit/);
  // core is usually unlimited on the host: -1 passes as the largest exact number
  if (hostHard('Max core file size') === Infinity) {
    assert.deepEqual(rlimitsFor([{ Name: 'core', Soft: -1, Hard: -1 }]), [{ type: 'RLIMIT_CORE', soft: Number.MAX_SAFE_INTEGER, hard: Number.MAX_SAFE_INTEGER }]);
  }
});
