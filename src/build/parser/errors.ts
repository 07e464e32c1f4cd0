/**
 * Errors raised while reading a Dockerfile. Both are `InvalidParameterError`s
 * (a bad Dockerfile is the client's fault: HTTP 400 from `/build`, as Docker).
 *
 * Low-level helpers in this folder (word splitting, flags, JSON, durations,
 * mounts, heredoc words) throw a plain `InvalidParameterError` that knows no
 * position; the instruction parser and the lexer re-throw it as a
 * `DockerfileSyntaxError` pinned to the instruction's lines, so every message
 * that leaves `parseDockerfile` reads `Dockerfile:7: unknown instruction: RUNN`.
 */
import { InvalidParameterError } from '../../errors.js';

/** A Dockerfile that cannot be parsed, with where (`file`, 1-based `line`). */
export class DockerfileSyntaxError extends InvalidParameterError {
  readonly file: string;
  /** First physical line of the offending instruction (1-based). */
  readonly line: number;
  /** Last physical line of the offending instruction (continuations, heredoc bodies). */
  readonly endLine: number;
  /** The message without the `file:line: ` prefix (Docker's own wording where known). */
  readonly detail: string;
  constructor(file: string, line: number, detail: string, options?: { endLine?: number; cause?: unknown }) {
    super(`${file}:${line}: ${detail}`, { cause: options?.cause });
    this.name = 'DockerfileSyntaxError';
    this.file = file;
    this.line = line;
    this.endLine = options?.endLine ?? line;
    this.detail = detail;
  }
}

/**
 * A `${VAR:?message}` that fired, or a malformed substitution, found while the
 * builder expands an instruction. The message follows BuildKit's
 * `failed to process "<word>": <reason>`; the builder knows the instruction and
 * wraps it into a `DockerfileSyntaxError` with the line.
 */
export class SubstitutionError extends InvalidParameterError {
  readonly word: string;
  readonly reason: string;
  constructor(word: string, reason: string) {
    super(`failed to process ${quoted(word)}: ${reason}`);
    this.name = 'SubstitutionError';
    this.word = word;
    this.reason = reason;
  }
}

/**
 * Quotes a value for an error message the way Go's `%q` does for the strings
 * Dockerfiles contain (Docker's messages are built with `%q`, and clients and
 * tests match them).
 */
export function quoted(s: string): string {
  return JSON.stringify(s);
}
