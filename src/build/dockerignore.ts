/**
 * `.dockerignore`, read and matched the way the Docker CLI and dockerd do
 * (moby/patternmatcher and its `ignorefile.ReadAll`):
 *
 * - one pattern a line; `#` at the start of a line is a comment; surrounding
 *   blanks are trimmed; `!pattern` re-includes what an earlier pattern
 *   excluded; patterns are cleaned like Go's `filepath.Clean` and a leading
 *   `/` is dropped (the context root is the root);
 * - `*` matches any run of characters except `/`, `?` one character except
 *   `/`, `[…]` a class, `\x` a literal `x`; `**` matches any number of
 *   directories, including none (`**` + `/` eats the slash, a trailing `**`
 *   matches everything below);
 * - a path is excluded when the LAST pattern that matches it, or one of its
 *   parent directories, is an exclusion (`MatchesOrParentMatches`).
 *
 * The client applies the file before sending the context; berthd applies it
 * again, so contexts from other clients (or `remote=`) get the same result.
 */
import { posix } from 'node:path';

export interface IgnorePattern {
  /** The cleaned pattern, without `!`. */
  pattern: string;
  /** A `!` line: re-includes. */
  exclusion: boolean;
  regexp: RegExp;
}

/** Lines of a .dockerignore file as patterns (`!` kept), like `ignorefile.ReadAll`. */
export function readDockerignore(text: string): string[] {
  const out: string[] = [];
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  for (const raw of lines) {
    if (raw.startsWith('#')) continue;
    let p = raw.trim();
    if (p === '') continue;
    const invert = p.startsWith('!');
    if (invert) p = p.slice(1).trim();
    if (p.length > 0) {
      p = goClean(p);
      if (p.length > 1 && p.startsWith('/')) p = p.slice(1);
    }
    out.push(invert ? `!${p}` : p);
  }
  return out;
}

/** Go's `filepath.Clean` for '/'-separated paths. */
export function goClean(p: string): string {
  if (p === '') return '.';
  const n = posix.normalize(p);
  return n.length > 1 && n.endsWith('/') ? n.slice(0, -1) : n;
}

const SHOULD_ESCAPE = new Set(['.', '+', '(', ')', '|', '{', '}', '$', '^']);

/** patternmatcher's `Pattern.compile`, always as a regexp (its fast paths give the same answers). */
export function compileIgnorePattern(pattern: string): RegExp {
  let re = '^';
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i];
    if (inClass) {
      if (ch === ']') inClass = false;
      if (ch === '\\' && i + 1 < pattern.length) { re += '\\' + pattern[++i]; continue; }
      re += ch === '/' ? '\\/' : ch;
      continue;
    }
    if (ch === '*') {
      if (pattern[i + 1] === '*') {
        i++;
        if (pattern[i + 1] === '/') i++;
        re += i + 1 >= pattern.length ? '.*' : '(.*/)?';
      } else {
        re += '[^/]*';
      }
    } else if (ch === '?') {
      re += '[^/]';
    } else if (ch === '\\') {
      re += i + 1 < pattern.length ? '\\' + pattern[++i] : '\\\\';
    } else if (ch === '[') {
      inClass = true;
      re += '[';
      if (pattern[i + 1] === '^') { re += '^'; i++; }
    } else if (SHOULD_ESCAPE.has(ch)) {
      re += '\\' + ch;
    } else if (ch === '/') {
      re += '\\/';
    } else {
      re += ch;
    }
  }
  try {
    return new RegExp(re + '$', 's');
  } catch {
    // A malformed class: Go's regexp refuses it too; match nothing rather than everything.
    return /(?!)/;
  }
}

export class IgnoreMatcher {
  readonly patterns: IgnorePattern[];

  constructor(lines: string[]) {
    this.patterns = lines.map((l) => {
      const exclusion = l.startsWith('!');
      const pattern = exclusion ? l.slice(1) : l;
      return { pattern, exclusion, regexp: compileIgnorePattern(pattern) };
    }).filter((p) => p.pattern !== '');
  }

  get empty(): boolean { return this.patterns.length === 0; }

  /** Some pattern is a `!` exception. */
  get hasExclusions(): boolean { return this.patterns.some((p) => p.exclusion); }

  /** Whether `file` ('/'-separated, relative to the context) is ignored: patternmatcher's MatchesOrParentMatches. */
  matches(file: string): boolean {
    const parent = posix.dirname(file);
    const parentDirs = parent === '.' ? [] : parent.split('/');
    let matched = false;
    for (const p of this.patterns) {
      if (p.exclusion !== matched) continue;
      let hit = p.regexp.test(file);
      if (!hit) {
        for (let i = 0; i < parentDirs.length && !hit; i++) hit = p.regexp.test(parentDirs.slice(0, i + 1).join('/'));
      }
      if (hit) matched = !p.exclusion;
    }
    return matched;
  }

  /**
   * For an ignored directory: whether the walk must still go inside because
   * an exception may re-include something below it (the CLI's test: some
   * `!` pattern starts with `dir/`).
   */
  mayReincludeBelow(dir: string): boolean {
    const prefix = dir + '/';
    return this.patterns.some((p) => p.exclusion && (p.pattern + '/').startsWith(prefix));
  }
}
