/**
 * Commands over several containers (stop, kill, rm, pause…) act on all of
 * them at once and report in argument order, like Docker's
 * parallelOperation: each success prints the name as given, the errors are
 * printed together at the end and make the exit status 1.
 */
import type { CliContext } from '../context.js';
import { StatusError } from '../errors.js';

const MAX_PARALLEL = 50;

export async function forEachParallel<T>(names: readonly string[], op: (name: string) => Promise<T>): Promise<PromiseSettledResult<T>[]> {
  const results: PromiseSettledResult<T>[] = new Array(names.length);
  let next = 0;
  const worker = async () => {
    while (next < names.length) {
      const i = next++;
      try {
        results[i] = { status: 'fulfilled', value: await op(names[i]) };
      } catch (e) {
        results[i] = { status: 'rejected', reason: e };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(MAX_PARALLEL, names.length) }, worker));
  return results;
}

/** Runs `op` for every name, prints each success's name, throws the joined errors. */
export async function runForEach(ctx: CliContext, names: readonly string[], op: (name: string) => Promise<void>, opts: { ignore?: (e: unknown) => boolean } = {}): Promise<void> {
  const results = await forEachParallel(names, op);
  const errors: string[] = [];
  results.forEach((r, i) => {
    if (r.status === 'fulfilled') {
      ctx.out.write(`${names[i]}\n`);
    } else if (opts.ignore?.(r.reason)) {
      ctx.err.write(`${(r.reason as Error).message}\n`);
    } else {
      errors.push((r.reason as Error).message);
    }
  });
  if (errors.length) throw new StatusError(1, errors.join('\n'));
}
