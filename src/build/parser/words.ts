/**
 * Splitting an instruction line into keyword, flags and argument words, before
 * any variable substitution.
 *
 * Docker has three argument shapes, and which one an instruction uses matters:
 * - whole rest as one string (MAINTAINER, WORKDIR, USER, STOPSIGNAL; shell form
 *   of RUN/CMD/ENTRYPOINT);
 * - split on runs of spaces/tabs with no quote handling (FROM, EXPOSE, and the
 *   non-JSON form of COPY/ADD/VOLUME): `COPY "a b" /c` gives `"a` and `b"`;
 * - shell-like words that keep their quotes and escapes (ENV, LABEL, ARG): the
 *   quotes are removed later, by substitution, which is also what lets single
 *   quotes stop `$VAR` expansion.
 */
import { extractFlags } from './flags.js';
import type { EscapeChar } from './directives.js';

/** Docker's separator for keyword/arguments and whitespace-delimited arguments. */
const BLANKS = /[\t\v\f\r ]+/;
const SPACE = /\s/;

export interface InstructionParts {
  /** The keyword as written (`run`, `RUN`). */
  keyword: string;
  /** Leading `--flag[=value]` words. */
  flags: string[];
  /** Everything after the flags, trimmed. */
  rest: string;
}

/** Splits a logical line into keyword, flags and the trimmed rest. */
export function splitInstructionLine(text: string): InstructionParts {
  const line = text.trim();
  const m = BLANKS.exec(line);
  if (!m) return { keyword: line, flags: [], rest: '' };
  const { flags, rest } = extractFlags(line.slice(m.index + m[0].length));
  return { keyword: line.slice(0, m.index), flags, rest: rest.trim() };
}

/** Splits on runs of spaces and tabs; `''` gives no words. */
export function splitWhitespace(rest: string): string[] {
  const t = rest.trim();
  return t === '' ? [] : t.split(BLANKS);
}

/**
 * Splits on unquoted whitespace, keeping quotes and escape sequences inside
 * the words (`A="x y" B=z\ w` → `A="x y"`, `B=z\ w`). An escape character at
 * the very end is dropped; an unterminated quote runs to the end of the text
 * (substitution reports it later). A word that is only quotes (`""`) is kept.
 */
export function splitRawWords(rest: string, escape: EscapeChar): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quoted = false;
  let quote: string | undefined;
  const n = rest.length;
  for (let i = 0; i < n; i++) {
    const ch = rest[i];
    if (quote === undefined) {
      if (SPACE.test(ch)) {
        if (inWord && (word !== '' || quoted)) words.push(word);
        word = '';
        inWord = false;
        quoted = false;
        continue;
      }
      inWord = true;
      if (ch === '"' || ch === "'") {
        quote = ch;
        quoted = true;
        word += ch;
      } else if (ch === escape) {
        if (i + 1 < n) word += ch + rest[++i];
      } else {
        word += ch;
      }
    } else if (ch === quote) {
      quote = undefined;
      word += ch;
    } else if (ch === escape && quote !== "'") {
      if (i + 1 < n) word += ch + rest[++i];
    } else {
      word += ch;
    }
  }
  if (inWord && (word !== '' || quoted)) words.push(word);
  return words;
}
