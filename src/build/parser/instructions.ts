/**
 * Parses one logical line into a typed instruction (ast.ts), with Docker's
 * checks and messages: `unknown instruction: RUNN`, `ENV requires at least
 * one argument`, `COPY requires at least two arguments, but only one was
 * provided. Destination could not be determined`, `FROM requires either one
 * or three arguments`, `unknown flag: --chwon`…
 *
 * Each instruction reads its arguments in the shape Docker uses for it (see
 * words.ts): whole rest, whitespace-split, JSON-or-shell, JSON-or-words, or
 * raw shell words. Instructions accept only their own flags.
 */
import { InvalidParameterError } from '../../errors.js';
import {
  withoutUndefined,
  type AddInstruction,
  type ArgDeclaration,
  type CommandLine,
  type CopyInstruction,
  type HealthcheckInstruction,
  type InlineFile,
  type Instruction,
  type KeyValue,
  type RunNetwork,
  type RunSecurity,
} from './ast.js';
import type { EscapeChar } from './directives.js';
import { parseGoDuration } from './duration.js';
import { DockerfileSyntaxError, quoted } from './errors.js';
import { BuilderFlags, type FlagSpec } from './flags.js';
import { heredocBody, parseHeredocWord, type Heredoc } from './heredoc.js';
import { parseJsonArray } from './json-form.js';
import type { LogicalLine } from './lexer.js';
import { parseRunMount } from './mount.js';
import { splitInstructionLine, splitRawWords, splitWhitespace } from './words.js';

export interface InstructionContext {
  /** File name for error messages. */
  file: string;
  escape: EscapeChar;
}

/** Parses a logical line; throws `DockerfileSyntaxError` at the line. */
export function parseInstruction(line: LogicalLine, ctx: InstructionContext): Instruction {
  try {
    return withoutUndefined(parseText(line.text, line.heredocs, { line: line.line, endLine: line.endLine }, ctx.escape));
  } catch (err) {
    if (err instanceof InvalidParameterError && !(err instanceof DockerfileSyntaxError)) {
      throw new DockerfileSyntaxError(ctx.file, line.line, err.message, { endLine: line.endLine, cause: err });
    }
    throw err;
  }
}

interface Where {
  line: number;
  endLine: number;
}

function fail(message: string): never {
  throw new InvalidParameterError(message);
}

function parseText(text: string, heredocs: Heredoc[], where: Where, escape: EscapeChar): Instruction {
  const { keyword, flags, rest } = splitInstructionLine(text);
  const base = { ...where, original: text.trim() };
  const kind = keyword.toUpperCase();
  const noFlags = () => new BuilderFlags(flags, {});
  switch (kind) {
    case 'FROM': {
      const args = splitWhitespace(rest);
      let stageName: string | undefined;
      if (args.length === 3 && args[1].toLowerCase() === 'as') {
        stageName = args[2].toLowerCase();
        if (!/^[a-z][a-z0-9-_.]*$/.test(stageName)) {
          fail(`invalid name for build stage: ${quoted(args[2])}, name can't start with a number or contain symbols`);
        }
      } else if (args.length !== 1) {
        fail('FROM requires either one or three arguments');
      }
      const f = new BuilderFlags(flags, { platform: 'string' });
      return { kind: 'FROM', ...base, image: args[0], platform: f.string('platform'), stageName };
    }
    case 'RUN': {
      const f = new BuilderFlags(flags, { mount: 'strings', network: 'string', security: 'string', device: 'strings' });
      return {
        kind: 'RUN',
        ...base,
        command: commandLine(rest),
        heredocs,
        mounts: f.list('mount').map(parseRunMount),
        network: oneOf<RunNetwork>(f.string('network'), ['default', 'none', 'host'], 'network mode'),
        security: oneOf<RunSecurity>(f.string('security'), ['sandbox', 'insecure'], 'security mode'),
        devices: f.list('device'),
      };
    }
    case 'CMD':
      noFlags();
      return { kind: 'CMD', ...base, command: commandLine(rest) };
    case 'ENTRYPOINT':
      noFlags();
      return { kind: 'ENTRYPOINT', ...base, command: commandLine(rest) };
    case 'SHELL': {
      noFlags();
      const shell = rest === '' ? [] : parseJsonArray(rest);
      if (shell === undefined) fail(notJson('SHELL', base.original));
      if (shell.length === 0) fail('SHELL requires at least one argument');
      return { kind: 'SHELL', ...base, shell };
    }
    case 'ENV':
    case 'LABEL':
      noFlags();
      return { kind, ...base, pairs: keyValues(rest, kind, escape) };
    case 'ARG': {
      noFlags();
      const words = splitRawWords(rest, escape);
      if (words.length === 0) fail('ARG requires at least one argument');
      const args = words.map((w): ArgDeclaration => {
        const eq = w.indexOf('=');
        if (eq === 0) fail('ARG names can not be blank');
        return eq < 0 ? { name: w } : { name: w.slice(0, eq), default: w.slice(eq + 1) };
      });
      return { kind: 'ARG', ...base, args };
    }
    case 'MAINTAINER':
    case 'WORKDIR':
    case 'USER':
    case 'STOPSIGNAL': {
      if (rest === '') fail(`${kind} requires exactly one argument`);
      noFlags();
      if (kind === 'MAINTAINER') return { kind, ...base, maintainer: rest };
      if (kind === 'WORKDIR') return { kind, ...base, path: rest };
      if (kind === 'USER') return { kind, ...base, user: rest };
      return { kind, ...base, signal: rest };
    }
    case 'EXPOSE': {
      const ports = splitWhitespace(rest);
      if (ports.length === 0) fail('EXPOSE requires at least one argument');
      noFlags();
      return { kind: 'EXPOSE', ...base, ports };
    }
    case 'VOLUME': {
      noFlags();
      const paths = parseJsonArray(rest) ?? splitWhitespace(rest);
      if (paths.length === 0) fail('VOLUME requires at least one argument');
      if (paths.some((p) => p.trim() === '')) fail('VOLUME specified can not be an empty string');
      return { kind: 'VOLUME', ...base, paths };
    }
    case 'COPY':
      return copyLike('COPY', rest, flags, heredocs, base);
    case 'ADD':
      return copyLike('ADD', rest, flags, heredocs, base);
    case 'HEALTHCHECK':
      return { kind: 'HEALTHCHECK', ...base, health: healthcheck(rest, flags) };
    case 'ONBUILD': {
      if (rest === '') fail('ONBUILD requires at least one argument');
      noFlags();
      const trigger = splitWhitespace(rest)[0].toUpperCase();
      if (trigger === 'ONBUILD') fail("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
      if (trigger === 'MAINTAINER' || trigger === 'FROM') fail(`${trigger} isn't allowed as an ONBUILD trigger`);
      const expression = base.original.replace(/^ONBUILD\s*/i, '') + heredocs.map((h) => `\n${h.content}${h.name}`).join('');
      return { kind: 'ONBUILD', ...base, expression, trigger: withoutUndefined(parseText(rest, heredocs, where, escape)) };
    }
    default:
      return fail(`unknown instruction: ${keyword}`);
  }
}

/** JSON array → exec form; anything else → shell form (Docker's silent fallback). */
function commandLine(rest: string): CommandLine {
  const args = rest === '' ? undefined : parseJsonArray(rest);
  return args === undefined ? { form: 'shell', command: rest } : { form: 'exec', args };
}

/**
 * "X requires the arguments to be in JSON form", with Docker's hint when the
 * text looks like a JSON array holding an unescaped Windows path.
 */
function notJson(kind: string, original: string): string {
  const text = original.toLowerCase();
  const hint =
    /"[a-z]:\\/.test(text) && !text.includes('\\\\') && text.includes('[') && text.includes(']')
      ? `. It looks like '${text}' includes a file path without an escaped back-slash. JSON requires back-slashes to be escaped such as ["c:\\\\path\\\\to\\\\file.exe", "/parameter"]`
      : '';
  return `${kind} requires the arguments to be in JSON form${hint}`;
}

/**
 * ENV/LABEL arguments: `k=v k2="v 2"` (raw words), or the legacy `k v…`
 * when the first word has no `=` (the value is the rest of the line).
 */
function keyValues(rest: string, kind: 'ENV' | 'LABEL', escape: EscapeChar): KeyValue[] {
  const words = splitRawWords(rest, escape);
  if (words.length === 0) fail(`${kind} requires at least one argument`);
  if (!words[0].includes('=')) {
    const m = /[\t\v\f\r ]+/.exec(rest);
    if (!m) fail(`${kind} must have two arguments`);
    return [{ key: rest.slice(0, m.index), value: rest.slice(m.index + m[0].length) }];
  }
  return words.map((word) => {
    const eq = word.indexOf('=');
    if (eq < 0) fail(`Syntax error - can't find = in ${quoted(word)}. Must be of the form: name=value`);
    if (eq === 0) fail(`${kind} names can not be blank`);
    return { key: word.slice(0, eq), value: word.slice(eq + 1) };
  });
}

const COPY_FLAGS: FlagSpec = {
  from: 'string', chown: 'string', chmod: 'string', link: 'bool', parents: 'bool', exclude: 'strings',
};
const ADD_FLAGS: FlagSpec = {
  chown: 'string', chmod: 'string', link: 'bool', 'keep-git-dir': 'bool', checksum: 'string', unpack: 'bool', exclude: 'strings',
};

function copyLike(
  kind: 'COPY' | 'ADD',
  rest: string,
  flags: string[],
  heredocs: Heredoc[],
  base: Where & { original: string },
): CopyInstruction | AddInstruction {
  const json = parseJsonArray(rest);
  const args = json ?? splitWhitespace(rest);
  if (args.length < 2) {
    fail(`${kind} requires at least two arguments, but only one was provided. Destination could not be determined`);
  }
  const f = new BuilderFlags(flags, kind === 'COPY' ? COPY_FLAGS : ADD_FLAGS);
  const dest = args[args.length - 1];
  if (!json && parseHeredocWord(dest)) fail(`${kind} cannot accept a heredoc as a destination`);
  const sources: string[] = [];
  const files: InlineFile[] = [];
  for (const src of args.slice(0, -1)) {
    const marker = json ? undefined : parseHeredocWord(src);
    if (!marker) {
      sources.push(src);
      continue;
    }
    const doc = heredocs.find((h) => h.name === marker.name);
    if (!doc) fail(`${kind} heredoc ${marker.name} has no body`);
    files.push({ name: doc.name, data: heredocBody(doc), expand: doc.expand });
  }
  const common = {
    ...base,
    sources,
    files,
    dest,
    chown: f.string('chown'),
    chmod: f.string('chmod'),
    link: f.bool('link') ?? false,
    exclude: f.list('exclude'),
  };
  if (kind === 'COPY') {
    return { kind, ...common, from: f.string('from'), parents: f.bool('parents') ?? false };
  }
  return { kind, ...common, keepGitDir: f.bool('keep-git-dir') ?? false, checksum: f.string('checksum'), unpack: f.bool('unpack') };
}

/**
 * `HEALTHCHECK NONE` or `HEALTHCHECK [--interval=…] … CMD <command>`. Like
 * Docker, flags are only read for the CMD type, a zero duration means "use
 * the default", and anything else below 1ms is refused.
 */
function healthcheck(rest: string, flags: string[]): HealthcheckInstruction['health'] {
  if (rest === '') fail('HEALTHCHECK requires at least one argument');
  const sep = /\s/.exec(rest);
  const type = (sep ? rest.slice(0, sep.index) : rest).toUpperCase();
  const after = sep ? rest.slice(sep.index).trimStart() : '';
  if (type === 'NONE') {
    if (after !== '') fail('HEALTHCHECK NONE takes no arguments');
    return { Test: ['NONE'] };
  }
  const f = new BuilderFlags(flags, {
    interval: 'string', timeout: 'string', 'start-period': 'string', 'start-interval': 'string', retries: 'string',
  });
  if (type !== 'CMD') fail(`Unknown type ${quoted(type)} in HEALTHCHECK (try CMD)`);
  const command = commandLine(after);
  if (command.form === 'exec' ? command.args.length === 0 : command.command === '') {
    fail('Missing command after HEALTHCHECK CMD');
  }
  const health: HealthcheckInstruction['health'] = {
    Test: command.form === 'exec' ? ['CMD', ...command.args] : ['CMD-SHELL', command.command],
  };
  const durations = [
    ['interval', 'Interval'],
    ['timeout', 'Timeout'],
    ['start-period', 'StartPeriod'],
    ['start-interval', 'StartInterval'],
  ] as const;
  for (const [flag, field] of durations) {
    const ns = interval(flag, f.string(flag));
    if (ns) health[field] = ns;
  }
  const retries = f.string('retries');
  if (retries !== undefined && retries !== '') {
    if (!/^[+-]?\d+$/.test(retries)) fail(`strconv.ParseInt: parsing ${quoted(retries)}: invalid syntax`);
    const n = Number(retries);
    if (n > 2 ** 31 - 1 || n < -(2 ** 31)) fail(`strconv.ParseInt: parsing ${quoted(retries)}: value out of range`);
    if (n < 0) fail(`--retries cannot be negative (${n})`);
    if (n > 0) health.Retries = n;
  }
  return health;
}

/** A HEALTHCHECK duration flag in nanoseconds; 0/undefined when unset. */
function interval(flag: string, value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  const ns = parseGoDuration(value);
  if (ns === 0) return 0;
  if (ns < 1_000_000) fail(`Interval ${quoted(flag)} cannot be less than 1ms`);
  return ns;
}

function oneOf<T extends string>(value: string | undefined, allowed: readonly T[], what: string): T | undefined {
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) fail(`unsupported ${what} ${quoted(value)}`);
  return value as T;
}

