/**
 * `--env-file` / `--label-file` and the `-e`/`-l` values, with the rules of
 * the Docker CLI's `kvfile.Parse`, `opts.ValidateEnv` and `ReadKVStrings`:
 * comments and blank lines skipped, leading blanks trimmed, `KEY` alone
 * takes the value from the client's environment (env files and `-e` only).
 */
import { readFileSync } from 'node:fs';

export type LookupEnv = (key: string) => string | undefined;

/** Parses one file's text; `lookup` undefined drops `KEY` lines (labels). */
export function parseKeyValueText(text: string, lookup: LookupEnv | undefined): string[] {
  const lines: string[] = [];
  const all = text.split('\n');
  if (all.length && all[all.length - 1] === '') all.pop();
  all.forEach((rawLine, idx) => {
    let l = rawLine.replace(/\r$/, '');
    if (idx === 0) l = l.replace(/^\uFEFF/, '');
    const line = l.replace(/^\s+/, '');
    if (line.length === 0 || line[0] === '#') return;
    const eq = line.indexOf('=');
    const key = eq >= 0 ? line.slice(0, eq) : line;
    if (key.length === 0) throw new Error(`no variable name on line '${line}'`);
    if (/\s/.test(key)) throw new Error(`variable '${key}' contains whitespaces`);
    if (eq >= 0) {
      lines.push(line);
      return;
    }
    if (lookup) {
      const v = lookup(key);
      if (v !== undefined) lines.push(`${key}=${v}`);
    }
  });
  return lines;
}

export function readKeyValueFile(path: string, lookup: LookupEnv | undefined): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new Error(`open ${path}: ${err.code === 'ENOENT' ? 'no such file or directory' : err.message}`);
  }
  return parseKeyValueText(text, lookup);
}

/** opts.ValidateEnv for `-e`: `KEY` alone picks the client's value when it has one. */
export function validateEnv(val: string, lookup: LookupEnv): string {
  const eq = val.indexOf('=');
  const key = eq >= 0 ? val.slice(0, eq) : val;
  if (key === '') throw new Error(`invalid environment variable: ${val}`);
  if (eq >= 0) return val;
  const v = lookup(val);
  return v !== undefined ? `${val}=${v}` : val;
}

/** opts.ValidateLabel for `-l`. */
export function validateLabel(value: string): string {
  const eq = value.indexOf('=');
  const key = (eq >= 0 ? value.slice(0, eq) : value).trim();
  if (key === '') throw new Error(`invalid label '${value}': empty name`);
  if (/[ \t\n\v\f\r]/.test(key)) throw new Error(`label '${key}' contains whitespaces`);
  return value;
}

/** Files first, then the flags, so flags override (ReadKVEnvStrings / ReadKVStrings). */
export function readKvStrings(files: readonly string[], values: readonly string[], lookup: LookupEnv | undefined): string[] {
  const out: string[] = [];
  for (const f of files) out.push(...readKeyValueFile(f, lookup));
  out.push(...values);
  return out;
}

/** opts.ConvertKVStringsToMap: `k=v` → {k: v}, `k` → {k: ""}. */
export function kvToMap(values: readonly string[]): Record<string, string> {
  const m: Record<string, string> = {};
  for (const v of values) {
    const eq = v.indexOf('=');
    if (eq >= 0) m[v.slice(0, eq)] = v.slice(eq + 1);
    else m[v] = '';
  }
  return m;
}
