import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_CAPABILITIES } from '../../../src/runtime/capabilities.js';
import {
  convertProfile, defaultSeccomp, parseKernelVersion, parseProfile, resolveSeccomp, type SeccompProfile,
} from '../../../src/runtime/seccomp.js';

const reference = JSON.parse(readFileSync('/work/shared/notes/interfaces/reference/dockerd-20.10-config.json', 'utf8')).linux.seccomp;
const profile: SeccompProfile = JSON.parse(readFileSync(new URL('../../../../assets/seccomp-default.json', import.meta.url), 'utf8'));
const amd64 = (caps: readonly string[], kernel: [number, number] = [6, 18]) => ({ arch: 'amd64', kernel, capabilities: caps });

const groupsNamed = (s: { syscalls?: { names: string[] }[] }, name: string) => s.syscalls!.filter((g) => g.names.includes(name));

test('default profile for Docker\'s default caps on amd64', () => {
  const s = convertProfile(profile, amd64(DEFAULT_CAPABILITIES))!;
  assert.equal(s.defaultAction, 'SCMP_ACT_ERRNO');
  assert.equal(s.defaultErrnoRet, 1);
  assert.deepEqual(s.architectures, reference.architectures);
  // dockerd 20.10's older profile gave 12 groups; the newer one adds the
  // process_vm_* group in place of ptrace alone and three socket filters.
  assert.equal(s.syscalls!.length, 15);
  assert.deepEqual(groupsNamed(s, 'clone'), groupsNamed(reference, 'clone'));
  assert.deepEqual(groupsNamed(s, 'clone3'), groupsNamed(reference, 'clone3'));
  assert.deepEqual(groupsNamed(s, 'personality'), groupsNamed(reference, 'personality'));
  for (const name of ['arch_prctl', 'modify_ldt', 'chroot']) {
    assert.deepEqual(groupsNamed(s, name).slice(-1), groupsNamed(reference, name).slice(-1), name);
  }
  // no group that needs CAP_SYS_ADMIN, no s390 clone, no other arch
  for (const name of ['mount', 'bpf', 'reboot', 's390_runtime_instr', 'sync_file_range2', 'open_by_handle_at']) {
    assert.deepEqual(groupsNamed(s, name), [], name);
  }
  const socket = groupsNamed(s, 'socket').map((g: any) => g.args[0]);
  assert.deepEqual(socket.map((a: any) => a.op), ['SCMP_CMP_LT', 'SCMP_CMP_EQ', 'SCMP_CMP_GT']);
});

test('the base allow list matches dockerd\'s apart from the profile\'s own evolution', () => {
  const s = convertProfile(profile, amd64(DEFAULT_CAPABILITIES))!;
  const ours = new Set(s.syscalls![0].names);
  const missing = reference.syscalls[0].names.filter((n: string) => !ours.has(n)).sort();
  // moby removed io_uring from the default profile and moved socket behind argument filters.
  assert.deepEqual(missing, ['io_uring_enter', 'io_uring_register', 'io_uring_setup', 'socket']);
  assert.ok(ours.size > 350);
});

test('capabilities switch groups in and out', () => {
  const admin = convertProfile(profile, amd64([...DEFAULT_CAPABILITIES, 'CAP_SYS_ADMIN']))!;
  const clone = groupsNamed(admin, 'clone');
  assert.equal(clone.length, 1);
  assert.equal((clone[0] as any).args, undefined, 'unfiltered clone with CAP_SYS_ADMIN');
  assert.deepEqual(groupsNamed(admin, 'clone3').map((g: any) => g.action), ['SCMP_ACT_ALLOW']);
  assert.equal(groupsNamed(admin, 'mount').length, 1);

  const noChroot = convertProfile(profile, amd64(DEFAULT_CAPABILITIES.filter((c) => c !== 'CAP_SYS_CHROOT')))!;
  assert.deepEqual(groupsNamed(noChroot, 'chroot'), []);
});

test('arches and minKernel', () => {
  const arm = convertProfile(profile, { arch: 'arm64', kernel: [6, 1], capabilities: DEFAULT_CAPABILITIES })!;
  assert.deepEqual(arm.architectures, ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM']);
  assert.equal(groupsNamed(arm, 'arch_prctl').length, 0);
  assert.equal(groupsNamed(arm, 'breakpoint').length, 1);

  const s390 = convertProfile(profile, { arch: 's390x', kernel: [6, 1], capabilities: DEFAULT_CAPABILITIES })!;
  assert.deepEqual(groupsNamed(s390, 'clone').map((g: any) => g.args[0].index), [1]);

  const old = convertProfile(profile, amd64(DEFAULT_CAPABILITIES, [4, 4]))!;
  assert.equal(groupsNamed(old, 'process_vm_readv').length, 0, 'minKernel 4.8 not met');
  assert.deepEqual(parseKernelVersion('6.18.44-fc-v669'), [6, 18]);
});

test('profile oddities are handled as dockerd does', () => {
  assert.equal(convertProfile({ syscalls: [] }, amd64([])), undefined);
  assert.throws(() => convertProfile({ defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_X86_64'], archMap: [{ architecture: 'SCMP_ARCH_X86_64' }] }, amd64([])), /archMap/);
  const legacy = convertProfile({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ name: 'mkdir', action: 'SCMP_ACT_ERRNO', errnoRet: 13 }] }, amd64([]))!;
  assert.deepEqual(legacy.syscalls, [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 }]);
  assert.throws(() => parseProfile('{nope'), (e: any) => e.kind === 'InvalidParameter' && /Decoding seccomp profile failed/.test(e.message));
});

test('the default conversion is cached per capability set and frozen', () => {
  const a = defaultSeccomp(DEFAULT_CAPABILITIES);
  const b = defaultSeccomp([...DEFAULT_CAPABILITIES].reverse());
  assert.equal(a, b);
  assert.notEqual(defaultSeccomp([...DEFAULT_CAPABILITIES, 'CAP_SYS_ADMIN']), a);
  assert.ok(Object.isFrozen(a.syscalls![0].names));
});

test('--security-opt seccomp values', () => {
  assert.equal(resolveSeccomp('unconfined', DEFAULT_CAPABILITIES), undefined);
  assert.equal(resolveSeccomp(undefined, DEFAULT_CAPABILITIES), defaultSeccomp(DEFAULT_CAPABILITIES));
  assert.equal(resolveSeccomp('builtin', DEFAULT_CAPABILITIES), defaultSeccomp(DEFAULT_CAPABILITIES));
  const custom = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO' }] };
  assert.deepEqual(resolveSeccomp(JSON.stringify(custom), [])!.syscalls, custom.syscalls);
  const dir = mkdtempSync(join(tmpdir(), 'berth-seccomp-'));
  try {
    writeFileSync(join(dir, 'p.json'), JSON.stringify(custom));
    assert.deepEqual(resolveSeccomp(join(dir, 'p.json'), [])!.syscalls, custom.syscalls);
    assert.throws(() => resolveSeccomp(join(dir, 'missing.json'), []), /opening seccomp profile/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
