/**
 * Host cgroup preparation and cleanup around the OCI runtimes.
 *
 * This host runs a cgroup v1 "hybrid" layout: v1 controllers under
 * /sys/fs/cgroup/<ctrl> plus a v2 hierarchy at /sys/fs/cgroup/unified. crun
 * 1.8 refuses that layout as soon as any controller is enabled on the v2 side
 * (here hugetlb, which has no v1 mount), for every container. Mounting a v1
 * hierarchy for such a controller moves it off v2, after which crun works;
 * runc works either way.
 */
import { mkdir, readFile, readdir, rmdir } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { InvalidParameterError } from '../errors.js';
import { runCommand } from '../run-command.js';

/**
 * Gives every controller that sits on the hybrid v2 hierarchy its own v1
 * mount at /sys/fs/cgroup/<ctrl>. Idempotent: once done, the v2 controller
 * list is empty and nothing happens; a concurrent mount by someone else is
 * fine too. No-op on pure v1 or pure v2 hosts (no `unified` file).
 * `cgroupRoot` is there for tests.
 */
export async function prepareCgroupsForCrun(cgroupRoot = '/sys/fs/cgroup'): Promise<void> {
  for (const ctrl of await unifiedControllers(cgroupRoot)) {
    const target = join(cgroupRoot, ctrl);
    if ((await cgroupMounts()).some((m) => m.mountPoint === target)) continue;
    await mkdir(target, { recursive: true });
    try {
      await mountV1Hierarchy(ctrl, target);
    } catch (e) {
      // Lost a race with another process doing the same: fine if the controller moved.
      if (!(await unifiedControllers(cgroupRoot)).includes(ctrl)) continue;
      throw e;
    }
  }
}

async function unifiedControllers(cgroupRoot: string): Promise<string[]> {
  try {
    return (await readFile(join(cgroupRoot, 'unified', 'cgroup.controllers'), 'utf8')).split(/\s+/).filter(Boolean);
  } catch {
    return [];
  }
}

/**
 * mount(8) for a v1 cgroup hierarchy. (store/mounts.ts owns the other mount
 * calls; this one is host set-up that only the runtime layer needs.)
 */
async function mountV1Hierarchy(controller: string, target: string): Promise<void> {
  await runCommand(['mount', '-t', 'cgroup', '-o', controller, 'cgroup', target]);
}

interface CgroupMount { mountPoint: string; version: 1 | 2 }

/** Every mounted cgroup hierarchy, v1 and v2, from /proc/self/mountinfo. */
async function cgroupMounts(): Promise<CgroupMount[]> {
  const text = await readFile('/proc/self/mountinfo', 'utf8');
  const mounts: CgroupMount[] = [];
  for (const line of text.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const fstype = line.slice(sep + 3).split(' ')[0];
    if (fstype !== 'cgroup' && fstype !== 'cgroup2') continue;
    const mountPoint = line.slice(0, sep).split(' ')[4].replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
    mounts.push({ mountPoint, version: fstype === 'cgroup2' ? 2 : 1 });
  }
  return mounts;
}

/**
 * Removes the container's cgroup (`linux.cgroupsPath`, cgroupfs form
 * `/parent/leaf`) under every hierarchy, children first, if the runtime left
 * it behind (`runtime delete` normally removes it). The parent stays. A cgroup
 * that still has processes is retried for about a second, then the EBUSY
 * error is thrown.
 */
export async function removeCgroup(cgroupsPath: string): Promise<void> {
  const rel = posix.normalize('/' + cgroupsPath);
  if (rel === '/' || rel.split('/').includes('..')) throw new InvalidParameterError(`invalid cgroups path: ${cgroupsPath}`);
  for (const m of await cgroupMounts()) await removeTree(join(m.mountPoint, rel));
}

async function removeTree(dir: string): Promise<void> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  for (const ent of entries) if (ent.isDirectory()) await removeTree(join(dir, ent.name));
  for (let attempt = 0; ; attempt++) {
    try {
      await rmdir(dir);
      return;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      // EBUSY: processes are still leaving (a killed container's tasks exit asynchronously).
      if (code !== 'EBUSY' || attempt >= 20) throw e;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
