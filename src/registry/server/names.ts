/**
 * The grammar of the URL pieces: repository names, tags, digests.
 *
 * OCI distribution spec v1.1 §"Pulling manifests": `<name>` MUST match
 * `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*` and a
 * tag MUST match `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`. Digests follow the image
 * spec's descriptor grammar (`algorithm ":" encoded`). These rules also make
 * names and tags safe as path segments on disk: no component can be empty,
 * start with `.` or `_`, or contain `..`, so `_layers`/`_manifests` never clash.
 */
import { DistributionError } from './errors.js';

const componentRe = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$/;
const tagRe = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
const digestRe = /^([a-z0-9]+(?:[+._-][a-z0-9]+)*):([a-zA-Z0-9=_-]+)$/;

/**
 * Longest name accepted. The spec's implementers note: many clients cap
 * `host[:port]/name` at 255 characters, so a bare name of 255 is already
 * more than any client can use.
 */
export const MAX_NAME_LENGTH = 255;

export function isValidRepositoryName(name: string): boolean {
  if (!name || name.length > MAX_NAME_LENGTH) return false;
  return name.split('/').every((c) => componentRe.test(c));
}

export function isValidTag(tag: string): boolean {
  return tagRe.test(tag);
}

/** Throws `NAME_INVALID` (400) unless `name` is a valid repository name. */
export function checkRepositoryName(name: string): string {
  if (!isValidRepositoryName(name)) {
    throw new DistributionError('NAME_INVALID', { detail: { name } });
  }
  return name;
}

/** A digest this registry can store: sha256 only (the spec's "SHOULD use sha256"). */
export interface Digest {
  algorithm: 'sha256';
  /** Lowercase hex, 64 characters. */
  hex: string;
  /** `sha256:<hex>` */
  value: string;
}

/** True when `s` is a syntactically valid digest of any algorithm. */
export function looksLikeDigest(s: string): boolean {
  return digestRe.test(s);
}

/**
 * Parses a digest, or throws `DIGEST_INVALID` (400): malformed, an algorithm
 * other than sha256, or a sha256 encoding that is not 64 lowercase hex digits
 * (image spec §Digests "sha256").
 */
export function parseDigest(s: string): Digest {
  const m = digestRe.exec(s);
  if (!m) throw new DistributionError('DIGEST_INVALID', { message: `invalid digest: ${s}`, detail: { digest: s } });
  if (m[1] !== 'sha256') {
    throw new DistributionError('DIGEST_INVALID', { message: `unsupported digest algorithm: ${m[1]}`, detail: { digest: s } });
  }
  if (!/^[a-f0-9]{64}$/.test(m[2])) {
    throw new DistributionError('DIGEST_INVALID', { message: `invalid sha256 digest: ${s}`, detail: { digest: s } });
  }
  return { algorithm: 'sha256', hex: m[2], value: s };
}

/** `sha256:<hex>` from a hex string. */
export function sha256Digest(hex: string): Digest {
  return { algorithm: 'sha256', hex, value: `sha256:${hex}` };
}

/** A manifest `<reference>`: a digest or a tag, nothing else (spec §"Pulling manifests"). */
export type ManifestReference = { kind: 'digest'; digest: Digest } | { kind: 'tag'; tag: string };

export function parseManifestReference(ref: string): ManifestReference {
  if (ref.includes(':')) return { kind: 'digest', digest: parseDigest(ref) };
  if (!isValidTag(ref)) {
    throw new DistributionError('MANIFEST_INVALID', { message: `invalid tag: ${ref}`, detail: { tag: ref }, status: 400 });
  }
  return { kind: 'tag', tag: ref };
}
