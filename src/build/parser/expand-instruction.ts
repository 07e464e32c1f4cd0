/**
 * Which instructions the builder expands, and how — Docker's list from
 * https://docs.docker.com/reference/dockerfile/#environment-replacement plus
 * ARG, whose names and defaults BuildKit also expands:
 * - ADD, COPY: sources, destination, `--from`, `--chown`, `--chmod`,
 *   `--checksum`, `--exclude`, and unquoted-delimiter heredoc bodies (with
 *   here-document rules: quotes kept, only `$` substituted);
 * - ENV, LABEL: keys and values — every pair sees the variables as they were
 *   *before* the instruction (`ENV abc=bye def=$abc` uses the old `abc`);
 * - ARG: names and default values;
 * - EXPOSE: each argument, split into words (`EXPOSE $PORTS`);
 * - FROM: image and `--platform` (with the meta ARGs — see dockerfile.ts);
 * - STOPSIGNAL, USER, VOLUME, WORKDIR: their argument(s).
 *
 * Not expanded: RUN, CMD, ENTRYPOINT, SHELL, HEALTHCHECK (the shell does it,
 * or nothing does, in exec form), MAINTAINER, and ONBUILD (its trigger is
 * expanded when it runs in the downstream build). RUN `--mount` values are
 * expanded by `resolveRunMount` with the same environment.
 */
import { withoutUndefined, type Instruction, type InstructionKind } from './ast.js';
import { expandString, expandWords, type ExpandEnv, type ExpandOptions } from './expand.js';

export const EXPANDED_INSTRUCTIONS: ReadonlySet<InstructionKind> = new Set<InstructionKind>([
  'ADD', 'ARG', 'COPY', 'ENV', 'EXPOSE', 'FROM', 'LABEL', 'STOPSIGNAL', 'USER', 'VOLUME', 'WORKDIR',
]);

/**
 * A copy of `instr` with variables substituted from `env` (and quotes
 * removed); instructions that are not expanded come back unchanged. Throws
 * `SubstitutionError` (`${VAR:?}`, unterminated quotes).
 */
export function expandInstruction<T extends Instruction>(instr: T, env: ExpandEnv, opts: ExpandOptions = {}): T {
  return withoutUndefined(expandAny(instr, env, opts)) as T;
}

function expandAny(instr: Instruction, env: ExpandEnv, opts: ExpandOptions): Instruction {
  const one = (s: string) => expandString(s, env, opts);
  const maybe = (s: string | undefined) => (s === undefined ? undefined : one(s));
  switch (instr.kind) {
    case 'ADD':
    case 'COPY': {
      const files = instr.files.map((f) => (f.expand ? { ...f, data: expandString(f.data, env, { ...opts, heredoc: true }) } : f));
      const common = {
        sources: instr.sources.map(one),
        files,
        dest: one(instr.dest),
        chown: maybe(instr.chown),
        chmod: maybe(instr.chmod),
        exclude: instr.exclude.map(one),
      };
      return instr.kind === 'COPY'
        ? { ...instr, ...common, from: maybe(instr.from) }
        : { ...instr, ...common, checksum: maybe(instr.checksum) };
    }
    case 'ENV':
    case 'LABEL':
      return { ...instr, pairs: instr.pairs.map((p) => ({ key: one(p.key), value: one(p.value) })) };
    case 'ARG':
      return { ...instr, args: instr.args.map((a) => withoutUndefined({ name: one(a.name), default: maybe(a.default) })) };
    case 'EXPOSE':
      return { ...instr, ports: instr.ports.flatMap((p) => expandWords(p, env, opts)) };
    case 'FROM':
      return { ...instr, image: one(instr.image), platform: maybe(instr.platform) };
    case 'STOPSIGNAL':
      return { ...instr, signal: one(instr.signal) };
    case 'USER':
      return { ...instr, user: one(instr.user) };
    case 'VOLUME':
      return { ...instr, paths: instr.paths.map(one) };
    case 'WORKDIR':
      return { ...instr, path: one(instr.path) };
    default:
      return instr;
  }
}
