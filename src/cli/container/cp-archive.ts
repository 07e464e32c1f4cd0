/**
 * The local half of `berth cp`, after moby's `pkg/archive` copy helpers:
 * taring a host path for upload (names start with the source's base name,
 * modes, owners, times, symlinks and hard links kept), renaming the first
 * path element when the copy lands under another name (RebaseArchiveEntries),
 * and extracting a download into a directory without ever writing outside it
 * (Untar with NoLchown and NoOverwriteDirNonDir).
 */
import { closeSync, constants, createReadStream, fchmodSync, futimesSync, linkSync, lstatSync, lutimesSync, mkdirSync, openSync, promises as fsp, rmSync, symlinkSync, writeSync } from 'node:fs';
import type { Stats } from 'node:fs';
import { basename, dirname, join, normalize, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import tar from 'tar-stream';
import { parentsAreDirsSync } from '../../image/beneath.js';
import { readTar } from '../../image/tar-format.js';

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

/** RebaseArchiveEntries' renaming: the first path element `oldBase` of an entry's name becomes `newBase`. */
export function entryRenamer(oldBase: string, newBase: string): (name: string) => string {
  return (name) => {
    const stripped = name.replace(/^\.\//, oldBase === '.' ? './' : '');
    if (stripped === oldBase || stripped === `${oldBase}/`) return stripped.replace(oldBase, newBase);
    if (stripped.startsWith(`${oldBase}/`)) return newBase + stripped.slice(oldBase.length);
    if (oldBase === '.') return `${newBase}/${stripped}`;
    return stripped;
  };
}

/** RebaseArchiveEntries: the first path element `oldBase` becomes `newBase` in every entry. */
export function rebaseArchive(src: Readable, oldBase: string, newBase: string): Readable {
  const extract = tar.extract();
  const pack = tar.pack();
  const rename = entryRenamer(oldBase, newBase);
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

/** An entry's content written to `fd` in full, one write(2) per chunk as it arrives. */
async function writeBody(fd: number, body: AsyncIterable<Buffer>): Promise<number> {
  let total = 0;
  for await (const chunk of body) {
    let off = 0;
    while (off < chunk.length) off += writeSync(fd, chunk, off, chunk.length - off);
    total += chunk.length;
  }
  return total;
}

/**
 * Untar into `dstDir`: parents created, nothing outside `dstDir`, no dir⇄file overwrite;
 * `rename` (entryRenamer) maps each entry's name, and a hard link's, first.
 *
 * The file system calls block (the *Sync ones): the CLI has nothing else to
 * do meanwhile, the daemon keeps filling the socket's buffer while a file is
 * written, and each thread-pool round trip (several per entry, one per
 * chunk) costs more than the call itself — as Docker's CLI, which writes
 * from the goroutine that reads. Every entry's parents are still looked at
 * again when it is written (an earlier entry may have made one a symlink),
 * and so are a hard link's old name's.
 */
export async function untar(src: AsyncIterable<Buffer | Uint8Array>, dstDir: string, rename?: (name: string) => string): Promise<number> {
  const root = resolve(dstDir);
  const dirTimes: [string, number][] = [];
  let total = 0;
  for await (const { header: h, body } of readTar(src)) {
    // Renamed here rather than by rebaseArchive: one pass over the archive, not a second tar in between.
    if (rename) {
      h.name = rename(h.name);
      if (h.type === 'link') h.linkname = rename(h.linkname);
    }
    const name = h.name.replace(/\/+$/, '');
    const target = resolve(root, name);
    if (target !== root && !target.startsWith(root + sep)) throw new Error(`invalid tar header: ${h.name} points outside ${dstDir}`);
    // An earlier entry may have made a parent a symlink: nothing is written through one (as Docker's breakout check).
    if (target !== root && !parentsAreDirsSync(root, target)) throw new Error(`invalid tar header: ${h.name} leads through a symlink out of ${dstDir}`);
    const existing = lstatSync(target, { throwIfNoEntry: false });
    const isDir = h.type === 'dir';
    if (existing && target !== root) {
      if (existing.isDirectory() && !isDir) throw new Error(`cannot overwrite directory "${target}" with non-directory "${h.name}"`);
      if (!existing.isDirectory() && isDir) throw new Error(`cannot overwrite non-directory "${target}" with directory "${h.name}"`);
      if (!(existing.isDirectory() && isDir)) rmSync(target, { force: true });
    }
    mkdirSync(dirname(target), { recursive: true });
    const mode = h.mode & 0o7777;
    switch (h.type) {
      case 'dir': {
        if (target !== root) {
          mkdirSync(target, { recursive: true, mode });
          // Opened without following a symlink at the name, then changed through the descriptor.
          const fd = openSync(target, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
          try {
            fchmodSync(fd, mode);
          } finally {
            closeSync(fd);
          }
        }
        dirTimes.push([target, h.mtime]);
        break;
      }
      case 'symlink':
        symlinkSync(h.linkname, target);
        try {
          lutimesSync(target, h.mtime, h.mtime);
        } catch { /* as before: a link's time is best effort */ }
        break;
      case 'link': {
        const linkTarget = resolve(root, h.linkname);
        if (!linkTarget.startsWith(root + sep)) throw new Error(`invalid hardlink ${h.linkname} in archive`);
        // link(2) follows symlinks in the old name's parents: none may lead out.
        if (!parentsAreDirsSync(root, linkTarget)) throw new Error(`invalid hardlink ${h.linkname} in archive: it leads through a symlink out of ${dstDir}`);
        linkSync(linkTarget, target);
        lutimesSync(target, h.mtime, h.mtime);
        break;
      }
      case 'file': {
        // Created new (what was there is gone): never opens through a symlink at the name.
        const fd = openSync(target, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
        try {
          total += await writeBody(fd, body);
          fchmodSync(fd, mode);
          futimesSync(fd, h.mtime, h.mtime);
        } finally {
          closeSync(fd);
        }
        break;
      }
      default:
        // Device nodes and FIFOs need mknod, which Node lacks; Docker skips them too when not root.
        break;
    }
  }
  for (const [dir, t] of dirTimes.reverse()) {
    if (!parentsAreDirsSync(root, dir)) continue;
    try {
      lutimesSync(dir, t, t);
    } catch { /* replaced or gone: as before, best effort */ }
  }
  return total;
}

/** A path relative to cwd made absolute, keeping a trailing `/` or `/.` (resolveLocalPath). */
export function resolveLocalPath(p: string): string {
  const abs = resolve(p);
  if (p.endsWith('/.')) return `${abs === '/' ? '' : abs}/.`;
  if (p.endsWith('/') && abs !== '/') return `${abs}/`;
  return abs;
}

