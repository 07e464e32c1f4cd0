/**
 * Here-documents in RUN, COPY and ADD (Dockerfile 1.4 syntax,
 * https://docs.docker.com/reference/dockerfile/#here-documents):
 *
 *     RUN <<EOF bash          COPY <<-"EOT" /script.sh
 *       set -ex                 echo "hello ${FOO}"
 *     EOF                     EOT
 *
 * Rules followed, as BuildKit applies them:
 * - only RUN, COPY, ADD (also as an ONBUILD trigger) and only in the shell /
 *   word form: `RUN ["<<EOF"]` has no heredoc;
 * - the line is split into shell words (quotes respected, so `RUN "<<EOF"` has
 *   none); a word `[n]<<[-]WORD` starts one; `<<` may be followed by blanks
 *   (`<< EOF`); `<<<` is a here-string, not a heredoc; a word that splits in
 *   two after unquoting (`<<EOF sh` is two words, `<<'one two'` is one) is not
 *   a delimiter; the shell-word split always uses `\`, whatever `# escape=` says;
 * - quoting any part of the delimiter (`<<"EOF"`, `<<'EOF'`, `<<E"O"F`) turns
 *   off variable expansion of the body; an escaped quote (`<<eo\'f`) does not;
 * - bodies follow the instruction line in the order the delimiters appear; a
 *   body ends at the first line equal to the delimiter (`<<-`: after leading
 *   tabs are removed); comment and continuation rules do not apply inside;
 * - `<<-` also removes leading tabs from every body line. The parser keeps the
 *   body as written (`content`) because a RUN heredoc that is not the whole
 *   command is handed to the shell, which does its own tab stripping;
 *   `heredocBody()` gives what a file or script receives.
 */
import { InvalidParameterError } from '../../errors.js';
import { parseJsonArray } from './json-form.js';
import { splitInstructionLine } from './words.js';

export interface HeredocMarker {
  /** The delimiter with quotes removed (`EOF`). */
  name: string;
  /** False when any part of the delimiter was quoted: the body is not expanded. */
  expand: boolean;
  /** `<<-`: leading tabs are stripped from the body and the terminator line. */
  chomp: boolean;
  /** `3<<EOF`: the file descriptor (0 when not given). */
  fd: number;
}

export interface Heredoc extends HeredocMarker {
  /** The body exactly as written: every line followed by `\n`, the terminator excluded. */
  content: string;
}

const HEREDOC_WORD = /^(\d*)<<(-?)\s*([^<]*)$/;
const HEREDOC_INSTRUCTIONS: ReadonlySet<string> = new Set(['RUN', 'COPY', 'ADD']);

/**
 * Reads `<<EOF`, `<<-'EOF'`, `3<<EOF`…; undefined when `word` is not a heredoc
 * delimiter. Throws on an unterminated quote (`<<'EOF`).
 */
export function parseHeredocWord(word: string): HeredocMarker | undefined {
  const m = HEREDOC_WORD.exec(word);
  if (!m || m[3] === '') return undefined;
  const delimiter = unquoteDelimiter(m[3]);
  if (!delimiter) return undefined;
  return { name: delimiter.name, expand: !delimiter.quoted, chomp: m[2] === '-', fd: m[1] === '' ? 0 : Number(m[1]) };
}

/**
 * The heredocs an instruction line opens, in order; empty when the
 * instruction cannot take heredocs (not RUN/COPY/ADD, or JSON form).
 */
export function heredocMarkers(instructionText: string): HeredocMarker[] {
  if (!instructionText.includes('<<') || !canContainHeredoc(instructionText)) return [];
  const out: HeredocMarker[] = [];
  for (const word of shellWordsRaw(instructionText)) {
    const marker = parseHeredocWord(word);
    if (marker) out.push(marker);
  }
  return out;
}

/** True when `line` ends the body of `marker`. */
export function isHeredocTerminator(line: string, marker: HeredocMarker): boolean {
  return (marker.chomp ? line.replace(/^\t+/, '') : line) === marker.name;
}

/** Removes leading tabs from every line (`<<-`). */
export function chompHeredoc(text: string): string {
  return text.replace(/^\t+/gm, '');
}

/** What a COPY'd file or a RUN script receives: the body, tab-stripped for `<<-`. */
export function heredocBody(heredoc: Heredoc): string {
  return heredoc.chomp ? chompHeredoc(heredoc.content) : heredoc.content;
}

function canContainHeredoc(text: string): boolean {
  const { keyword, rest } = splitInstructionLine(text);
  const kw = keyword.toUpperCase();
  if (kw === 'ONBUILD') return canContainHeredoc(rest);
  if (!HEREDOC_INSTRUCTIONS.has(kw)) return false;
  try {
    return parseJsonArray(rest) === undefined;
  } catch {
    return false; // JSON, just not of strings: the instruction parser reports it
  }
}

/**
 * Shell words with quotes and escapes left in place, `<<` and `<<-` glued to
 * the word after them; no words at all when a quote is left open.
 */
function shellWordsRaw(line: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  const n = line.length;
  for (let i = 0; i < n; i++) {
    const ch = line[i];
    if (/\s/.test(ch)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else if (ch === "'" || ch === '"') {
      const close = findClosingQuote(line, i);
      if (close < 0) return [];
      word += line.slice(i, close + 1);
      inWord = true;
      i = close;
    } else if (ch === '\\') {
      word += line.slice(i, i + 2);
      inWord = true;
      i++;
    } else if (ch === '<' && line[i + 1] === '<') {
      let j = i + 2;
      if (line[j] === '-') j++;
      while (j < n && (line[j] === ' ' || line[j] === '\t')) j++;
      word += line.slice(i, j);
      inWord = true;
      i = j - 1;
    } else {
      word += ch;
      inWord = true;
    }
  }
  if (inWord) words.push(word);
  return words;
}

/** Index of the quote closing the one at `open` (`\` escapes inside double quotes), or -1. */
function findClosingQuote(s: string, open: number): number {
  const q = s[open];
  for (let i = open + 1; i < s.length; i++) {
    if (q === '"' && s[i] === '\\') { i++; continue; }
    if (s[i] === q) return i;
  }
  return -1;
}

/**
 * Removes quotes and escapes from a delimiter; `quoted` says whether a quote
 * was used. Undefined when the delimiter is more than one word.
 */
function unquoteDelimiter(text: string): { name: string; quoted: boolean } | undefined {
  let name = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (/\s/.test(ch)) return undefined;
    if (ch === '\\') {
      if (i + 1 < text.length) name += text[++i];
    } else if (ch === "'" || ch === '"') {
      const close = findClosingQuote(text, i);
      if (close < 0) {
        const kind = ch === "'" ? 'single' : 'double';
        throw new InvalidParameterError(`unexpected end of statement while looking for matching ${kind}-quote`);
      }
      const inner = text.slice(i + 1, close);
      name += ch === '"' ? inner.replace(/\\(["\\$])/g, '$1') : inner;
      quoted = true;
      i = close;
    } else {
      name += ch;
    }
  }
  return { name, quoted };
}

/** What to execute for a shell-form RUN that has heredocs (see `heredocRunCommand`). */
export type HeredocRun =
  /** Write `data` to a file named `name`, mark it executable and run it: the body starts with `#!`. */
  | { kind: 'script'; name: string; data: string }
  /** Run `command` through the stage's SHELL, like any shell-form RUN. */
  | { kind: 'shell'; command: string };

/**
 * How BuildKit runs `RUN` with heredocs:
 * - the command is only the delimiter (`RUN <<EOF`): the body is the script —
 *   run directly when it starts with a `#!` line, otherwise given to the
 *   shell as the command string (tab-stripped for `<<-`; never expanded by
 *   the builder, the shell does it);
 * - anything else (`RUN <<EOF bash`, `RUN <<A cat >a && <<B cat >b`): the
 *   command line followed, for each heredoc, by a newline, its body as
 *   written and its delimiter, handed to the shell, which reads the
 *   documents itself.
 */
export function heredocRunCommand(command: string, heredocs: readonly Heredoc[]): HeredocRun {
  const [first] = heredocs;
  if (first && parseHeredocWord(command.trim())) {
    const data = heredocBody(first);
    return data.startsWith('#!') ? { kind: 'script', name: first.name, data } : { kind: 'shell', command: data };
  }
  return { kind: 'shell', command: command + heredocs.map((h) => `\n${h.content}${h.name}`).join('') };
}
