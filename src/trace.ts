/**
 * Step timings for the hot paths (container start, request handling), off
 * unless berthd runs with BERTH_TRACE=1; then each traced operation prints
 * one line on stderr: `trace start 1f310f26b4c0: mount 3.1 etc 0.4 … = 41.2 ms @1795430000123.4`
 * (the end is the wall-clock time the operation began, in unix ms, to lay
 * several traces and a client's own clock on one timeline).
 * This is how bench/RESULTS.md's breakdown of `run --rm` is measured.
 */
import { performance } from 'node:perf_hooks';

export const TRACING = process.env.BERTH_TRACE === '1';

export interface Trace {
  /** Marks the end of a step named `label` (time since the previous mark). */
  step(label: string): void;
  /** Prints the line (once). */
  end(): void;
}

const NO_TRACE: Trace = { step() {}, end() {} };

/** `@<unix ms>` of a performance.now() reading. */
export function wallClock(t: number): string {
  return `@${(performance.timeOrigin + t).toFixed(1)}`;
}

export function startTrace(what: string): Trace {
  if (!TRACING) return NO_TRACE;
  const t0 = performance.now();
  let last = t0;
  const steps: string[] = [];
  let done = false;
  return {
    step(label) {
      const now = performance.now();
      steps.push(`${label} ${(now - last).toFixed(1)}`);
      last = now;
    },
    end() {
      if (done) return;
      done = true;
      process.stderr.write(`trace ${what}: ${steps.join(' ')} = ${(performance.now() - t0).toFixed(1)} ms ${wallClock(t0)}\n`);
    },
  };
}

/**
 * One point on a timeline: `trace at <what> @<unix ms>`, for flows that
 * span several connections and calls (a build through buildx: the /grpc
 * and /session hijacks, the gateway's calls, the context's DiffCopy, the
 * Status stream), laid on one clock afterwards.
 */
export function traceAt(what: string): void {
  if (TRACING) process.stderr.write(`trace at ${what} ${wallClock(performance.now())}\n`);
}
