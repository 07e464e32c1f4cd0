/**
 * The `until` and `label` filters that `container prune` and `image prune`
 * take, read the way dockerd reads them: `until` is a Go duration counted
 * back from now (`24h`), a unix timestamp (`1700000000.5`) or an RFC 3339
 * date; `label=k`, `label=k=v` keep objects that have the label, `label!=…`
 * those that don't.
 */
import { InvalidParameterError } from '../errors.js';
import { parseGoDuration } from '../build/parser/duration.js';
import { matchLabel } from './volumes.js';

export interface PruneFilters {
  /** Only objects created before this time (unix ms). */
  until?: number;
  label: string[];
  notLabel: string[];
}

const ALLOWED = new Set(['until', 'label', 'label!']);

/** A point in time from an `until` value, in unix ms. */
export function filterTime(value: string, nowMs: number = Date.now()): number {
  if (/^\d+(\.\d+)?$/.test(value)) return Math.round(Number(value) * 1000);
  if (/^-?[\d.]+[a-zµ]/.test(value)) {
    try { return nowMs - parseGoDuration(value) / 1e6; } catch { /* not a duration: try a date */ }
  }
  const t = Date.parse(value);
  // dockerd's GetTimestamp words (for a value with a '-', Go's date parser says its own).
  if (Number.isNaN(t)) throw new InvalidParameterError(`failed to parse value as time or duration: ${JSON.stringify(value)}`);
  return t;
}

/** Reads prune filters; `extra` names more keys the caller handles itself (e.g. `dangling`). */
export function pruneFilters(f: Record<string, string[]>, extra: readonly string[] = []): PruneFilters {
  for (const k of Object.keys(f)) {
    if (!ALLOWED.has(k) && !extra.includes(k)) throw new InvalidParameterError(`invalid filter '${k}'`);
  }
  const untils = f.until ?? [];
  if (untils.length > 1) throw new InvalidParameterError('more than one until filter specified');
  return {
    until: untils.length ? filterTime(untils[0]) : undefined,
    label: f.label ?? [],
    notLabel: f['label!'] ?? [],
  };
}

/** Whether an object created at `createdMs` with `labels` is one the filters let prune take. */
export function prunable(f: PruneFilters, createdMs: number, labels: Record<string, string> | null | undefined): boolean {
  if (f.until !== undefined && !(createdMs < f.until)) return false;
  if (!f.label.every((s) => matchLabel(labels, s))) return false;
  if (f.notLabel.some((s) => matchLabel(labels, s))) return false;
  return true;
}
