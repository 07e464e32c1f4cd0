/**
 * Time limits for tests: every wait in an integration test has a deadline
 * and says what it was waiting for when it runs out.
 */
import { setTimeout as sleep } from 'node:timers/promises';

export class TimeoutError extends Error {
  override name = 'TimeoutError';
}

/** Resolves like `promise`, or rejects with a TimeoutError naming `what` after `ms`. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what = 'operation'): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(`${what} did not finish within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Polls `predicate` (sync or async) every `intervalMs` until it returns a
 * truthy value, and returns that value. Exceptions count as "not yet"; the
 * last one is reported if time runs out.
 */
export async function waitFor<T>(
  predicate: () => T | Promise<T>,
  ms = 10_000,
  what = 'condition',
  intervalMs = 50,
): Promise<NonNullable<T>> {
  const end = Date.now() + ms;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await predicate();
      if (v) return v as NonNullable<T>;
      lastError = undefined;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() >= end) {
      const why = lastError ? `: last error: ${lastError instanceof Error ? lastError.message : String(lastError)}` : '';
      throw new TimeoutError(`waited ${ms} ms for ${what}${why}`);
    }
    await sleep(intervalMs);
  }
}
