/**
 * The one module that calls mount(8)/umount(8). Node has no mount(2); the
 * binaries take argv arrays, and their stderr travels in the error.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { CommandError } from '../errors.js';

function run(argv: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(argv[0], argv.slice(1), (err, _stdout, stderr) => {
      if (err) reject(new CommandError(argv, typeof err.code === 'number' ? err.code : null, stderr));
      else resolve();
    });
  });
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
  await run(['mount', '-t', 'overlay', 'overlay', '-o', opts, target]);
}

export async function mountTmpfs(target: string, options: string): Promise<void> {
  await run(['mount', '-t', 'tmpfs', '-o', options, 'tmpfs', target]);
}

/** Unmounts `target` (lazily if busy); not mounted is fine. */
export async function unmount(target: string): Promise<void> {
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
