/**
 * Content digests as descriptors carry them (OCI image-spec v1.1
 * `descriptor.md` §"Digests"): `algorithm ":" encoded`, where the registered
 * algorithms are sha256 (64 lowercase hex) and sha512 (128); go-digest, and
 * so Docker, also accepts sha384. A digest names the exact bytes, so nothing
 * is re-serialised before hashing (fact sheet §3.3).
 */
import crypto from 'node:crypto';
import { InvalidParameterError } from '../../errors.js';

export type DigestAlgorithm = 'sha256' | 'sha384' | 'sha512';

const HEX_LENGTH: Record<DigestAlgorithm, number> = { sha256: 64, sha384: 96, sha512: 128 };

export interface ParsedDigest {
  algorithm: DigestAlgorithm;
  hex: string;
}

/** Parses a digest berth can verify; InvalidParameterError otherwise. */
export function parseDigest(digest: string): ParsedDigest {
  const m = /^([a-z0-9]+):([a-f0-9]+)$/.exec(digest);
  const algorithm = m?.[1] as DigestAlgorithm | undefined;
  if (!m || !algorithm || !(algorithm in HEX_LENGTH)) {
    throw new InvalidParameterError(`invalid digest format: ${digest}`);
  }
  if (m[2].length !== HEX_LENGTH[algorithm]) throw new InvalidParameterError(`invalid checksum digest length: ${digest}`);
  return { algorithm, hex: m[2] };
}

export function isDigest(s: string): boolean {
  try {
    parseDigest(s);
    return true;
  } catch {
    return false;
  }
}

/** `sha256:<hex>` (or another algorithm) of `bytes`. */
export function digestOf(bytes: Buffer | string, algorithm: DigestAlgorithm = 'sha256'): string {
  return `${algorithm}:${crypto.createHash(algorithm).update(bytes).digest('hex')}`;
}
