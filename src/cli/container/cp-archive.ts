/**
 * The local half of `berth cp`, after moby's `pkg/archive` copy helpers:
 * taring a host path for upload (names start with the source's base name,
 * modes, owners, times, symlinks and hard links kept), renaming the first
 * path element when the copy lands under another name (RebaseArchiveEntries),
 * and extracting a download into a directory without ever writing outside it
 * (Untar with NoLchown and NoOverwriteDirNonDir).
 */
import { createReadStream, createWriteStream, promises as fsp } from 'node:fs';
import type { Stats } from 'node:fs';
import { basename, dirname, join, normalize, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import tar from 'tar-stream';
import { parentsAreDirs } from '../../image/beneath.js';

type HeaderArg = Partial<tar.Header> & { name: string };

/** archive.SplitPathDirEntry: `/a/b/` → [/a, b]; `/a/b/.` → [/a/b, .]. */
export function splitPathDirEntry(path: string): [string, string] {
  let cleaned = normalize(path);
  if (cleaned.length > 1 && cleaned.endsWith('/')) cleaned = cleaned.slice(0, -1);
  if (basename(path) === '.' || path.endsWith('/.')) cleaned = `${cleaned === '/' ? '' : cleaned}/.`;
  const base = cleaned.endsWith('/.') ? '.' : basename(cleaned);
  const dir = cleaned.endsWith('/.') ? cleaned.slice(0, -2) || '/' : dirname(cleaned);
  return [dir, base];
}

/** A destination "asserted" to be a directory: trailing `/` or `/.`. */
export function assertsDirectory(path: string): boolean {
  return path.endsWith('/') || path.endsWith('/.');
}

function headerType(st: Stats): tar.Header['type'] {
  if (st.isDirectory()) return 'directory';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isFIFO()) return 'fifo';
  if (st.isCharacterDevice()) return 'character-device';
  if (st.isBlockDevice()) return 'block-device';
  return 'file';
}

/**
 * Tars `sourceDir/sourceBase` (recursively), entries named
 * `<rebase or sourceBase>/…`, as TarResourceRebase does.
 */
export function tarResource(sourcePath: string, rebaseName = ''): Readable {
  const [sourceDir, sourceBase] = splitPathDirEntry(sourcePath);
  const topName = rebaseName || sourceBase;
  const pack = tar.pack();
  const seenInodes = new Map<string, string>();
  const addEntry = async (abs: string, name: string): Promise<void> => {
    const st = await fsp.lstat(abs);
    const type = headerType(st);
    const header: HeaderArg = {
      name: type === 'directory' ? `${name}/` : name,
      mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: st.mtime, type,
    };
    if (type === 'symlink') header.linkname = await fsp.readlink(abs);
    if (type === 'character-device' || type === 'block-device') {
      header.devmajor = Math.floor(st.rdev / 256);
      header.devminor = st.rdev % 256;
    }
    if (type === 'file' && st.nlink > 1) {
      const key = `${st.dev}:${st.ino}`;
      const first = seenInodes.get(key);
      if (first) {
        header.type = 'link';
        header.linkname = first;
      } else {
        seenInodes.set(key, name);
      }
    }
    if (header.type === 'file') {
      header.size = st.size;
      await new Promise<void>((res, rej) => {
        const entry = pack.entry(header, (err) => (err ? rej(err) : res()));
        createReadStream(abs).on('error', rej).pipe(entry as unknown as NodeJS.WritableStream);
      });
    } else {
      // Entries without a body (directories, links, devices) complete on their own.
      await new Promise<void>((res, rej) => { pack.entry(header, (err) => (err ? rej(err) : res())); });
    }
    if (type === 'directory') {
      const children = (await fsp.readdir(abs)).sort();
      for (const c of children) await addEntry(join(abs, c), name === '.' ? c : `${name}/${c}`);
    }
  };
  void addEntry(join(sourceDir, sourceBase), topName).then(() => pack.finalize(), (e: Error) => pack.destroy(e));
  // tar-stream streams are streamx streams; they pipe like Node streams.
  return pack as unknown as Readable;
}

/** RebaseArchiveEntries: the first path element `oldBase` becomes `newBase` in every entry. */
export function rebaseArchive(src: Readable, oldBase: string, newBase: string): Readable {
  const extract = tar.extract();
  const pack = tar.pack();
  const rename = (name: string) => {
    const stripped = name.replace(/^\.\//, oldBase === '.' ? './' : '');
    if (stripped === oldBase || stripped === `${oldBase}/`) return stripped.replace(oldBase, newBase);
    if (stripped.startsWith(`${oldBase}/`)) return newBase + stripped.slice(oldBase.length);
    if (oldBase === '.') return `${newBase}/${stripped}`;
    return stripped;
  };
  extract.on('entry', (header, stream, next) => {
    const h = { ...header, name: rename(header.name) };
    if (h.type === 'link' && h.linkname) h.linkname = rename(h.linkname);
    stream.pipe(pack.entry(h, next));
  });
  extract.on('finish', () => pack.finalize());
  extract.on('error', (e: Error) => pack.destroy(e));
  src.on('error', (e) => pack.destroy(e));
  src.pipe(extract as unknown as NodeJS.WritableStream);
  return pack as unknown as Readable;
}

/** Untar into `dstDir`: parents created, nothing outside `dstDir`, no dir⇄file overwrite. */
export async function untar(src: Readable, dstDir: string): Promise<number> {
  const root = resolve(dstDir);
  const extract = tar.extract();
  const dirTimes: [string, Date][] = [];
  let total = 0;
  const done = (async () => {
    for await (const entry of extract) {
      const h = entry.header;
      const name = h.name.replace(/\/+$/, '');
      const target = resolve(root, name);
      if (target !== root && !target.startsWith(root + sep)) throw new Error(`invalid tar header: ${h.name} points outside ${dstDir}`);
      // An earlier entry may have made a parent a symlink: nothing is written through one (as Docker's breakout check).
      if (target !== root && !(await parentsAreDirs(root, target))) throw new Error(`invalid tar header: ${h.name} leads through a symlink out of ${dstDir}`);
      const existing = await fsp.lstat(target).catch(() => undefined);
      const isDir = h.type === 'directory';
      if (existing && target !== root) {
        if (existing.isDirectory() && !isDir) throw new Error(`cannot overwrite directory "${target}" with non-directory "${h.name}"`);
        if (!existing.isDirectory() && isDir) throw new Error(`cannot overwrite non-directory "${target}" with directory "${h.name}"`);
        if (!(existing.isDirectory() && isDir)) await fsp.rm(target, { force: true });
      }
      await fsp.mkdir(dirname(target), { recursive: true });
      const mode = (h.mode ?? 0o644) & 0o7777;
      switch (h.type) {
        case 'directory':
          if (target !== root) await fsp.mkdir(target, { recursive: true, mode });
          if (target !== root) await fsp.chmod(target, mode);
          if (h.mtime) dirTimes.push([target, h.mtime]);
          entry.resume();
          break;
        case 'symlink':
          await fsp.symlink(h.linkname ?? '', target);
          entry.resume();
          break;
        case 'link': {
          const linkTarget = resolve(root, h.linkname ?? '');
          if (!linkTarget.startsWith(root + sep)) throw new Error(`invalid hardlink ${h.linkname} in archive`);
          await fsp.link(linkTarget, target);
          entry.resume();
          break;
        }
        case 'file':
        case 'contiguous-file':
        case undefined:
        case null:
          await pipeline(entry as unknown as Readable, createWriteStream(target, { mode }));
          await fsp.chmod(target, mode);
          total += h.size ?? 0;
          break;
        default:
          // Device nodes and FIFOs need mknod, which Node lacks; Docker skips them too when not root.
          entry.resume();
          continue;
      }
      if (h.mtime && h.type !== 'directory') {
        if (h.type === 'symlink') await fsp.lutimes(target, h.mtime, h.mtime).catch(() => undefined);
        else await fsp.utimes(target, h.mtime, h.mtime);
      }
    }
    for (const [dir, t] of dirTimes.reverse()) if (await parentsAreDirs(root, dir)) await fsp.lutimes(dir, t, t).catch(() => undefined);
  })();
  src.on('error', (e) => extract.destroy(e));
  src.pipe(extract as unknown as NodeJS.WritableStream);
  await done;
  return total;
}

/** A path relative to cwd made absolute, keeping a trailing `/` or `/.` (resolveLocalPath). */
export function resolveLocalPath(p: string): string {
  const abs = resolve(p);
  if (p.endsWith('/.')) return `${abs === '/' ? '' : abs}/.`;
  if (p.endsWith('/') && abs !== '/') return `${abs}/`;
  return abs;
}

