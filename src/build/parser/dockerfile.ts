/**
 * `parseDockerfile`: text → directives, meta ARGs and build stages.
 *
 * Why berth has its own parser: there is no well-kept JavaScript Dockerfile
 * parser that follows BuildKit (heredocs, `# check=`, `--mount`, `--parents`,
 * the exact exec/shell fallback and messages), and the format is small
 * enough to implement from the reference with the fidelity a
 * Docker-compatible `docker build` needs — and to keep in step with it.
 *
 * Docker's structure rules: only ARG (and directives, comments, blank lines)
 * may come before the first FROM — those ARGs are the "meta ARGs", visible
 * only to FROM lines; anything else there is `no build stage in current
 * context`. Each FROM starts a stage; `AS name` names it, case-insensitively.
 * A FROM (or `COPY --from`, `RUN --mount=from=`) may name another stage or use
 * meta ARGs (`FROM base:${VERSION}`); the text is kept raw and
 * `resolveStageBase` expands and resolves it at build time. Two stages with
 * one name only earn a warning in BuildKit (`DuplicateStageName`); the later
 * one wins a lookup, as in BuildKit.
 */
import type { ArgInstruction, FromInstruction, Instruction } from './ast.js';
import type { Directives, EscapeChar } from './directives.js';
import { DockerfileSyntaxError } from './errors.js';
import { expandString } from './expand.js';
import { parseInstruction } from './instructions.js';
import { lexDockerfile, type ParseWarning } from './lexer.js';

export interface Stage {
  /** Position in the Dockerfile (`COPY --from=0`). */
  index: number;
  /** The `AS` name, lower-cased. */
  name?: string;
  /** The base as written: an image reference, `scratch`, or a stage name; may use meta ARGs. */
  from: { image: string; platform?: string };
  /** Line of the FROM instruction. */
  line: number;
  fromInstruction: FromInstruction;
  /** The stage's instructions after FROM. */
  instructions: Instruction[];
}

export interface Dockerfile {
  file: string;
  directives: Directives;
  /** The escape character in force (`\` or a backtick), for substitution. */
  escape: EscapeChar;
  /** ARGs before the first FROM. */
  metaArgs: ArgInstruction[];
  stages: Stage[];
  /** Things BuildKit warns about (empty continuation lines, duplicate stage names). */
  warnings: ParseWarning[];
}

export interface ParseOptions {
  /** Name used in error messages (`Dockerfile:7: …`); default `Dockerfile`. */
  file?: string;
}

/** Parses a Dockerfile; throws `DockerfileSyntaxError` with the file and line. */
export function parseDockerfile(text: string, opts: ParseOptions = {}): Dockerfile {
  const file = opts.file ?? 'Dockerfile';
  const lexed = lexDockerfile(text, file);
  const lastLine = Math.max(1, lexed.lineCount);
  if (lexed.lines.length === 0) throw new DockerfileSyntaxError(file, lastLine, 'file with no instructions');
  const escape = lexed.directives.escape;
  const metaArgs: ArgInstruction[] = [];
  const stages: Stage[] = [];
  const warnings = [...lexed.warnings];
  for (const line of lexed.lines) {
    const instr = parseInstruction(line, { file, escape });
    if (instr.kind === 'FROM') {
      if (instr.stageName && stages.some((s) => s.name === instr.stageName)) {
        warnings.push({ line: instr.line, message: `Duplicate stage name "${instr.stageName}", stage names should be unique` });
      }
      stages.push({
        index: stages.length,
        ...(instr.stageName === undefined ? {} : { name: instr.stageName }),
        from: instr.platform === undefined ? { image: instr.image } : { image: instr.image, platform: instr.platform },
        line: instr.line,
        fromInstruction: instr,
        instructions: [],
      });
    } else if (stages.length > 0) {
      stages[stages.length - 1].instructions.push(instr);
    } else if (instr.kind === 'ARG') {
      metaArgs.push(instr);
    } else {
      throw new DockerfileSyntaxError(file, instr.line, 'no build stage in current context', { endLine: instr.endLine });
    }
  }
  if (stages.length === 0) throw new DockerfileSyntaxError(file, lastLine, 'dockerfile contains no stages to build');
  return { file, directives: lexed.directives, escape, metaArgs, stages, warnings };
}

/**
 * The stage a `FROM`, `COPY --from` or `--mount=from=` reference names: by
 * name (case-insensitive; the last of duplicates) or by index (`0`).
 */
export function findStage(df: Dockerfile, ref: string): Stage | undefined {
  const name = ref.toLowerCase();
  for (let i = df.stages.length - 1; i >= 0; i--) {
    if (df.stages[i].name === name) return df.stages[i];
  }
  return /^\d+$/.test(ref) ? df.stages[Number(ref)] : undefined;
}

export interface MetaArgOptions {
  /** `--build-arg` values; only declared ARGs take them. */
  buildArgs?: ReadonlyMap<string, string> | Readonly<Record<string, string>>;
  /** Values BuildKit defines in the global scope without an ARG (TARGETPLATFORM, BUILDARCH…). */
  builtins?: ReadonlyMap<string, string> | Readonly<Record<string, string>>;
}

/**
 * The variables FROM lines see: the automatic platform args, then each meta
 * ARG in order (each sees the ones before it) — a `--build-arg` value if
 * given, else its default; a meta ARG with neither keeps what an earlier
 * declaration or a builtin gave it, or stays unset.
 */
export function metaArgEnv(df: Dockerfile, opts: MetaArgOptions = {}): Map<string, string> {
  const env = new Map<string, string>(entries(opts.builtins));
  const buildArgs = new Map<string, string>(entries(opts.buildArgs));
  for (const instr of df.metaArgs) {
    for (const decl of instr.args) {
      const given = buildArgs.get(decl.name);
      if (given !== undefined) env.set(decl.name, given);
      else if (decl.default !== undefined) env.set(decl.name, expandString(decl.default, env, { escape: df.escape }));
    }
  }
  return env;
}

/**
 * A stage's base after meta-ARG substitution: another stage of this
 * Dockerfile (`stage` set) or an image reference (`scratch` included).
 */
export function resolveStageBase(
  df: Dockerfile,
  stage: Stage,
  env: ReadonlyMap<string, string>,
): { image: string; platform?: string; stage?: Stage } {
  const image = expandString(stage.from.image, env, { escape: df.escape });
  const out: { image: string; platform?: string; stage?: Stage } = { image };
  if (stage.from.platform !== undefined) out.platform = expandString(stage.from.platform, env, { escape: df.escape });
  const base = /^\d+$/.test(image) ? undefined : findStage(df, image);
  if (base && base !== stage) out.stage = base;
  return out;
}

function entries(
  src: ReadonlyMap<string, string> | Readonly<Record<string, string>> | undefined,
): Iterable<[string, string]> {
  if (src === undefined) return [];
  return src instanceof Map ? src.entries() : Object.entries(src);
}
