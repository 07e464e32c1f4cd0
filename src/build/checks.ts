/**
 * Build checks (Dockerfile 1.8's linter) as far as berth runs them, and the
 * `# check=` directive / BUILDKIT_DOCKERFILE_CHECK build arg that configures
 * them: `skip=<rules|all>` silences rules, `error=true` fails the build
 * when a rule that ran found something (BuildKit's `lint violation found
 * for rules: …`), before any step runs.
 *
 * The rules berth runs are those it can decide from the parsed Dockerfile
 * alone, with BuildKit's names and wording: NoEmptyContinuation,
 * DuplicateStageName, ReservedStageName, StageNameCasing, FromAsCasing and
 * MaintainerDeprecated. A warning reads as BuildKit's short form,
 * `DuplicateStageName: Duplicate stage name "a", stage names should be
 * unique (line 3)`.
 */
import { InvalidParameterError } from '../errors.js';
import { parseCheckDirective, type CheckDirective, type Dockerfile } from './parser/index.js';

export interface CheckWarning {
  rule: string;
  message: string;
  /** 1-based line of the instruction. */
  line: number;
}

/** The rules' findings, in line order, before skip/error are applied. */
export function runChecks(df: Dockerfile): CheckWarning[] {
  const out: CheckWarning[] = [];
  for (const w of df.warnings) {
    if (w.message.startsWith('Empty continuation line')) out.push({ rule: 'NoEmptyContinuation', message: 'Empty continuation line', line: w.line });
    else if (w.message.startsWith('Duplicate stage name')) out.push({ rule: 'DuplicateStageName', message: w.message, line: w.line });
  }
  for (const stage of df.stages) {
    const words = stage.fromInstruction.original.split(/\s+/);
    // FROM [--platform=…] image AS name: the keywords as written.
    const asIndex = words.findIndex((w, i) => i > 1 && w.toLowerCase() === 'as');
    if (asIndex > 0 && words[asIndex + 1] !== undefined) {
      const name = words[asIndex + 1];
      if (name !== name.toLowerCase()) out.push({ rule: 'StageNameCasing', message: `Stage name '${name}' should be lowercase`, line: stage.line });
      if (['context', 'scratch'].includes(name.toLowerCase())) {
        out.push({ rule: 'ReservedStageName', message: `Stage name should not use the same name as reserved stage ${JSON.stringify(name.toLowerCase())}`, line: stage.line });
      }
      const from = words[0];
      const as = words[asIndex];
      const upper = (s: string) => s === s.toUpperCase();
      const lower = (s: string) => s === s.toLowerCase();
      if ((upper(from) && !upper(as)) || (lower(from) && !lower(as))) {
        out.push({ rule: 'FromAsCasing', message: `'${as}' and '${from}' keywords' casing do not match`, line: stage.line });
      }
    }
    for (const i of stage.instructions) {
      if (i.kind === 'MAINTAINER') out.push({ rule: 'MaintainerDeprecated', message: 'Maintainer instruction is deprecated in favor of using label', line: i.line });
    }
  }
  return out.sort((a, b) => a.line - b.line);
}

/** The check configuration: the build arg wins over the directive (BuildKit's dockerui config). */
export function checkConfig(df: Dockerfile, buildArg?: string): CheckDirective | undefined {
  if (buildArg !== undefined) return parseCheckDirective(buildArg);
  return df.directives.check;
}

/**
 * The warnings to show (`[Warning] Rule: message (line N)`) after skips;
 * throws when the configuration says `error=true` and one remains.
 */
export function applyChecks(df: Dockerfile, buildArg?: string): string[] {
  const config = checkConfig(df, buildArg);
  const found = config?.skipAll ? [] : runChecks(df).filter((w) => !config?.skip.includes(w.rule));
  if (config?.error && found.length) {
    const rules = [...new Set(found.map((w) => w.rule))];
    throw new InvalidParameterError(`lint violation found for rules: ${rules.join(', ')}`);
  }
  return found.map((w) => `${w.rule}: ${w.message} (line ${w.line})`);
}
