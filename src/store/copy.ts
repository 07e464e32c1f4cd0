/**
 * Copies a directory tree keeping owners, modes, times, xattrs and links
 * (`cp -a`; Node's fs.cp drops ownership). Used to seed new volumes with the
 * image's content at their mount point, as Docker does.
 */
import { runCommand } from '../run-command.js';

export async function copyTree(srcDir: string, destDir: string): Promise<void> {
  await runCommand(['cp', '-a', `${srcDir}/.`, `${destDir}/`]);
}
