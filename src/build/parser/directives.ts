/**
 * Parser directives: `# syntax=…`, `# escape=…`, `# check=…` at the very top
 * of a Dockerfile (https://docs.docker.com/reference/dockerfile/#parser-directives).
 *
 * Docker's rules, followed here:
 * - a directive is a comment of the form `# key=value`; whitespace around `#`,
 *   the key and `=` is allowed; the key is case-insensitive, the value is not;
 * - directives are only looked for until the first line that is not one: a
 *   blank line, an ordinary comment, an instruction, or an *unknown* directive
 *   (which is then just a comment, and so is everything after it);
 * - each directive may appear once (`only one escape parser directive can be used`);
 * - `escape` takes only `\` or a backtick.
 */
import { InvalidParameterError } from '../../errors.js';

/** The escape character: `\` by default, a backtick for Windows-style paths. */
export type EscapeChar = '\\' | '`';

export type DirectiveName = 'syntax' | 'escape' | 'check';

/** `# check=skip=A,B;error=true` (Dockerfile 1.8 build checks). */
export interface CheckDirective {
  /** Check names to skip; empty when none, or when `skipAll`. */
  skip: string[];
  /** `skip=all`. */
  skipAll: boolean;
  /** `experimental=A,B`: experimental checks to run (berth has none, so nothing is enabled). */
  experimental: string[];
  /** `error=true`: failing checks fail the build. */
  error: boolean;
}

export interface Directives {
  /** The frontend image asked for (`docker/dockerfile:1`); berth parses every Dockerfile itself. */
  syntax?: string;
  escape: EscapeChar;
  check?: CheckDirective;
  /** Every directive found, in order, with its line (for diagnostics). */
  found: { name: DirectiveName; value: string; line: number }[];
}

const DIRECTIVE = /^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$/;
const KNOWN: ReadonlySet<string> = new Set<DirectiveName>(['syntax', 'escape', 'check']);

/**
 * Watches the first lines of a Dockerfile for directives. The lexer feeds it
 * every line (leading whitespace trimmed) until it says it is done.
 */
export class DirectiveScanner {
  readonly directives: Directives = { escape: '\\', found: [] };
  private open = true;

  /** True while directives may still appear. */
  get looking(): boolean {
    return this.open;
  }

  /**
   * Looks at one line; records it when it is a directive. Throws
   * `InvalidParameterError` for a repeated directive or a bad value.
   */
  scan(line: string, lineNo: number): void {
    if (!this.open) return;
    const m = DIRECTIVE.exec(line);
    const name = m?.[1].toLowerCase();
    if (!m || !name || !KNOWN.has(name)) {
      this.open = false;
      return;
    }
    const key = name as DirectiveName;
    if (this.directives.found.some((d) => d.name === key)) {
      throw new InvalidParameterError(`only one ${key} parser directive can be used`);
    }
    const value = m[2];
    this.directives.found.push({ name: key, value, line: lineNo });
    switch (key) {
      case 'escape':
        if (value !== '\\' && value !== '`') {
          throw new InvalidParameterError(`invalid escape token '${value}' does not match \` or \\`);
        }
        this.directives.escape = value;
        break;
      case 'syntax':
        this.directives.syntax = value;
        break;
      case 'check':
        this.directives.check = parseCheckDirective(value);
        break;
    }
  }
}

/**
 * Parses the value of `# check=` (or the BUILDKIT_DOCKERFILE_CHECK build
 * arg) as BuildKit's linter.ParseLintOptions does: the first word only,
 * `;`-separated `skip=<names|all>`, `experimental=<names|all>` and
 * `error=<bool>` (booleans as Go's `strconv.ParseBool` reads them). A
 * malformed value fails with BuildKit's `failed to parse check options: …`.
 */
export function parseCheckDirective(value: string): CheckDirective {
  const out: CheckDirective = { skip: [], skipAll: false, experimental: [], error: false };
  const text = value.trim().split(' ')[0];
  if (text === '') return out;
  const bad = (msg: string): never => { throw new InvalidParameterError(`failed to parse check options: ${msg}`); };
  for (const part of text.split(';').slice(0, 3)) {
    const eq = part.indexOf('=');
    if (eq < 0) bad(`invalid check option ${JSON.stringify(part)}`);
    const key = part.slice(0, eq).trim();
    const v = part.slice(eq + 1).trim();
    if (key === 'skip') {
      if (v === 'all') out.skipAll = true;
      else out.skip = v.split(',').map((s) => s.trim()).filter((s) => s !== '');
    } else if (key === 'experimental') {
      out.experimental = v === 'all' ? ['all'] : v.split(',').map((s) => s.trim()).filter((s) => s !== '');
    } else if (key === 'error') {
      const b = parseGoBool(v);
      if (b === undefined) bad(`failed to parse check option ${JSON.stringify(part)}: strconv.ParseBool: parsing ${JSON.stringify(v)}: invalid syntax`);
      out.error = b!;
    } else {
      bad(`invalid check option ${JSON.stringify(key)}`);
    }
  }
  return out;
}

function parseGoBool(v: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v)) return false;
  return undefined;
}
