/**
 * The build context the classic builder API takes: an uncompressed tar of
 * the context directory with `.dockerignore` applied on the client (the
 * Dockerfile and .dockerignore themselves are always sent), and a Dockerfile
 * from elsewhere (`-f` outside the context, or stdin) added under a random
 * `.dockerfile.<hex>` name — Docker's build.go behaviour.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, constants, lstatSync, openSync, readFileSync, readSync, readdirSync, readlinkSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { newHeader } from '../../image/tar-format.js';
import { packTar, type PackEntry } from '../../image/tar-pack.js';
import { isExcluded, mayReinclude, parseDockerignore } from './dockerignore.js';

export interface ContextTar {
  stream: Readable;
  /** The `dockerfile=` query value: a path inside the tar. */
  dockerfile: string;
  /** Bytes sent so far (for "Sending build context…"). */
  counted: () => number;
}

/** Where the Dockerfile is, relative to the context, or undefined when it must be added. */
function dockerfileInContext(contextDir: string, dockerfile: string): string | undefined {
  const abs = resolve(contextDir, dockerfile);
  const rel = relative(contextDir, abs);
  if (rel.startsWith('..') || rel === '') return undefined;
  return rel.split('\\').join('/');
}

/** Files up to this size are read in one call while packing; bigger ones stream. */
const SMALL_FILE = 4 << 20;

/**
 * A file's first `size` bytes (the size lstat saw), like tar-pack's reads: opened
 * O_NOFOLLOW, cut when it grew, zero-padded when it shrank.
 */
function readSmallFile(path: string, size: number): Buffer {
  const buf = Buffer.alloc(size);
  const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    for (let n = 0; n < size;) {
      const r = readSync(fd, buf, n, size - n, n);
      if (r === 0) break;
      n += r;
    }
  } finally {
    closeSync(fd);
  }
  return buf;
}

export function contextTar(contextDir: string, dockerfileFlag: string, dockerfileContent?: Buffer): ContextTar {
  let total = 0;
  let dockerfile = 'Dockerfile';
  let extraName: string | undefined;
  let extraContent: Buffer | undefined;
  if (dockerfileContent) {
    extraName = `.dockerfile.${randomBytes(10).toString('hex')}`;
    extraContent = dockerfileContent;
    dockerfile = extraName;
  } else if (dockerfileFlag) {
    const inside = dockerfileInContext(contextDir, dockerfileFlag);
    if (inside) dockerfile = inside;
    else {
      extraName = `.dockerfile.${randomBytes(10).toString('hex')}`;
      extraContent = readFileSync(resolve(dockerfileFlag));
      dockerfile = extraName;
    }
  }
  let ignoreText = '';
  try {
    ignoreText = readFileSync(join(contextDir, '.dockerignore'), 'utf8');
  } catch { /* no .dockerignore */ }
  const patterns = parseDockerignore(ignoreText);
  const keep = new Set([dockerfile, '.dockerignore']);
  const excluded = (rel: string) => !keep.has(rel) && isExcluded(rel, patterns);
  const walkExcludedDirs = mayReinclude(patterns);
  // Owners are root and times whole seconds, as the docker CLI sends them.
  const seconds = (d: Date) => Math.floor(d.getTime() / 1000);

  // Synchronous calls: the CLI has nothing else to do meanwhile, and each
  // asynchronous one would wait a thread-pool round trip (most of the time a
  // small context takes to pack). Files up to SMALL_FILE are read whole.
  function* walk(dir: string): Generator<PackEntry> {
    const names = readdirSync(dir).sort();
    for (const n of names) {
      const abs = join(dir, n);
      const rel = relative(contextDir, abs).split('\\').join('/');
      const st = lstatSync(abs);
      const skip = excluded(rel);
      if (st.isDirectory()) {
        if (!skip) yield { header: newHeader({ name: rel, type: 'dir', mode: st.mode & 0o7777, mtime: seconds(st.mtime) }) };
        if (!skip || walkExcludedDirs) yield* walk(abs);
        continue;
      }
      if (skip) continue;
      if (st.isSymbolicLink()) {
        yield { header: newHeader({ name: rel, type: 'symlink', linkname: readlinkSync(abs), mode: st.mode & 0o7777, mtime: seconds(st.mtime) }) };
      } else if (st.isFile()) {
        total += st.size;
        const header = newHeader({ name: rel, type: 'file', size: st.size, mode: st.mode & 0o7777, mtime: seconds(st.mtime) });
        yield st.size <= SMALL_FILE ? { header, content: readSmallFile(abs, st.size) } : { header, contentPath: abs };
      }
    }
  }

  async function* entries(): AsyncGenerator<PackEntry> {
    yield* walk(contextDir);
    if (extraName && extraContent) {
      total += extraContent.length;
      yield { header: newHeader({ name: extraName, type: 'file', mode: 0o600, size: extraContent.length, mtime: seconds(new Date()) }), content: extraContent };
    }
  }
  return { stream: packTar(entries), dockerfile, counted: () => total };
}

/** A context made of just a Dockerfile (`berth build - < Dockerfile`). */
export function dockerfileOnlyTar(content: Buffer): ContextTar {
  const entry = { header: newHeader({ name: 'Dockerfile', type: 'file', mode: 0o600, size: content.length, mtime: Math.floor(Date.now() / 1000) }), content };
  return { stream: packTar(async function* () { yield entry; }), dockerfile: 'Dockerfile', counted: () => content.length };
}
