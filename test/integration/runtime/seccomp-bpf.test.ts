/**
 * Seccomp filters compiled once (runtime/seccomp-bpf.ts): with crun, a
 * container's bundle carries the program in `run.oci.seccomp_bpf_data`, the
 * filter is in force (a syscall Docker's profile refuses fails with EPERM,
 * one it allows works), and a profile the compiler does not translate is
 * left to crun.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, writeFile, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { startDaemon, skipUnlessRoot, type Daemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';
import { createContainer, logs, start, waitExit } from '../engine/api.js';
import { SECCOMP_BPF_ANNOTATION } from '../../../src/runtime/seccomp-bpf.js';

const haveBinding = existsSync('/usr/lib/python3/dist-packages') && existsSync('/usr/bin/python3')
  && (await import('node:child_process')).spawnSync('/usr/bin/python3', ['-c', 'import seccomp']).status === 0;

describe('seccomp filters compiled once for crun', { skip: skipUnlessRoot() || (!haveBinding && 'python3-seccomp is not installed') || (!existsSync('/usr/bin/crun') && 'no crun') }, () => {
  let d!: Daemon;
  let dir!: string;
  before(async () => {
    d = await startDaemon({ runtime: 'crun' });
    await importBusybox(d);
    dir = await mkdtemp('/tmp/berth-test-seccomp-');
  }, { timeout: 120_000 });
  after(async () => { await d?.stop(); if (dir) await rm(dir, { recursive: true, force: true }); });

  async function bundleConfig(id: string): Promise<{ annotations?: Record<string, string> }> {
    return JSON.parse(await readFile(join(d.execRoot, 'c', id, 'config.json'), 'utf8'));
  }

  test('the bundle carries the compiled filter, and it is in force', async () => {
    const id = await createContainer(d, {
      Image: 'busybox', HostConfig: { NetworkMode: 'none' },
      Cmd: ['sh', '-c', 'grep ^Seccomp: /proc/self/status; unshare -r true 2>&1; echo unshare=$?; uname -s; sleep 2'],
    });
    await start(d, id);
    const program = Buffer.from((await bundleConfig(id)).annotations?.[SECCOMP_BPF_ANNOTATION] ?? '', 'base64');
    assert.ok(program.length > 0 && program.length % 8 === 0, `a BPF program of 8-byte instructions (${program.length} bytes)`);
    assert.equal(await waitExit(d, id), 0);
    const out = await logs(d, id);
    assert.match(out, /Seccomp:\s+2/);
    assert.match(out, /Operation not permitted/);
    assert.match(out, /unshare=1/);
    assert.match(out, /^Linux$/m);
    // Compiled once: the program is kept under the exec root by the profile's hash.
    assert.ok(existsSync(join(d.execRoot, 'seccomp')));
  });

  test('a profile the compiler does not translate (SCMP_ACT_TRACE) is left to crun', async () => {
    const profile = join(dir, 'trace.json');
    await writeFile(profile, JSON.stringify({
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [{ names: ['getpid'], action: 'SCMP_ACT_ERRNO' }, { names: ['getppid'], action: 'SCMP_ACT_TRACE' }],
    }));
    const id = await createContainer(d, {
      Image: 'busybox', Cmd: ['sleep', '2'], HostConfig: { NetworkMode: 'none', SecurityOpt: [`seccomp=${await readFile(profile, 'utf8')}`] },
    });
    await start(d, id);
    assert.equal((await bundleConfig(id)).annotations?.[SECCOMP_BPF_ANNOTATION], undefined);
    await waitExit(d, id);
  });
});
