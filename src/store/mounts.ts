/**
 * The one module that mounts and unmounts. Node has no mount(2): berthd's
 * long-lived syscall helper (image/fs-special.ts) makes the calls, since
 * spawning mount(8) from a big Node process blocks its event loop for
 * milliseconds each time; mount(8)/umount(8) remain the fallback on
 * architectures the helper does not know.
 */
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CommandError, NotImplementedError, SystemError } from '../errors.js';
import { procMapText, type IdMap } from '../runtime/id-map.js';
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

/** Lower layers seen through a user namespace's ID map (idmapped mounts), bound under `scratch` while the overlay is mounted. */
export interface IdmappedLowers { map: IdMap; scratch: string }

/**
 * Mounts an overlay at `target`. `lowerDirs` are top-most first. overlayfs
 * needs at least one lower dir: an image without layers passes an empty dir.
 *
 * With `idmapped`, each lower dir is first bound, idmapped, under
 * `scratch/<n>`, and the overlay is made of those: the shared layer
 * directories stay as they are on disk (owned by container IDs) while the
 * container's user namespace sees them as its own. overlayfs keeps private
 * clones of its layers' mounts, so the binds are detached right after.
 *
 * With `volatile`, the overlay skips syncs (see VOLATILE_MARK below): for
 * upper dirs made durable by syncFileSystem before anything keeps them.
 */
export async function mountOverlay(lowerDirs: string[], upperDir: string, workDir: string, target: string, idmapped?: IdmappedLowers, volatile = false): Promise<void> {
  if (volatile) await writeFile(join(workDir, VOLATILE_BOOT_ID), await bootId());
  if (!idmapped) return mountOverlayOf(lowerDirs, upperDir, workDir, target, volatile);
  const sys = syscalls();
  if (!sys) throw new NotImplementedError(`idmapped mounts are not supported on ${process.arch}`);
  const binds: string[] = [];
  try {
    await mkdir(idmapped.scratch, { recursive: true });
    for (const [i, dir] of lowerDirs.entries()) {
      const b = join(idmapped.scratch, String(i));
      await mkdir(b);
      await sys.idmapBind(dir, b, procMapText(idmapped.map.uidMappings), procMapText(idmapped.map.gidMappings));
      binds.push(b);
    }
    await mountOverlayOf(binds, upperDir, workDir, target, volatile);
  } finally {
    for (const b of binds) await sys.umount(b, MNT_DETACH).catch(() => undefined);
    await rm(idmapped.scratch, { recursive: true, force: true }).catch(() => undefined);
  }
}

async function mountOverlayOf(lowerDirs: string[], upperDir: string, workDir: string, target: string, volatile: boolean): Promise<void> {
  const opts = `lowerdir=${lowerDirs.join(':')},upperdir=${upperDir},workdir=${workDir}${volatile ? ',volatile' : ''}`;
  if (opts.length > 4000) {
    throw new CommandError(['mount'], null, `too many layers for one overlay mount (${lowerDirs.length})`);
  }
  try {
    await mount('overlay', target, 'overlay', opts);
  } catch (e) {
    // A volatile mount's mark refuses every later mount of the upper dir: looked for only when a
    // mount failed, so a container's start pays nothing for it.
    if (!(await clearVolatileMark(workDir))) throw e;
    await mount('overlay', target, 'overlay', opts);
  }
}

/*
 * A `volatile` overlay ignores every sync of its files (fsync, syncfs, the
 * sync of the upper file system at umount): a RUN of a build spends seconds
 * in dpkg's fsync of each unpacked file otherwise, for an upper dir that is
 * discarded or becomes a layer only after berth made it durable with one
 * syncfs (syncFileSystem). overlayfs leaves `<work>/work/incompat/volatile`
 * behind and refuses every later mount of that upper dir while it is there,
 * since after a crash the upper dir may miss writes. berth stamps the work
 * dir with the boot ID at a volatile mount: the same boot means no crash
 * came in between (the writes are in the page cache or on disk), so the
 * mark is removed and the mount goes ahead; another boot means the upper
 * dir cannot be trusted, and the mount fails.
 */
const VOLATILE_MARK = join('work', 'incompat', 'volatile');
const VOLATILE_BOOT_ID = 'volatile-boot-id';

async function bootId(): Promise<string> {
  return (await readFile('/proc/sys/kernel/random/boot_id', 'utf8')).trim();
}

/** Removes a volatile mount's mark left in the same boot; false when there was none. */
async function clearVolatileMark(workDir: string): Promise<boolean> {
  const mark = join(workDir, VOLATILE_MARK);
  if (!(await stat(mark).then(() => true, () => false))) return false;
  const stamp = await readFile(join(workDir, VOLATILE_BOOT_ID), 'utf8').then((t) => t.trim(), () => '');
  if (stamp !== (await bootId())) {
    throw new SystemError(`overlay work dir ${workDir} was mounted volatile before the host restarted: its upper dir may have lost writes`);
  }
  await rm(mark, { recursive: true, force: true });
  return true;
}

/**
 * Makes everything written to the file system holding `path` durable
 * (syncfs(2), through `sync -f`): what a volatile overlay's upper dir
 * needs before it becomes a layer.
 */
export async function syncFileSystem(path: string): Promise<void> {
  await run(['sync', '-f', path]);
}

/**
 * Whether this kernel and the file system under `dir` make idmapped mounts
 * that overlayfs takes as lower layers: a trial overlay of an idmapped
 * bind in `dir`, removed again.
 */
export async function idmappedOverlayWorks(dir: string, map: IdMap): Promise<boolean> {
  const trial = join(dir, `idmap-trial-${process.pid}`);
  await rm(trial, { recursive: true, force: true });
  const dirs = ['lower', 'upper', 'work', 'merged'].map((d) => join(trial, d));
  try {
    for (const d of dirs) await mkdir(d, { recursive: true });
    await mountOverlay([dirs[0]], dirs[1], dirs[2], dirs[3], { map, scratch: join(trial, 'binds') });
    await unmount(dirs[3]);
    return true;
  } catch {
    return false;
  } finally {
    await unmount(dirs[3]).catch(() => undefined);
    await rm(trial, { recursive: true, force: true }).catch(() => undefined);
  }
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
