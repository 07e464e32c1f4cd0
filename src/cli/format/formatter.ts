/**
 * `--format` for list commands, as the Docker CLI's formatter.Context does it:
 *
 * - `table` → the command's default table; `table TEMPLATE` → that row
 *   template with a header row, laid out by the tabwriter;
 * - `json` → one JSON object per row with every no-argument field, keys
 *   sorted (Docker's `marshalMap`);
 * - anything else → the template once per row, each followed by a newline.
 *
 * Literal `\t` and `\n` in the format become tab and newline, and surrounding
 * spaces are trimmed, like `preFormat`.
 *
 * Rows are "contexts": plain objects whose values are strings or functions
 * (`ID: () => …`, `Label: (name) => …`), mirroring the Go formatter's
 * methods, so `{{.Label "x"}}` works and JSON output skips functions that
 * need arguments.
 */
import { tabwrite } from './tabwriter.js';
import { Template, TemplateError, type TemplateFunc } from './template.js';
import { StatusError } from '../errors.js';

export type RowContext = Record<string, unknown>;

export const TABLE_FORMAT_KEY = 'table';
export const JSON_FORMAT_KEY = 'json';

export function isTableFormat(format: string): boolean {
  return format.startsWith(TABLE_FORMAT_KEY);
}

export function isJsonFormat(format: string): boolean {
  return format === JSON_FORMAT_KEY;
}

/** Docker's formatter preFormat: strip `table`, map `json`, expand `\t` `\n`, trim spaces. */
export function preFormat(format: string): string {
  let f = format;
  if (isTableFormat(f)) f = f.slice(TABLE_FORMAT_KEY.length);
  else if (isJsonFormat(f)) f = '{{json .}}';
  return f.replace(/^ +| +$/g, '').replace(/\\t/g, '\t').replace(/\\n/g, '\n');
}

/** A context's JSON form: every field that takes no arguments, evaluated, keys sorted. */
export function marshalContext(ctx: RowContext): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(ctx).sort()) {
    const v = ctx[key];
    if (typeof v === 'function') {
      if ((v as TemplateFunc).length === 0) out[key] = (v as TemplateFunc).call(ctx);
    } else if (v !== undefined) {
      out[key] = v;
    }
  }
  return out;
}

/**
 * json.Marshal's output: `<`, `>`, `&`, U+2028 and U+2029 escaped. Docker's
 * `--format json` rows go through the contexts' MarshalJSON, which escapes.
 */
export function goMarshal(v: unknown): string {
  return JSON.stringify(v).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Header functions: Docker's HeaderFunctions leave their first argument as it is. */
const HEADER_FUNCS: Record<string, TemplateFunc> = Object.fromEntries(
  ['json', 'split', 'join', 'title', 'lower', 'upper', 'pad', 'truncate'].map((n) => [n, (v: unknown) => v]),
);

/** The header row's data: each field answers its header name, with or without arguments. */
function headerContext(headers: Record<string, string>): RowContext {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, (..._a: unknown[]) => v]));
}

function parse(source: string, funcs?: Record<string, TemplateFunc>): Template {
  try {
    return new Template(source, funcs);
  } catch (e) {
    if (e instanceof TemplateError) throw new StatusError(1, `template parsing error: ${e.message}`);
    throw e;
  }
}

function run(t: Template, data: unknown): string {
  try {
    return t.execute(data);
  } catch (e) {
    if (e instanceof TemplateError) throw new StatusError(1, `template parsing error: ${e.message}`);
    throw e;
  }
}

/** Renders rows under `format`; `headers` maps field names to column titles. */
export function formatRows(format: string, rows: readonly RowContext[], headers: Record<string, string>): string {
  const source = preFormat(format);
  if (isJsonFormat(format)) {
    return rows.map((r) => `${goMarshal(marshalContext(r))}\n`).join('');
  }
  const tmpl = parse(source);
  let body = '';
  for (const r of rows) body += `${run(tmpl, r)}\n`;
  if (!isTableFormat(format)) return body;
  const header = run(parse(source, HEADER_FUNCS), headerContext(headers));
  return tabwrite(`${header}\n${body}`);
}

/**
 * Renders one object with a user template (`inspect -f`, `version -f`, `info -f`).
 * Unlike list formats, Docker parses these verbatim: a typed `\t` stays two characters.
 */
export function formatObject(format: string, data: unknown): string {
  if (isJsonFormat(format)) return `${JSON.stringify(data)}\n`;
  return `${run(parse(format), data)}\n`;
}
