/**
 * Unpacks an image layer tar into a directory in overlay format: the layer
 * store's lower dirs (fresh, empty) or an upper dir that already has content.
 *
 * The tar may be gzip-compressed (detected by magic; zstd, xz and bzip2 are
 * refused). The diffID — sha256 of the uncompressed bytes, every byte up to
 * the end of input — is computed while streaming; nothing is buffered whole.
 *
 * Whiteouts become overlayfs' own form: `.wh..wh..opq` sets
 * `trusted.overlay.opaque=y` on its directory (removing what `dir` held
 * there before this layer); `.wh.X` replaces X with a 0/0 character device
 * owned by the entry's uid/gid. Following the OCI spec, a whiteout never
 * removes what this same layer wrote. Other `.wh..wh.*` names (AUFS
 * metadata) are ignored, and `trusted.overlay.*`/`user.overlay.*` xattrs in
 * the tar are dropped: a layer expresses deletions only through whiteouts.
 * Needs root (mknod, trusted.* xattrs, chown).
 *
 * Confinement: names are normalised and an absolute name or one that climbs
 * out with `..` is refused; every parent directory of an entry is checked
 * with lstat and must be a real directory inside `dir` — a symlink there
 * (written by an earlier entry or already present) is refused with
 * "tar entry escapes layer: <name>", never followed. Resolving it "inside
 * the root" instead would be wrong for a layer directory anyway: the link's
 * target may live in another layer. Hard link targets are held to the same
 * rules and must already exist in `dir`. `dir` is assumed to be ours alone
 * while we write (a staging dir, or the upper dir of a stopped container).
 *
 * On failure the input is destroyed and the error thrown; the caller removes
 * `dir`.
 */
import { createHash, type Hash } from 'node:crypto';
import { lchown, lstat, mkdir, readdir, rm } from 'node:fs/promises';
import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import { InvalidParameterError } from '../errors.js';
import { uncompressed } from './decompress.js';
import { EntryWriter } from './entry-write.js';
import { SpecialFs } from './fs-special.js';
import { readTar, type TarEntry } from './tar-format.js';
import { OPAQUE_MARKER, OVERLAY_OPAQUE_XATTR, WHITEOUT_META_PREFIX, WHITEOUT_PREFIX } from './whiteouts.js';

export interface AppliedLayer {
  /** "sha256:<hex>" of the uncompressed tar. */
  diffId: string;
  /** Bytes of file content written. */
  size: number;
}

/** Normalised relative name of an entry ('' for the root); throws for names that leave the root. */
export function layerEntryName(raw: string): string {
  if (raw.startsWith('/')) throw new InvalidParameterError(`tar entry escapes layer: ${raw}`);
  const n = posix.normalize(raw).replace(/\/+$/, '');
  if (n === '..' || n.startsWith('../')) throw new InvalidParameterError(`tar entry escapes layer: ${raw}`);
  return n === '.' || n === '' ? '' : n;
}

async function* hashed(source: AsyncIterable<Buffer>, hash: Hash): AsyncGenerator<Buffer> {
  for await (const chunk of source) {
    hash.update(chunk);
    yield chunk;
  }
}

/** Entries written concurrently at most, and bytes of small-file content held for them. */
const MAX_IN_FLIGHT = 32;
const MAX_BUFFERED = 32 << 20;
/** Files up to this size are read into memory so their writing can overlap the next entries. */
const SMALL_FILE = 1 << 20;

async function readAll(body: AsyncIterable<Buffer>): Promise<Buffer[]> {
  const chunks: Buffer[] = [];
  for await (const c of body) chunks.push(c);
  return chunks;
}

/**
 * Applies entries in tar order, but lets the filesystem work of entries that
 * cannot conflict run concurrently: every file costs several thread-pool
 * round trips (open, write, fchown, fchmod, close, utimes), and done one at
 * a time a large layer spends most of its time waiting. An entry runs in the
 * background only when it lands in a directory this layer created itself and
 * its name has not been written yet (so nothing can be there); it waits for
 * the pending creation of its parent directories. Anything that may replace
 * or remove existing paths (whiteouts, opaque markers, hard links, entries
 * over existing content) first waits for everything in flight.
 */
class LayerWriter {
  /** Relative paths this layer created (entries and the parents made for them). */
  private created = new Set<string>();
  /** Relative paths something of this layer's occupies: `created` plus whiteout devices. */
  private taken = new Set<string>();
  /** Relative paths known to be real directories (not symlinks) right now. */
  private dirs = new Set<string>(['']);
  /** Directories whose whole content comes from this layer (nothing was there before). */
  private fresh = new Set<string>();
  /**
   * The names directly below each path that one of the sets above holds (or
   * held): `forget` visits only what lies below the path it forgets. Scanning
   * every set instead made a layer that writes each of n names twice cost
   * n² steps (minutes of berthd's CPU for a few MiB of compressed tar).
   */
  private children = new Map<string, Set<string>>();
  /** Background writes by relative path. */
  private pending = new Map<string, Promise<void>>();
  private inFlight = new Set<Promise<void>>();
  private buffered = 0;
  private failure: unknown = null;
  readonly writer: EntryWriter;
  size = 0;

  constructor(private readonly root: string, private readonly fsx: SpecialFs) {
    this.writer = new EntryWriter({
      fsx, overlay: true, root,
      dropXattr: (name) => name.startsWith('trusted.overlay.') || name.startsWith('user.overlay.'),
    });
  }

  /** An empty layer dir (the layer store's case) is all ours. */
  async init(): Promise<void> {
    if ((await readdir(this.root)).length === 0) this.fresh.add('');
  }

  private host(rel: string): string {
    return rel ? `${this.root}/${rel}` : this.root;
  }

  /** Records `rel` in `sets`, and in `children` up to the first ancestor already there. */
  private mark(rel: string, ...sets: Set<string>[]): void {
    for (const set of sets) set.add(rel);
    for (let at = rel; at !== '';) {
      const slash = at.lastIndexOf('/');
      const parent = slash === -1 ? '' : at.slice(0, slash);
      let names = this.children.get(parent);
      if (!names) this.children.set(parent, names = new Set());
      if (names.has(at)) return;
      names.add(at);
      at = parent;
    }
  }

  /** Forget what was known about `rel` and everything below it (it was removed or replaced). */
  private forget(rel: string): void {
    const todo = [rel];
    for (let p = todo.pop(); p !== undefined; p = todo.pop()) {
      for (const set of [this.dirs, this.created, this.taken, this.fresh]) set.delete(p);
      const names = this.children.get(p);
      if (!names) continue;
      this.children.delete(p);
      for (const n of names) todo.push(n);
    }
  }

  /** Waits for every background write; rethrows the first failure. */
  async drain(): Promise<void> {
    while (this.inFlight.size) await Promise.allSettled([...this.inFlight]);
    if (this.failure) throw this.failure;
  }

  /** Runs `work` in the background after the pending writes of `rel`'s ancestors. */
  private async background(rel: string, bytes: number, work: () => Promise<void>): Promise<void> {
    while (this.inFlight.size >= MAX_IN_FLIGHT || (this.buffered + bytes > MAX_BUFFERED && this.inFlight.size)) {
      await Promise.race(this.inFlight);
    }
    if (this.failure) throw this.failure;
    const deps: Promise<void>[] = [];
    for (let i = rel.indexOf('/'); i !== -1; i = rel.indexOf('/', i + 1)) {
      const p = this.pending.get(rel.slice(0, i));
      if (p) deps.push(p);
    }
    const task = (async () => {
      await Promise.all(deps);
      await work();
    })();
    this.buffered += bytes;
    this.pending.set(rel, task);
    this.inFlight.add(task);
    task.then(() => undefined, (e) => { this.failure ??= e; }).finally(() => {
      this.buffered -= bytes;
      this.inFlight.delete(task);
      if (this.pending.get(rel) === task) this.pending.delete(rel);
    });
  }

  /**
   * Makes sure every component of `rel` is a real directory inside the root,
   * creating missing ones (0755, root) when `create`. A symlink anywhere on
   * the way is an escape attempt.
   */
  private async checkDir(rel: string, entry: string, create: boolean): Promise<void> {
    if (this.dirs.has(rel)) return;
    const parts = rel.split('/');
    let cur = '';
    let parent = '';
    for (const part of parts) {
      parent = cur;
      cur = cur ? `${cur}/${part}` : part;
      if (this.dirs.has(cur)) continue;
      if (this.pending.has(cur)) await this.drain();
      let st;
      try {
        st = await lstat(this.host(cur));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || !create) throw new InvalidParameterError(`tar entry ${entry}: ${cur} does not exist in the layer`);
        await mkdir(this.host(cur), { mode: 0o755 });
        this.mark(cur, this.created, this.taken, this.dirs);
        if (this.fresh.has(parent)) this.mark(cur, this.fresh);
        continue;
      }
      if (st.isSymbolicLink()) throw new InvalidParameterError(`tar entry escapes layer: ${entry}`);
      if (!st.isDirectory()) throw new InvalidParameterError(`tar entry ${entry}: ${cur} is not a directory`);
      this.mark(cur, this.dirs);
    }
  }

  async apply({ header: h, body }: TarEntry): Promise<void> {
    if (this.failure) throw this.failure;
    const rel = layerEntryName(h.name);
    if (rel === '') return; // the layer root itself ("./"): dir keeps its own metadata
    const parent = posix.dirname(rel) === '.' ? '' : posix.dirname(rel);
    const base = posix.basename(rel);
    await this.checkDir(parent, h.name, true);

    if (base === OPAQUE_MARKER) {
      await this.drain();
      return this.opaque(parent);
    }
    if (base.startsWith(WHITEOUT_META_PREFIX)) return;
    if (base.startsWith(WHITEOUT_PREFIX)) {
      await this.drain();
      return this.whiteout(parent, base.slice(WHITEOUT_PREFIX.length), h.name, h.uid, h.gid);
    }

    const target = this.host(rel);
    const absent = this.fresh.has(parent) && !this.taken.has(rel);
    if (absent && h.type !== 'link' && (h.type !== 'file' || h.size <= SMALL_FILE)) {
      const chunks = h.type === 'file' ? await readAll(body) : [];
      this.mark(rel, this.created, this.taken);
      if (h.type === 'dir') this.mark(rel, this.dirs, this.fresh);
      this.size += h.type === 'file' ? h.size : 0;
      return this.background(rel, h.size, async () => { await this.writer.write(target, h, chunks, h.name, undefined, true); });
    }

    await this.drain();
    let linkTarget: string | undefined;
    if (h.type === 'link') {
      const linked = layerEntryName(h.linkname);
      if (linked === '') throw new InvalidParameterError(`tar entry ${h.name}: hard link to the layer root`);
      const tparent = posix.dirname(linked) === '.' ? '' : posix.dirname(linked);
      await this.checkDir(tparent, h.name, false);
      let st;
      try {
        st = await lstat(this.host(linked));
      } catch {
        throw new InvalidParameterError(`tar entry ${h.name}: hard link target ${h.linkname} is not in the layer`);
      }
      if (st.isDirectory()) throw new InvalidParameterError(`tar entry ${h.name}: hard link to a directory`);
      linkTarget = this.host(linked);
    }

    const r = await this.writer.write(target, h, body, h.name, linkTarget, absent);
    if (r.replaced) this.forget(rel);
    this.size += r.bytes;
    this.mark(rel, this.created, this.taken);
    if (h.type === 'dir') {
      this.mark(rel, this.dirs);
      if (absent) this.mark(rel, this.fresh);
    }
  }

  /** `.wh.X`: X is deleted from the layers below. */
  private async whiteout(parent: string, victim: string, entry: string, uid: number, gid: number): Promise<void> {
    if (victim === '' || victim === '.' || victim === '..') throw new InvalidParameterError(`invalid whiteout entry: ${entry}`);
    const rel = parent ? `${parent}/${victim}` : victim;
    if (this.created.has(rel)) return; // whiteouts only apply to lower layers
    const path = this.host(rel);
    await rm(path, { recursive: true, force: true });
    this.forget(rel);
    await this.fsx.mknod(path, 'char', 0, 0, 0);
    this.mark(rel, this.taken);
    await lchown(path, uid, gid);
  }

  /** `.wh..wh..opq`: everything the layers below have in `dir` is hidden. */
  private async opaque(dirRel: string): Promise<void> {
    const path = this.host(dirRel);
    for (const name of await readdir(path)) {
      const rel = dirRel ? `${dirRel}/${name}` : name;
      if (this.created.has(rel)) continue;
      await rm(this.host(rel), { recursive: true, force: true });
      this.forget(rel);
    }
    await this.fsx.setXattr(path, OVERLAY_OPAQUE_XATTR, 'y');
  }

  /** Waits for everything, then sets directory times. */
  async finish(): Promise<void> {
    await this.drain();
    await this.writer.finish();
  }
}

function destroyInput(tar: NodeJS.ReadableStream | Readable, err: unknown): void {
  const d = (tar as Readable).destroy;
  if (typeof d === 'function') d.call(tar, err instanceof Error ? err : undefined);
}

export async function applyLayer(tar: NodeJS.ReadableStream | Readable, dir: string): Promise<AppliedLayer> {
  const hash = createHash('sha256');
  const fsx = new SpecialFs();
  const layer = new LayerWriter(dir.replace(/\/+$/, '') || '/', fsx);
  try {
    await layer.init();
    const source = tar as AsyncIterable<Buffer | string>;
    for await (const entry of readTar(hashed(uncompressed(source), hash))) await layer.apply(entry);
    await layer.finish();
    return { diffId: `sha256:${hash.digest('hex')}`, size: layer.size };
  } catch (e) {
    destroyInput(tar, e);
    await layer.drain().catch(() => undefined); // nothing may still be writing when the caller removes dir
    throw e;
  } finally {
    await fsx.close();
  }
}
