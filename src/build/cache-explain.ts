/**
 * Why a build step missed the cache, in one line a user can act on.
 *
 * The builder compares the step with the nearest step it ran before:
 * 1. one with the same parent image and instruction kind (the previous build
 *    of this very step, usually): the first input that differs is the
 *    reason — a file (and whether its content, mode or owner changed, or it
 *    was added or removed), a build arg, an ENV value, the command…;
 * 2. failing that, one with the same instruction as written: the parent
 *    differs, because the stage's base image changed (both digests named) or
 *    because an earlier step was rebuilt;
 * 3. failing that: the step was never built here.
 *
 * Values of build args are never printed (they may hold secrets); their
 * names are.
 */
import type { FileInput, StepInputs } from './cache-key.js';
import { sortFiles } from './cache-key.js';

export type MissReason =
  | 'no-cache' | 'new' | 'removed' | 'base' | 'parent' | 'file' | 'files' | 'build-arg' | 'env' | 'command'
  | 'instruction' | 'user' | 'workdir' | 'shell' | 'network' | 'source-date-epoch' | 'platform'
  | 'cache-from';

export type FileChange = 'content' | 'mode' | 'owner' | 'type' | 'added' | 'removed';

/** A cache miss as it travels in the JSON stream (`{"aux":{"cacheMiss":…}}`). */
export interface CacheMiss {
  reason: MissReason;
  /** The sentence printed after ` ---> Cache miss: `. */
  message: string;
  /** `file`: the source path that differs. */
  path?: string;
  /** `file`: what differs about it. */
  changes?: FileChange[];
  /** `build-arg`, `env`: the variable's name. */
  name?: string;
  /** `base`: the image IDs; `instruction`: the texts. */
  previous?: string;
  current?: string;
}

/** What the builder knows about a step besides its keyed inputs. */
export interface StepContext {
  /** The instruction as written in the Dockerfile. */
  original: string;
  /** The stage's base image ID ('' for scratch) and reference as written. */
  base: string;
  baseRef: string;
  /** COPY/ADD: the files, when the list was small enough to keep. */
  files?: FileInput[];
}

export interface PreviousStep {
  parent: string;
  inputs: StepInputs;
  context: StepContext;
}

function short(id: string): string {
  return id ? id.replace(/^sha256:/, '').slice(0, 12) : 'scratch';
}

function kv(list: readonly string[] | undefined): Map<string, string> {
  const m = new Map<string, string>();
  for (const e of list ?? []) {
    const i = e.indexOf('=');
    m.set(i < 0 ? e : e.slice(0, i), i < 0 ? '' : e.slice(i + 1));
  }
  return m;
}

function sameList(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

/** The first variable whose value differs between two maps (names in byte order). */
function firstDifference(prev: Map<string, string>, cur: Map<string, string>): { name: string; how: 'changed' | 'added' | 'removed' } | undefined {
  const names = [...new Set([...prev.keys(), ...cur.keys()])].sort();
  for (const name of names) {
    const p = prev.get(name);
    const c = cur.get(name);
    if (p === c) continue;
    return { name, how: p === undefined ? 'added' : c === undefined ? 'removed' : 'changed' };
  }
  return undefined;
}

function fileChanges(p: FileInput, c: FileInput): FileChange[] {
  const out: FileChange[] = [];
  if (p.type !== c.type) return ['type'];
  if (p.digest !== c.digest) out.push('content');
  if (p.mode !== c.mode) out.push('mode');
  if (p.uid !== c.uid || p.gid !== c.gid) out.push('owner');
  return out;
}

/** The first file (in path order) that differs between two file lists. */
export function diffFiles(prev: readonly FileInput[], cur: readonly FileInput[]): CacheMiss | undefined {
  const a = sortFiles(prev);
  const b = sortFiles(cur);
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const p = a[i];
    const c = b[j];
    const cmp = !p ? 1 : !c ? -1 : Buffer.compare(Buffer.from(p.path), Buffer.from(c.path));
    if (cmp < 0) return { reason: 'file', path: p.path, changes: ['removed'], message: `file ${p.path} removed` };
    if (cmp > 0) return { reason: 'file', path: c.path, changes: ['added'], message: `file ${c.path} added` };
    const changes = fileChanges(p, c);
    if (changes.length) {
      return { reason: 'file', path: c.path, changes, message: `file ${c.path} changed (${changes.join(', ')})` };
    }
    i++;
    j++;
  }
  return undefined;
}

/** The first input that differs between a step and an earlier one with the same parent. */
export function diffStepInputs(prev: StepInputs, cur: StepInputs, prevFiles?: readonly FileInput[], curFiles?: readonly FileInput[]): CacheMiss | undefined {
  if (prev.sourceDateEpoch !== cur.sourceDateEpoch) {
    return { reason: 'source-date-epoch', message: `SOURCE_DATE_EPOCH changed (${prev.sourceDateEpoch ?? 'unset'} → ${cur.sourceDateEpoch ?? 'unset'})` };
  }
  if (prev.platform !== cur.platform) return { reason: 'platform', message: `platform changed (${prev.platform} → ${cur.platform})` };
  if (prev.kind !== cur.kind) {
    return { reason: 'instruction', message: `instruction changed (was ${prev.instruction})`, previous: prev.instruction, current: cur.instruction };
  }
  const args = firstDifference(new Map(Object.entries(prev.buildArgs ?? {})), new Map(Object.entries(cur.buildArgs ?? {})));
  if (args) {
    const what = args.how === 'changed' ? 'changed' : args.how === 'added' ? 'is now set' : 'is no longer set';
    return { reason: 'build-arg', name: args.name, message: `build arg ${args.name} ${what}` };
  }
  if (!sameList(prev.command, cur.command) || prev.script !== cur.script) {
    return { reason: 'command', message: `command changed (was ${prev.instruction})`, previous: prev.instruction, current: cur.instruction };
  }
  const env = firstDifference(kv(prev.env), kv(cur.env));
  if (env) return { reason: 'env', name: env.name, message: `environment variable ${env.name} ${env.how === 'changed' ? 'changed' : env.how === 'added' ? 'is now set' : 'is no longer set'}` };
  if ((prev.user ?? '') !== (cur.user ?? '')) return { reason: 'user', message: `user changed (${prev.user || 'root'} → ${cur.user || 'root'})` };
  if ((prev.workdir ?? '') !== (cur.workdir ?? '')) return { reason: 'workdir', message: `working directory changed (${prev.workdir || '/'} → ${cur.workdir || '/'})` };
  if (!sameList(prev.shell, cur.shell)) return { reason: 'shell', message: 'SHELL changed' };
  if ((prev.network ?? '') !== (cur.network ?? '')) return { reason: 'network', message: `network mode changed (${prev.network} → ${cur.network})` };
  if (prev.instruction !== cur.instruction) {
    return { reason: 'instruction', message: `instruction changed (was ${prev.instruction})`, previous: prev.instruction, current: cur.instruction };
  }
  if (prev.filesDigest !== cur.filesDigest) {
    const f = prevFiles && curFiles ? diffFiles(prevFiles, curFiles) : undefined;
    return f ?? { reason: 'files', message: 'the copied files changed' };
  }
  return undefined;
}

/**
 * Explains a miss of step `cur` (parent `parent`) from the nearest earlier
 * steps: `sameParent` (same parent and kind) and `sameInstruction` (same
 * instruction as written, any parent).
 */
export function explainMiss(
  cur: { parent: string; inputs: StepInputs; context: StepContext },
  near: { sameParent?: PreviousStep; sameInstruction?: PreviousStep },
): CacheMiss {
  const sp = near.sameParent;
  if (sp) {
    const d = diffStepInputs(sp.inputs, cur.inputs, sp.context.files, cur.context.files);
    if (d) return d;
    return { reason: 'removed', message: 'the image this step built before was removed' };
  }
  const si = near.sameInstruction;
  if (si) {
    if (si.context.baseRef !== cur.context.baseRef) {
      return {
        reason: 'base', previous: si.context.base, current: cur.context.base,
        message: `base image changed (${si.context.baseRef || 'scratch'} → ${cur.context.baseRef || 'scratch'})`,
      };
    }
    if (si.context.base !== cur.context.base) {
      return {
        reason: 'base', previous: si.context.base, current: cur.context.base,
        message: `base image ${cur.context.baseRef} changed (${short(si.context.base)} → ${short(cur.context.base)})`,
      };
    }
    return { reason: 'parent', previous: si.parent, current: cur.parent, message: `an earlier step changed (parent ${short(cur.parent)} is new)` };
  }
  return { reason: 'new', message: 'not built before' };
}
