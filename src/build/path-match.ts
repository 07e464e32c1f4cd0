/**
 * Go's `filepath.Match` on '/'-separated paths: what the classic builder
 * uses to expand wildcards in COPY and ADD sources (`COPY src/*.c /app/`).
 *
 * - `*` matches any run of characters except `/`; `?` one character except `/`;
 * - `[abc]`, `[a-z]`, `[^a-z]` are character classes (`^` negates);
 * - `\x` matches `x` literally;
 * - the whole name must match (no implicit prefix or suffix).
 *
 * A malformed pattern (unclosed `[`, a trailing `\`) is an error, as in Go
 * (`syntax error in pattern`).
 */
import { InvalidParameterError } from '../errors.js';

/** True when `s` has a character `filepath.Match` treats specially (Docker's `containsWildcards`). */
export function hasWildcards(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (ch === '\\') { i++; continue; }
    if (ch === '*' || ch === '?' || ch === '[') return true;
  }
  return false;
}

const REGEX_SPECIAL = /[.*+?^${}()|[\]\\/]/g;

function escapeRegex(s: string): string {
  return s.replace(REGEX_SPECIAL, '\\$&');
}

/** Translates a pattern into an anchored RegExp; throws on a malformed pattern. */
export function compileGoPattern(pattern: string): RegExp {
  let re = '^';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i];
    if (ch === '*') {
      re += '[^/]*';
    } else if (ch === '?') {
      re += '[^/]';
    } else if (ch === '\\') {
      if (i + 1 >= pattern.length) throw new InvalidParameterError(`syntax error in pattern: ${pattern}`);
      re += escapeRegex(pattern[++i]);
    } else if (ch === '[') {
      let j = i + 1;
      let cls = '[';
      if (pattern[j] === '^') { cls += '^'; j++; }
      let first = true;
      for (;;) {
        if (j >= pattern.length) throw new InvalidParameterError(`syntax error in pattern: ${pattern}`);
        let c = pattern[j];
        if (c === ']' && !first) break;
        if (c === '\\') {
          j++;
          if (j >= pattern.length) throw new InvalidParameterError(`syntax error in pattern: ${pattern}`);
          c = pattern[j];
        }
        if (c === '-' && !first && pattern[j + 1] !== ']') {
          cls += '-';
        } else {
          cls += escapeRegex(c);
        }
        first = false;
        j++;
      }
      // Go's classes never match the separator.
      re += `(?!/)${cls}]`;
      i = j;
    } else {
      re += escapeRegex(ch);
    }
  }
  return new RegExp(re + '$', 's');
}

/** `filepath.Match(pattern, name)`. */
export function goMatch(pattern: string, name: string): boolean {
  return compileGoPattern(pattern).test(name);
}
