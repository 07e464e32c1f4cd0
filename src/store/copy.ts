/**
 * Copies a directory tree keeping owners, modes, times, xattrs and links
 * (`cp -a`; Node's fs.cp drops ownership). Used to seed new volumes with the
 * image's content at their mount point, as Docker does.
 */
import { execFile } from 'node:child_process';
import { CommandError } from '../errors.js';

export function copyTree(srcDir: string, destDir: string): Promise<void> {
  const argv = ['cp', '-a', `${srcDir}/.`, `${destDir}/`];
  return new Promise((resolve, reject) => {
    execFile(argv[0], argv.slice(1), (err, _o, stderr) => (err ? reject(new CommandError(argv, null, stderr)) : resolve()));
  });
}
