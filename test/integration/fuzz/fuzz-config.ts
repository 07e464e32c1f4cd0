/**
 * How long the fuzzers run and with which seed. CI runs ~45 s of fuzzing
 * in all (split between the API and the archive fuzzer); by hand,
 * `BERTH_FUZZ_SECONDS=600` runs longer and `BERTH_FUZZ_SEED=<n>` replays a
 * run whose seed was printed at its start.
 */
import { newSeed } from './rng.js';

export interface FuzzConfig {
  seed: number;
  /** Seconds of fuzzing for this file (its share of BERTH_FUZZ_SECONDS). */
  seconds: number;
}

const DEFAULT_TOTAL_SECONDS = 45;

/** `share` is this file's part of the total budget (the API fuzzer 0.6, the archive fuzzer 0.4). */
export function fuzzConfig(name: string, share: number): FuzzConfig {
  const total = Number(process.env.BERTH_FUZZ_SECONDS ?? DEFAULT_TOTAL_SECONDS);
  if (!Number.isFinite(total) || total <= 0) throw new Error(`BERTH_FUZZ_SECONDS must be a positive number, not ${process.env.BERTH_FUZZ_SECONDS}`);
  const given = process.env.BERTH_FUZZ_SEED;
  const seed = given !== undefined ? Number(given) >>> 0 : newSeed();
  if (given !== undefined && !/^\d+$/.test(given)) throw new Error(`BERTH_FUZZ_SEED must be a non-negative integer, not ${given}`);
  const seconds = total * share;
  process.stderr.write(`# ${name}: seed ${seed}, ${seconds.toFixed(0)} s (replay: BERTH_FUZZ_SEED=${seed} BERTH_FUZZ_SECONDS=${total})\n`);
  return { seed, seconds };
}
