/**
 * The build context: the tar a client sends with `POST /build` (gzip
 * accepted), unpacked into a private directory under the data root's tmp/,
 * or fetched from `remote=` (a Git repository or a tarball URL).
 *
 * Unpacking goes through `extractToRoot`: every entry's parents are resolved
 * inside the directory, names that climb out are refused, nothing lands
 * outside it. Then `.dockerignore` is applied once more on the server
 * (clients apply it already; `remote=` contexts and other clients may not):
 * ignored paths are deleted, so COPY and ADD never see them. The Dockerfile
 * is read before that, so ignoring it (which Docker allows) does not lose it.
 */
import { lstat, readdir, readFile, rm } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { Readable } from 'node:stream';
import { InvalidParameterError, errorKind, errorMessage } from '../errors.js';
import { extractEntriesToRoot, extractToRoot } from '../image/archive.js';
import type { TarEntry } from '../image/tar-format.js';
import { RootedFs } from '../image/rooted-fs.js';
import { IgnoreMatcher, readDockerignore } from './dockerignore.js';

/**
 * A context that arrives as entries rather than a tar: a BuildKit client's
 * filesync (buildkit/context-entries.ts), whose entries were checked as they
 * came and are written by the same extraction, with no tar in between.
 */
export interface ContextEntries {
  readonly entries: AsyncIterable<TarEntry>;
}

/** A context tar (`POST /build`'s body), or entries. */
export type ContextSource = Readable | ContextEntries;

function isReadable(s: ContextSource): s is Readable {
  return !('entries' in s);
}

/**
 * Unpacks a context (a tar, or entries) into the existing, empty directory `dir`. A body
 * that is no tar (or a cut-off or corrupt one) is the client's error, a 400
 * with dockerd's prefix (dockerd 20.10 says `Error processing tar
 * file(exit status 1): archive/tar: invalid tar header`, as a 500).
 */
export async function unpackContext(source: ContextSource, dir: string): Promise<void> {
  if (!isReadable(source)) {
    // No tar to blame: the entries' own errors (the transfer's, or a refused entry's) say what went wrong.
    await extractEntriesToRoot(dir, '/', source.entries);
    return;
  }
  try {
    await extractToRoot(dir, '/', source);
  } catch (e) {
    if (errorKind(e) === 'InvalidParameter') throw new InvalidParameterError(`Error processing tar file: ${errorMessage(e)}`, { cause: e });
    throw e;
  }
}

/** A Dockerfile or .dockerignore over this is refused rather than read (BuildKit's own limit for a Dockerfile is far smaller in practice). */
const MAX_CONTROL_FILE_BYTES = 16 << 20;

/** A regular file of the context (symlinks followed inside it), or undefined when there is none. */
async function readContextFile(dir: string, rel: string): Promise<string | undefined> {
  try {
    return (await RootedFs.readFileIn(dir, rel, MAX_CONTROL_FILE_BYTES))?.toString('utf8');
  } catch (e) {
    if (e instanceof InvalidParameterError && /not a regular file/.test(e.message)) return undefined;
    throw e;
  }
}

/** The Dockerfile's text; `name` is a path inside the context (`-f sub/Dockerfile.dev`). */
export async function readDockerfile(dir: string, name: string): Promise<{ text: string; path: string }> {
  const rel = posix.normalize('/' + name).slice(1);
  const text = await readContextFile(dir, rel);
  if (text === undefined) throw new InvalidParameterError(`Cannot locate specified Dockerfile: ${name}`);
  return { text, path: rel };
}

/**
 * The ignore patterns for a build: `<Dockerfile>.dockerignore` next to the
 * Dockerfile when it exists (BuildKit's rule), else `.dockerignore` at the
 * context root.
 */
export async function readIgnoreFile(dir: string, dockerfilePath: string): Promise<string[]> {
  for (const candidate of [`${dockerfilePath}.dockerignore`, '.dockerignore']) {
    const text = await readContextFile(dir, candidate);
    if (text !== undefined) return readDockerignore(text);
  }
  return [];
}

/** Deletes what the patterns exclude from the context directory; returns how many paths went. */
export async function applyDockerignore(dir: string, patterns: string[]): Promise<number> {
  const m = new IgnoreMatcher(patterns);
  if (m.empty) return 0;
  let removed = 0;
  const walk = async (rel: string): Promise<void> => {
    const names = await readdir(rel ? join(dir, rel) : dir);
    for (const name of names.sort()) {
      const child = rel ? `${rel}/${name}` : name;
      const host = join(dir, child);
      const st = await lstat(host);
      if (m.matches(child)) {
        if (st.isDirectory() && m.hasExclusions && m.mayReincludeBelow(child)) {
          await walk(child);
          continue;
        }
        await rm(host, { recursive: true, force: true });
        removed++;
        continue;
      }
      if (st.isDirectory()) await walk(child);
    }
  };
  await walk('');
  return removed;
}
