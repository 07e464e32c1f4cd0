/**
 * Byte order of the UTF-8 encodings of two names: the order Go's
 * filepath.Walk gives dockerd, and the one reproducible layers need.
 *
 * Without surrogates (characters above U+FFFF), JavaScript's own string
 * comparison (UTF-16 code units) is the same order as UTF-8 bytes, and it
 * allocates nothing: a directory of n names is sorted with n·log n of these,
 * and encoding both names for every comparison cost more than the walk's
 * syscalls. Names with surrogates are compared as bytes.
 */
const SURROGATE = /[\uD800-\uDFFF]/;

export function byteOrder(a: string, b: string): number {
  if (SURROGATE.test(a) || SURROGATE.test(b)) return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
  return a < b ? -1 : a > b ? 1 : 0;
}
