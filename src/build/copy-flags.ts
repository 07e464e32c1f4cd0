/**
 * The COPY/ADD flags as they enter a step's cache key, and `--exclude`'s
 * matcher.
 *
 * `--link` (Dockerfile 1.4): in BuildKit the copied files become a layer
 * of their own, made without looking at the image below, and merged on
 * top of it. berth writes the same files either way (the layer holds the
 * same entries, and the image the same tree), so `--link` changes only the
 * step's cache key; it is accepted, never ignored in the key.
 *
 * `--exclude=PATTERN` (repeatable): dockerignore patterns (`*`, `**`, `!`
 * exceptions), cleaned like moby's patternmatcher cleans them.
 */
import type { AddInstruction, CopyInstruction } from './parser/index.js';
import { goClean, IgnoreMatcher } from './dockerignore.js';

/** The flags that change what a COPY/ADD makes, in a fixed order: `--from=b --chown=1 --chmod=755 --link --parents --exclude=x`. */
export function copyFlagsText(x: CopyInstruction | AddInstruction): string {
  let out = '';
  if (x.kind === 'COPY' && x.from !== undefined) out += ` --from=${x.from}`;
  if (x.chown) out += ` --chown=${x.chown}`;
  if (x.chmod) out += ` --chmod=${x.chmod}`;
  if (x.link) out += ' --link';
  if (x.kind === 'COPY' && x.parents) out += ' --parents';
  for (const e of x.exclude) out += ` --exclude=${e}`;
  return out;
}

/** The matcher for `--exclude` patterns (a leading `/` is the source's root, as in .dockerignore). */
export function excludeMatcher(patterns: readonly string[]): IgnoreMatcher {
  return new IgnoreMatcher(patterns.map((p) => {
    const neg = p.startsWith('!');
    const body = goClean(neg ? p.slice(1) : p).replace(/^\/+/, '');
    return (neg ? '!' : '') + body;
  }));
}
