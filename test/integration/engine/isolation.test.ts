/**
 * Issue 2, acceptance 4: default isolation equals Docker's — PID 1 is the
 * command, seccomp filter mode, Docker's capability set, the hostname is the
 * container id, host processes and files are invisible, and writes to image
 * files land in the container's upper dir only.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon, skipUnlessRoot, type Daemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';
import { createContainer, inspect, logs, remove, start, waitExit } from './api.js';

/** Docker's default 14 capabilities as a CapEff mask. */
const DOCKER_CAPEFF = '00000000a80425fb';

describe('container isolation', { skip: skipUnlessRoot() }, () => {
  let d!: Daemon;
  before(async () => { d = await startDaemon(); await importBusybox(d); }, { timeout: 120_000 });
  after(async () => { await d?.stop(); });

  for (const runtime of ['runc', 'crun'] as const) {
    test(`${runtime}: PID 1 is the command, seccomp is on and caps are Docker's`, async () => {
      const script = 'echo pid=$$; grep -E "^(Seccomp|CapEff):" /proc/self/status; echo host=$(hostname); ls /proc | grep -c "^[0-9]"';
      const id = await createContainer(d, { Cmd: ['sh', '-c', script], HostConfig: { Runtime: runtime } });
      try {
        await start(d, id);
        assert.equal(await waitExit(d, id), 0);
        const out = await logs(d, id);
        assert.match(out, /^pid=1$/m);
        assert.match(out, /^Seccomp:\s+2$/m);
        assert.match(out, new RegExp(`^CapEff:\\s+${DOCKER_CAPEFF}$`, 'm'));
        assert.match(out, new RegExp(`^host=${id.slice(0, 12)}$`, 'm'));
        // Only the shell, ls and grep (and the $(hostname) subshell at most) are visible.
        const nprocs = Number(out.trim().split('\n').pop());
        assert.ok(nprocs <= 4, `saw ${nprocs} processes in the container's /proc:\n${out}`);
      } finally {
        await remove(d, id);
      }
    });
  }

  test('the host filesystem is invisible and /proc, /sys are Docker-restricted', async () => {
    const id = await createContainer(d, {
      Cmd: ['sh', '-c', `test -e ${d.dataRoot} && echo host-visible; cat /proc/kcore 2>&1 | head -c 0 && echo kcore-ok; touch /proc/sys/kernel/x 2>&1 || echo procsys-ro; touch /sys/x 2>&1 || echo sys-ro`],
    });
    try {
      await start(d, id);
      await waitExit(d, id);
      const out = await logs(d, id);
      assert.doesNotMatch(out, /host-visible/);
      assert.match(out, /procsys-ro/);
      assert.match(out, /sys-ro/);
    } finally {
      await remove(d, id);
    }
  });

  test('writes to image files land in the container\'s upper dir, never in the layer', async () => {
    const id = await createContainer(d, { Cmd: ['sh', '-c', 'echo changed > /etc/passwd; echo new > /newfile; rm /bin/vi'] });
    try {
      await start(d, id);
      assert.equal(await waitExit(d, id), 0);
      const info = await inspect(d, id);
      const upper = info.GraphDriver.Data.UpperDir as string;
      const lower = (info.GraphDriver.Data.LowerDir as string).split(':')[0];
      assert.equal(readFileSync(join(upper, 'etc/passwd'), 'utf8'), 'changed\n');
      assert.equal(readFileSync(join(upper, 'newfile'), 'utf8'), 'new\n');
      assert.notEqual(readFileSync(join(lower, 'etc/passwd'), 'utf8'), 'changed\n');
      assert.ok(existsSync(join(lower, 'bin/vi')), 'the deleted file must still be in the image layer');
      assert.ok(!existsSync(join(lower, 'newfile')));
      const changes = await d.request('GET', `/containers/${id}/changes`);
      const paths = (changes.json() as { Path: string; Kind: number }[]).map((c) => `${c.Kind}:${c.Path}`);
      assert.ok(paths.includes('1:/newfile'), paths.join(' '));
      assert.ok(paths.includes('0:/etc/passwd'), paths.join(' '));
      assert.ok(paths.includes('2:/bin/vi'), paths.join(' '));
    } finally {
      await remove(d, id);
    }
  });
});
