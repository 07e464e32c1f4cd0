/** Looking up a program the way a shell's PATH search does, over a given list of directories. */
import { accessSync, constants, statSync } from 'node:fs';
import { join } from 'node:path';

/** The first `<dir>/<name>` that is an executable regular file, or undefined. */
export function findExecutable(name: string, dirs: readonly string[]): string | undefined {
  for (const dir of dirs) {
    const p = join(dir, name);
    try {
      if (!statSync(p).isFile()) continue;
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return undefined;
}
