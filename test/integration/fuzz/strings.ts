/**
 * The hostile strings and numbers every generator draws from: path tricks,
 * very long strings, NUL and control bytes, unicode that breaks naive code,
 * numbers past every integer type.
 */
import type { Rng } from './rng.js';

export const HUGE_NUMBERS: readonly number[] = [
  2 ** 70, -(2 ** 70), 2 ** 63, 2 ** 64, 2 ** 53 + 2, 2 ** 31, -(2 ** 31) - 1, 2 ** 32, 1e308, -1e308, Number.MAX_VALUE,
  Number.MIN_VALUE, -1, -2, 0.5, -0.000001, 1e-300,
];

/** Numbers as JSON text that a float cannot hold (sent raw, never through JSON.stringify). */
export const HUGE_NUMBER_TEXTS: readonly string[] = [
  '1180591620717411303424', '-1180591620717411303424', '9223372036854775808', '18446744073709551616',
  '1e400', '-1e400', '1' + '0'.repeat(400), '0.' + '0'.repeat(300) + '1', '-0',
];

const UNICODE = [
  '\u0000', '\u0001\u0002\u001b[31m', '\ud800', '\udfff', '\ud83d\ude00', '\u202e', '\ufeff', '\uffff', '\u00e9\u0301',
  '𝕏𝕐', 'ﷺ', '\r\n', '\t', '\u2028\u2029', 'Ω≈ç√', '名前',
];

export function unicodeString(rng: Rng): string {
  let s = '';
  const n = rng.int(1, 6);
  for (let i = 0; i < n; i++) s += rng.chance(0.5) ? rng.pick(UNICODE) : rng.alnum(rng.int(0, 4));
  return s;
}

export function longString(rng: Rng): string {
  const n = rng.pick([256, 4097, 65_537, 1 << 20]);
  return rng.chance(0.5) ? 'a'.repeat(n) : rng.alnum(8).repeat(Math.ceil(n / 8));
}

const PATHISH = [
  '..', '../..', '../../../../../../etc/passwd', '/', '/etc', '/etc/passwd', '.', '', ' ', '%2e%2e', '..%2f..%2f..%2fetc',
  'a/../../b', '/proc/self/root', '/proc/1/root/etc', '//', '/./././', 'C:\\Windows', '~', '-', '--help', '$(id)', '`id`',
  '${HOME}', '*', '?', '[', 'x;id', 'a\nb', 'a\u0000b', 'sha256:', 'sha256:../../x', 'sha256:' + 'f'.repeat(64),
  'busybox:latest@sha256:' + '0'.repeat(64), ':', '::', '@', 'a:b:c', 'UPPER', 'name with spaces', '%00', '%ff', '%',
];

/** One hostile string. */
export function junkString(rng: Rng): string {
  return rng.weighted<() => string>([
    [4, () => rng.pick(PATHISH)],
    [2, () => unicodeString(rng)],
    [1, () => longString(rng)],
    [2, () => rng.alnum(rng.int(1, 20))],
    [1, () => String(rng.pick(HUGE_NUMBERS))],
    [1, () => rng.bytes(rng.int(1, 16)).toString('latin1')],
  ])();
}

/** A hostile value for a query parameter (already a string; URL-encoding is the caller's). */
export function junkQueryValue(rng: Rng): string {
  return rng.weighted<() => string>([
    [3, () => junkString(rng)],
    [2, () => rng.pick(HUGE_NUMBER_TEXTS)],
    [2, () => String(rng.pick(HUGE_NUMBERS))],
    [1, () => rng.pick(['true', 'false', '1', '0', 'yes', 'TRUE', 'null', '[]', '{}', '{"a":', '{"label":["x"]}', '{"dangling":["maybe"]}'])],
  ])();
}

/** Percent-encodes the UTF-8 bytes of any string, lone surrogates included (encodeURIComponent throws on those). */
export function percentEncode(s: string): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(b);
    out += /[A-Za-z0-9\-_.~]/.test(c) ? c : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}
