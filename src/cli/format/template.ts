/**
 * A Go text/template subset for `--format`: what people pass to `docker ps
 * --format`, `docker inspect -f` and friends must print the same under berth.
 *
 * Supported: text and `{{pipeline}}` actions with `{{-`/`-}}` trimming and
 * `{{/* comments *\/}}`; fields and chains (`.State.Status`, `$.Name`,
 * `(index .X 0).Y`); variables (`$v := …`, `$v = …`, `$i, $e := range …`);
 * `if`/`else if`/`else`, `range` (with `else`, `break`, `continue`), `with`;
 * pipes; string, raw string, number, bool and nil literals; Go's builtins
 * (`and or not len index slice print printf println eq ne lt le gt ge html js
 * urlquery call`) and Docker's (`json split join title lower upper pad
 * truncate`). Methods are plain functions on the data: `.Label "x"` calls
 * `data.Label("x")`.
 *
 * Data is JSON-shaped, so objects behave like Go maps: a missing key prints
 * `<no value>`, a null `<nil>`, maps print as `map[k:v]` with sorted keys.
 */

export class TemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemplateError';
  }
}

/* ------------------------------------------------------------- lexing */

type Tok =
  | { t: 'field'; v: string[] } // `.A.B` (empty list = `.`)
  | { t: 'var'; v: string; fields: string[] } // `$x.A`
  | { t: 'ident'; v: string }
  | { t: 'string'; v: string }
  | { t: 'number'; v: number }
  | { t: 'bool'; v: boolean }
  | { t: 'nil' }
  | { t: 'pipe' }
  | { t: 'lparen' }
  | { t: 'rparen'; fields: string[] } // `)` optionally followed by `.A.B`
  | { t: 'declare' } // :=
  | { t: 'assign' } // =
  | { t: 'comma' };

interface RawItem {
  kind: 'text' | 'action';
  text: string;
  pos: number;
}

function lineOf(src: string, pos: number): number {
  return src.slice(0, pos).split('\n').length;
}

/** Splits the source into text and action items, applying `{{-` / `-}}` trimming. */
function scan(src: string): RawItem[] {
  const items: RawItem[] = [];
  let i = 0;
  let trimNext = false;
  while (i < src.length) {
    const open = src.indexOf('{{', i);
    let text = open < 0 ? src.slice(i) : src.slice(i, open);
    if (trimNext) text = text.replace(/^\s+/, '');
    trimNext = false;
    if (open < 0) {
      if (text) items.push({ kind: 'text', text, pos: i });
      break;
    }
    let start = open + 2;
    if (src[start] === '-' && /\s/.test(src[start + 1] ?? '')) {
      text = text.replace(/\s+$/, '');
      start += 1;
    }
    if (text) items.push({ kind: 'text', text, pos: i });
    // Find the closing `}}`, skipping quoted strings.
    let j = start;
    let quote: string | null = null;
    for (; j < src.length; j++) {
      const c = src[j];
      if (quote) {
        if (c === '\\' && quote === '"') { j++; continue; }
        if (c === quote) quote = null;
        continue;
      }
      if (c === '"' || c === '`' || c === "'") { quote = c; continue; }
      if (c === '}' && src[j + 1] === '}') break;
    }
    if (j >= src.length) throw new TemplateError(`template: :${lineOf(src, open)}: unclosed action`);
    let inner = src.slice(start, j);
    if (/\s-$/.test(inner)) {
      inner = inner.slice(0, -1);
      trimNext = true;
    }
    const trimmed = inner.trim();
    if (!(trimmed.startsWith('/*') && trimmed.endsWith('*/'))) items.push({ kind: 'action', text: inner, pos: open });
    i = j + 2;
  }
  return items;
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*/;
const FIELD_CHAIN = /^(\.[A-Za-z_][A-Za-z0-9_]*)+/;

function unquote(s: string, line: number): string {
  try {
    return JSON.parse(s.replace(/\\x([0-9a-fA-F]{2})/g, '\\u00$1').replace(/\\a/g, '\\u0007').replace(/\\v/g, '\\u000b')) as string;
  } catch {
    throw new TemplateError(`template: :${line}: bad string syntax: ${s}`);
  }
}

function tokenize(text: string, line: number): Tok[] {
  const toks: Tok[] = [];
  let s = text;
  const fieldsAfter = (): string[] => {
    const m = FIELD_CHAIN.exec(s);
    if (!m) return [];
    s = s.slice(m[0].length);
    return m[0].slice(1).split('.');
  };
  while (true) {
    s = s.replace(/^\s+/, '');
    if (!s) break;
    const c = s[0];
    if (c === '|') { toks.push({ t: 'pipe' }); s = s.slice(1); continue; }
    if (c === '(') { toks.push({ t: 'lparen' }); s = s.slice(1); continue; }
    if (c === ')') { s = s.slice(1); toks.push({ t: 'rparen', fields: fieldsAfter() }); continue; }
    if (c === ',') { toks.push({ t: 'comma' }); s = s.slice(1); continue; }
    if (s.startsWith(':=')) { toks.push({ t: 'declare' }); s = s.slice(2); continue; }
    if (c === '=') { toks.push({ t: 'assign' }); s = s.slice(1); continue; }
    if (c === '"') {
      const m = /^"(?:[^"\\]|\\.)*"/.exec(s);
      if (!m) throw new TemplateError(`template: :${line}: unterminated quoted string`);
      toks.push({ t: 'string', v: unquote(m[0], line) });
      s = s.slice(m[0].length);
      continue;
    }
    if (c === '`') {
      const end = s.indexOf('`', 1);
      if (end < 0) throw new TemplateError(`template: :${line}: unterminated raw quoted string`);
      toks.push({ t: 'string', v: s.slice(1, end) });
      s = s.slice(end + 1);
      continue;
    }
    if (c === "'") {
      const m = /^'(?:[^'\\]|\\.)+'/.exec(s);
      if (!m) throw new TemplateError(`template: :${line}: unterminated character constant`);
      const ch = unquote(`"${m[0].slice(1, -1).replace(/"/g, '\\"')}"`, line);
      toks.push({ t: 'number', v: ch.codePointAt(0) ?? 0 });
      s = s.slice(m[0].length);
      continue;
    }
    if (c === '.') {
      if (/^\.[A-Za-z_]/.test(s)) {
        toks.push({ t: 'field', v: fieldsAfter() });
      } else if (/^\.\d/.test(s)) {
        const m = /^\.\d+([eE][+-]?\d+)?/.exec(s)!;
        toks.push({ t: 'number', v: Number(m[0]) });
        s = s.slice(m[0].length);
      } else {
        toks.push({ t: 'field', v: [] });
        s = s.slice(1);
      }
      continue;
    }
    if (c === '$') {
      const m = /^\$[A-Za-z0-9_]*/.exec(s)!;
      s = s.slice(m[0].length);
      toks.push({ t: 'var', v: m[0], fields: fieldsAfter() });
      continue;
    }
    const num = /^[+-]?(0[xX][0-9a-fA-F_]+|0[bB][01_]+|0[oO][0-7_]+|(\d[\d_]*)?\.?\d*([eE][+-]?\d+)?)/.exec(s);
    if (num && num[0] !== '' && /\d/.test(num[0])) {
      const raw = num[0].replace(/_/g, '');
      let v: number;
      if (/^[+-]?0[xX]/.test(raw)) v = parseInt(raw.replace(/0[xX]/, ''), 16) * (raw.startsWith('-') ? -1 : 1);
      else if (/^[+-]?0[bB]/.test(raw)) v = parseInt(raw.replace(/0[bB]/, ''), 2) * (raw.startsWith('-') ? -1 : 1);
      else if (/^[+-]?0[oO]/.test(raw)) v = parseInt(raw.replace(/0[oO]/, ''), 8) * (raw.startsWith('-') ? -1 : 1);
      else v = Number(raw);
      if (Number.isNaN(v)) throw new TemplateError(`template: :${line}: bad number syntax: "${num[0]}"`);
      toks.push({ t: 'number', v });
      s = s.slice(num[0].length);
      continue;
    }
    const id = IDENT.exec(s);
    if (id) {
      s = s.slice(id[0].length);
      if (id[0] === 'true' || id[0] === 'false') toks.push({ t: 'bool', v: id[0] === 'true' });
      else if (id[0] === 'nil') toks.push({ t: 'nil' });
      else toks.push({ t: 'ident', v: id[0] });
      continue;
    }
    throw new TemplateError(`template: :${line}: unexpected ${JSON.stringify(c)} in command`);
  }
  return toks;
}

/* ------------------------------------------------------------- parsing */

type Operand =
  | { k: 'field'; chain: string[] }
  | { k: 'var'; name: string; chain: string[] }
  | { k: 'ident'; name: string }
  | { k: 'lit'; v: unknown }
  | { k: 'sub'; pipe: Pipeline; chain: string[] };

interface CommandNode {
  args: Operand[];
}

interface Pipeline {
  decl: string[];
  /** true for `$x = …` (assignment to an existing variable). */
  assign: boolean;
  cmds: CommandNode[];
}

interface ControlNode { k: 'if' | 'with' | 'range'; pipe: Pipeline; list: Node[]; elseList: Node[]; line: number }

type Node =
  | { k: 'text'; text: string }
  | { k: 'action'; pipe: Pipeline; line: number }
  | ControlNode
  | { k: 'break' | 'continue' };

class Parser {
  private i = 0;
  constructor(private readonly items: RawItem[], private readonly src: string) {}

  parse(): Node[] {
    const [list, end] = this.list();
    if (end) throw new TemplateError(`template: :${end.line}: unexpected {{${end.word}}}`);
    return list;
  }

  /** Parses nodes until `end`/`else`; returns the terminator it stopped at. */
  private list(): [Node[], { word: 'end' | 'else'; rest: Tok[]; line: number } | undefined] {
    const nodes: Node[] = [];
    while (this.i < this.items.length) {
      const it = this.items[this.i++];
      if (it.kind === 'text') {
        nodes.push({ k: 'text', text: it.text });
        continue;
      }
      const line = lineOf(this.src, it.pos);
      const toks = tokenize(it.text, line);
      if (toks.length === 0) throw new TemplateError(`template: :${line}: missing value for command`);
      const head = toks[0];
      if (head.t === 'ident') {
        switch (head.v) {
          case 'end':
            if (toks.length > 1) throw new TemplateError(`template: :${line}: unexpected ${describe(toks[1])} in end`);
            return [nodes, { word: 'end', rest: [], line }];
          case 'else':
            return [nodes, { word: 'else', rest: toks.slice(1), line }];
          case 'if': case 'with': case 'range':
            nodes.push(this.control(head.v, toks.slice(1), line));
            continue;
          case 'break': case 'continue':
            nodes.push({ k: head.v });
            continue;
          case 'define': case 'template': case 'block':
            throw new TemplateError(`template: :${line}: {{${head.v}}} is not supported by berth's templates`);
        }
      }
      nodes.push({ k: 'action', pipe: parsePipeline(toks, line, false), line });
    }
    return [nodes, undefined];
  }

  private control(kind: 'if' | 'with' | 'range', toks: Tok[], line: number): Node {
    const pipe = parsePipeline(toks, line, kind === 'range');
    const [list, end] = this.list();
    if (!end) throw new TemplateError(`template: :${line}: unexpected EOF`);
    let elseList: Node[] = [];
    if (end.word === 'else') {
      if (end.rest.length > 0) {
        // `else if …` / `else with …`: a nested control sharing our {{end}}.
        const h = end.rest[0];
        if (h.t !== 'ident' || (h.v !== 'if' && h.v !== 'with')) throw new TemplateError(`template: :${end.line}: unexpected ${describe(h)} in else`);
        elseList = [this.control(h.v, end.rest.slice(1), end.line)];
      } else {
        const [l2, end2] = this.list();
        if (!end2 || end2.word !== 'end') throw new TemplateError(`template: :${line}: expected end; found ${end2 ? '{{else}}' : 'EOF'}`);
        elseList = l2;
      }
    }
    return { k: kind, pipe, list, elseList, line };
  }
}

function describe(t: Tok): string {
  switch (t.t) {
    case 'ident': return `<${t.v}>`;
    case 'string': return JSON.stringify(t.v);
    case 'field': return `<.${t.v.join('.')}>`;
    default: return `<${t.t}>`;
  }
}

function parsePipeline(toks: Tok[], line: number, allowTwoVars: boolean): Pipeline {
  let pos = 0;
  const decl: string[] = [];
  let assign = false;
  // Declarations: `$x :=`, `$x =`, `$i, $e :=` (range only).
  const look = toks.findIndex((t) => t.t === 'declare' || t.t === 'assign');
  if (look > 0 && toks.slice(0, look).every((t, idx) => (idx % 2 === 0 ? t.t === 'var' && t.fields.length === 0 : t.t === 'comma'))) {
    for (let k = 0; k < look; k += 2) decl.push((toks[k] as { v: string }).v);
    if (decl.length > (allowTwoVars ? 2 : 1)) throw new TemplateError(`template: :${line}: too many declarations`);
    assign = toks[look].t === 'assign';
    pos = look + 1;
  }
  const cursor = { toks, pos };
  const cmds = parseCommands(cursor, line, false);
  if (cursor.pos < toks.length) throw new TemplateError(`template: :${line}: unexpected ${describe(toks[cursor.pos])} in command`);
  return { decl, assign, cmds };
}

/** Commands separated by `|`, up to the end or (inside parentheses) the closing `)`. */
function parseCommands(c: { toks: Tok[]; pos: number }, line: number, inParen: boolean): CommandNode[] {
  const cmds: CommandNode[] = [];
  let cur: Operand[] = [];
  while (c.pos < c.toks.length) {
    const t = c.toks[c.pos];
    if (t.t === 'rparen') {
      if (!inParen) throw new TemplateError(`template: :${line}: unexpected right paren`);
      break;
    }
    c.pos++;
    switch (t.t) {
      case 'pipe':
        if (cur.length === 0) throw new TemplateError(`template: :${line}: missing command`);
        cmds.push({ args: cur });
        cur = [];
        break;
      case 'lparen': {
        const inner = parseCommands(c, line, true);
        const close = c.toks[c.pos++];
        if (!close || close.t !== 'rparen') throw new TemplateError(`template: :${line}: unclosed left paren`);
        cur.push({ k: 'sub', pipe: { decl: [], assign: false, cmds: inner }, chain: close.fields });
        break;
      }
      case 'field': cur.push({ k: 'field', chain: t.v }); break;
      case 'var': cur.push({ k: 'var', name: t.v, chain: t.fields }); break;
      case 'ident': cur.push({ k: 'ident', name: t.v }); break;
      case 'string': case 'number': case 'bool': cur.push({ k: 'lit', v: t.v }); break;
      case 'nil': cur.push({ k: 'lit', v: null }); break;
      default: throw new TemplateError(`template: :${line}: unexpected ${describe(t)} in operand`);
    }
  }
  if (cur.length) cmds.push({ args: cur });
  if (cmds.length === 0) throw new TemplateError(`template: :${line}: missing value for command`);
  return cmds;
}

/* ------------------------------------------------------------- values */

/** Marks a value that came from a missing map key: prints `<no value>`. */
const NO_VALUE = undefined;

export type TemplateFunc = (...args: unknown[]) => unknown;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

/** Go's truth: false, 0, nil, and empty strings, slices and maps are false. */
export function truth(v: unknown): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (isPlainObject(v)) return Object.keys(v).length > 0;
  return true;
}

function formatNumber(n: number): string {
  if (Number.isInteger(n) && Math.abs(n) < 1e21) return String(n);
  // Go's %v for float64 is strconv 'g' with the shortest repr: exponent when < 1e-4 or ≥ 1e21.
  const s = String(n);
  return s.replace(/e([+-])(\d)$/, 'e$10$2');
}

/** fmt.Sprint for one value. */
export function printValue(v: unknown): string {
  if (v === NO_VALUE) return '<no value>';
  if (v === null) return '<nil>';
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return formatNumber(v);
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `[${v.map((e) => (e === undefined || e === null ? '<nil>' : printValue(e))).join(' ')}]`;
  if (typeof v === 'function') return '<func>';
  if (isPlainObject(v)) {
    const keys = Object.keys(v).filter((k) => typeof v[k] !== 'function').sort();
    return `map[${keys.map((k) => `${k}:${v[k] === undefined || v[k] === null ? '<nil>' : printValue(v[k])}`).join(' ')}]`;
  }
  return String(v);
}

/** fmt.Sprint over several values: spaces only between operands when neither is a string. */
function sprint(args: unknown[]): string {
  let out = '';
  args.forEach((a, i) => {
    if (i > 0 && typeof a !== 'string' && typeof args[i - 1] !== 'string') out += ' ';
    out += printValue(a);
  });
  return out;
}

/** A minimal fmt.Sprintf: %v %s %d %q %t %f %x %X %%, with width/precision. */
export function sprintf(format: string, args: unknown[]): string {
  let ai = 0;
  return format.replace(/%([-+# 0]*)(\d+)?(?:\.(\d+))?([vsdqtfxXeg%])/g, (_m, flags: string, w?: string, prec?: string, verb?: string) => {
    if (verb === '%') return '%';
    if (ai >= args.length) return `%!${verb}(MISSING)`;
    const a = args[ai++];
    let s: string;
    switch (verb) {
      case 'd': s = typeof a === 'number' ? String(Math.trunc(a)) : `%!d(${typeof a}=${printValue(a)})`; break;
      case 'q': s = JSON.stringify(typeof a === 'string' ? a : printValue(a)); break;
      case 't': s = String(Boolean(a)); break;
      case 'f': s = typeof a === 'number' ? a.toFixed(prec !== undefined ? Number(prec) : 6) : printValue(a); break;
      case 'e': s = typeof a === 'number' ? a.toExponential(prec !== undefined ? Number(prec) : 6).replace(/e([+-])(\d)$/, 'e$10$2') : printValue(a); break;
      case 'g': s = typeof a === 'number' ? formatNumber(a) : printValue(a); break;
      case 'x': case 'X': {
        s = typeof a === 'number' ? a.toString(16) : Buffer.from(printValue(a)).toString('hex');
        if (verb === 'X') s = s.toUpperCase();
        break;
      }
      default: s = printValue(a); if (prec !== undefined && verb === 's') s = s.slice(0, Number(prec));
    }
    if (w) {
      const width = Number(w);
      if (s.length < width) s = flags.includes('-') ? s.padEnd(width) : s.padStart(width, flags.includes('0') && verb !== 's' ? '0' : ' ');
    }
    return s;
  });
}

function lenOf(v: unknown): number {
  if (typeof v === 'string') return Buffer.byteLength(v);
  if (Array.isArray(v)) return v.length;
  if (isPlainObject(v)) return Object.keys(v).length;
  throw new Error(`len of type ${v === null ? 'nil' : typeof v}`);
}

function compare(a: unknown, b: unknown, name: string): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  throw new Error(`error calling ${name}: incompatible types for comparison`);
}

function basicEq(a: unknown, b: unknown): boolean {
  if (a === undefined || a === null || b === undefined || b === null) {
    return (a === undefined || a === null) && (b === undefined || b === null);
  }
  if (typeof a === 'object' || typeof b === 'object') throw new Error('error calling eq: non-comparable types');
  return a === b;
}

/** JSON as Docker's `json` template function writes it (no HTML escaping, no trailing newline). */
function toJson(v: unknown): string {
  return JSON.stringify(v === undefined ? null : v, (_k, val: unknown) => (typeof val === 'function' ? undefined : val)) ?? 'null';
}

function goTitle(s: string): string {
  return s.replace(/(^|[^A-Za-z0-9_'])([a-z])/g, (_m, pre: string, c: string) => pre + c.toUpperCase());
}

function htmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/'/g, '&#39;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&#34;').replace(/\0/g, '\uFFFD');
}

function jsEscape(s: string): string {
  return s.replace(/[\\'"<>&=\n\r\t]/g, (c) => ({ '\\': '\\\\', "'": "\\'", '"': '\\"', '<': '\\u003C', '>': '\\u003E', '&': '\\u0026', '=': '\\u003D', '\n': '\\n', '\r': '\\r', '\t': '\\t' })[c] ?? c);
}

function indexInto(item: unknown, idx: unknown[]): unknown {
  let v = item;
  for (const i of idx) {
    if (Array.isArray(v) || typeof v === 'string') {
      const n = Number(i);
      if (typeof i !== 'number' || !Number.isInteger(n)) throw new Error(`error calling index: cannot index slice/array with type ${typeof i}`);
      if (n < 0 || n >= v.length) throw new Error(`error calling index: index out of range: ${n}`);
      v = typeof v === 'string' ? v.charCodeAt(n) : v[n];
    } else if (isPlainObject(v)) {
      // Docker's maps are mostly map[string]string: a missing key indexes to "".
      v = Object.prototype.hasOwnProperty.call(v, String(i)) ? v[String(i)] : '';
    } else if (v === null || v === undefined) {
      throw new Error('error calling index: index of untyped nil');
    } else {
      throw new Error(`error calling index: can't index item of type ${typeof v}`);
    }
  }
  return v;
}

/** Functions every template gets (Go's builtins plus the Docker CLI's `templates.basicFunctions`). */
export const BUILTINS: Record<string, TemplateFunc> = {
  // Docker's
  json: (v) => toJson(v),
  split: (s, sep) => String(s).split(String(sep)),
  join: (a, sep) => (Array.isArray(a) ? a.map((e) => printValue(e)).join(String(sep)) : printValue(a)),
  title: (s) => goTitle(String(s)),
  lower: (s) => String(s).toLowerCase(),
  upper: (s) => String(s).toUpperCase(),
  pad: (s, prefix, suffix) => ' '.repeat(Number(prefix)) + printValue(s) + ' '.repeat(Number(suffix)),
  truncate: (s, n) => { const r = [...printValue(s)]; return r.length > Number(n) ? r.slice(0, Number(n)).join('') : r.join(''); },
  // Go's
  print: (...a) => sprint(a),
  println: (...a) => a.map((x) => printValue(x)).join(' ') + '\n',
  printf: (f, ...a) => sprintf(String(f), a),
  len: (v) => lenOf(v),
  index: (item, ...idx) => indexInto(item, idx),
  slice: (item, ...idx) => {
    if (!Array.isArray(item) && typeof item !== 'string') throw new Error(`error calling slice: can't slice item of type ${typeof item}`);
    const [a, b] = idx.map(Number);
    return item.slice(a ?? 0, b ?? item.length);
  },
  not: (v) => !truth(v),
  and: (...a) => { for (const v of a) if (!truth(v)) return v; return a[a.length - 1]; },
  or: (...a) => { for (const v of a) if (truth(v)) return v; return a[a.length - 1]; },
  eq: (a, ...bs) => { if (bs.length === 0) throw new Error('error calling eq: missing argument for comparison'); return bs.some((b) => basicEq(a, b)); },
  ne: (a, b) => !basicEq(a, b),
  lt: (a, b) => compare(a, b, 'lt') < 0,
  le: (a, b) => compare(a, b, 'le') <= 0,
  gt: (a, b) => compare(a, b, 'gt') > 0,
  ge: (a, b) => compare(a, b, 'ge') >= 0,
  html: (...a) => htmlEscape(sprint(a)),
  js: (...a) => jsEscape(sprint(a)),
  urlquery: (...a) => encodeURIComponent(sprint(a)).replace(/%20/g, '+'),
  call: (fn, ...a) => {
    if (typeof fn !== 'function') throw new Error(`error calling call: non-function of type ${typeof fn}`);
    return (fn as TemplateFunc)(...a);
  },
};

/**
 * A field of JSON-shaped data. Docker evaluates `inspect -f` against Go
 * structs first (`.ID`, `.APIVersion`) and the raw JSON map second (`.Id`,
 * `.ApiVersion`), so both spellings work there; an exact key wins here, a
 * key differing only in case is the fallback.
 */
function fieldOf(holder: Record<string, unknown>, name: string): unknown {
  if (Object.prototype.hasOwnProperty.call(holder, name)) return holder[name];
  const lower = name.toLowerCase();
  for (const k of Object.keys(holder)) if (k.toLowerCase() === lower) return holder[k];
  return NO_VALUE;
}

/* ------------------------------------------------------------- execution */

const NOT_PIPED = Object.freeze({ has: false });

class BreakSignal { }
class ContinueSignal { }

interface Scope {
  vars: Map<string, unknown>;
  parent?: Scope;
}

function lookupVar(scope: Scope, name: string, line: number): unknown {
  for (let s: Scope | undefined = scope; s; s = s.parent) if (s.vars.has(name)) return s.vars.get(name);
  throw new TemplateError(`template: :${line}: undefined variable "${name}"`);
}

function setVar(scope: Scope, name: string, v: unknown, line: number): void {
  for (let s: Scope | undefined = scope; s; s = s.parent) {
    if (s.vars.has(name)) { s.vars.set(name, v); return; }
  }
  throw new TemplateError(`template: :${line}: undefined variable "${name}"`);
}

export class Template {
  private readonly nodes: Node[];
  private readonly funcs: Record<string, TemplateFunc>;

  /** The template as text and fields when that is all it is (see flatten), else null. */
  private readonly flat: FlatPart[] | null;

  constructor(source: string, funcs: Record<string, TemplateFunc> = {}) {
    this.funcs = { ...BUILTINS, ...funcs };
    this.nodes = new Parser(scan(source), source).parse();
    this.checkFuncs(this.nodes);
    this.flat = flatten(this.nodes);
  }

  /** Go reports unknown functions at parse time: `function "foo" not defined`. */
  private checkFuncs(nodes: Node[]): void {
    const checkPipe = (p: Pipeline, line: number) => {
      for (const c of p.cmds) {
        for (const a of c.args) {
          if (a.k === 'ident' && !(a.name in this.funcs)) throw new TemplateError(`template: :${line}: function "${a.name}" not defined`);
          if (a.k === 'sub') checkPipe(a.pipe, line);
        }
      }
    };
    for (const n of nodes) {
      if (n.k === 'action') checkPipe(n.pipe, n.line);
      if (n.k === 'if' || n.k === 'with' || n.k === 'range') {
        checkPipe(n.pipe, n.line);
        this.checkFuncs(n.list);
        this.checkFuncs(n.elseList);
      }
    }
  }

  execute(data: unknown): string {
    if (this.flat && isPlainObject(data)) return executeFlat(this.flat, data);
    const scope: Scope = { vars: new Map([['$', data]]) };
    let out = '';
    const emit = (s: string) => { out += s; };
    this.walk(this.nodes, data, scope, emit);
    return out;
  }

  private walk(nodes: Node[], dot: unknown, scope: Scope, emit: (s: string) => void): void {
    for (const n of nodes) {
      switch (n.k) {
        case 'text': emit(n.text); break;
        case 'action': {
          const v = this.pipeline(n.pipe, dot, scope, n.line);
          if (n.pipe.decl.length === 0) emit(printValue(v));
          break;
        }
        case 'break': throw new BreakSignal();
        case 'continue': throw new ContinueSignal();
        case 'if': case 'with': {
          const inner: Scope = { vars: new Map(), parent: scope };
          const v = this.pipeline(n.pipe, dot, inner, n.line);
          if (truth(v)) this.walk(n.list, n.k === 'with' ? v : dot, inner, emit);
          else this.walk(n.elseList, dot, inner, emit);
          break;
        }
        case 'range': this.range(n, dot, scope, emit); break;
      }
    }
  }

  private range(n: ControlNode, dot: unknown, scope: Scope, emit: (s: string) => void): void {
    const pipe: Pipeline = { ...n.pipe, decl: [] };
    const v = this.pipeline(pipe, dot, scope, n.line);
    let entries: [unknown, unknown][] = [];
    if (Array.isArray(v)) entries = v.map((e, i) => [i, e]);
    else if (isPlainObject(v)) entries = Object.keys(v).filter((k) => typeof v[k] !== 'function').sort().map((k) => [k, v[k]]);
    else if (typeof v === 'number' && Number.isInteger(v)) entries = Array.from({ length: Math.max(0, v) }, (_x, i) => [i, i]);
    else if (v !== undefined && v !== null) throw new TemplateError(`template: :${n.line}: range can't iterate over ${printValue(v)}`);
    if (entries.length === 0) {
      this.walk(n.elseList, dot, { vars: new Map(), parent: scope }, emit);
      return;
    }
    for (const [k, e] of entries) {
      const inner: Scope = { vars: new Map(), parent: scope };
      if (n.pipe.decl.length === 1) inner.vars.set(n.pipe.decl[0], e);
      if (n.pipe.decl.length === 2) {
        inner.vars.set(n.pipe.decl[0], k);
        inner.vars.set(n.pipe.decl[1], e);
      }
      try {
        this.walk(n.list, e, inner, emit);
      } catch (sig) {
        if (sig instanceof BreakSignal) break;
        if (sig instanceof ContinueSignal) continue;
        throw sig;
      }
    }
  }

  private pipeline(p: Pipeline, dot: unknown, scope: Scope, line: number): unknown {
    let v: unknown;
    let first = true;
    for (const c of p.cmds) {
      v = this.command(c, dot, scope, line, first ? NOT_PIPED : { has: true, value: v });
      first = false;
    }
    if (p.decl.length) {
      if (p.assign) setVar(scope, p.decl[0], v, line);
      else scope.vars.set(p.decl[0], v);
    }
    return v;
  }

  private command(c: CommandNode, dot: unknown, scope: Scope, line: number, piped: { has: boolean; value?: unknown }): unknown {
    // A lone operand (`{{.State.Status}}`, `{{$x}}`): evaluated without the call machinery below.
    if (c.args.length === 1 && !piped.has && c.args[0].k !== 'ident') return this.operand(c.args[0], dot, scope, line);
    const [head, ...rest] = c.args;
    const evalArgs = () => {
      const a = rest.map((o) => this.operand(o, dot, scope, line));
      if (piped.has) a.push(piped.value);
      return a;
    };
    const wrap = (name: string, fn: () => unknown) => {
      try {
        return fn();
      } catch (e) {
        if (e instanceof TemplateError) throw e;
        const msg = (e as Error).message;
        throw new TemplateError(`template: :${line}: executing "" at <${name}>: ${msg.startsWith('error calling') ? msg : `error calling ${name}: ${msg}`}`);
      }
    };
    if (head.k === 'ident') {
      const fn = this.funcs[head.name];
      return wrap(head.name, () => fn(...evalArgs()));
    }
    if ((head.k === 'field' || head.k === 'var') && (rest.length > 0 || piped.has)) {
      // A method call: `.Label "x"`.
      const base = head.k === 'field' ? dot : lookupVar(scope, head.name, line);
      const chain = head.chain;
      if (chain.length === 0) throw new TemplateError(`template: :${line}: can't give argument to non-function ${head.k === 'field' ? '.' : head.name}`);
      const holder = this.resolve(base, chain.slice(0, -1), line, false);
      const last = chain[chain.length - 1];
      const m = isPlainObject(holder) ? fieldOf(holder, last) : undefined;
      if (typeof m !== 'function') throw new TemplateError(`template: :${line}: can't give argument to non-function .${chain.join('.')}`);
      return wrap(`.${chain.join('.')}`, () => (m as TemplateFunc).apply(holder, evalArgs()));
    }
    if (rest.length > 0 || piped.has) {
      if (head.k === 'lit' || head.k === 'sub') throw new TemplateError(`template: :${line}: can't give argument to non-function ${head.k === 'lit' ? printValue(head.v) : '(…)'}`);
    }
    return this.operand(head, dot, scope, line);
  }

  private operand(o: Operand, dot: unknown, scope: Scope, line: number): unknown {
    switch (o.k) {
      case 'lit': return o.v;
      case 'field': return this.resolve(dot, o.chain, line, true);
      case 'var': return this.resolve(lookupVar(scope, o.name, line), o.chain, line, true);
      case 'sub': return this.resolve(this.pipeline(o.pipe, dot, scope, line), o.chain, line, true);
      case 'ident': {
        const fn = this.funcs[o.name];
        try {
          return fn();
        } catch (e) {
          throw new TemplateError(`template: :${line}: executing "" at <${o.name}>: error calling ${o.name}: ${(e as Error).message}`);
        }
      }
    }
  }

  /** Follows a field chain; functions met on the way are called with no arguments (Go methods). */
  private resolve(v: unknown, chain: string[], line: number, callLast: boolean): unknown {
    let cur = v;
    for (let i = 0; i < chain.length; i++) {
      const name = chain[i];
      if (cur === undefined || cur === null) return NO_VALUE;
      if (!isPlainObject(cur)) {
        throw new TemplateError(`template: :${line}: executing "" at <.${chain.slice(0, i + 1).join('.')}>: can't evaluate field ${name} in type ${Array.isArray(cur) ? '[]interface {}' : typeof cur}`);
      }
      const holder = cur;
      cur = fieldOf(holder, name);
      if (typeof cur === 'function' && (i < chain.length - 1 || callLast)) cur = (cur as TemplateFunc).call(holder);
    }
    return cur;
  }
}

/** Literal text, or `{{.Name}}`: one field of dot. */
type FlatPart = string | { field: string };

/**
 * A template that is only text and `{{.Field}}` actions — every table row
 * format, run once per row of `ps` or `images` — as a flat list, or null.
 * Walking the general tree costs a dozen calls per cell; on a thousand rows
 * that was most of `berth ps -a`'s own time.
 */
function flatten(nodes: Node[]): FlatPart[] | null {
  const parts: FlatPart[] = [];
  for (const n of nodes) {
    if (n.k === 'text') {
      parts.push(n.text);
      continue;
    }
    if (n.k !== 'action' || n.pipe.decl.length !== 0 || n.pipe.cmds.length !== 1) return null;
    const args = n.pipe.cmds[0].args;
    if (args.length !== 1 || args[0].k !== 'field' || args[0].chain.length !== 1) return null;
    parts.push({ field: args[0].chain[0] });
  }
  return parts;
}

/** What the general walk does for text and `{{.Field}}` on an object: the field, called when a function, printed. */
function executeFlat(parts: FlatPart[], data: Record<string, unknown>): string {
  let out = '';
  for (const p of parts) {
    if (typeof p === 'string') {
      out += p;
      continue;
    }
    let v = fieldOf(data, p.field);
    if (typeof v === 'function') v = (v as TemplateFunc).call(data);
    out += printValue(v);
  }
  return out;
}

/** Parses and runs a template once. */
export function renderTemplate(source: string, data: unknown, funcs?: Record<string, TemplateFunc>): string {
  return new Template(source, funcs).execute(data);
}
