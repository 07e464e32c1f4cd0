/**
 * `.dockerignore` as moby/patternmatcher reads it: one pattern per line,
 * `#` comments, `!` re-includes, `*` and `?` within a path element, `**`
 * across elements, a matching directory excludes everything below it, and
 * the last matching pattern wins.
 */

export interface IgnorePattern {
  negate: boolean;
  re: RegExp;
  source: string;
}

function clean(p: string): string {
  const parts: string[] = [];
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') parts.pop();
    else parts.push(seg);
  }
  return parts.join('/');
}

function toRegExp(pattern: string): RegExp {
  let re = '^';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '*') {
      if (pattern[i + 1] === '*') {
        i++;
        if (pattern[i + 1] === '/') {
          i++;
          re += '(?:.*/)?';
        } else {
          re += '.*';
        }
      } else {
        re += '[^/]*';
      }
    } else if (c === '?') {
      re += '[^/]';
    } else if (c === '[') {
      const end = pattern.indexOf(']', i);
      if (end < 0) { re += '\\['; continue; }
      let cls = pattern.slice(i + 1, end);
      if (cls.startsWith('^')) cls = `^${cls.slice(1)}`;
      re += `[${cls.replace(/\\/g, '\\\\')}]`;
      i = end;
    } else if (c === '\\' && i + 1 < pattern.length) {
      re += pattern[++i].replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    } else {
      re += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    }
  }
  return new RegExp(`${re}$`);
}

export function parseDockerignore(text: string): IgnorePattern[] {
  const out: IgnorePattern[] = [];
  for (const raw of text.split('\n')) {
    let line = raw.replace(/\r$/, '');
    if (line.startsWith('#')) continue;
    line = line.trim();
    if (line === '') continue;
    let negate = false;
    if (line.startsWith('!')) {
      negate = true;
      line = line.slice(1).trim();
    }
    const pattern = clean(line.replace(/^\/+/, ''));
    if (pattern === '') continue;
    out.push({ negate, re: toRegExp(pattern), source: pattern });
  }
  return out;
}

/** True when `relPath` (slash-separated, relative to the context) is excluded. */
export function isExcluded(relPath: string, patterns: readonly IgnorePattern[]): boolean {
  const path = clean(relPath);
  const parents: string[] = [];
  const parts = path.split('/');
  for (let i = 1; i < parts.length; i++) parents.push(parts.slice(0, i).join('/'));
  let excluded = false;
  for (const p of patterns) {
    let match = p.re.test(path);
    // A pattern matching a parent directory matches everything below it.
    if (!match) match = parents.some((d) => p.re.test(d));
    if (match) excluded = !p.negate;
  }
  return excluded;
}

/** Whether a directory may hold re-included files, so walking it is still needed. */
export function mayReinclude(patterns: readonly IgnorePattern[]): boolean {
  return patterns.some((p) => p.negate);
}
