/**
 * Values generated from the spec's schemas: objects with a random subset
 * of their properties (the required ones always), arrays of a few items,
 * enums, the spec's own examples, and strings and numbers from the hostile
 * sets. The result is mostly well-typed; json-mutate.ts then breaks it.
 * `hints` supply real names for properties whose value must name something
 * that exists (Image, Container, a network) for the request to get past
 * the first lookup.
 */
import type { Rng } from './rng.js';
import type { Schema, SpecModel } from './spec-model.js';
import { HUGE_NUMBERS, junkString } from './strings.js';

export type Hints = (property: string, rng: Rng) => unknown | undefined;

const MAX_DEPTH = 7;

export function generate(spec: SpecModel, schema: Schema, rng: Rng, hints: Hints, depth = 0, prop = ''): unknown {
  const s = spec.resolve(schema);
  if (prop) {
    const h = rng.chance(0.7) ? hints(prop, rng) : undefined;
    if (h !== undefined) return h;
  }
  if (s.example !== undefined && rng.chance(depth === 0 ? 0.3 : 0.15)) return structuredClone(s.example);
  if (s.enum?.length && rng.chance(0.9)) return rng.pick(s.enum);
  if (s.allOf) {
    const out: Record<string, unknown> = {};
    for (const part of s.allOf) {
      const v = generate(spec, part, rng, hints, depth, '');
      if (v && typeof v === 'object' && !Array.isArray(v)) Object.assign(out, v);
    }
    return out;
  }
  if (depth > MAX_DEPTH) return null;
  const type = s.type ?? (s.properties ? 'object' : s.items ? 'array' : undefined);
  switch (type) {
    case 'object': {
      const out: Record<string, unknown> = {};
      const required = new Set(s.required ?? []);
      const keep = rng.pick([0.2, 0.5, 0.9]);
      for (const [k, sub] of Object.entries(s.properties ?? {})) {
        if (required.has(k) || rng.chance(keep)) out[k] = generate(spec, sub, rng, hints, depth + 1, k);
      }
      if (s.additionalProperties && typeof s.additionalProperties === 'object') {
        const n = rng.int(0, 3);
        for (let i = 0; i < n; i++) out[rng.chance(0.7) ? rng.alnum(rng.int(1, 10)) : junkString(rng)] = generate(spec, s.additionalProperties, rng, hints, depth + 1, '');
      }
      return out;
    }
    case 'array': {
      const n = rng.weighted([[3, 0], [5, 1], [3, 2], [1, 5]] as const);
      const out: unknown[] = [];
      for (let i = 0; i < n; i++) out.push(generate(spec, s.items ?? {}, rng, hints, depth + 1, prop));
      return out;
    }
    case 'string':
      return rng.chance(0.5) ? rng.alnum(rng.int(1, 12)) : junkString(rng);
    case 'integer':
    case 'number': {
      const lo = s.minimum ?? 0;
      const hi = s.maximum ?? 1000;
      return rng.weighted<() => number>([
        [5, () => rng.int(Math.max(lo, -1000), Math.min(hi, 1_000_000))],
        [2, () => rng.pick(HUGE_NUMBERS)],
        [1, () => 0],
      ])();
    }
    case 'boolean':
      return rng.chance(0.5);
    default:
      return rng.pick<unknown>([null, 1, 'x', true, {}, []]);
  }
}
