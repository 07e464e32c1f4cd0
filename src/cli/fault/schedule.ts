/**
 * A nemesis schedule (`berth fault run SCHEDULE`): a timeline of faults
 * against named containers or compose services, in YAML or JSON —
 *
 *   seed: 7                      # repeatable choices (default: random, and printed)
 *   end: 30s                     # optional: how long the run lasts (default: until the last undo)
 *   steps:
 *     - at: 0s                   # from the start of the run
 *       fault: partition         # partition | loss | delay | rate | dns | pause | kill
 *       target: db1              # a container or compose service, or
 *       # target: {oneOf: [db1, db2, db3]}    one of them, chosen with the seed
 *       peers: [db2, db3]        # partition (and loss, optionally)
 *       for: 10s                 # undone after (default: at the end of the run)
 *     - {at: 12s, fault: loss, target: db2, probability: 30%, direction: both, for: 5s}
 *     - {at: 14s, fault: delay, target: db3, delay: 100ms, jitter: 10ms}
 *     - {at: 16s, fault: dns, target: db1, names: [db2]}      # db1's lookups of db2 go unanswered
 *     - {at: 20s, fault: pause, target: db2, for: 3s}         # undone: unpause
 *     - {at: 25s, fault: kill, target: db3, signal: KILL, for: 2s}   # undone: start
 *
 * This module is pure: it checks a schedule and resolves it, with the
 * seed, into a timeline of apply and undo events; fault/run.ts plays it.
 */
import { parse as parseYaml } from 'yaml';
import { StatusError } from '../errors.js';
import { prng } from '../../prng.js';

export type StepKind = 'partition' | 'loss' | 'delay' | 'rate' | 'dns' | 'pause' | 'kill';

export interface Step {
  index: number;
  at: number;
  /** Milliseconds until undone; undefined: at the end of the run. */
  for?: number;
  kind: StepKind;
  target: string;
  /** The fault request body for network faults; the signal for kill. */
  body?: Record<string, unknown>;
  signal?: string;
}

export interface TimelineEvent {
  t: number;
  action: 'apply' | 'undo';
  step: Step;
}

export interface Timeline {
  seed: number;
  end: number;
  events: TimelineEvent[];
}

const KINDS: readonly StepKind[] = ['partition', 'loss', 'delay', 'rate', 'dns', 'pause', 'kill'];

function bad(message: string): never {
  throw new StatusError(1, `invalid schedule: ${message}`);
}

/** `10s`, `250ms`, `2m`, or a number of seconds → milliseconds. */
export function parseDuration(v: unknown, what: string): number {
  if (typeof v === 'number' && v >= 0 && Number.isFinite(v)) return v * 1000;
  const m = typeof v === 'string' ? /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(v) : null;
  if (!m) bad(`${what}: ${JSON.stringify(v)} is not a duration (e.g. 10s, 250ms, 2m)`);
  return Number(m[1]) * (m[2] === 'ms' ? 1 : m[2] === 's' ? 1000 : 60_000);
}

function names(v: unknown, what: string): string[] {
  if (!Array.isArray(v) || !v.length || !v.every((x) => typeof x === 'string' && x !== '')) bad(`${what} must be a list of container or service names`);
  return v;
}

function probability(v: unknown, what: string): number {
  const m = typeof v === 'string' ? /^(\d+(?:\.\d+)?)%$/.exec(v) : null;
  const p = m ? Number(m[1]) / 100 : v;
  if (typeof p !== 'number' || !(p > 0 && p <= 1)) bad(`${what}: probability ${JSON.stringify(v)} must be above 0 and at most 1 (or 100%)`);
  return p;
}

/** Parses a schedule's text (YAML, of which JSON is a part) and resolves it into a timeline. `seed` overrides the file's. */
export function resolveSchedule(text: string, seedOverride?: number): Timeline {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    bad((e as Error).message);
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) bad('a mapping with `steps` (and optionally `seed`, `end`)');
  const o = doc as Record<string, unknown>;
  let seed = seedOverride ?? o.seed;
  if (seed === undefined || seed === null) seed = Math.floor(Math.random() * 2 ** 31);
  if (typeof seed !== 'number' || !Number.isInteger(seed) || seed < 0 || seed >= 2 ** 32) bad(`seed ${JSON.stringify(seed)} must be an integer from 0 to 4294967295`);
  const random = prng(seed);
  if (!Array.isArray(o.steps) || !o.steps.length) bad('`steps` must be a non-empty list');
  const steps = o.steps.map((raw: unknown, index): Step => {
    const what = `step ${index + 1}`;
    if (!raw || typeof raw !== 'object' || Array.isArray(raw)) bad(`${what} must be a mapping`);
    const s = raw as Record<string, unknown>;
    const kind = s.fault as StepKind;
    if (!KINDS.includes(kind)) bad(`${what}: fault ${JSON.stringify(s.fault)} must be one of ${KINDS.join(', ')}`);
    let target: string;
    if (typeof s.target === 'string' && s.target !== '') target = s.target;
    else if (s.target && typeof s.target === 'object' && 'oneOf' in s.target) {
      const among = names((s.target as { oneOf: unknown }).oneOf, `${what}: target.oneOf`);
      target = among[Math.floor(random() * among.length)];
    } else bad(`${what}: target must be a name or {oneOf: [names…]}`);
    const step: Step = { index, at: parseDuration(s.at ?? 0, `${what}: at`), kind, target };
    if (s.for !== undefined) step.for = parseDuration(s.for, `${what}: for`);
    const direction = s.direction === undefined ? {} : { Direction: s.direction };
    switch (kind) {
      case 'partition':
        step.body = { Kind: 'partition', Peers: names(s.peers, `${what}: peers`), ...(s.reject ? { Reject: true } : {}) };
        break;
      case 'loss':
        step.body = { Kind: 'loss', Probability: probability(s.probability, what), ...direction, ...(s.peers ? { Peers: names(s.peers, `${what}: peers`) } : {}) };
        break;
      case 'delay':
        if (typeof s.delay !== 'string') bad(`${what}: delay needs a delay (e.g. 100ms)`);
        step.body = { Kind: 'delay', Delay: s.delay, ...(typeof s.jitter === 'string' ? { Jitter: s.jitter } : {}), ...direction };
        break;
      case 'rate':
        if (typeof s.rate !== 'string') bad(`${what}: rate needs a rate (e.g. 1mbit)`);
        step.body = { Kind: 'rate', Rate: s.rate, ...direction };
        break;
      case 'dns':
        step.body = { Kind: 'dns', Names: names(s.names, `${what}: names`) };
        break;
      case 'kill':
        if (s.signal !== undefined && (typeof s.signal !== 'string' || !/^[A-Z0-9+-]+$/i.test(s.signal))) bad(`${what}: signal ${JSON.stringify(s.signal)}`);
        step.signal = (s.signal as string | undefined) ?? 'KILL';
        break;
      case 'pause':
        break;
    }
    return step;
  });
  const lastUndo = Math.max(...steps.map((s) => s.at + (s.for ?? 0)));
  const end = o.end === undefined ? lastUndo : parseDuration(o.end, 'end');
  const events: TimelineEvent[] = [];
  for (const step of steps) {
    if (step.at > end) continue;
    events.push({ t: step.at, action: 'apply', step });
    events.push({ t: Math.min(end, step.for === undefined ? end : step.at + step.for), action: 'undo', step });
  }
  // In time order; at the same instant undos first (a step may follow another on the same target), then
  // applies, then the undos of steps that last no time at all (after their own apply); by step within each.
  const phase = (e: TimelineEvent) => (e.action === 'apply' ? 1 : e.t === e.step.at ? 2 : 0);
  events.sort((a, b) => a.t - b.t || phase(a) - phase(b) || a.step.index - b.step.index);
  return { seed, end, events };
}

/** What a step does, in a few words, for the event log. */
export function describeStep(s: Step): string {
  const b = s.body ?? {};
  switch (s.kind) {
    case 'partition': return `from ${(b.Peers as string[]).join(',')}${b.Reject ? ' (rejected)' : ''}`;
    case 'loss': return `${+(100 * (b.Probability as number)).toFixed(4)}% ${(b.Direction as string | undefined) ?? 'out'}${b.Peers ? ` to/from ${(b.Peers as string[]).join(',')}` : ''}`;
    case 'delay': return `${b.Delay as string}${b.Jitter ? ` ±${b.Jitter as string}` : ''} ${(b.Direction as string | undefined) ?? 'out'}`;
    case 'rate': return `${b.Rate as string} ${(b.Direction as string | undefined) ?? 'out'}`;
    case 'dns': return `no answer for ${(b.Names as string[]).join(',')}`;
    case 'kill': return `signal ${s.signal}`;
    case 'pause': return '';
  }
}
