/**
 * `--filter key=value` (repeatable) → the API's `filters` query parameter,
 * `{"key":{"value":true}}`, as docker's filters.ParseFlag / ToJSON build it.
 */
import type { FlagSpec } from '../flags.js';

export function validateFilter(arg: string): string {
  if (!arg.includes('=')) throw new Error('bad format of filter (expected name=value)');
  return arg;
}

/** `-f, --filter`; prune commands keep `-f` for `--force` and pass `short: false`. */
export function filterFlag(usage: string, short = true): FlagSpec {
  return { name: 'filter', short: short ? 'f' : undefined, kind: 'list', varname: 'filter', usage, parse: validateFilter };
}

export type Filters = Record<string, Record<string, boolean>>;

export function parseFilters(args: readonly string[]): Filters {
  const f: Filters = {};
  for (const a of args) {
    const eq = a.indexOf('=');
    const name = a.slice(0, eq).trim().toLowerCase();
    const value = a.slice(eq + 1).trim();
    (f[name] ??= {})[value] = true;
  }
  return f;
}

/** The query value, keys sorted like Go's map encoding; undefined when there are none. */
export function filtersJson(f: Filters): string | undefined {
  const keys = Object.keys(f).sort();
  if (keys.length === 0) return undefined;
  const sorted: Filters = {};
  for (const k of keys) {
    sorted[k] = {};
    for (const v of Object.keys(f[k]).sort()) sorted[k][v] = true;
  }
  return JSON.stringify(sorted);
}

export function filtersQuery(args: readonly string[]): string | undefined {
  return filtersJson(parseFilters(args));
}
