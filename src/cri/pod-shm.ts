/**
 * A pod's /dev/shm: one tmpfs on the host, `<exec root>/cri/shm/<sandbox
 * id>`, bound at /dev/shm into each of the pod's containers that share its
 * IPC namespace, so POSIX shared memory (shm_open, files in /dev/shm)
 * reaches across the pod's containers as System V's does through the
 * namespace: what kubelet expects of a pod (containerd mounts the
 * sandbox's shm the same way). Host-IPC containers keep the host's
 * /dev/shm (the engine binds it). Mounted before the infra container
 * starts, unmounted when the pod is removed; it outlives berthd restarts
 * like the pod does.
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { mountTmpfs, unmount } from '../store/mounts.js';
import { DEFAULT_SHM_SIZE } from '../runtime/spec.js';

export class PodShm {
  constructor(private readonly execRoot: string) {}

  /** Where the pod's tmpfs is mounted on the host. `sandboxId` is a checked 64-hex id. */
  path(sandboxId: string): string {
    return join(this.execRoot, 'cri', 'shm', sandboxId);
  }

  async mount(sandboxId: string): Promise<void> {
    const dir = this.path(sandboxId);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await unmount(dir); // one a crash left, mounted again below
    await mountTmpfs(dir, `mode=1777,size=${DEFAULT_SHM_SIZE}`);
  }

  async remove(sandboxId: string): Promise<void> {
    const dir = this.path(sandboxId);
    await unmount(dir);
    await rm(dir, { recursive: true, force: true });
  }
}
