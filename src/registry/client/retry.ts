/**
 * Retries for idempotent requests (GET, HEAD, and PUT/DELETE whose body is
 * replayable): a couple of attempts with exponential backoff when the
 * connection failed before an answer (refused, reset, timed out, DNS
 * hiccup) or the registry answered 500/502/503/504, which proxies and
 * overloaded object stores send transiently. 4xx answers are final, and so
 * is 429: retrying into a rate limit (Docker Hub's pull limit) only burns it.
 * Non-idempotent requests (POST, PATCH) are never retried here; the upload
 * flow restarts its own session instead.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { NetworkError, type HttpResponse } from './transport.js';

export interface RetryPolicy {
  /** Attempts after the first. */
  retries: number;
  /** Delay before the first retry; doubled each time. */
  baseDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { retries: 2, baseDelayMs: 250 };

const RETRYABLE_CODES = new Set([
  'ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH',
  'UND_ERR_SOCKET', 'ERR_STREAM_PREMATURE_CLOSE',
]);

export function isRetryableError(err: unknown): boolean {
  return err instanceof NetworkError && err.code !== undefined && RETRYABLE_CODES.has(err.code);
}

export function isRetryableStatus(status: number): boolean {
  return status === 500 || status === 502 || status === 503 || status === 504;
}

/**
 * Runs `attempt` until it gives a response that is not a retryable status,
 * or throws a non-retryable error, or the retries are used up (then the last
 * response or error stands). `onRetry` discards a response being retried.
 */
export async function withRetries<T extends HttpResponse>(
  policy: RetryPolicy,
  attempt: () => Promise<T>,
  onRetry: (res: T) => void,
): Promise<T> {
  for (let n = 0; ; n++) {
    try {
      const res = await attempt();
      if (n >= policy.retries || !isRetryableStatus(res.status)) return res;
      onRetry(res);
    } catch (err) {
      if (n >= policy.retries || !isRetryableError(err)) throw err;
    }
    await sleep(policy.baseDelayMs * 2 ** n);
  }
}
