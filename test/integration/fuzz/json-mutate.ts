/**
 * Breaks a generated JSON value the ways hostile clients do: wrong types,
 * numbers past every integer type, negative values, required fields
 * removed, null in a position or in every position, nesting thousands of
 * levels deep, arrays of a hundred thousand items, unicode, duplicate keys.
 * Duplicate keys and numbers a float cannot hold are not expressible as JS
 * values, so the tree may hold `RawJson` (text emitted as is) and
 * `DupObject` (an object as a list of entries); `toJsonText` writes it all.
 */
import type { Rng } from './rng.js';
import { HUGE_NUMBERS, HUGE_NUMBER_TEXTS, junkString, longString, unicodeString } from './strings.js';

export class RawJson { constructor(readonly text: string) {} }
export class DupObject { constructor(readonly entries: Array<[string, unknown]>) {} }

type Container = Record<string, unknown> | unknown[];

/** Every (parent, key) slot in the tree, for picking a position to mutate. */
function slots(v: unknown, out: Array<{ parent: Container; key: string | number }> = [], depth = 0): Array<{ parent: Container; key: string | number }> {
  if (depth > 12) return out;
  if (Array.isArray(v)) {
    v.forEach((item, i) => { out.push({ parent: v, key: i }); slots(item, out, depth + 1); });
  } else if (v && typeof v === 'object' && !(v instanceof RawJson) && !(v instanceof DupObject)) {
    for (const [k, item] of Object.entries(v)) { out.push({ parent: v as Record<string, unknown>, key: k }); slots(item, out, depth + 1); }
  }
  return out;
}

function wrongType(v: unknown, rng: Rng): unknown {
  const choices: unknown[] = ['5', 5, true, {}, [], [v], { v }, 'x', -1, 0];
  return rng.pick(choices.filter((c) => typeof c !== typeof v || Array.isArray(c) !== Array.isArray(v)));
}

function deep(rng: Rng): RawJson {
  const n = rng.pick([64, 1000, 10_000, 100_000]);
  return rng.chance(0.5) ? new RawJson('['.repeat(n) + ']'.repeat(n)) : new RawJson('{"a":'.repeat(n) + '1' + '}'.repeat(n));
}

function longArray(rng: Rng): unknown[] | RawJson {
  const n = rng.pick([1000, 100_000, 300_000]);
  const item = rng.pick(['"x"', '1', '{}', 'null', '"a=b"']);
  return new RawJson('[' + Array(n).fill(item).join(',') + ']');
}

function nullEverywhere(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(nullEverywhere);
  if (v && typeof v === 'object' && !(v instanceof RawJson) && !(v instanceof DupObject)) {
    return Object.fromEntries(Object.keys(v).map((k) => [k, nullEverywhere((v as Record<string, unknown>)[k])]).map(([k, x]) => [k, x && typeof x === 'object' ? x : null]));
  }
  return null;
}

/** A replacement for one slot's value. */
function mutateValue(v: unknown, rng: Rng): unknown {
  return rng.weighted<() => unknown>([
    [4, () => wrongType(v, rng)],
    [3, () => rng.pick(HUGE_NUMBERS)],
    [2, () => new RawJson(rng.pick(HUGE_NUMBER_TEXTS))],
    [2, () => (typeof v === 'number' ? -Math.abs(v) - 1 : -1)],
    [3, () => null],
    [1, () => deep(rng)],
    [1, () => longArray(rng)],
    [1, () => longString(rng)],
    [2, () => unicodeString(rng)],
    [2, () => junkString(rng)],
    [1, () => ''],
    [1, () => [...(Array.isArray(v) ? v : [v]), ...(Array.isArray(v) ? v : [v])]],
  ])();
}

/** 1–4 mutations of `value` (which it may replace whole); the input is not changed. */
export function mutateJson(value: unknown, rng: Rng): unknown {
  let root: unknown = structuredClone(value);
  const n = rng.weighted([[4, 1], [3, 2], [2, 3], [1, 4]] as const);
  for (let i = 0; i < n; i++) {
    const all = slots(root);
    const op = rng.weighted<string>([
      [6, 'value'], [3, 'delete'], [1, 'dup-keys'], [1, 'null-all'], [1, 'root'], [1, 'extra-key'],
    ]);
    if (op === 'root' || all.length === 0) {
      root = rng.weighted<() => unknown>([
        [3, () => null], [1, () => []], [1, () => 'string'], [1, () => 5], [1, () => ({})], [1, () => [root]], [1, () => mutateValue(root, rng)],
      ])();
      continue;
    }
    if (op === 'null-all') { root = nullEverywhere(root); continue; }
    const slot = rng.pick(all);
    const cur = (slot.parent as Record<string | number, unknown>)[slot.key];
    if (op === 'value') {
      (slot.parent as Record<string | number, unknown>)[slot.key] = mutateValue(cur, rng);
    } else if (op === 'delete') {
      if (Array.isArray(slot.parent)) slot.parent.splice(slot.key as number, 1);
      else delete slot.parent[slot.key as string];
    } else if (op === 'extra-key') {
      if (!Array.isArray(slot.parent)) slot.parent[rng.chance(0.5) ? junkString(rng) : String(slot.key).toLowerCase()] = mutateValue(cur, rng);
    } else if (op === 'dup-keys' && !Array.isArray(slot.parent)) {
      const entries = Object.entries(slot.parent);
      entries.push([slot.key as string, mutateValue(cur, rng)]);
      const owner = slots(root).find((s) => (s.parent as Record<string | number, unknown>)[s.key] === slot.parent);
      if (owner) (owner.parent as Record<string | number, unknown>)[owner.key] = new DupObject(entries);
      else root = new DupObject(entries);
    }
  }
  return root;
}

/** JSON text of a tree that may hold RawJson and DupObject. */
export function toJsonText(v: unknown): string {
  if (v instanceof RawJson) return v.text;
  if (v instanceof DupObject) return '{' + v.entries.map(([k, x]) => `${JSON.stringify(k)}:${toJsonText(x)}`).join(',') + '}';
  if (Array.isArray(v)) return '[' + v.map((x) => (x === undefined ? 'null' : toJsonText(x))).join(',') + ']';
  if (v && typeof v === 'object') {
    return '{' + Object.entries(v).filter(([, x]) => x !== undefined).map(([k, x]) => `${JSON.stringify(k)}:${toJsonText(x)}`).join(',') + '}';
  }
  if (typeof v === 'number' && !Number.isFinite(v)) return 'null';
  return JSON.stringify(v) ?? 'null';
}
