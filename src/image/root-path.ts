/**
 * Container paths to host paths under a container's root, resolving symlinks
 * as the container itself would see them — as if `root` were `/` — and never
 * leaving `root` (the securejoin rule: `..` stops at the root, an absolute
 * link target restarts from the root).
 */
import { lstatSync, readlinkSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { InvalidParameterError } from '../errors.js';

/** Linux's own limit on symlinks followed in one lookup is 40; securejoin allows 255. */
const MAX_LINKS = 255;

function components(p: string): string[] {
  return p.split('/').filter((c) => c !== '' && c !== '.');
}

/**
 * The host path of `containerPath` with every symlink on the way — the last
 * component included — followed inside `root`. Components that do not exist
 * are joined as they are (so the result can name something to create).
 * Synchronous on purpose: the answer is computed without our own code
 * changing the tree in between.
 */
export function resolveInRoot(root: string, containerPath: string): string {
  const base = resolve(root);
  const pending = components(containerPath);
  const done: string[] = [];
  let links = 0;
  while (pending.length) {
    const c = pending.shift()!;
    if (c === '..') { done.pop(); continue; }
    const host = join(base, ...done, c);
    let isLink = false;
    try {
      isLink = lstatSync(host).isSymbolicLink();
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw e;
    }
    if (!isLink) { done.push(c); continue; }
    if (++links > MAX_LINKS) throw new InvalidParameterError(`too many levels of symbolic links: ${containerPath}`);
    const target = readlinkSync(host);
    if (target.startsWith('/')) done.length = 0;
    pending.unshift(...components(target));
  }
  return done.length ? join(base, ...done) : base;
}

/** The container path of a host path under `root` ('/' for the root itself). */
export function containerPathOf(root: string, hostPath: string): string {
  const rel = relative(resolve(root), hostPath);
  return rel === '' ? '/' : '/' + rel;
}
