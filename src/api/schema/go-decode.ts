/**
 * Decodes a parsed JSON body the way dockerd's Go `encoding/json` decodes it
 * into its request struct, so berth accepts and refuses what dockerd does:
 *
 * - a value of the wrong JSON kind is refused with Go's message,
 *   `json: cannot unmarshal string into Go struct field HostConfig.HostConfig.Memory of type int64`
 *   (the innermost struct's name, then the field path from the body's root;
 *   slice indices and map keys are not part of it, as in Go);
 * - an integer must be whole and fit its Go kind (int64, uint16, …):
 *   otherwise `cannot unmarshal number 1.5 into …`;
 * - keys match struct fields case-insensitively when no exact match exists
 *   (`{"image": "busybox"}` is `Image`), and come out spelled as the spec
 *   spells them, so the engine reads one spelling;
 * - unknown fields are dropped, as Go ignores them, so what is stored holds
 *   only fields of the API's shape;
 * - `null` is allowed everywhere: kept for pointers, slices, maps and
 *   interface{}, and otherwise the zero value (a struct field is left out);
 * - `strslice.StrSlice` fields (Cmd, Entrypoint, Shell) take a string too,
 *   and become a list.
 *
 * The result is a new value; the input is not changed.
 */
import { InvalidParameterError } from '../../errors.js';
import type { BodyTable, GoType } from './body-types.js';

const INT_RANGES: Record<string, [bigint, bigint]> = {
  int: [-(2n ** 63n), 2n ** 63n - 1n],
  int64: [-(2n ** 63n), 2n ** 63n - 1n],
  int32: [-(2n ** 31n), 2n ** 31n - 1n],
  uint: [0n, 2n ** 64n - 1n],
  uint64: [0n, 2n ** 64n - 1n],
  uint32: [0n, 2n ** 32n - 1n],
  uint16: [0n, 2n ** 16n - 1n],
  uint8: [0n, 2n ** 8n - 1n],
};

/** Where in the body the decoder is: the innermost struct and the field path, for Go's error text. */
interface At { struct: string | null; path: string[] }

const LEAVE_UNSET = Symbol('leave unset');

export class GoDecoder {
  constructor(private readonly table: BodyTable) {}

  /** The body `name` decoded from `value`; throws InvalidParameterError with dockerd's wording. */
  decode(name: string, value: unknown): unknown {
    const t = this.table.bodies[name];
    if (!t) throw new Error(`no schema for request body ${name}`);
    // A null body is Go's no-op decode: the zero struct.
    if (value === null) return {};
    return this.value(t, value, { struct: null, path: [] });
  }

  private resolve(t: GoType): GoType {
    if (t.t !== 'ref') return t;
    const d = this.table.defs[t.def];
    return { ...d, ...(t.go ? { go: t.go } : {}), ptr: t.ptr };
  }

  private goName(t: GoType): string {
    switch (t.t) {
      case 'string': return 'string';
      case 'bool': return 'bool';
      case 'float': return 'float64';
      case 'int': return t.go;
      case 'strslice': return 'strslice.StrSlice';
      case 'slice': return t.go ?? `[]${this.goName(t.of)}`;
      case 'map': return `map[string]${this.goName(t.of)}`;
      case 'struct': return t.go;
      case 'ref': return t.go ?? this.table.defs[t.def].go;
      case 'any': return 'interface {}';
    }
  }

  private fail(what: string, t: GoType, at: At): never {
    const into = at.struct !== null && at.path.length
      ? `Go struct field ${at.struct}.${at.path.join('.')}`
      : 'Go value';
    throw new InvalidParameterError(`invalid JSON: json: cannot unmarshal ${what} into ${into} of type ${this.goName(t)}`);
  }

  private value(t0: GoType, v: unknown, at: At): unknown {
    const t = this.resolve(t0);
    if (v === null) {
      if (t.ptr || t.t === 'slice' || t.t === 'map' || t.t === 'any' || t.t === 'strslice') return null;
      return LEAVE_UNSET;
    }
    switch (t.t) {
      case 'any': return v;
      case 'string': if (typeof v !== 'string') this.fail(kindOf(v), t, at); return v;
      case 'bool': if (typeof v !== 'boolean') this.fail(kindOf(v), t, at); return v;
      case 'float': if (typeof v !== 'number') this.fail(kindOf(v), t, at); return v;
      case 'int': {
        if (typeof v !== 'number') this.fail(kindOf(v), t, at);
        const [lo, hi] = INT_RANGES[t.go] ?? INT_RANGES.int64;
        if (!Number.isInteger(v)) this.fail(`number ${v}`, t, at);
        const big = BigInt(v);
        // JSON.parse rounds to a double: int64's maximum literal arrives as 2^63 and is refused,
        // which keeps every stored value one that serialises back into range.
        if (big < lo || big > hi) this.fail(`number ${big}`, t, at);
        return v;
      }
      case 'strslice': {
        if (typeof v === 'string') return [v];
        // StrSlice tries []string, then string, and reports the second failure without a field.
        if (!Array.isArray(v) || v.some((e) => e !== null && typeof e !== 'string')) {
          throw new InvalidParameterError(`invalid JSON: json: cannot unmarshal ${kindOf(v)} into Go value of type string`);
        }
        return v.map((e) => e ?? '');
      }
      case 'slice': {
        if (!Array.isArray(v)) this.fail(kindOf(v), t, at);
        return v.map((e) => { const d = this.value(t.of, e, at); return d === LEAVE_UNSET ? zero(this.resolve(t.of)) : d; });
      }
      case 'map': {
        if (!isObject(v)) this.fail(kindOf(v), t, at);
        const out: Record<string, unknown> = {};
        for (const [k, e] of Object.entries(v)) {
          const d = this.value(t.of, e, at);
          out[k] = d === LEAVE_UNSET ? zero(this.resolve(t.of)) : d;
        }
        return out;
      }
      case 'struct': {
        if (!isObject(v)) this.fail(kindOf(v), t, at);
        const struct = t.go.slice(t.go.lastIndexOf('.') + 1);
        const out: Record<string, unknown> = {};
        for (const [k, e] of Object.entries(v)) {
          const field = fieldFor(t.fields, k);
          if (field === undefined) continue;
          const d = this.value(t.fields[field], e, { struct, path: [...at.path, field] });
          if (d !== LEAVE_UNSET) out[field] = d;
        }
        return out;
      }
      case 'ref': throw new Error('unreachable: refs are resolved');
    }
  }
}

/** Go's field match: the exact name, else the first field equal ignoring case. */
/** Each struct's fields by lower-case name, built once: a body may carry 100,000 unknown keys. */
const foldedFields = new WeakMap<Record<string, GoType>, Map<string, string>>();

function fieldFor(fields: Record<string, GoType>, key: string): string | undefined {
  if (Object.hasOwn(fields, key)) return key;
  let folded = foldedFields.get(fields);
  if (!folded) {
    folded = new Map();
    // Go's decoder prefers the first matching field; so does this (first set wins).
    for (const f of Object.keys(fields)) if (!folded.has(f.toLowerCase())) folded.set(f.toLowerCase(), f);
    foldedFields.set(fields, folded);
  }
  return folded.get(key.toLowerCase());
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The JSON kind as Go's UnmarshalTypeError names it. */
export function kindOf(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  switch (typeof v) {
    case 'string': return 'string';
    case 'number': return 'number';
    case 'boolean': return 'bool';
    default: return 'object';
  }
}

function zero(t: GoType): unknown {
  switch (t.t) {
    case 'string': return '';
    case 'bool': return false;
    case 'float': case 'int': return 0;
    case 'struct': return {};
    default: return null;
  }
}
