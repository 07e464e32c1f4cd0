/** What every figure gets: the engines, the run counts and where to put files. */
import type { Cleanup } from './cleanup.js';
import type { Engine } from './engines.js';
import type { Floor } from './floor.js';

export interface BenchContext {
  /** Runs per figure for the quick figures (`--runs N`). */
  runs: number;
  /** Runs for the figures that take seconds each (50 containers, builds, push/pull): at most `runs`, at most 5. */
  heavyRuns: number;
  berth: Engine;
  /** The Docker CLI against berthd, when there is a docker CLI. */
  dockerOnBerthd: Engine | null;
  /** dockerd and podman, those present. */
  peers: Engine[];
  /** `runc run` / `crun run` of a prepared bundle. */
  floors: Floor[];
  /** This checkout's bin/berth, for `berth registry serve`. */
  berthBin: string;
  /** A private temporary directory, removed at clean-up. */
  workDir: string;
  cleanup: Cleanup;
  progress(message: string): void;
}
