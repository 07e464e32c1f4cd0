/**
 * Turns Dockerfile text into logical lines: one per instruction, with line
 * continuations joined, comments dropped, parser directives read, heredoc
 * bodies attached, and the original line numbers kept.
 *
 * Docker's rules (https://docs.docker.com/reference/dockerfile/#format), as
 * BuildKit's parser applies them:
 * - a UTF-8 BOM on the first line is ignored; `\r\n` ends a line like `\n`;
 * - leading whitespace before an instruction or a `#` is ignored; a line whose
 *   first non-blank character is `#` is a comment — `#` anywhere else is text;
 * - a line ending in the escape character (`\`, or a backtick after
 *   `# escape=\``), optionally followed by spaces/tabs, continues on the next
 *   line; the escape and the newline are removed and nothing is inserted
 *   (`RUN apt-get\` + `install` is `RUN apt-getinstall`); the continuation
 *   line keeps its leading whitespace; an escaped escape (`C:\\`) at the end
 *   does not continue;
 * - inside a continuation, comment lines are removed, and blank lines are
 *   skipped (a warning: Docker says they will become errors);
 * - comments do not continue (`# a \` is one comment line);
 * - a trailing escape on the last line of the file just ends the instruction;
 * - directives are only recognised at the top (see directives.ts).
 */
import { InvalidParameterError } from '../../errors.js';
import { DirectiveScanner, type Directives, type EscapeChar } from './directives.js';
import { DockerfileSyntaxError } from './errors.js';
import { heredocMarkers, isHeredocTerminator, type Heredoc, type HeredocMarker } from './heredoc.js';

/** One instruction's text with its place in the file. */
export interface LogicalLine {
  /** The instruction with continuations joined and interleaved comments removed. */
  text: string;
  /** First physical line (1-based). */
  line: number;
  /** Last physical line, heredoc terminators included. */
  endLine: number;
  /** Heredoc bodies that followed the line, in delimiter order. */
  heredocs: Heredoc[];
}

export interface ParseWarning {
  line: number;
  message: string;
}

export interface LexedDockerfile {
  directives: Directives;
  lines: LogicalLine[];
  warnings: ParseWarning[];
  /** Number of physical lines in the file. */
  lineCount: number;
}

/** Splits `source` into logical lines; throws `DockerfileSyntaxError` (bad directive, unterminated heredoc). */
export function lexDockerfile(source: string, file = 'Dockerfile'): LexedDockerfile {
  const physical = splitPhysicalLines(source);
  const scanner = new DirectiveScanner();
  const lines: LogicalLine[] = [];
  const warnings: ParseWarning[] = [];
  let i = 0;
  while (i < physical.length) {
    const start = i + 1;
    const first = physical[i++].trimStart();
    if (scanner.looking) {
      try {
        scanner.scan(first, start);
      } catch (err) {
        throw located(err, file, start, start);
      }
    }
    if (isComment(first)) continue;
    const escape = scanner.directives.escape;
    let cont = stripContinuation(first, escape);
    let text = cont ?? first;
    if (cont === undefined && text === '') continue;
    let blankInside = false;
    while (cont !== undefined && i < physical.length) {
      const raw = physical[i++];
      if (isComment(raw.trimStart())) continue;
      if (raw.trim() === '') { blankInside = true; continue; }
      cont = stripContinuation(raw, escape);
      text += cont ?? raw;
    }
    if (blankInside) warnings.push({ line: start, message: 'Empty continuation line found in instruction' });
    const heredocs: Heredoc[] = [];
    let markers: HeredocMarker[];
    try {
      markers = heredocMarkers(text);
    } catch (err) {
      throw located(err, file, start, i);
    }
    for (const marker of markers) {
      let content = '';
      let terminated = false;
      while (i < physical.length) {
        const raw = physical[i++];
        if (isHeredocTerminator(raw, marker)) { terminated = true; break; }
        content += raw + '\n';
      }
      if (!terminated) throw new DockerfileSyntaxError(file, start, 'unterminated heredoc', { endLine: i });
      heredocs.push({ ...marker, content });
    }
    lines.push({ text, line: start, endLine: i, heredocs });
  }
  return { directives: scanner.directives, lines, warnings, lineCount: physical.length };
}

/**
 * The file's lines without their terminators. A final newline does not start
 * another line; a BOM at the start is dropped.
 */
function splitPhysicalLines(source: string): string[] {
  const text = source.startsWith('\uFEFF') ? source.slice(1) : source;
  if (text === '') return [];
  const lines = text.split('\n').map((l) => (l.endsWith('\r') ? l.replace(/\r+$/, '') : l));
  if (text.endsWith('\n')) lines.pop();
  return lines;
}

function isComment(trimmedLine: string): boolean {
  return trimmedLine.startsWith('#');
}

/**
 * The line without its continuation marker, or undefined when the line ends
 * the instruction. The marker is the escape character as the last non-blank
 * character, not itself escaped (BuildKit's rule).
 */
function stripContinuation(line: string, escape: EscapeChar): string | undefined {
  let end = line.length;
  while (end > 0 && (line[end - 1] === ' ' || line[end - 1] === '\t')) end--;
  if (end === 0 || line[end - 1] !== escape) return undefined;
  if (end >= 2 && line[end - 2] === escape) return undefined;
  return line.slice(0, end - 1);
}

function located(err: unknown, file: string, line: number, endLine: number): unknown {
  if (err instanceof InvalidParameterError && !(err instanceof DockerfileSyntaxError)) {
    return new DockerfileSyntaxError(file, line, err.message, { endLine, cause: err });
  }
  return err;
}
