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
import crypto from 'node:crypto';
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

/**
 * The digest algorithms the OCI image spec registers (descriptor.md,
 * "Registered algorithms"), with the length of their lowercase hex
 * encoding. Every one is accepted wherever a digest appears; any other is
 * refused with DIGEST_INVALID before it names a file.
 */
const ALGORITHMS = { sha256: 64, sha512: 128 } as const;

export type DigestAlgorithm = keyof typeof ALGORITHMS;

/** A digest this registry can store and verify. */
export interface Digest {
  algorithm: DigestAlgorithm;
  /** Lowercase hex, as long as the algorithm's output (64 for sha256, 128 for sha512). */
  hex: string;
  /** `<algorithm>:<hex>` */
  value: string;
}

function isAlgorithm(a: string): a is DigestAlgorithm {
  return Object.prototype.hasOwnProperty.call(ALGORITHMS, a);
}

/** True when `s` is a syntactically valid digest of any algorithm. */
export function looksLikeDigest(s: string): boolean {
  return digestRe.test(s);
}

/**
 * Parses a digest, or throws `DIGEST_INVALID` (400): malformed, an algorithm
 * the image spec does not register, or an encoding that is not exactly the
 * algorithm's length in lowercase hex (image spec §Digests: "sha256",
 * "sha512"). What passes is safe as a file name.
 */
export function parseDigest(s: string): Digest {
  const m = digestRe.exec(s);
  if (!m) throw new DistributionError('DIGEST_INVALID', { message: `invalid digest: ${s}`, detail: { digest: s } });
  const algorithm = m[1];
  if (!isAlgorithm(algorithm)) {
    throw new DistributionError('DIGEST_INVALID', { message: `unsupported digest algorithm: ${algorithm}`, detail: { digest: s } });
  }
  if (m[2].length !== ALGORITHMS[algorithm] || !/^[a-f0-9]+$/.test(m[2])) {
    throw new DistributionError('DIGEST_INVALID', { message: `invalid ${algorithm} digest: ${s}`, detail: { digest: s } });
  }
  return { algorithm, hex: m[2], value: s };
}

/** `<algorithm>:<hex>` from a hex string the caller computed. */
export function digestOf(algorithm: DigestAlgorithm, hex: string): Digest {
  return { algorithm, hex, value: `${algorithm}:${hex}` };
}

/** `sha256:<hex>` from a hex string. */
export function sha256Digest(hex: string): Digest {
  return digestOf('sha256', hex);
}

/** The digest of `bytes` under `algorithm`. */
export function hashBytes(algorithm: DigestAlgorithm, bytes: Uint8Array): Digest {
  return digestOf(algorithm, crypto.createHash(algorithm).update(bytes).digest('hex'));
}

/**
 * A digest's file name in a repository's link directories (`layout.ts`):
 * the bare hex for sha256, as stores always had it, `<algorithm>-<hex>` for
 * the others, so no two digests share a name.
 */
export function digestFileName(d: Digest): string {
  return d.algorithm === 'sha256' ? d.hex : `${d.algorithm}-${d.hex}`;
}

/** The digest a link file is named after; undefined for any other file. */
export function digestFromFileName(name: string): Digest | undefined {
  const dash = name.indexOf('-');
  const value = dash < 0 ? `sha256:${name}` : `${name.slice(0, dash)}:${name.slice(dash + 1)}`;
  try {
    const d = parseDigest(value);
    return digestFileName(d) === name ? d : undefined;
  } catch {
    return undefined;
  }
}

/** The digest of a blob file named `hex` in the `blobs/<algorithm>/` directory; undefined for any other file. */
export function digestFromBlobName(algorithm: DigestAlgorithm, hex: string): Digest | undefined {
  return hex.length === ALGORITHMS[algorithm] && /^[a-f0-9]+$/.test(hex) ? digestOf(algorithm, hex) : undefined;
}

/** Every registered algorithm. */
export const DIGEST_ALGORITHMS = Object.keys(ALGORITHMS) as DigestAlgorithm[];

/** A manifest `<reference>`: a digest or a tag, nothing else (spec §"Pulling manifests"). */
export type ManifestReference = { kind: 'digest'; digest: Digest } | { kind: 'tag'; tag: string };

export function parseManifestReference(ref: string): ManifestReference {
  if (ref.includes(':')) return { kind: 'digest', digest: parseDigest(ref) };
  if (!isValidTag(ref)) {
    throw new DistributionError('MANIFEST_INVALID', { message: `invalid tag: ${ref}`, detail: { tag: ref }, status: 400 });
  }
  return { kind: 'tag', tag: ref };
}
