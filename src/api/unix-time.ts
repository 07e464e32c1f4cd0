/**
 * The unix timestamps of query parameters (`since`/`until` of logs and
 * events): seconds, optionally a fraction (`1700000000.5`), as moby's
 * `timestamp.ParseTimestamps` reads them. Each part is a Go int64
 * (`strconv.ParseInt`), refused in Go's words; nothing else is a timestamp:
 * the docker CLI turns dates and durations (`10m`, RFC 3339) into seconds
 * before it sends them, and dockerd parses no other form.
 */
import { InvalidParameterError } from '../errors.js';

const INT64_MAX = (1n << 63n) - 1n;
const INT64_MIN = -(1n << 63n);

/** Go's strconv.ParseInt(part, 10, 64), or its error text. */
function parseInt64(part: string): bigint | string {
  if (!/^[+-]?\d+$/.test(part)) return `strconv.ParseInt: parsing ${JSON.stringify(part)}: invalid syntax`;
  const n = BigInt(part);
  if (n > INT64_MAX || n < INT64_MIN) return `strconv.ParseInt: parsing ${JSON.stringify(part)}: value out of range`;
  return n;
}

/**
 * `v` in nanoseconds since the epoch. `errorPrefix` goes before Go's words
 * in the 400 (logs say `invalid value for "since": `; events nothing).
 */
export function unixTimestampNs(v: string, errorPrefix = ''): bigint {
  const dot = v.indexOf('.');
  const [secText, fracText] = dot < 0 ? [v, undefined] : [v.slice(0, dot), v.slice(dot + 1)];
  const sec = parseInt64(secText);
  if (typeof sec === 'string') throw new InvalidParameterError(errorPrefix + sec);
  if (fracText === undefined) return sec * 1_000_000_000n;
  const frac = parseInt64(fracText);
  if (typeof frac === 'string') throw new InvalidParameterError(errorPrefix + frac);
  // More than nine fraction digits are truncated, as ParseTimestamps scales them.
  const digits = fracText.replace(/^[+-]/, '');
  const ns = BigInt(digits.padEnd(9, '0').slice(0, 9)) * (fracText.startsWith('-') ? -1n : 1n);
  return sec * 1_000_000_000n + ns;
}
