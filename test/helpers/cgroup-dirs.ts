/**
 * A cgroup path's directories on this host, for tests that check where a
 * container's processes and limits are: under each v1 controller's
 * hierarchy (`/sys/fs/cgroup/<ctrl>/<path>`) or once under v2
 * (`/sys/fs/cgroup/<path>`). Also the clean-up of parents a test named.
 */
import { existsSync, readFileSync, readdirSync, rmdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { cgroupVersion } from '../../src/runtime/cgroup-version.js';

/** The directory holding `ctrl`'s files for cgroup `path` (`ctrl` is ignored on v2). */
export function controllerDir(ctrl: string, path: string): string {
  return cgroupVersion() === 2 ? join('/sys/fs/cgroup', path) : join('/sys/fs/cgroup', ctrl, path);
}

/** Every mounted cgroup hierarchy (v1 controllers, named and hybrid v2 ones included). */
export function cgroupMountPoints(): string[] {
  const out: string[] = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const fstype = line.slice(sep + 3).split(' ')[0];
    if (fstype === 'cgroup' || fstype === 'cgroup2') out.push(line.slice(0, sep).split(' ')[4]);
  }
  return out;
}

/**
 * The hierarchies a container's processes are listed in: each v1 controller
 * mount except named ones and the hybrid v2 one (runtimes need not join
 * those), or the single v2 mount.
 */
export function processHierarchies(): string[] {
  if (cgroupVersion() === 2) return ['/sys/fs/cgroup'];
  const out: string[] = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const [fstype, , options = ''] = line.slice(sep + 3).split(' ');
    if (fstype === 'cgroup' && !options.split(',').some((o) => o.startsWith('name='))) out.push(line.slice(0, sep).split(' ')[4]);
  }
  return out;
}

/** The pids in `<hierarchy>/<path>/cgroup.procs`, or null when that cgroup does not exist. */
export function cgroupProcs(hierarchy: string, path: string): number[] | null {
  try {
    return readFileSync(join(hierarchy, path, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    return null;
  }
}

/** Whether cgroup `path` exists in any hierarchy. */
export function cgroupExistsAnywhere(path: string): boolean {
  return cgroupMountPoints().some((m) => existsSync(join(m, path)));
}

/**
 * Removes cgroup `path` and every cgroup below it in every hierarchy,
 * deepest first (a test's own parent, once its containers are gone). A
 * cgroup still holding processes stays; that is reported by the daemon
 * helper's leftover check, not hidden here.
 */
export function removeCgroupTree(path: string): void {
  if (!path.startsWith('/') || path === '/' || path.split('/').includes('..')) throw new Error(`refusing to remove cgroup ${path}`);
  const remove = (dir: string) => {
    let entries: string[];
    try { entries = readdirSync(dir); } catch { return; }
    for (const e of entries) {
      const sub = join(dir, e);
      try { if (statSync(sub).isDirectory()) remove(sub); } catch { /* gone meanwhile */ }
    }
    try { rmdirSync(dir); } catch { /* busy or gone */ }
  };
  for (const m of cgroupMountPoints()) remove(join(m, path));
}
