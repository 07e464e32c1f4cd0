/**
 * Copies a directory tree keeping owners, modes, times, xattrs and links
 * (`cp -a`; Node's fs.cp drops ownership). Used to seed new volumes with the
 * image's content at their mount point, as Docker does.
 */
import { RootedFs } from '../image/rooted-fs.js';
import { NotFoundError } from '../errors.js';
import { runCommand } from '../run-command.js';

export async function copyTree(srcDir: string, destDir: string): Promise<void> {
  await runCommand(['cp', '-a', `${srcDir}/.`, `${destDir}/`]);
}

/**
 * Copies the directory at `containerPath` inside the root filesystem
 * `rootDir` into `destDir`, or nothing when there is no directory there.
 * The path is the image's to shape: every symlink on it is resolved inside
 * the root, as the runtime resolves a mount's destination (never by the
 * kernel on the host, where an image's `/data -> /root/.ssh` names the
 * host's), and `cp` is given the directory descriptor that resolution
 * holds, not a path.
 */
export async function copyTreeInRoot(rootDir: string, containerPath: string, destDir: string): Promise<void> {
  const root = await RootedFs.openDir(rootDir);
  try {
    let place;
    try {
      place = await root.resolve(containerPath, true);
    } catch (e) {
      if (e instanceof NotFoundError) return;
      throw e;
    }
    let dir;
    try {
      dir = await root.openDirAt(place);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP') return;
      throw e;
    } finally {
      await place.dir.close();
    }
    try {
      // cp is another process: it reaches berthd's descriptor through berthd's pid, not /proc/self.
      await copyTree(`/proc/${process.pid}/fd/${dir.fd}`, destDir);
    } finally {
      await dir.close();
    }
  } finally {
    await root.close();
  }
}
