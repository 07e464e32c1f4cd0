/**
 * The pull's integrity check: every blob is hashed as it streams by and
 * compared with the digest (and size) its descriptor promised, before any of
 * it is committed. OCI image-spec v1.1 `descriptor.md`: "Before using the
 * content, implementations MUST verify … the digest" and the size ("an
 * implementation SHOULD verify that the size … matches"). Docker refuses a
 * layer whose bytes do not hash to its digest ("filesystem layer
 * verification failed for digest …"); berth says what it expected and got.
 *
 * The size is checked as bytes arrive: a body longer than promised fails at
 * once instead of after the whole (possibly endless) stream was read.
 */
import crypto from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { SystemError } from '../../errors.js';
import { parseDigest } from './digest.js';

/** A blob whose bytes are not what its descriptor says. */
export class VerificationError extends SystemError {
  readonly expected: string;
  readonly actual: string;
  constructor(what: 'digest' | 'size', expected: string, actual: string) {
    super(`failed to verify blob: ${what} mismatch: expected ${expected}, got ${actual}`);
    this.expected = expected;
    this.actual = actual;
  }
}

export interface VerifyingStream extends Transform {
  /** The digest of what went through, once the stream has ended. */
  readonly digest: string | undefined;
  /** Bytes passed through so far. */
  readonly bytes: number;
}

const sizeText = (n: number) => `${n} bytes`;

/**
 * A pass-through Transform that hashes the bytes and, at the end, errors
 * with {@link VerificationError} when the digest or size differ. Throws
 * InvalidParameterError at once for a malformed `expectedDigest`.
 */
export function verifyingStream(expectedDigest: string, expectedSize?: number): VerifyingStream {
  const { algorithm } = parseDigest(expectedDigest);
  const hash = crypto.createHash(algorithm);
  let bytes = 0;
  let digest: string | undefined;
  const stream = new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback) {
      bytes += chunk.length;
      if (expectedSize !== undefined && bytes > expectedSize) {
        done(new VerificationError('size', sizeText(expectedSize), `at least ${sizeText(bytes)}`));
        return;
      }
      hash.update(chunk);
      done(null, chunk);
    },
    flush(done: TransformCallback) {
      digest = `${algorithm}:${hash.digest('hex')}`;
      if (expectedSize !== undefined && bytes !== expectedSize) {
        done(new VerificationError('size', sizeText(expectedSize), sizeText(bytes)));
      } else if (digest !== expectedDigest) {
        done(new VerificationError('digest', expectedDigest, digest));
      } else {
        done();
      }
    },
  });
  Object.defineProperties(stream, {
    digest: { get: () => digest },
    bytes: { get: () => bytes },
  });
  return stream as VerifyingStream;
}
