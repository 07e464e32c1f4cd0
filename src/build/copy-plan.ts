/**
 * What a COPY or ADD writes, decided before anything is written: the source
 * files (wildcards expanded, symlinks in the named paths followed inside
 * their root), where each lands (Docker's directory semantics), and with
 * which owner and mode. The plan is what the cache key hashes
 * (`FileInput`s: path, content sha256, mode, owner — no mtimes) and what
 * copy-layer.ts turns into a layer tar.
 *
 * Docker's rules, as the classic builder applies them:
 * - a source directory copies its contents, not itself (`COPY src /app`
 *   gives /app/main.c, not /app/src/main.c); a wildcard match that is a
 *   directory too;
 * - the destination is a directory when it ends in `/` (or is `.`), when it
 *   already is a directory in the image (symlinks followed), or when a
 *   directory is copied; otherwise it names the file to write;
 * - several sources (after wildcards) need a directory destination;
 * - a relative destination is relative to WORKDIR;
 * - files from the context belong to 0:0 (the client's owners are not
 *   kept); files from another stage or image (`--from`) and from an
 *   extracted archive keep theirs; `--chown` replaces both (a user without a
 *   group gets the uid as gid, Docker's documented rule; names are looked up
 *   in the destination's /etc/passwd and /etc/group); `--chmod` sets the
 *   permission bits of every copied file and directory;
 * - a missing source is an error; so is a wildcard that matches nothing.
 */
import type { BigIntStats } from 'node:fs';
import { createReadStream } from 'node:fs';
import { readlink, stat } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import { InvalidParameterError } from '../errors.js';
import type { FileInput } from './cache-key.js';
import { cleanRel, type LayerView } from './layer-view.js';
import { compileGoPattern, hasWildcards } from './path-match.js';
import type { IgnoreMatcher } from './dockerignore.js';

/** Where a source path is looked up. */
export interface SourceRoot {
  view: LayerView;
  /** Keep the files' owners (another stage or image, an extracted archive); false: 0:0. */
  keepOwners: boolean;
  /** For messages: `build context`, `stage builder`, `image busybox`. */
  what: string;
}

/** One thing to copy, after wildcard expansion. */
export type SourceItem =
  | {
    kind: 'path';
    root: SourceRoot;
    /** The path in the root with symlinks followed (what is read). */
    rel: string;
    /** The path as the instruction reaches it (cache inputs, messages); '' for the root. */
    name: string;
    /** Name the file gets inside a directory destination. */
    base: string;
    /** ADD of a local archive: extracted into the destination, always a directory. */
    extracted?: boolean;
    /** `COPY --parents`: the path below `pivot` the item keeps in the destination (copy-parents.ts). */
    keep?: string;
    /** `COPY --parents`: the directory of the source paths are kept relative to ('' for the root). */
    pivot?: string;
  }
  | {
    /** A file berth wrote itself: a heredoc or a downloaded URL. */
    kind: 'file';
    hostPath: string;
    name: string;
    base: string;
    mode: number;
    uid: number;
    gid: number;
    mtime: number;
  };

/** One entry of the layer: where it goes and what it is. */
export interface PlanEntry {
  /** Destination path, relative ('usr/local/bin/app'). */
  path: string;
  type: 'file' | 'dir' | 'symlink' | 'char' | 'block' | 'fifo';
  mode: number;
  uid: number;
  gid: number;
  /** Seconds. */
  mtime: number;
  size: number;
  /** Host file with the content (files). */
  contentPath?: string;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
}

export interface CopyPlan {
  entries: PlanEntry[];
  files: FileInput[];
  /** The directory copied into (relative, symlinks resolved); created when missing. */
  destDir: string;
  /** Owner of directories the copy creates (Docker: the --chown user, else root). */
  createOwner: Owner;
}

export interface Owner { uid: number; gid: number }

function fail(message: string): never {
  throw new InvalidParameterError(message);
}

// ----------------------------------------------------------------- flags

function parseIds(text: string | undefined): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of (text ?? '').split('\n')) {
    const f = line.trim().split(':');
    if (f.length < 3 || !f[0] || f[0].startsWith('#')) continue;
    const id = Number(f[2]);
    if (Number.isInteger(id) && !m.has(f[0])) m.set(f[0], id);
  }
  return m;
}

/** The most of /etc/passwd or /etc/group read for a name (a container start reads as much, runtime/user.ts). */
const USER_DB_MAX_BYTES = 4 << 20;

/**
 * `--chown=user[:group]` as ids. Numeric parts are ids; names come from the
 * destination's /etc/passwd and /etc/group. Without a group the gid is the
 * uid (Docker's rule for COPY --chown).
 */
export async function resolveChown(spec: string, dest: LayerView): Promise<Owner> {
  const [user, group] = spec.split(':', 2);
  if (!user) fail(`invalid --chown value: ${JSON.stringify(spec)}`);
  const lookup = async (name: string, file: string, kind: string): Promise<number> => {
    if (/^\d+$/.test(name)) return Number(name);
    const ids = parseIds(await dest.readText(file, USER_DB_MAX_BYTES));
    const id = ids.get(name);
    if (id === undefined) fail(`unable to convert uid/gid chown string to host mapping: can't find ${kind} for ${name}: no such ${kind === 'uid' ? 'user' : 'group'}: ${name}`);
    return id;
  };
  const uid = await lookup(user, 'etc/passwd', 'uid');
  const gid = group === undefined || group === '' ? uid : await lookup(group, 'etc/group', 'gid');
  return { uid, gid };
}

/** `--chmod=0755`: octal permission bits. */
export function parseChmod(spec: string): number {
  if (!/^[0-7]{1,4}$/.test(spec)) fail(`invalid --chmod value ${JSON.stringify(spec)}: only octal modes (like 0755) are supported`);
  return parseInt(spec, 8);
}

// ----------------------------------------------------------------- sources

/** True for `http://` and `https://` sources (ADD only). */
export function isUrl(src: string): boolean {
  return /^https?:\/\//i.test(src);
}

/** Walks `view` from `rel` (not included), depth first, in byte order; `maxDepth` levels below it. */
async function* walkView(view: LayerView, rel: string, maxDepth = Infinity): AsyncGenerator<{ rel: string; st: BigIntStats; host: string }> {
  if (maxDepth <= 0) return;
  // A directory's entries are looked up together: one after the other, each
  // lstat waits a thread-pool round trip (a third of a cached COPY's time).
  const children = (await view.readdir(rel)).map((name) => (rel ? `${rel}/${name}` : name));
  const found = await Promise.all(children.map((child) => view.lstat(child)));
  for (let i = 0; i < children.length; i++) {
    const e = found[i];
    if (!e) continue;
    yield { rel: children[i], st: e.st, host: e.host };
    if (e.st.isDirectory()) yield* walkView(view, children[i], maxDepth - 1);
  }
}

/** Runs `jobs` at most `limit` at a time. */
async function runLimited(jobs: readonly (() => Promise<void>)[], limit: number): Promise<void> {
  let next = 0;
  const worker = async () => { while (next < jobs.length) await jobs[next++](); };
  await Promise.all(Array.from({ length: Math.min(limit, jobs.length) }, worker));
}

/** Files hashed at once while planning a COPY (each hash is a few thread-pool round trips). */
const HASH_CONCURRENCY = 8;

/**
 * The items a list of source paths names in `root`: plain paths must exist
 * (symlinks followed); wildcard paths are matched with Go's filepath.Match
 * and must match something.
 */
export async function expandSources(root: SourceRoot, sources: readonly string[], instruction: string): Promise<SourceItem[]> {
  const items: SourceItem[] = [];
  for (const src of sources) {
    const normal = posix.normalize(src);
    if (root.what === 'build context' && (normal === '..' || normal.startsWith('../'))) {
      fail(`${instruction} failed: forbidden path outside the build context: ${src}`);
    }
    const clean = cleanRel(src);
    if (hasWildcards(src)) {
      const re = compileGoPattern(clean);
      const comps = clean.split('/');
      const first = comps.findIndex((c) => hasWildcards(c));
      const start = comps.slice(0, first).join('/');
      const depth = comps.length - first;
      const startEntry = start ? await root.view.stat(start) : undefined;
      const from = start ? (startEntry?.st.isDirectory() ? startEntry.rel : undefined) : '';
      let matched = 0;
      if (from !== undefined) {
        for await (const e of walkView(root.view, from, depth)) {
          const asNamed = start ? start + e.rel.slice(from.length) : e.rel;
          if (!re.test(asNamed)) continue;
          const target = await root.view.stat(e.rel);
          if (!target) continue; // a dangling symlink
          items.push({ kind: 'path', root, rel: target.rel, name: asNamed, base: posix.basename(asNamed) });
          matched++;
        }
      }
      if (matched === 0) fail(`${instruction} failed: no source files were specified`);
      continue;
    }
    const e = await root.view.stat(clean);
    if (!e) {
      fail(root.what === 'build context'
        ? `${instruction} failed: file not found in build context or excluded by .dockerignore: stat ${clean || '.'}: file does not exist`
        : `${instruction} failed: stat ${clean || '/'}: file does not exist in ${root.what}`);
    }
    items.push({ kind: 'path', root, rel: e.rel, name: clean, base: clean ? posix.basename(clean) : '' });
  }
  return items;
}

// ----------------------------------------------------------------- plan

export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

function typeOf(st: BigIntStats): PlanEntry['type'] | null {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isCharacterDevice()) return 'char';
  if (st.isBlockDevice()) return 'block';
  if (st.isFIFO()) return 'fifo';
  return null;
}

export interface PlanOptions {
  instruction: 'COPY' | 'ADD';
  /** Destination as written (after substitution). */
  dest: string;
  /** The stage's WORKDIR ('' for /). */
  workdir: string;
  /** The image the files are copied into. */
  destView: LayerView;
  chown?: Owner;
  chmod?: number;
  /** Clamp mtimes to this (seconds). */
  sourceDateEpoch?: number;
  /**
   * `--exclude` patterns (dockerignore syntax), matched as BuildKit's file
   * copy does: against paths relative to each source that is copied (for
   * `--parents`, relative to the pivot); the source itself is never excluded.
   */
  exclude?: IgnoreMatcher;
  /** `COPY --parents`: the destination is always a directory. */
  parents?: boolean;
}

/** Turns source items into layer entries and cache inputs. */
export async function planCopy(items: readonly SourceItem[], o: PlanOptions): Promise<CopyPlan> {
  const destAbs = o.dest.startsWith('/') ? o.dest : posix.join('/', o.workdir || '/', o.dest);
  const endsInSlash = /(^|\/)\.?$/.test(o.dest) || o.dest.endsWith('/.');
  const destRel = await o.destView.resolve(cleanRel(destAbs), true);
  const existing = await o.destView.lstat(destRel);
  const destIsDir = endsInSlash || destRel === '' || !!existing?.st.isDirectory() || o.parents === true;
  if (items.length > 1 && !destIsDir) {
    fail(`When using ${o.instruction} with more than one source file, the destination must be a directory and end with a /`);
  }
  let copiesDir = false;
  for (const i of items) if (i.kind === 'path' && (await i.root.view.lstat(i.rel))?.st.isDirectory()) copiesDir = true;
  if (existing && !existing.st.isDirectory() && copiesDir) fail(`${o.instruction} failed: cannot copy to non-directory: /${destRel}`);
  const clampT = (t: number) => (o.sourceDateEpoch !== undefined && t > o.sourceDateEpoch ? o.sourceDateEpoch : t);
  const entries = new Map<string, PlanEntry>();
  const files: FileInput[] = [];
  const join = (dir: string, name: string) => (dir ? `${dir}/${name}` : name);

  // Content digests are filled in after the walk, several at a time; `files` keeps the walk's order.
  const hashes: (() => Promise<void>)[] = [];
  const add = async (destPath: string, name: string, host: string, st: BigIntStats, keepOwners: boolean) => {
    const type = typeOf(st);
    if (!type) return; // sockets cannot be archived
    const uid = o.chown?.uid ?? (keepOwners ? Number(st.uid) : 0);
    const gid = o.chown?.gid ?? (keepOwners ? Number(st.gid) : 0);
    const mode = o.chmod !== undefined && type !== 'symlink' ? o.chmod : Number(st.mode) & 0o7777;
    const entry: PlanEntry = { path: destPath, type, mode, uid, gid, mtime: clampT(Number(st.mtimeNs / 1_000_000_000n)), size: 0 };
    const input: FileInput = { path: name, type: type === 'file' || type === 'dir' || type === 'symlink' ? type : 'other', mode, uid, gid };
    if (type === 'file') {
      entry.size = Number(st.size);
      entry.contentPath = host;
      hashes.push(async () => { input.digest = await sha256File(host); });
    } else if (type === 'symlink') {
      entry.linkname = await readlink(host);
      input.digest = entry.linkname;
    } else if (type === 'char' || type === 'block') {
      const rdev = st.rdev;
      entry.devmajor = Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn));
      entry.devminor = Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn));
      input.digest = `${entry.devmajor}:${entry.devminor}`;
    }
    entries.set(destPath, entry);
    files.push(input);
  };

  /** A `--parents` item: its directories below the pivot, then itself (a directory with its contents) at the same path. */
  const addKept = async (item: Extract<SourceItem, { kind: 'path' }>, e: { st: BigIntStats; host: string }) => {
    const keep = item.keep ?? '';
    const inPivot = (p: string) => (item.pivot ? (p ? `${item.pivot}/${p}` : item.pivot) : p);
    if (keep && o.exclude?.matches(keep)) return;
    const parts = keep ? keep.split('/') : [];
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      if (entries.has(join(destRel, dir))) continue;
      const d = await item.root.view.stat(inPivot(dir));
      if (d?.st.isDirectory()) await add(join(destRel, dir), inPivot(dir), d.host, d.st, item.root.keepOwners);
    }
    if (!e.st.isDirectory()) {
      if (keep === '') fail(`${o.instruction} failed: cannot copy a file onto /`);
      await add(join(destRel, keep), item.name, e.host, e.st, item.root.keepOwners);
      return;
    }
    if (keep && !entries.has(join(destRel, keep))) await add(join(destRel, keep), item.name, e.host, e.st, item.root.keepOwners);
    for await (const c of walkView(item.root.view, item.rel)) {
      const sub = c.rel.slice(item.rel ? item.rel.length + 1 : 0);
      if (o.exclude?.matches(join(keep, sub))) continue;
      await add(join(destRel, join(keep, sub)), join(item.name, sub), c.host, c.st, item.root.keepOwners);
    }
  };

  for (const item of items) {
    if (item.kind === 'file') {
      const destPath = destIsDir ? join(destRel, item.base) : destRel;
      const uid = o.chown?.uid ?? item.uid;
      const gid = o.chown?.gid ?? item.gid;
      const mode = o.chmod ?? item.mode;
      const size = Number((await stat(item.hostPath)).size);
      entries.set(destPath, { path: destPath, type: 'file', mode, uid, gid, mtime: clampT(item.mtime), size, contentPath: item.hostPath });
      const input: FileInput = { path: item.name, type: 'file', mode, uid, gid };
      files.push(input);
      hashes.push(async () => { input.digest = await sha256File(item.hostPath); });
      continue;
    }
    const e = await item.root.view.lstat(item.rel);
    if (!e) fail(`${o.instruction} failed: ${item.name} vanished from ${item.root.what}`);
    if (item.keep !== undefined) {
      await addKept(item, e);
      continue;
    }
    if (e.st.isDirectory()) {
      // The contents go into the destination directory.
      for await (const c of walkView(item.root.view, item.rel)) {
        const sub = c.rel.slice(item.rel ? item.rel.length + 1 : 0);
        if (o.exclude?.matches(sub)) continue;
        await add(join(destRel, sub), join(item.name, sub), c.host, c.st, item.root.keepOwners);
      }
      continue;
    }
    const destPath = destIsDir ? join(destRel, item.base) : destRel;
    if (destPath === '') fail(`${o.instruction} failed: cannot copy a file onto /`);
    await add(destPath, item.name, e.host, e.st, item.root.keepOwners);
  }
  await runLimited(hashes, HASH_CONCURRENCY);
  const sorted = [...entries.values()].sort((a, b) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path)));
  return {
    entries: sorted, files,
    destDir: destIsDir || copiesDir ? destRel : posix.dirname('/' + destRel).slice(1),
    createOwner: o.chown ?? { uid: 0, gid: 0 },
  };
}
