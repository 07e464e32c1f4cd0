/**
 * Variable substitution, as the builder applies it to ADD, ARG, COPY, ENV,
 * EXPOSE, FROM, LABEL, STOPSIGNAL, USER, VOLUME and WORKDIR (never to RUN, CMD
 * or ENTRYPOINT, whose variables are the shell's business; ONBUILD triggers
 * are expanded when they run downstream). See
 * https://docs.docker.com/reference/dockerfile/#environment-replacement.
 *
 * The same pass removes quotes, which is why `ENV A="x y"` stores `x y`:
 * - `$VAR`, `${VAR}`; an unset variable is empty; `$` before anything that is
 *   not a name is a literal `$`;
 * - `${VAR:-word}` / `${VAR-word}`: word when VAR is unset or empty / unset;
 * - `${VAR:+word}` / `${VAR+word}`: word when VAR is set and non-empty / set;
 * - `${VAR:?msg}` / `${VAR?msg}`: error when unset or empty / unset;
 * - `${VAR#pat}`, `##`, `%`, `%%`, `${VAR/pat/rep}`, `//`: glob (`*`, `?`)
 *   prefix/suffix removal and replacement (newer Dockerfile syntax; `\*`
 *   matches a literal star);
 * - `word` may itself contain substitutions and quotes (`${A:-${B:-c}}`);
 * - `'…'` is literal; inside `"…"` the escape character escapes only `"`, `$`
 *   and itself; elsewhere it makes the next character literal (`\$HOME`);
 * - the escape character is the Dockerfile's (`\`, or a backtick with
 *   `# escape=\``).
 *
 * `expandString` keeps whitespace (one word per instruction argument: ENV
 * values, WORKDIR); `expandWords` also splits on unquoted whitespace,
 * including inside unquoted expansions (`EXPOSE $PORTS`).
 *
 * Here-document bodies (COPY/ADD `<<EOF` with an unquoted delimiter) use the
 * `heredoc` option: POSIX here-document rules, so quotes are ordinary
 * characters and the escape character only escapes `$`, itself, and a newline.
 */
import type { EscapeChar } from './directives.js';
import { SubstitutionError } from './errors.js';

/** Variable values: a Map or a plain object (own properties only). */
export type ExpandEnv = ReadonlyMap<string, string> | Readonly<Record<string, string | undefined>>;

export interface ExpandOptions {
  /** The Dockerfile's escape character (default `\`). */
  escape?: EscapeChar;
  /** Expand a here-document body (quotes are not special). */
  heredoc?: boolean;
  /** Receives the names looked up that were set (even to ''): build args "consumed". */
  matched?: Set<string>;
  /** Receives the names looked up that were not set. */
  unmatched?: Set<string>;
}

/** Expands `text` as one word (whitespace kept). Throws `SubstitutionError`. */
export function expandString(text: string, env: ExpandEnv, opts: ExpandOptions = {}): string {
  const sink = new StringSink();
  run(text, env, opts, sink);
  return sink.out;
}

/** Expands `text` and splits it into words on unquoted whitespace. Throws `SubstitutionError`. */
export function expandWords(text: string, env: ExpandEnv, opts: ExpandOptions = {}): string[] {
  const sink = new WordSink();
  run(text, env, opts, sink);
  return sink.finish();
}

function run(text: string, env: ExpandEnv, opts: ExpandOptions, sink: Sink): void {
  try {
    new Substitution(text, env, opts).all(sink);
  } catch (err) {
    if (err instanceof Reason) throw new SubstitutionError(text, err.message);
    throw err;
  }
}

/** Why a substitution failed; becomes a `SubstitutionError` naming the whole word. */
class Reason extends Error {}

/** Where processed text goes: `text` is never split, `field` is split in word mode, `blank` separates words. */
interface Sink {
  text(s: string): void;
  field(s: string): void;
  blank(ch: string): void;
}

class StringSink implements Sink {
  out = '';
  text(s: string): void { this.out += s; }
  field(s: string): void { this.out += s; }
  blank(ch: string): void { this.out += ch; }
}

class WordSink implements Sink {
  private readonly words: string[] = [];
  private word = '';
  private inWord = false;
  text(s: string): void {
    this.word += s;
    this.inWord = true;
  }
  field(s: string): void {
    for (const ch of s) {
      if (isSpace(ch)) this.blank();
      else this.text(ch);
    }
  }
  blank(): void {
    if (this.inWord) this.words.push(this.word);
    this.word = '';
    this.inWord = false;
  }
  finish(): string[] {
    this.blank();
    return this.words;
  }
}

const SPECIAL_PARAMS = new Set(['@', '*', '#', '?', '-', '$', '!', '0']);

function isSpace(ch: string): boolean {
  return /\s/.test(ch);
}

/** One pass over one word. */
class Substitution {
  private pos = 0;
  private readonly escape: string;
  private readonly heredoc: boolean;

  constructor(private readonly src: string, private readonly env: ExpandEnv, private readonly opts: ExpandOptions) {
    this.escape = opts.escape ?? '\\';
    this.heredoc = opts.heredoc ?? false;
  }

  all(sink: Sink): void {
    this.until('', sink, false);
  }

  /**
   * Processes up to (and consuming) one of `stops`, returning the stop found;
   * `stops` empty means to the end. `raw` keeps escape sequences as written
   * (glob patterns, where `\*` must reach the matcher).
   */
  private until(stops: string, sink: Sink, raw: boolean): string {
    const { src } = this;
    for (;;) {
      if (this.pos >= src.length) {
        if (stops !== '') throw new Reason("syntax error: missing '}'");
        return '';
      }
      const ch = src[this.pos];
      if (stops.includes(ch)) {
        this.pos++;
        return ch;
      }
      this.pos++;
      if (ch === this.escape) {
        this.escaped(sink, raw);
      } else if (ch === "'" && !this.heredoc) {
        const close = src.indexOf("'", this.pos);
        if (close < 0) throw new Reason('unexpected end of statement while looking for matching single-quote');
        sink.text(src.slice(this.pos, close));
        this.pos = close + 1;
      } else if (ch === '"' && !this.heredoc) {
        sink.text(this.doubleQuoted());
      } else if (ch === '$') {
        sink.field(this.dollar());
      } else if (isSpace(ch)) {
        sink.blank(ch);
      } else {
        sink.text(ch);
      }
    }
  }

  /** After an escape character outside quotes. */
  private escaped(sink: Sink, raw: boolean): void {
    const { src } = this;
    if (this.pos >= src.length) {
      if (this.heredoc) sink.text(this.escape); // a lone trailing escape stays in a document body
      return; // elsewhere Docker drops it
    }
    const next = src[this.pos++];
    if (raw) sink.text(this.escape + next);
    else if (!this.heredoc) sink.text(next);
    else if (next === '$' || next === this.escape) sink.text(next);
    else if (next === '\n') return;
    else sink.text(this.escape + next);
  }

  /** After an opening `"`: up to the closing one. */
  private doubleQuoted(): string {
    const { src } = this;
    let out = '';
    for (;;) {
      if (this.pos >= src.length) throw new Reason('unexpected end of statement while looking for matching double-quote');
      const ch = src[this.pos++];
      if (ch === '"') return out;
      if (ch === '$') {
        out += this.dollar();
      } else if (ch === this.escape) {
        const next = src[this.pos];
        if (next === '"' || next === '$' || next === this.escape) {
          out += next;
          this.pos++;
        } else if (next !== undefined) {
          out += ch;
        }
      } else {
        out += ch;
      }
    }
  }

  /** After a `$`. */
  private dollar(): string {
    if (this.src[this.pos] === '{') {
      this.pos++;
      return this.braced();
    }
    const name = this.name();
    return name === '' ? '$' : (this.lookup(name) ?? '');
  }

  /** A variable name: letters, digits and `_`; or a run of digits; or one special parameter. */
  private name(): string {
    const { src } = this;
    const start = this.pos;
    if (/\d/.test(src[this.pos] ?? '')) {
      while (/\d/.test(src[this.pos] ?? '')) this.pos++;
    } else if (SPECIAL_PARAMS.has(src[this.pos])) {
      this.pos++;
    } else {
      while (this.pos < src.length && /[\p{L}\p{Nd}_]/u.test(src[this.pos])) this.pos++;
    }
    return src.slice(start, this.pos);
  }

  /** After `${`: the name, an operator, its word, and the closing `}`. */
  private braced(): string {
    const name = this.name();
    if (this.pos >= this.src.length) throw new Reason("syntax error: missing '}'");
    const op = this.src[this.pos++];
    switch (op) {
      case '}':
        if (name === '') throw new Reason('bad substitution');
        return this.lookup(name) ?? '';
      case ':': {
        const mod = this.src[this.pos++];
        if (mod === undefined) throw new Reason("syntax error: missing '}'");
        if (mod !== '-' && mod !== '+' && mod !== '?') throw new Reason(`unsupported modifier (${mod}) in substitution`);
        const word = this.word('}');
        const value = this.lookup(name);
        if (mod === '-') return value ? value : word;
        if (mod === '+') return value ? word : '';
        if (value === undefined) throw new Reason(`${name}: ${word || 'is not allowed to be unset'}`);
        if (value === '') throw new Reason(`${name}: ${word || 'is not allowed to be empty'}`);
        return value;
      }
      case '-': {
        const word = this.word('}');
        return this.lookup(name) ?? word;
      }
      case '+': {
        const word = this.word('}');
        return this.lookup(name) === undefined ? '' : word;
      }
      case '?': {
        const word = this.word('}');
        const value = this.lookup(name);
        if (value === undefined) throw new Reason(`${name}: ${word || 'is not allowed to be unset'}`);
        return value;
      }
      case '#':
      case '%': {
        const longest = this.src[this.pos] === op;
        if (longest) this.pos++;
        const pattern = this.word('}', true);
        const value = this.lookup(name) ?? '';
        return op === '#' ? removePrefix(value, this.glob(pattern), longest) : removeSuffix(value, this.glob(pattern), longest);
      }
      case '/': {
        const all = this.src[this.pos] === '/';
        if (all) this.pos++;
        const sink = new StringSink();
        if (this.until('/}', sink, true) !== '/') throw new Reason(`missing '/' in substitution of ${name}`);
        const replacement = this.word('}', true);
        const value = this.lookup(name) ?? '';
        const re = new RegExp(this.glob(sink.out).source, all ? 'gsu' : 'su');
        return value.replace(re, () => replacement);
      }
      default:
        throw new Reason(`unsupported modifier (${op}) in substitution`);
    }
  }

  /** The operand of a `${…}` operator, up to the closing `}`. */
  private word(stop: string, raw = false): string {
    const sink = new StringSink();
    this.until(stop, sink, raw);
    return sink.out;
  }

  private lookup(name: string): string | undefined {
    const { env } = this;
    const value = env instanceof Map ? env.get(name) : Object.hasOwn(env, name) ? (env as Record<string, string | undefined>)[name] : undefined;
    if (value === undefined) this.opts.unmatched?.add(name);
    else this.opts.matched?.add(name);
    return value;
  }

  /** A shell glob (`*`, `?`, escaped literals) as an unanchored regular expression. */
  private glob(pattern: string): RegExp {
    let re = '';
    const chars = Array.from(pattern);
    for (let i = 0; i < chars.length; i++) {
      const c = chars[i];
      if (c === this.escape) {
        if (i + 1 >= chars.length) throw new Reason(`invalid pattern "${pattern}": trailing escape`);
        re += literal(chars[++i]);
      } else if (c === '*') {
        re += '.*';
      } else if (c === '?') {
        re += '.';
      } else {
        re += literal(c);
      }
    }
    return new RegExp(re, 'su');
  }
}

function literal(c: string): string {
  return /[\\^$.*+?()[\]{}|/]/.test(c) ? `\\${c}` : c;
}

function fullMatch(re: RegExp, s: string): boolean {
  return new RegExp(`^(?:${re.source})$`, 'su').test(s);
}

/** `${V#p}` (shortest) / `${V##p}` (longest): drop a matching prefix. */
function removePrefix(value: string, re: RegExp, longest: boolean): string {
  const chars = Array.from(value);
  for (let k = 0; k <= chars.length; k++) {
    const len = longest ? chars.length - k : k;
    if (fullMatch(re, chars.slice(0, len).join(''))) return chars.slice(len).join('');
  }
  return value;
}

/** `${V%p}` (shortest) / `${V%%p}` (longest): drop a matching suffix. */
function removeSuffix(value: string, re: RegExp, longest: boolean): string {
  const chars = Array.from(value);
  for (let k = 0; k <= chars.length; k++) {
    const start = longest ? k : chars.length - k;
    if (fullMatch(re, chars.slice(start).join(''))) return chars.slice(0, start).join('');
  }
  return value;
}
