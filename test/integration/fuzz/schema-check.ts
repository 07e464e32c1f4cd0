/**
 * Whether a record berthd serves back has the API's shape: each present
 * field's JSON type checked against the spec's response schema (integers
 * within int64, arrays, objects, strings, booleans; null is accepted, as
 * Go's encoder writes it for empty slices and maps). A stored record with
 * `Memory: "lots"` inspects with 200 and valid JSON, yet no client can read
 * it: this is what catches that.
 */
import type { Schema, SpecModel } from './spec-model.js';

const INT64 = 2 ** 63;

/** Type mismatches as `path: expected … got …` (at most `max`). */
export function shapeErrors(spec: SpecModel, schema: Schema, value: unknown, path = '', max = 20, out: string[] = []): string[] {
  if (out.length >= max || value === null || value === undefined) return out;
  const s = spec.resolve(schema);
  if (s.allOf) {
    for (const part of s.allOf) shapeErrors(spec, part, value, path, max, out);
    return out;
  }
  const type = s.type ?? (s.properties ? 'object' : s.items ? 'array' : undefined);
  const got = Array.isArray(value) ? 'array' : typeof value;
  const bad = (what: string) => out.push(`${path || '.'}: expected ${what}, got ${got} ${JSON.stringify(value)?.slice(0, 60)}`);
  switch (type) {
    case 'integer':
      if (typeof value !== 'number' || !Number.isInteger(value) || Math.abs(value) >= INT64) bad('an int64');
      break;
    case 'number':
      if (typeof value !== 'number') bad('a number');
      break;
    case 'string':
      if (typeof value !== 'string') bad('a string');
      break;
    case 'boolean':
      if (typeof value !== 'boolean') bad('a boolean');
      break;
    case 'array':
      if (!Array.isArray(value)) bad('an array');
      else if (s.items) value.slice(0, 50).forEach((v, i) => shapeErrors(spec, s.items!, v, `${path}[${i}]`, max, out));
      break;
    case 'object':
      if (got !== 'object') { bad('an object'); break; }
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        const sub = s.properties?.[k] ?? (typeof s.additionalProperties === 'object' ? s.additionalProperties : undefined);
        if (sub) shapeErrors(spec, sub, v, `${path}.${k}`, max, out);
      }
      break;
  }
  return out;
}

/** The spec's schema of each inspect answer. */
export const INSPECT_SCHEMAS = {
  container: 'ContainerInspectResponse',
  image: 'ImageInspect',
  volume: 'Volume',
  network: 'Network',
} as const;
