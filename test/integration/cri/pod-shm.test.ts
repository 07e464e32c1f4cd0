/**
 * Issue 12: a pod's containers share its /dev/shm (a tmpfs on the host per
 * pod, src/cri/pod-shm.ts), as they share its IPC namespace: a file one
 * writes there the other reads; a host-IPC container keeps the host's; the
 * tmpfs goes with the pod.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { skipUnlessRoot, startDaemon, type Daemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';
import { isMounted } from '../../../src/store/mounts.js';
import { CriClient } from './cri-client.js';

describe('a pod\'s /dev/shm', { skip: skipUnlessRoot() }, () => {
  let d: Daemon;
  let cri: CriClient;

  before(async () => {
    d = await startDaemon();
    cri = new CriClient(join(d.execRoot, 'cri.sock'));
    await importBusybox(d);
  });

  after(async () => {
    cri?.close();
    await d?.stop();
  });

  async function running(pod: string, name: string, ipc?: string): Promise<string> {
    const { containerId } = await cri.call('CreateContainer', {
      podSandboxId: pod,
      config: {
        metadata: { name }, image: { image: 'busybox' }, command: ['sleep', '1000'],
        ...(ipc ? { linux: { securityContext: { namespaceOptions: { ipc } } } } : {}),
      },
    });
    await cri.call('StartContainer', { containerId });
    return containerId;
  }

  async function sh(containerId: string, script: string): Promise<string> {
    const r = await cri.call('ExecSync', { containerId, cmd: ['sh', '-c', script] });
    assert.equal(r.exitCode, 0, r.stderr.toString());
    return r.stdout.toString();
  }

  test('the pod\'s containers share one tmpfs at /dev/shm; it goes with the pod', async () => {
    const { podSandboxId: pod } = await cri.call('RunPodSandbox', { config: { metadata: { name: 'shm', uid: 'shm-uid', namespace: 'default' } } });
    const shmDir = join(d.execRoot, 'cri', 'shm', pod);
    try {
      const a = await running(pod, 'writer');
      const b = await running(pod, 'reader');
      await sh(a, 'echo shared > /dev/shm/note');
      assert.equal(await sh(b, 'cat /dev/shm/note'), 'shared\n');
      assert.match(await sh(b, 'grep " /dev/shm " /proc/mounts'), /^tmpfs \/dev\/shm tmpfs /);
      assert.equal(await isMounted(shmDir), true);
      // A container in the host's IPC namespace has the host's /dev/shm, not the pod's.
      const host = await running(pod, 'host-ipc', 'NODE');
      assert.equal(await sh(host, 'test -e /dev/shm/note && echo seen || echo unseen'), 'unseen\n');
    } finally {
      await cri.call('StopPodSandbox', { podSandboxId: pod });
      await cri.call('RemovePodSandbox', { podSandboxId: pod });
    }
    assert.equal(await isMounted(shmDir), false);
  });
});
