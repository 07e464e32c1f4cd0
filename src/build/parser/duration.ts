/**
 * Go duration strings (`30s`, `1m30s`, `1.5h`, `250ms`) as HEALTHCHECK flags
 * take them: Docker reads them with Go's `time.ParseDuration`, so berth
 * accepts exactly that grammar — an optional sign, then one or more
 * `<number><unit>` with units ns, us (µs, μs), ms, s, m, h; a bare `0` is
 * allowed — and reports Go's messages (`time: missing unit in duration "30"`).
 * Values are nanoseconds, the unit of the image config's Healthcheck fields.
 */
import { InvalidParameterError } from '../../errors.js';
import { quoted } from './errors.js';

const UNIT_NS: Readonly<Record<string, bigint>> = {
  ns: 1n,
  us: 1_000n,
  'µs': 1_000n, // U+00B5 micro sign
  'μs': 1_000n, // U+03BC Greek mu
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};
const MAX_NS = (1n << 63n) - 1n;

/** Parses a Go duration into nanoseconds; throws `InvalidParameterError` with Go's wording. */
export function parseGoDuration(text: string): number {
  const invalid = () => new InvalidParameterError(`time: invalid duration ${quoted(text)}`);
  let s = text;
  let negative = false;
  if (s.startsWith('-') || s.startsWith('+')) {
    negative = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') throw invalid();
  let total = 0n;
  while (s !== '') {
    const num = /^(\d*)(?:\.(\d*))?/.exec(s)!;
    const [all, whole, frac = ''] = num;
    if (whole === '' && frac === '') throw invalid();
    s = s.slice(all.length);
    const unit = /^[^\d.]*/.exec(s)![0];
    if (unit === '') throw new InvalidParameterError(`time: missing unit in duration ${quoted(text)}`);
    const scale = Object.hasOwn(UNIT_NS, unit) ? UNIT_NS[unit] : undefined;
    if (scale === undefined) throw new InvalidParameterError(`time: unknown unit ${quoted(unit)} in duration ${quoted(text)}`);
    s = s.slice(unit.length);
    total += BigInt(whole || '0') * scale;
    if (frac !== '') total += (BigInt(frac) * scale) / 10n ** BigInt(frac.length);
    if (total > MAX_NS) throw invalid();
  }
  return Number(negative ? -total : total);
}
