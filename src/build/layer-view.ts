/**
 * A read-only view of an image's file system straight from its layer
 * directories (top-most first), without mounting anything: what COPY and ADD
 * need to know about the destination (does `/app` exist, is `/bin` a
 * symlink, what are `/usr/local`'s owner and mode, what does `/etc/passwd`
 * say for `--chown=app`) and what `COPY --from` reads.
 *
 * The view follows overlayfs: the top-most layer that has a name wins; a
 * whiteout (0/0 character device) hides the name below; a non-directory
 * hides everything below it; an opaque directory (`trusted.overlay.opaque=y`)
 * hides what lower layers have inside it. A build context is a view of one
 * plain directory (`overlay: false`: no whiteouts or xattrs to look at).
 *
 * Paths are relative, '/'-separated, without a leading slash ('' is the root).
 */
import type { BigIntStats } from 'node:fs';
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { InvalidParameterError } from '../errors.js';
import { sharedSpecialFs } from '../image/fs-special.js';
import { isOpaqueDir, isWhiteoutDevice, OVERLAY_OPAQUE_XATTR, OVERLAY_OPAQUE_USER_XATTR } from '../image/whiteouts.js';

export interface ViewEntry {
  /** Host path of the file in the layer that provides it. */
  host: string;
  st: BigIntStats;
}

const MAX_LINKS = 255;

async function lstatOrNull(p: string): Promise<BigIntStats | null> {
  try {
    return await lstat(p, { bigint: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw e;
  }
}

/** Splits a path into clean components ('.' and empty parts dropped; '..' kept for the caller). */
function parts(rel: string): string[] {
  return rel.split('/').filter((c) => c !== '' && c !== '.');
}

/** Normalises a container path ("/a/../b/", "a//b") to the view's form ("b", "a/b"); '..' stops at the root. */
export function cleanRel(path: string): string {
  return posix.normalize('/' + path).replace(/^\/+/, '').replace(/\/+$/, '');
}

export class LayerView {
  private readonly opaqueCache = new Map<string, boolean>();

  /**
   * @param dirs layer directories, top-most first (an image with no layers has none)
   * @param overlay read whiteouts and opaque directories (layer dirs); false for a plain directory
   */
  constructor(readonly dirs: readonly string[], private readonly overlay = true) {}

  /** Nothing to release: xattrs are read through the process-wide helper (fs-special.ts). */
  async close(): Promise<void> {}

  private async isOpaque(hostDir: string): Promise<boolean> {
    if (!this.overlay) return false;
    let v = this.opaqueCache.get(hostDir);
    if (v === undefined) {
      const x = await sharedSpecialFs().getXattr(hostDir, OVERLAY_OPAQUE_XATTR).catch(() => undefined)
        ?? await sharedSpecialFs().getXattr(hostDir, OVERLAY_OPAQUE_USER_XATTR).catch(() => undefined);
      v = x !== undefined && isOpaqueDir(new Map([[OVERLAY_OPAQUE_XATTR, x]]));
      this.opaqueCache.set(hostDir, v);
    }
    return v;
  }

  /**
   * What layer `i` says about `rel`: the entry, 'absent' (look lower),
   * or 'hidden' (this layer hides the name and everything below it).
   * `opaqueAbove` is set when a directory on the way is opaque in this layer.
   */
  private async inLayer(i: number, comps: string[]): Promise<{ found?: ViewEntry; hidden: boolean; opaqueAbove: boolean }> {
    const layer = this.dirs[i];
    let opaqueAbove = false;
    for (let k = 1; k < comps.length; k++) {
      const p = join(layer, ...comps.slice(0, k));
      const st = await lstatOrNull(p);
      if (!st) return { hidden: false, opaqueAbove };
      if (!st.isDirectory()) return { hidden: true, opaqueAbove };
      if (await this.isOpaque(p)) opaqueAbove = true;
    }
    const host = comps.length ? join(layer, ...comps) : layer;
    const st = await lstatOrNull(host);
    if (st && this.overlay && isWhiteoutDevice(st)) return { hidden: true, opaqueAbove };
    return { found: st ? { host, st } : undefined, hidden: false, opaqueAbove };
  }

  /** The entry at `rel` (not following a final symlink), or undefined. */
  async lstat(rel: string): Promise<ViewEntry | undefined> {
    const comps = parts(rel);
    if (comps.includes('..')) throw new InvalidParameterError(`path ${rel} is not clean`);
    for (let i = 0; i < this.dirs.length; i++) {
      const r = await this.inLayer(i, comps);
      if (r.found) return r.found;
      if (r.hidden || r.opaqueAbove) return undefined;
    }
    return undefined;
  }

  /** Names in the directory `rel` as the merged view shows them, in byte order. */
  async readdir(rel: string): Promise<string[]> {
    const comps = parts(rel);
    const seen = new Map<string, boolean>();
    for (let i = 0; i < this.dirs.length; i++) {
      const r = await this.inLayer(i, comps);
      if (r.hidden) break;
      if (!r.found) {
        if (r.opaqueAbove) break;
        continue;
      }
      if (!r.found.st.isDirectory()) break;
      for (const name of await readdir(r.found.host)) {
        if (seen.has(name)) continue;
        if (this.overlay) {
          const st = await lstatOrNull(join(r.found.host, name));
          seen.set(name, !!st && !isWhiteoutDevice(st));
        } else {
          seen.set(name, true);
        }
      }
      if (r.opaqueAbove || await this.isOpaque(r.found.host)) break;
    }
    return [...seen.entries()].filter(([, visible]) => visible).map(([n]) => n)
      .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  }

  /**
   * `path` with every symlink on the way followed inside the view (`..` and
   * absolute targets never leave the root); the final component is followed
   * only with `followFinal`. Missing components are kept as they are, so the
   * result can name something to create.
   */
  async resolve(path: string, followFinal: boolean): Promise<string> {
    const pending = path.split('/').filter((c) => c !== '' && c !== '.');
    const done: string[] = [];
    let links = 0;
    while (pending.length) {
      const c = pending.shift()!;
      if (c === '..') { done.pop(); continue; }
      if (!followFinal && pending.length === 0) { done.push(c); break; }
      const e = await this.lstat([...done, c].join('/'));
      if (!e || !e.st.isSymbolicLink()) { done.push(c); continue; }
      if (++links > MAX_LINKS) throw new InvalidParameterError(`too many levels of symbolic links: ${path}`);
      const target = await readlink(e.host);
      if (target.startsWith('/')) done.length = 0;
      pending.unshift(...target.split('/').filter((x) => x !== '' && x !== '.'));
    }
    return done.join('/');
  }

  /** The entry at `path` after following every symlink, or undefined. */
  async stat(path: string): Promise<(ViewEntry & { rel: string }) | undefined> {
    const rel = await this.resolve(path, true);
    const e = await this.lstat(rel);
    return e && { ...e, rel };
  }

  /**
   * Text of a regular file (symlinks followed), or undefined when missing.
   * The layers are what RUN steps and pulled images made: a file over
   * `limit` bytes (a sparse /etc/passwd costs its maker nothing) is an
   * InvalidParameterError, not read.
   */
  async readText(path: string, limit: number): Promise<string | undefined> {
    const e = await this.stat(path);
    if (!e || !e.st.isFile()) return undefined;
    if (e.st.size > BigInt(limit)) throw new InvalidParameterError(`/${e.rel} is too large (${e.st.size} bytes, at most ${limit})`);
    return readFile(e.host, 'utf8');
  }
}
