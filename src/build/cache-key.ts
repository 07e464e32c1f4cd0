/**
 * Build cache keys. A step is reused when the image it starts from (its
 * parent) and its inputs are the same:
 *
 * - RUN: the command (after the stage's SHELL), the environment, the build
 *   args in scope with their values (Docker's classic builder puts them in
 *   the key as `|N A=x B=y`; predefined proxy args only when declared), the
 *   user, working directory and network mode;
 * - COPY/ADD: the instruction (destination, --chown, --chmod…) and a digest
 *   over the files it takes: their paths, content sha256, mode and owner as
 *   they will be written (after --chown/--chmod) — never their mtimes, so
 *   touching a file without changing it still hits;
 * - every other instruction: its text after substitution, plus the build
 *   args it substituted.
 *
 * Every key also holds SOURCE_DATE_EPOCH (it changes the timestamps of the
 * result) and the platform. `StepInputs` is also what a miss is explained
 * from (cache-explain.ts), so it is stored next to the key.
 */
import { createHash } from 'node:crypto';

/** One file a COPY/ADD takes, as the cache sees it. */
export interface FileInput {
  /** The source path as the instruction reaches it (`app/main.c`; for a directory source, below it). */
  path: string;
  type: 'file' | 'dir' | 'symlink' | 'other';
  /** sha256 hex of a file's content, a symlink's target, a device's numbers. */
  digest?: string;
  /** Permission bits as written (after --chmod). */
  mode: number;
  /** Owner as written (after --chown). */
  uid: number;
  gid: number;
}

export interface StepInputs {
  /** Instruction name: RUN, COPY, ENV… */
  kind: string;
  /** The instruction after substitution (without the values of build args a RUN sees). */
  instruction: string;
  /** RUN: the argv that runs. */
  command?: string[];
  /** RUN with a `#!` heredoc: the script. */
  script?: string;
  /** RUN: the environment from ENV (Config.Env). */
  env?: string[];
  /** Build args in the key with their values: for RUN those in scope, for other steps those substituted. */
  buildArgs?: Record<string, string>;
  user?: string;
  workdir?: string;
  shell?: string[];
  network?: string;
  /** COPY/ADD: sha256 over the file list (see `filesDigest`). */
  filesDigest?: string;
  fileCount?: number;
  /** SOURCE_DATE_EPOCH in seconds, or null. */
  sourceDateEpoch: number | null;
  /** os/arch the step builds for. */
  platform: string;
}

/** Version of the key derivation: bump it and every old entry misses. */
const KEY_VERSION = 'berth-build-cache-v1';

/** JSON with object keys sorted at every level and undefined members dropped. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) {
      const x = (v as Record<string, unknown>)[k];
      if (x !== undefined) out[k] = sortKeys(x);
    }
    return out;
  }
  return v;
}

/** The cache key of a step: sha256 over the parent image ID and the inputs. */
export function stepKey(parentImageId: string, inputs: StepInputs): string {
  const h = createHash('sha256');
  h.update(`${KEY_VERSION}\n${parentImageId}\n${canonicalJson(inputs)}`);
  return 'sha256:' + h.digest('hex');
}

/** Files in path order (byte order), the order the digest and the explanations use. */
export function sortFiles(files: readonly FileInput[]): FileInput[] {
  return [...files].sort((a, b) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path)));
}

/** sha256 over the file list: one canonical JSON line per file, in path order. */
export function filesDigest(files: readonly FileInput[]): string {
  const h = createHash('sha256');
  for (const f of sortFiles(files)) h.update(canonicalJson(f) + '\n');
  return 'sha256:' + h.digest('hex');
}
