/**
 * The Dockerfile parser: `parseDockerfile(text)` gives a typed AST
 * (directives, meta ARGs, stages of typed instructions); `expandInstruction`
 * / `expandString` / `expandWords` apply Docker's variable substitution when
 * the builder runs a stage.
 *
 * Written for berth rather than taken from npm: no maintained JavaScript
 * Dockerfile parser follows BuildKit's current syntax (heredocs, `# check=`,
 * `RUN --mount`, `COPY --parents`, the exact exec/shell fallback and error
 * wording), and a Docker-compatible build has to match it line for line.
 */
export type {
  AddInstruction,
  ArgDeclaration,
  ArgInstruction,
  CmdInstruction,
  CommandLine,
  CopyInstruction,
  EntrypointInstruction,
  EnvInstruction,
  ExposeInstruction,
  FromInstruction,
  HealthcheckInstruction,
  InlineFile,
  Instruction,
  InstructionKind,
  KeyValue,
  LabelInstruction,
  MaintainerInstruction,
  OnbuildInstruction,
  RunInstruction,
  RunNetwork,
  RunSecurity,
  ShellInstruction,
  StopsignalInstruction,
  UserInstruction,
  VolumeInstruction,
  WorkdirInstruction,
} from './ast.js';
export type { CheckDirective, DirectiveName, Directives, EscapeChar } from './directives.js';
export { parseCheckDirective } from './directives.js';
export { parseDockerfile, findStage, metaArgEnv, resolveStageBase } from './dockerfile.js';
export type { Dockerfile, MetaArgOptions, ParseOptions, Stage } from './dockerfile.js';
export { parseGoDuration } from './duration.js';
export { DockerfileSyntaxError, SubstitutionError } from './errors.js';
export { expandString, expandWords } from './expand.js';
export type { ExpandEnv, ExpandOptions } from './expand.js';
export { EXPANDED_INSTRUCTIONS, expandInstruction } from './expand-instruction.js';
export { chompHeredoc, heredocBody, heredocRunCommand, parseHeredocWord } from './heredoc.js';
export type { Heredoc, HeredocMarker, HeredocRun } from './heredoc.js';
export { parseInstruction } from './instructions.js';
export type { InstructionContext } from './instructions.js';
export { lexDockerfile } from './lexer.js';
export type { LexedDockerfile, LogicalLine, ParseWarning } from './lexer.js';
export { parseRunMount, resolveRunMount } from './mount.js';
export type { CacheSharing, RunMount, RunMountOption, RunMountSpec, RunMountType } from './mount.js';
