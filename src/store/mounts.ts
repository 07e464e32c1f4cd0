/**
 * The one module that mounts and unmounts. Node has no mount(2): berthd's
 * long-lived syscall helper (image/fs-special.ts) makes the calls, since
 * spawning mount(8) from a big Node process blocks its event loop for
 * milliseconds each time; mount(8)/umount(8) remain the fallback on
 * architectures the helper does not know.
 */
import { readFile } from 'node:fs/promises';
import { CommandError } from '../errors.js';
import { runCommand } from '../run-command.js';
import { EBUSY, EINVAL, ENOENT, SpecialFs, SpecialFsError, sharedSpecialFs, specialFsSupported } from '../image/fs-special.js';

const MNT_DETACH = 2;

function syscalls(): SpecialFs | undefined {
  return specialFsSupported() ? sharedSpecialFs() : undefined;
}

async function run(argv: string[]): Promise<void> {
  await runCommand(argv);
}

async function mount(source: string, target: string, fstype: string, data: string): Promise<void> {
  const sys = syscalls();
  if (sys) return sys.mount(source, target, fstype, 0, data);
  await run(['mount', '-t', fstype, '-o', data, source, target]);
}

/**
 * Mounts an overlay at `target`. `lowerDirs` are top-most first. overlayfs
 * needs at least one lower dir: an image without layers passes an empty dir.
 */
export async function mountOverlay(lowerDirs: string[], upperDir: string, workDir: string, target: string): Promise<void> {
  const opts = `lowerdir=${lowerDirs.join(':')},upperdir=${upperDir},workdir=${workDir}`;
  if (opts.length > 4000) {
    throw new CommandError(['mount'], null, `too many layers for one overlay mount (${lowerDirs.length})`);
  }
  await mount('overlay', target, 'overlay', opts);
}

/** Mounts a tmpfs at `target` with mount options `data` (e.g. `mode=1777,size=67108864`) and nosuid, nodev, noexec. */
export async function mountTmpfs(target: string, data: string): Promise<void> {
  const MS_NOSUID = 2;
  const MS_NODEV = 4;
  const MS_NOEXEC = 8;
  const sys = syscalls();
  if (sys) return sys.mount('tmpfs', target, 'tmpfs', MS_NOSUID | MS_NODEV | MS_NOEXEC, data);
  await run(['mount', '-t', 'tmpfs', '-o', `nosuid,nodev,noexec,${data}`, 'tmpfs', target]);
}

/** Unmounts `target` (lazily if busy); not mounted is fine. */
export async function unmount(target: string): Promise<void> {
  const sys = syscalls();
  if (sys) {
    try {
      await sys.umount(target);
    } catch (e) {
      if (!(e instanceof SpecialFsError)) throw e;
      if (e.errno === EINVAL || e.errno === ENOENT) return; // not a mount point, or no such path
      if (e.errno !== EBUSY) throw e;
      await sys.umount(target, MNT_DETACH);
    }
    return;
  }
  if (!(await isMounted(target))) return;
  try {
    await run(['umount', target]);
  } catch {
    await run(['umount', '-l', target]);
  }
}

export async function isMounted(target: string): Promise<boolean> {
  const mounts = await readFile('/proc/self/mounts', 'utf8');
  const escaped = target.replace(/ /g, '\\040');
  return mounts.split('\n').some((l) => l.split(' ')[1] === escaped);
}

/** Every mount point at or below `prefix`, deepest first (for teardown). */
export async function mountsUnder(prefix: string): Promise<string[]> {
  const mounts = await readFile('/proc/self/mounts', 'utf8');
  return mounts.split('\n').map((l) => l.split(' ')[1]).filter((p): p is string => !!p && (p === prefix || p.startsWith(prefix + '/')))
    .sort((a, b) => b.length - a.length);
}
