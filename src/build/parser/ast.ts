/**
 * The typed Dockerfile AST: one interface per instruction of the Dockerfile
 * reference (https://docs.docker.com/reference/dockerfile/), discriminated by
 * `kind`, the instruction's name in upper case.
 *
 * Values are as written: variables are not substituted and, for the
 * instructions that go through substitution (see expand-instruction.ts),
 * quotes are still in place — `ENV A="x y"` has value `"x y"` here and `x y`
 * after `expandInstruction`. Only the parser's own syntax is resolved: flags
 * are read, the exec/shell form is decided, heredoc bodies are attached.
 * Optional fields are absent, never present with the value `undefined`.
 */
import type { HealthConfig } from '../../image/config.js';
import type { Heredoc } from './heredoc.js';
import type { RunMountSpec } from './mount.js';

interface InstructionBase {
  /** First physical line (1-based). */
  line: number;
  /** Last physical line (continuations and heredoc bodies included). */
  endLine: number;
  /** The instruction as written, continuations joined (history's `created_by`, error context). */
  original: string;
}

/**
 * RUN/CMD/ENTRYPOINT/HEALTHCHECK CMD command: exec form (a JSON array, run
 * as is) or shell form (a string, run under the stage's SHELL, `/bin/sh -c`
 * by default). An instruction with no command at all is the shell form `''`,
 * as Docker records it.
 */
export type CommandLine =
  | { form: 'exec'; args: string[] }
  | { form: 'shell'; command: string };

/** `FROM [--platform=<p>] <image> [AS <name>]`; `image` may be `scratch`, a stage name, or use meta ARGs. */
export interface FromInstruction extends InstructionBase {
  kind: 'FROM';
  image: string;
  platform?: string;
  /** The `AS` name, lower-cased (stage names are case-insensitive). */
  stageName?: string;
}

export type RunNetwork = 'default' | 'none' | 'host';
export type RunSecurity = 'sandbox' | 'insecure';

/** `RUN [--mount=…] [--network=…] [--security=…] [--device=…] <command>` */
export interface RunInstruction extends InstructionBase {
  kind: 'RUN';
  command: CommandLine;
  /** Here-documents opened on the line (`RUN <<EOF`, `RUN python3 <<EOF`). */
  heredocs: Heredoc[];
  mounts: RunMountSpec[];
  network?: RunNetwork;
  security?: RunSecurity;
  /** CDI device requests (`--device=vendor.com/gpu=all`), as written. */
  devices: string[];
}

export interface CmdInstruction extends InstructionBase {
  kind: 'CMD';
  command: CommandLine;
}

export interface EntrypointInstruction extends InstructionBase {
  kind: 'ENTRYPOINT';
  command: CommandLine;
}

/** `SHELL ["executable", "parameters"]` — JSON form only. */
export interface ShellInstruction extends InstructionBase {
  kind: 'SHELL';
  shell: string[];
}

/** A `key=value` (or legacy `key value`) pair, both raw. */
export interface KeyValue {
  key: string;
  value: string;
}

/** `ENV <key>=<value> …` or legacy `ENV <key> <value>`. */
export interface EnvInstruction extends InstructionBase {
  kind: 'ENV';
  pairs: KeyValue[];
}

/** `LABEL <key>=<value> …` (or legacy `LABEL <key> <value>`). */
export interface LabelInstruction extends InstructionBase {
  kind: 'LABEL';
  pairs: KeyValue[];
}

/** One `name[=default]` of an ARG; `default` is undefined without `=`, `''` for `name=`. */
export interface ArgDeclaration {
  name: string;
  default?: string;
}

export interface ArgInstruction extends InstructionBase {
  kind: 'ARG';
  args: ArgDeclaration[];
}

/** `MAINTAINER <name>` (deprecated; sets the image's Author). */
export interface MaintainerInstruction extends InstructionBase {
  kind: 'MAINTAINER';
  maintainer: string;
}

/** `EXPOSE <port>[/<protocol>] …` */
export interface ExposeInstruction extends InstructionBase {
  kind: 'EXPOSE';
  ports: string[];
}

export interface WorkdirInstruction extends InstructionBase {
  kind: 'WORKDIR';
  path: string;
}

/** `USER <user>[:<group>]` */
export interface UserInstruction extends InstructionBase {
  kind: 'USER';
  user: string;
}

/** `VOLUME ["/a", "/b"]` or `VOLUME /a /b` */
export interface VolumeInstruction extends InstructionBase {
  kind: 'VOLUME';
  paths: string[];
}

export interface StopsignalInstruction extends InstructionBase {
  kind: 'STOPSIGNAL';
  signal: string;
}

/** A COPY/ADD source given as a here-document: a file named `name` with `data`. */
export interface InlineFile {
  name: string;
  /** The body, leading tabs already removed for `<<-`. */
  data: string;
  /** Substitute variables in `data` (unquoted delimiter). */
  expand: boolean;
}

interface CopyLike extends InstructionBase {
  /** Source paths, URLs or globs (heredoc sources are in `files`). */
  sources: string[];
  files: InlineFile[];
  dest: string;
  chown?: string;
  chmod?: string;
  /** `--link[=bool]`, false by default. */
  link: boolean;
  /** `--exclude=<pattern>`, repeatable. */
  exclude: string[];
}

/** `COPY [--from=…] [--chown=…] [--chmod=…] [--link] [--parents] [--exclude=…] <src>… <dest>` */
export interface CopyInstruction extends CopyLike {
  kind: 'COPY';
  from?: string;
  /** `--parents[=bool]` (Dockerfile 1.20): keep source parent directories. */
  parents: boolean;
}

/** `ADD [--chown] [--chmod] [--link] [--keep-git-dir] [--checksum] [--unpack] [--exclude] <src>… <dest>` */
export interface AddInstruction extends CopyLike {
  kind: 'ADD';
  keepGitDir: boolean;
  checksum?: string;
  /** `--unpack[=bool]`; undefined: unpack local archives, not remote ones. */
  unpack?: boolean;
}

/**
 * `HEALTHCHECK NONE` (`Test: ["NONE"]`) or `HEALTHCHECK [opts] CMD …`
 * (`Test: ["CMD", …]` exec form, `["CMD-SHELL", "…"]` shell form), with
 * durations in nanoseconds; options not given are absent.
 */
export interface HealthcheckInstruction extends InstructionBase {
  kind: 'HEALTHCHECK';
  health: HealthConfig & { Test: string[] };
}

/** `ONBUILD <INSTRUCTION>`: `expression` is what goes into the image's `OnBuild` list. */
export interface OnbuildInstruction extends InstructionBase {
  kind: 'ONBUILD';
  expression: string;
  trigger: Instruction;
}

export type Instruction =
  | FromInstruction
  | RunInstruction
  | CmdInstruction
  | EntrypointInstruction
  | ShellInstruction
  | EnvInstruction
  | LabelInstruction
  | ArgInstruction
  | MaintainerInstruction
  | ExposeInstruction
  | WorkdirInstruction
  | UserInstruction
  | VolumeInstruction
  | StopsignalInstruction
  | CopyInstruction
  | AddInstruction
  | HealthcheckInstruction
  | OnbuildInstruction;

export type InstructionKind = Instruction['kind'];

/** Drops keys whose value is undefined, so optional fields are absent rather than present-but-undefined. */
export function withoutUndefined<T extends object>(value: T): T {
  for (const key of Object.keys(value) as (keyof T)[]) {
    if (value[key] === undefined) delete value[key];
  }
  return value;
}
