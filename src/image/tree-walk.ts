/**
 * Depth-first walk of a directory tree in a deterministic order: a directory
 * before its contents, siblings in byte order of their UTF-8 names (what Go's
 * filepath.Walk gives dockerd, and what reproducible layers need). Never
 * follows symlinks. Entries that vanish while walking (a running container)
 * are skipped.
 */
import type { BigIntStats, Dirent } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { SpecialFs } from './fs-special.js';

export interface TreeItem {
  /** Host path. */
  path: string;
  /** Path relative to the walk's root, '/'-separated; '' for the root itself. */
  rel: string;
  name: string;
  st: BigIntStats;
  /** Extended attributes, when the walk was asked to read them. */
  xattrs: Map<string, Buffer>;
}

export interface WalkOptions {
  /** Yield the root itself first (rel ''). */
  includeRoot?: boolean;
  /** Leave out a path (and, for a directory, everything below it). */
  skip?: (rel: string, st: BigIntStats) => boolean;
  /** Siblings' order; by default byte order of names. Must be a total order. */
  compare?: (a: TreeItem, b: TreeItem) => number;
  /** Read every entry's xattrs with this helper (pipelined per directory). */
  xattrs?: SpecialFs;
}

const EMPTY = new Map<string, Buffer>();

export function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function vanished(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

async function itemAt(path: string, rel: string, name: string, opts: WalkOptions): Promise<TreeItem | null> {
  let st: BigIntStats;
  try {
    st = await lstat(path, { bigint: true });
  } catch (e) {
    if (vanished(e)) return null;
    throw e;
  }
  if (opts.skip?.(rel, st)) return null;
  let xattrs = EMPTY;
  if (opts.xattrs) {
    try {
      xattrs = await opts.xattrs.listXattrs(path);
    } catch (e) {
      if ((e as { errno?: number }).errno !== 2) throw e; // ENOENT: vanished
      return null;
    }
  }
  return { path, rel, name, st, xattrs };
}

async function children(dir: TreeItem, opts: WalkOptions): Promise<TreeItem[]> {
  let names: Dirent[];
  try {
    names = await readdir(dir.path, { withFileTypes: true });
  } catch (e) {
    if (vanished(e)) return [];
    throw e;
  }
  const items = await Promise.all(names.map((d) => itemAt(join(dir.path, d.name), dir.rel ? `${dir.rel}/${d.name}` : d.name, d.name, opts)));
  const present = items.filter((i): i is TreeItem => i !== null);
  return present.sort(opts.compare ?? ((a, b) => byteOrder(a.name, b.name)));
}

export async function* walkTree(root: string, opts: WalkOptions = {}): AsyncGenerator<TreeItem> {
  const top = await itemAt(root, '', '', { ...opts, skip: undefined });
  if (!top) return;
  if (opts.includeRoot) yield top;
  if (!top.st.isDirectory()) return;
  // Explicit stack of sibling lists: deep trees do not nest generators.
  const stack: TreeItem[][] = [(await children(top, opts)).reverse()];
  while (stack.length) {
    const level = stack[stack.length - 1];
    const item = level.pop();
    if (!item) { stack.pop(); continue; }
    yield item;
    if (item.st.isDirectory()) stack.push((await children(item, opts)).reverse());
  }
}
