/**
 * The command tree and how a command line finds its command: a declarative
 * `Command` per Docker command (one file each, like nerdctl's
 * `cmd/nerdctl/container/container_run.go`), dispatch by name and alias, usage
 * texts laid out like cobra's template in the Docker CLI, and the argument
 * count checks of `cli/required.go` with their exact messages.
 */
import { FlagError, flagUsages, parseFlags, type FlagSpec, type ParsedFlags } from './flags.js';
import { ArgsError } from './errors.js';
import type { CliContext } from './context.js';

export const PROGRAM = 'berth';

export interface ArgsRule {
  min?: number;
  max?: number;
}

export interface Invocation {
  /** The command path as typed: `berth container ls` or `berth ps`. */
  path: string;
  command: Command;
}

export interface Command {
  name: string;
  /** Other names under the same parent (`ls`, `list`, `ps`). */
  aliases?: string[];
  /** What follows the command path in `Usage:` (`[OPTIONS] CONTAINER [CONTAINER...]`). */
  usage?: string;
  short: string;
  long?: string;
  /** The `Aliases:` line of the help, e.g. `berth container ls, berth container list, berth ps`. */
  aliasesHelp?: string;
  flags?: FlagSpec[];
  /** false: flags stop at the first positional argument (run, create, exec). */
  interspersed?: boolean;
  args?: ArgsRule;
  /** Section in the top-level help. */
  group?: 'common' | 'management';
  hidden?: boolean;
  subcommands?: Command[];
  /** Returns the exit status (default 0). */
  run?: (ctx: CliContext, flags: ParsedFlags, inv: Invocation) => Promise<number | void>;
  /**
   * Set on a stub in its parent's list (see root.ts), which carries only what
   * listing and lookup need (name, aliases, short, group, hidden): imports the
   * module that defines the whole command.
   */
  load?: () => Promise<Command>;
}

const HELP_FLAG: FlagSpec = { name: 'help', kind: 'bool', usage: 'Print usage', hidden: true };

/** The flags a command parses: its own plus `--help` (with `-h` unless the command uses it, as run does for --hostname). */
export function commandFlags(cmd: Command): FlagSpec[] {
  const own = cmd.flags ?? [];
  if (own.some((f) => f.name === 'help')) return own;
  const shortH = own.some((f) => f.short === 'h');
  return [...own, shortH ? { ...HELP_FLAG, hidden: false } : { ...HELP_FLAG, short: 'h' }];
}

export function findSubcommand(cmd: Command, name: string): Command | undefined {
  return cmd.subcommands?.find((c) => c.name === name || (c.aliases ?? []).includes(name));
}

/** The whole command behind a list entry: the entry itself, or what its stub loads. */
export function loadCommand(cmd: Command): Promise<Command> {
  return cmd.load ? cmd.load() : Promise.resolve(cmd);
}

export function usageLine(inv: Invocation): string {
  const c = inv.command;
  if (c.subcommands?.length && !c.run) return `${inv.path} COMMAND`;
  return c.usage ? `${inv.path} ${c.usage}` : inv.path;
}

function rpad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

function commandList(cmds: readonly Command[]): string {
  const visible = cmds.filter((c) => !c.hidden);
  const pad = Math.max(11, ...visible.map((c) => c.name.length + 1));
  return visible.map((c) => `  ${rpad(c.name, pad)} ${c.short}`).join('\n');
}

/** Full help, as `--help` prints it (stdout). */
export function helpText(inv: Invocation): string {
  const c = inv.command;
  let s = `Usage:  ${usageLine(inv)}\n\n${(c.long ?? c.short).trim()}\n`;
  if (c.aliasesHelp) s += `\nAliases:\n  ${c.aliasesHelp}\n`;
  const flags = commandFlags(c).filter((f) => !f.hidden);
  if (flags.length) s += `\nOptions:\n${flagUsages(flags).trimEnd()}\n`;
  if (c.subcommands?.length) {
    s += `\nCommands:\n${commandList([...c.subcommands].sort((a, b) => (a.name < b.name ? -1 : 1)))}\n`;
    s += `\nRun '${inv.path} COMMAND --help' for more information on a command.\n`;
  }
  return s;
}

/** Top-level help, grouped like `docker --help`. */
export function rootHelpText(root: Command, globalFlags: FlagSpec[]): string {
  const subs = [...(root.subcommands ?? [])].filter((c) => !c.hidden);
  const common = subs.filter((c) => c.group === 'common');
  const mgmt = subs.filter((c) => c.group === 'management').sort((a, b) => (a.name < b.name ? -1 : 1));
  const rest = subs.filter((c) => !c.group).sort((a, b) => (a.name < b.name ? -1 : 1));
  return `Usage:  ${PROGRAM} [OPTIONS] COMMAND\n\n${root.short}\n\n` +
    `Common Commands:\n${commandList(common)}\n\n` +
    `Management Commands:\n${commandList(mgmt)}\n\n` +
    `Commands:\n${commandList(rest)}\n\n` +
    `Global Options:\n${flagUsages(globalFlags.filter((f) => !f.hidden)).trimEnd()}\n\n` +
    `Run '${PROGRAM} COMMAND --help' for more information on a command.\n`;
}

/** Docker 28's text for a flag error; the caller exits 125. */
export function flagErrorText(inv: Invocation, err: FlagError | Error): string {
  return `${err.message}\n\nUsage:  ${usageLine(inv)}\n\nRun '${inv.path} --help' for more information`;
}

/** Docker 28's text for a wrong argument count (`cli/required.go`); the caller exits 1. */
export function argsErrorText(inv: Invocation, err: ArgsError, see: boolean): string {
  return `${PROGRAM}: ${err.message}\n\nUsage:  ${usageLine(inv)}\n\n${see ? 'See' : 'Run'} '${inv.path} --help' for more information`;
}

function plural(n: number): string {
  return n === 1 ? 'argument' : 'arguments';
}

/** Checks the positional count; returns [error, usesSee] like the matching cli.* validator. */
export function checkArgs(inv: Invocation, args: readonly string[]): [ArgsError, boolean] | undefined {
  const r = inv.command.args;
  if (!r) return undefined;
  const n = args.length;
  const name = `'${inv.path}'`;
  const { min, max } = r;
  if (max === 0 && n > 0) return [new ArgsError(`${name} accepts no arguments`), false];
  if (min !== undefined && max !== undefined && min === max && n !== min) return [new ArgsError(`${name} requires ${min} ${plural(min)}`), false];
  if (min !== undefined && max !== undefined && min !== max && (n < min || n > max)) {
    return [new ArgsError(`${name} requires at least ${min} and at most ${max} ${plural(max)}`), false];
  }
  if (min !== undefined && max === undefined && n < min) return [new ArgsError(`${name} requires at least ${min} ${plural(min)}`), true];
  if (max !== undefined && min === undefined && n > max) return [new ArgsError(`${name} requires at most ${max} ${plural(max)}`), false];
  return undefined;
}

export { FlagError, parseFlags };
