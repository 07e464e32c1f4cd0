/**
 * Command-line flags with the semantics of spf13/pflag, which the Docker CLI
 * uses through cobra, so that any `docker …` command line parses the same way
 * under `berth …`:
 *
 * - long flags `--name=x` and `--name x`; a non-bool long flag always takes the
 *   next argument, even one starting with `-` (`--memory-swap -1`);
 * - shorthands combine (`-it`); a value flag takes the rest of the group or the
 *   next argument (`-p80:80`, `-p 80:80`, `-e=X`);
 * - bool flags accept `--rm=false` but never consume the next argument;
 * - repeated flags accumulate for list kinds, the last one wins otherwise;
 * - `--` ends the flags; with `interspersed: false` (run, create, exec, and the
 *   top level) the first positional argument ends them too, so everything
 *   after the image is the container's command.
 *
 * Values are converted and checked while parsing, like pflag's `Value.Set`,
 * so `-m foo` fails as `invalid argument "foo" for "-m, --memory" flag: …`.
 */

import { parseGoDuration, parseNanoCpus, ramInBytes } from './opts/units.js';

export type FlagKind =
  | 'bool'
  | 'string'
  /** Repeatable; every occurrence is kept (pflag `stringArray` / Docker's `ListOpts`). */
  | 'list'
  | 'int'
  | 'uint'
  /** Docker's `opts.MemBytes`: `64m`, `1g`, plain bytes; binary units. */
  | 'bytes'
  /** `opts.MemSwapBytes`: like bytes, and `-1` for unlimited. */
  | 'swapbytes'
  /** `opts.NanoCPUs` style decimal (`0.5`). */
  | 'decimal'
  /** Go `time.Duration` (`1m30s`), stored in nanoseconds. */
  | 'duration';

export interface FlagSpec {
  name: string;
  short?: string;
  kind: FlagKind;
  usage: string;
  /** The word shown after the flag in help (`string`, `list`, `filter`, `mount`…); derived from kind when absent. */
  varname?: string;
  /** Default shown in help, as pflag prints it (`(default "no")`, `(default -1)`). */
  defaultText?: string;
  /** Initial value for string/int kinds when the flag is absent. */
  default?: string | number | boolean;
  /** Extra long names accepted (Docker's normalised aliases such as `--net` for `--network`). */
  aliases?: string[];
  hidden?: boolean;
  /** Custom conversion for list/string flags: throw an Error whose message follows `…flag: `. */
  parse?: (value: string) => unknown;
  /** Flags Docker accepts that berth does not implement yet: the command refuses them loudly. */
  unsupported?: string;
}

/** A command-line error from parsing; commands print it with the usage line (exit 125 in Docker 28). */
export class FlagError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FlagError';
  }
}

const BOOL_TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const BOOL_FALSE = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

/** Go's strconv.ParseBool. */
export function parseGoBool(v: string): boolean {
  if (BOOL_TRUE.has(v)) return true;
  if (BOOL_FALSE.has(v)) return false;
  throw new Error(`strconv.ParseBool: parsing ${JSON.stringify(v)}: invalid syntax`);
}

/** Go's strconv.ParseInt(v, 0, 64) as pflag uses for int flags. */
export function parseGoInt(v: string): number {
  if (!/^[+-]?(0[xX][0-9a-fA-F_]+|0[oO]?[0-7_]*|0[bB][01_]+|[1-9][0-9_]*|0)$/.test(v)) {
    throw new Error(`strconv.ParseInt: parsing ${JSON.stringify(v)}: invalid syntax`);
  }
  const neg = v.startsWith('-');
  const s = v.replace(/^[+-]/, '').replace(/_/g, '');
  let n: number;
  if (/^0[xX]/.test(s)) n = parseInt(s.slice(2), 16);
  else if (/^0[bB]/.test(s)) n = parseInt(s.slice(2), 2);
  else if (/^0[oO]/.test(s)) n = parseInt(s.slice(2), 8);
  else if (/^0[0-7]+$/.test(s)) n = parseInt(s.slice(1), 8);
  else n = parseInt(s, 10);
  if (!Number.isSafeInteger(n)) throw new Error(`strconv.ParseInt: parsing ${JSON.stringify(v)}: value out of range`);
  return neg ? -n : n;
}

function parseGoUint(v: string): number {
  if (v.startsWith('-')) throw new Error(`strconv.ParseUint: parsing ${JSON.stringify(v)}: invalid syntax`);
  try {
    return parseGoInt(v);
  } catch {
    throw new Error(`strconv.ParseUint: parsing ${JSON.stringify(v)}: invalid syntax`);
  }
}

function convert(spec: FlagSpec, raw: string): unknown {
  if (spec.parse) return spec.parse(raw);
  switch (spec.kind) {
    case 'bool': return parseGoBool(raw);
    case 'string': case 'list': return raw;
    case 'int': return parseGoInt(raw);
    case 'uint': return parseGoUint(raw);
    case 'bytes': return ramInBytes(raw);
    case 'swapbytes': return raw === '-1' ? -1 : ramInBytes(raw);
    case 'decimal': return parseNanoCpus(raw);
    case 'duration': return parseGoDuration(raw);
  }
}

/** How pflag names a flag in messages: `-m, --memory` or `--memory`. */
export function flagDisplayName(spec: FlagSpec): string {
  return spec.short ? `-${spec.short}, --${spec.name}` : `--${spec.name}`;
}

export class ParsedFlags {
  /** Positional arguments in order. */
  readonly args: string[] = [];
  private readonly values = new Map<string, unknown[]>();
  private readonly specs = new Map<string, FlagSpec>();

  constructor(specs: readonly FlagSpec[]) {
    for (const s of specs) this.specs.set(s.name, s);
  }

  set(spec: FlagSpec, value: unknown): void {
    const list = this.values.get(spec.name) ?? [];
    list.push(value);
    this.values.set(spec.name, list);
  }

  /** True when the flag was given on the command line (pflag's `Changed`). */
  changed(name: string): boolean {
    this.check(name);
    return this.values.has(name);
  }

  bool(name: string): boolean {
    const v = this.last(name);
    if (v === undefined) return Boolean(this.specs.get(name)?.default ?? false);
    return v as boolean;
  }

  string(name: string): string {
    const v = this.last(name);
    if (v === undefined) return String(this.specs.get(name)?.default ?? '');
    return v as string;
  }

  number(name: string): number {
    const v = this.last(name);
    if (v === undefined) return Number(this.specs.get(name)?.default ?? 0);
    return v as number;
  }

  /** Every value of a repeatable flag, in command-line order. */
  list<T = string>(name: string): T[] {
    this.check(name);
    return (this.values.get(name) ?? []) as T[];
  }

  /** The names of the flags that were given. */
  given(): string[] {
    return [...this.values.keys()];
  }

  private last(name: string): unknown {
    this.check(name);
    const l = this.values.get(name);
    return l ? l[l.length - 1] : undefined;
  }

  private check(name: string): void {
    if (!this.specs.has(name)) throw new Error(`internal: flag --${name} is not defined for this command`);
  }
}

export interface ParseOptions {
  /** false: the first positional argument ends flag parsing (pflag SetInterspersed(false)). */
  interspersed?: boolean;
}

/** Parses argv against specs; throws FlagError with pflag's wording. */
export function parseFlags(specs: readonly FlagSpec[], argv: readonly string[], opts: ParseOptions = {}): ParsedFlags {
  const interspersed = opts.interspersed ?? true;
  const byLong = new Map<string, FlagSpec>();
  const byShort = new Map<string, FlagSpec>();
  for (const s of specs) {
    byLong.set(s.name, s);
    for (const a of s.aliases ?? []) byLong.set(a, s);
    if (s.short) byShort.set(s.short, s);
  }
  const out = new ParsedFlags(specs);

  const setValue = (spec: FlagSpec, raw: string, shown: string) => {
    let v: unknown;
    try {
      v = convert(spec, raw);
    } catch (e) {
      throw new FlagError(`invalid argument ${JSON.stringify(raw)} for ${JSON.stringify(shown)} flag: ${(e as Error).message}`);
    }
    out.set(spec, v);
  };

  let i = 0;
  while (i < argv.length) {
    const a = argv[i++];
    if (a === '--') {
      out.args.push(...argv.slice(i));
      break;
    }
    if (a.startsWith('--') && a.length > 2) {
      const body = a.slice(2);
      const eq = body.indexOf('=');
      const name = eq >= 0 ? body.slice(0, eq) : body;
      const spec = byLong.get(name);
      if (!spec || name.startsWith('-') || name.startsWith('=')) {
        throw new FlagError(`unknown flag: --${name}`);
      }
      if (spec.kind === 'bool') {
        setValue(spec, eq >= 0 ? body.slice(eq + 1) : 'true', flagDisplayName(spec));
        continue;
      }
      let val: string;
      if (eq >= 0) val = body.slice(eq + 1);
      else if (i < argv.length) val = argv[i++];
      else throw new FlagError(`flag needs an argument: --${name}`);
      setValue(spec, val, flagDisplayName(spec));
      continue;
    }
    if (a.startsWith('-') && a.length > 1) {
      let group = a.slice(1);
      while (group.length > 0) {
        const c = group[0];
        const spec = byShort.get(c);
        if (!spec) throw new FlagError(`unknown shorthand flag: '${c}' in -${group}`);
        if (spec.kind === 'bool') {
          if (group[1] === '=') {
            setValue(spec, group.slice(2), flagDisplayName(spec));
            group = '';
          } else {
            setValue(spec, 'true', flagDisplayName(spec));
            group = group.slice(1);
          }
          continue;
        }
        let val: string;
        if (group.length > 1) val = group[1] === '=' ? group.slice(2) : group.slice(1);
        else if (i < argv.length) val = argv[i++];
        else throw new FlagError(`flag needs an argument: '${c}' in -${group}`);
        setValue(spec, val, flagDisplayName(spec));
        group = '';
      }
      continue;
    }
    if (!interspersed) {
      out.args.push(a, ...argv.slice(i));
      break;
    }
    out.args.push(a);
  }
  return out;
}

/* ------------------------------------------------------------------ help */

function varnameOf(spec: FlagSpec): string {
  if (spec.varname !== undefined) return spec.varname;
  switch (spec.kind) {
    case 'bool': return '';
    case 'list': return 'list';
    case 'swapbytes': return 'bytes';
    default: return spec.kind;
  }
}

/** pflag's wrapN: split s at the last blank before i, allowing `slop` extra. */
function wrapN(i: number, slop: number, s: string): [string, string] {
  if (i + slop > s.length) return [s, ''];
  const head = s.slice(0, i);
  const w = Math.max(head.lastIndexOf(' '), head.lastIndexOf('\t'), head.lastIndexOf('\n'));
  if (w <= 0) return [s, ''];
  const nl = head.lastIndexOf('\n');
  if (nl > 0 && nl < w) return [s.slice(0, nl), s.slice(nl + 1)];
  return [s.slice(0, w), s.slice(w + 1)];
}

/** pflag's wrap: text s in columns [i, w), continuation lines indented by i. */
function wrap(i: number, w: number, s: string): string {
  if (w === 0) return s.replace(/\n/g, '\n' + ' '.repeat(i));
  let width = w - i;
  let r = '';
  if (width < 24) {
    i = 16;
    width = w - i;
    r += '\n' + ' '.repeat(i);
  }
  if (width < 24) return s.replace(/\n/g, r);
  const slop = 5;
  width -= slop;
  let [l, rest] = wrapN(width, slop, s);
  r += l.replace(/\n/g, '\n' + ' '.repeat(i));
  while (rest !== '') {
    let t: string;
    [t, rest] = wrapN(width, slop, rest);
    r += '\n' + ' '.repeat(i) + t.replace(/\n/g, '\n' + ' '.repeat(i));
  }
  return r;
}

/** The "Options:" block, laid out like pflag's FlagUsagesWrapped at Docker's width (terminal width - 1, 79 off a terminal). */
export function flagUsages(specs: readonly FlagSpec[], cols = 79): string {
  const lines: string[] = [];
  let maxlen = 0;
  const visible = [...specs].filter((s) => !s.hidden).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const s of visible) {
    let line = s.short ? `  -${s.short}, --${s.name}` : `      --${s.name}`;
    const vn = varnameOf(s);
    if (vn) line += ' ' + vn;
    line += '\x00';
    if (line.length > maxlen) maxlen = line.length;
    line += s.usage;
    if (s.defaultText !== undefined) line += ` (default ${s.defaultText})`;
    lines.push(line);
  }
  let buf = '';
  for (const line of lines) {
    const sidx = line.indexOf('\x00');
    const spacing = ' '.repeat(maxlen - sidx);
    buf += `${line.slice(0, sidx)} ${spacing} ${wrap(maxlen + 2, cols, line.slice(sidx + 1))}\n`;
  }
  return buf;
}
