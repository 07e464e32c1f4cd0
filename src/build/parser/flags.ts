/**
 * Builder flags: the `--name[=value]` words between an instruction keyword and
 * its arguments (`COPY --from=build --chmod=755 a /b`).
 *
 * Docker splits them off every instruction the same way before looking at the
 * arguments: leading words that start with `--` are flags, quotes and `\`
 * inside a flag word are removed, a bare `--` ends the flags, and the first
 * word that does not start with `--` begins the arguments. Each instruction
 * then declares the flags it accepts; anything else is `unknown flag: --x`.
 * Messages are BuildKit's (`duplicate flag specified: --from`,
 * `missing a value on flag: --chmod`, `expecting boolean value for flag
 * --link, not: yes`).
 */
import { InvalidParameterError } from '../../errors.js';

/** `string`: `--x=v` once; `bool`: `--x`, `--x=true|false`; `strings`: `--x=v`, repeatable. */
export type FlagKind = 'string' | 'bool' | 'strings';
export type FlagSpec = Readonly<Record<string, FlagKind>>;

const SPACE = /\s/;

/**
 * Splits leading `--flag` words off `text`; returns them (quotes removed) and
 * the rest of the text, untrimmed.
 */
export function extractFlags(text: string): { flags: string[]; rest: string } {
  const flags: string[] = [];
  let i = 0;
  const n = text.length;
  for (;;) {
    while (i < n && SPACE.test(text[i])) i++;
    if (i >= n) return { flags, rest: '' };
    if (text[i] !== '-' || text[i + 1] !== '-') return { flags, rest: text.slice(i) };
    let word = '';
    let quote: string | undefined;
    let quotedEmpty = false;
    while (i < n) {
      let ch = text[i];
      if (quote !== undefined) {
        i++;
        if (ch === quote) { quote = undefined; continue; }
        if (ch === '\\') {
          if (i >= n) { quote = undefined; continue; }
          ch = text[i++];
        }
        word += ch;
        continue;
      }
      if (SPACE.test(ch)) break;
      i++;
      if (ch === '"' || ch === "'") { quote = ch; quotedEmpty = true; continue; }
      if (ch === '\\') {
        if (i >= n) continue;
        ch = text[i++];
      }
      word += ch;
    }
    if (word === '--') return { flags, rest: text.slice(i) };
    if (word !== '' || quotedEmpty) flags.push(word);
  }
}

/** The flags an instruction was given, read against what it accepts. */
export class BuilderFlags {
  private readonly strings = new Map<string, string>();
  private readonly bools = new Map<string, boolean>();
  private readonly lists = new Map<string, string[]>();

  /** Parses `flags` (from `extractFlags`) against `spec`; throws on unknown, repeated or malformed flags. */
  constructor(flags: readonly string[], spec: FlagSpec) {
    const seen = new Set<string>();
    for (const arg of flags) {
      if (arg === '--') break;
      if (!arg.startsWith('--')) throw new InvalidParameterError(`arg should start with -- : ${arg}`);
      const eq = arg.indexOf('=');
      const flagName = eq < 0 ? arg : arg.slice(0, eq);
      const value = eq < 0 ? undefined : arg.slice(eq + 1);
      const name = flagName.slice(2);
      const kind = Object.hasOwn(spec, name) ? spec[name] : undefined;
      if (kind === undefined) throw new InvalidParameterError(`unknown flag: ${flagName}`);
      if (seen.has(name) && kind !== 'strings') throw new InvalidParameterError(`duplicate flag specified: ${flagName}`);
      seen.add(name);
      switch (kind) {
        case 'bool': {
          if (value === '') throw new InvalidParameterError(`missing a value on flag: ${flagName}`);
          const v = (value ?? 'true').toLowerCase();
          if (v !== 'true' && v !== 'false') {
            throw new InvalidParameterError(`expecting boolean value for flag ${flagName}, not: ${value}`);
          }
          this.bools.set(name, v === 'true');
          break;
        }
        case 'string':
          if (value === undefined) throw new InvalidParameterError(`missing a value on flag: ${flagName}`);
          this.strings.set(name, value);
          break;
        case 'strings': {
          if (value === undefined) throw new InvalidParameterError(`missing a value on flag: ${flagName}`);
          const list = this.lists.get(name) ?? [];
          list.push(value);
          this.lists.set(name, list);
          break;
        }
      }
    }
  }

  /** A `string` flag's value, or undefined when it was not given. */
  string(name: string): string | undefined {
    return this.strings.get(name);
  }

  /** A `bool` flag: undefined when not given (so callers can tell "default" from `=false`). */
  bool(name: string): boolean | undefined {
    return this.bools.get(name);
  }

  /** A `strings` flag's values in order (empty when not given). */
  list(name: string): string[] {
    return [...(this.lists.get(name) ?? [])];
  }
}
