/**
 * `--since` / `--until` values for logs and events, converted on the client
 * as Docker's `timetypes.GetTimestamp` does: a Go duration (`10m`) counts back
 * from now, RFC 3339 or date forms become `seconds.nanoseconds`, and a unix
 * timestamp (`1700000000`, `1700000000.5`) is passed through unchanged.
 */
import { parseGoDuration } from './units.js';

function pad9(n: number): string {
  return String(n).padStart(9, '0');
}

/** Parses the RFC 3339-like forms Docker accepts; undefined when the text is no such time. */
function parseTime(value: string, now: Date): { seconds: number; nanos: number } | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2})(?::(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?)?(Z|z|[+-]\d{2}:\d{2})?$/.exec(value);
  if (!m) return undefined;
  const [, y, mo, d, h = '00', mi = '00', s = '00', frac = '', zone] = m;
  const nanos = frac ? Number((frac + '000000000').slice(0, 9)) : 0;
  let ms: number;
  if (zone) {
    const off = /^[Zz]$/.test(zone) ? 'Z' : zone;
    ms = Date.parse(`${y}-${mo}-${d}T${h}:${mi}:${s}${off}`);
  } else {
    // In the local zone of the reference time, like Go's ParseInLocation with time.Local.
    ms = new Date(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)).getTime();
    void now;
  }
  if (Number.isNaN(ms)) return undefined;
  return { seconds: Math.floor(ms / 1000), nanos };
}

export function getTimestamp(value: string, now: Date = new Date()): string {
  if (value !== '0') {
    try {
      const d = parseGoDuration(value);
      return String(Math.floor((now.getTime() - d / 1e6) / 1000));
    } catch { /* not a duration */ }
  }
  const t = parseTime(value, now);
  if (t) return `${t.seconds}.${pad9(t.nanos)}`;
  if (value.includes('-')) throw new Error(`parsing time ${JSON.stringify(value)}: cannot parse as RFC 3339`);
  if (!/^\d+(\.\d{1,9})?$/.test(value)) throw new Error(`failed to parse value as time or duration: ${JSON.stringify(value)}`);
  return value;
}
