/**
 * The names a `docker save` archive or an OCI image layout gives its own
 * files: tar entry names, paths in manifest.json (`Config`, `Layers`), the
 * targets of symlink and hard link entries, and descriptor digests in
 * index.json and OCI manifests. All of it is written by whoever made the
 * archive, so every name is checked here before it names a file: a digest
 * is `sha256:` and 64 lowercase hex digits (the OCI image spec's registered
 * form; `sha256:../../x` is not one), and a path is relative, with no `..`
 * component, resolved only against the archive's own entries, never against
 * the host.
 *
 * Errors are 400s that quote the offending name (shortened), never the
 * content of any file.
 */
import { posix } from 'node:path';
import { InvalidParameterError } from '../errors.js';

/** Longest path accepted inside an archive (PATH_MAX). */
export const MAX_PATH_LENGTH = 4096;

/** A name for an error message: JSON-quoted, so control characters show, and cut short. */
export function quoteName(value: unknown): string {
  const s = typeof value === 'string' ? value : String(value);
  return JSON.stringify(s.length > 120 ? `${s.slice(0, 120)}…` : s);
}

/**
 * A descriptor's digest, checked: `sha256:<64 lowercase hex>`. Other
 * algorithms are refused by name (berth stores blobs by sha256 only); a
 * value that is not a digest at all gets go-digest's wording, as dockerd's
 * errors do. `where` says which file gave it ("index.json").
 */
export function parseDigest(value: unknown, where: string): string {
  const bad = (why: string) => new InvalidParameterError(`invalid digest ${quoteName(value)} in ${where}: ${why}`);
  if (typeof value !== 'string') throw bad('not a string');
  const m = /^([a-z0-9]+(?:[.+_-][a-z0-9]+)*):([a-zA-Z0-9=_-]+)$/.exec(value);
  if (!m) throw bad('invalid checksum digest format');
  if (m[1] !== 'sha256') throw bad(`unsupported digest algorithm ${m[1]} (only sha256 is)`);
  if (m[2].length !== 64) throw bad('invalid checksum digest length');
  if (!/^[0-9a-f]{64}$/.test(m[2])) throw bad('invalid checksum digest format');
  return value;
}

/** Where an OCI layout keeps the blob of `digest` (a checked one). */
export function blobPath(digest: string): string {
  return `blobs/sha256/${digest.slice('sha256:'.length)}`;
}

/**
 * Splits a path into its components, dropping empty and `.` ones; null when
 * it is absolute, holds a NUL, is too long or has a `..` component.
 */
function components(path: string): string[] | null {
  if (path.startsWith('/') || path.includes('\0') || path.length > MAX_PATH_LENGTH) return null;
  const parts = path.split('/').filter((p) => p !== '' && p !== '.');
  return parts.includes('..') ? null : parts;
}

/**
 * A path inside the archive as manifest.json gives it (`Config`,
 * `Layers[i]`), in canonical form (`a/b`, no `./`, no trailing `/`).
 */
export function parseArchivePath(value: unknown, where: string): string {
  const parts = typeof value === 'string' ? components(value) : null;
  if (!parts || parts.length === 0) {
    throw new InvalidParameterError(`invalid path ${quoteName(value)} in ${where}: paths in an archive must be relative and must not contain ".."`);
  }
  return parts.join('/');
}

/**
 * A tar entry's name in canonical form ('' for the archive's root, `./`).
 * An absolute name or one with a `..` component is refused: nothing in a
 * save archive needs one, and it can only be an attempt to name a host path.
 */
export function tarEntryName(raw: string): string {
  const parts = components(raw);
  if (!parts) throw new InvalidParameterError(`invalid tar entry name ${quoteName(raw)}: names in an archive must be relative and must not contain ".."`);
  return parts.join('/');
}

/**
 * Where a symlink entry `entry` with target `linkname` points, as a
 * canonical path inside the archive, resolved by name alone (`..` climbs
 * within the archive; docker save links duplicate layers as
 * `<id>/layer.tar -> ../<other id>/layer.tar`). Null when the target is
 * absolute or climbs above the archive's root: such a link points at the
 * host, never at an entry.
 */
export function symlinkTarget(entry: string, linkname: string): string | null {
  if (linkname === '' || linkname.startsWith('/') || linkname.includes('\0') || linkname.length > MAX_PATH_LENGTH) return null;
  const out = posix.dirname(entry) === '.' ? [] : posix.dirname(entry).split('/');
  for (const part of linkname.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length === 0) return null;
      out.pop();
    } else {
      out.push(part);
    }
  }
  return out.join('/');
}
