/**
 * Byte ranges in both directions.
 *
 * - Uploads: a PATCH chunk's `Content-Range: <start>-<end>` (OCI distribution
 *   spec v1.1 §"Pushing a blob in chunks": inclusive both ends, MUST match
 *   `^[0-9]+-[0-9]+$`; a chunk that does not start right after the last
 *   uploaded byte MUST get 416). The session's progress goes back as
 *   `Range: 0-<end-of-range>`, and Docker's registry writes `0-0` for an empty
 *   session, which clients expect.
 * - Pulls: a blob GET's `Range: bytes=…` (spec §"Pulling blobs": SHOULD support
 *   RFC 9110 §14 range requests).
 */

export interface ChunkRange {
  start: number;
  /** Inclusive. */
  end: number;
}

/**
 * Parses an upload chunk's `Content-Range`. Accepts the spec's `start-end`
 * and, leniently, the RFC 9110 form `bytes start-end/total` some clients send.
 * Returns null when malformed or `end < start`.
 */
export function parseChunkRange(header: string): ChunkRange | null {
  const m = /^\s*(?:bytes[ =])?\s*([0-9]+)-([0-9]+)(?:\/(?:[0-9]+|\*))?\s*$/.exec(header);
  if (!m) return null;
  const start = Number(m[1]);
  const end = Number(m[2]);
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || end < start) return null;
  return { start, end };
}

/** `Range` header value for an upload holding `size` bytes (`0-0` when empty, as docker-registry does). */
export function uploadRangeHeader(size: number): string {
  return `0-${size > 0 ? size - 1 : 0}`;
}

export type ByteRangeRequest =
  | { kind: 'none' }
  | { kind: 'range'; start: number; end: number }
  | { kind: 'unsatisfiable' };

/**
 * Resolves a blob GET's `Range` against a blob of `size` bytes (RFC 9110
 * §14.1.2): `bytes=a-b`, `bytes=a-`, `bytes=-n`. Several ranges or another
 * unit fall back to the whole blob, which RFC 9110 §14.2 allows ("MAY ignore").
 */
export function resolveByteRange(header: string | undefined, size: number): ByteRangeRequest {
  if (!header) return { kind: 'none' };
  const m = /^\s*bytes\s*=\s*([0-9]*)\s*-\s*([0-9]*)\s*$/i.exec(header);
  if (!m || (m[1] === '' && m[2] === '')) return { kind: 'none' };
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'range', start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  let end = m[2] === '' ? size - 1 : Number(m[2]);
  if (m[2] !== '' && end < start) return { kind: 'none' };
  if (start >= size) return { kind: 'unsatisfiable' };
  if (end >= size) end = size - 1;
  return { kind: 'range', start, end };
}
