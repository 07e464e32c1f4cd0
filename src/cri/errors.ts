/**
 * Errors that carry a CRI-specific gRPC status, where berth's error kinds
 * (src/errors.ts) have no match: a name already reserved is ALREADY_EXISTS,
 * which kubelet tells apart from a failed precondition.
 */
import grpc from '@grpc/grpc-js';

export class CriError extends Error {
  constructor(readonly code: grpc.status, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CriError';
  }
}

export function alreadyExists(message: string): CriError {
  return new CriError(grpc.status.ALREADY_EXISTS, message);
}
