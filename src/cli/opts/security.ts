/**
 * Privilege flags: capabilities normalised and de-duplicated like
 * `opts.EffectiveCapAddCapDrop`, and `--security-opt` checked and expanded
 * like the CLI's parseSecurityOpts (a seccomp profile file is sent inline)
 * and parseSystemPaths (`systempaths=unconfined` becomes empty masked and
 * read-only path lists instead of being sent).
 */
import { readFileSync } from 'node:fs';

export function normalizeCapability(c: string): string {
  const cap = c.trim().toUpperCase();
  if (cap === 'ALL' || cap === 'RESET') return cap;
  return cap.startsWith('CAP_') ? cap : `CAP_${cap}`;
}

/** Adding wins over dropping; `ALL` trumps the rest; both lists sorted; null when empty. */
export function effectiveCaps(add: readonly string[], drop: readonly string[]): [string[] | null, string[] | null] {
  let addCaps = new Set(add.map(normalizeCapability));
  let dropCaps = new Set(drop.map(normalizeCapability));
  if (addCaps.has('ALL')) addCaps = new Set(['ALL']);
  if (dropCaps.has('ALL')) dropCaps = new Set(['ALL']);
  for (const c of [...dropCaps]) if (addCaps.has(c)) dropCaps.delete(c);
  const a = [...addCaps].sort();
  const d = [...dropCaps].sort();
  return [a.length ? a : null, d.length ? d : null];
}

export interface SecurityOpts {
  securityOpt: string[] | null;
  maskedPaths: string[] | null;
  readonlyPaths: string[] | null;
}

export function parseSecurityOpts(values: readonly string[]): SecurityOpts {
  const out: string[] = [];
  let masked: string[] | null = null;
  let readonly: string[] | null = null;
  for (const opt of values) {
    let sep = opt.indexOf('=');
    let key = sep >= 0 ? opt.slice(0, sep) : opt;
    if (sep < 0 && key !== 'no-new-privileges') {
      sep = opt.indexOf(':');
      key = sep >= 0 ? opt.slice(0, sep) : opt;
    }
    const val = sep >= 0 ? opt.slice(sep + 1) : '';
    if ((sep < 0 || val === '') && key !== 'no-new-privileges') throw new Error(`Invalid --security-opt: ${JSON.stringify(opt)}`);
    if (opt === 'systempaths=unconfined') {
      masked = [];
      readonly = [];
      continue;
    }
    if (key === 'seccomp' && val !== 'builtin' && val !== 'unconfined') {
      let text: string;
      try {
        text = readFileSync(val, 'utf8');
      } catch (e) {
        throw new Error(`opening seccomp profile (${val}) failed: ${(e as Error).message}`);
      }
      try {
        out.push(`seccomp=${JSON.stringify(JSON.parse(text))}`);
      } catch (e) {
        throw new Error(`compacting json for seccomp profile (${val}) failed: ${(e as Error).message}`);
      }
      continue;
    }
    out.push(opt);
  }
  return { securityOpt: values.length ? out : null, maskedPaths: masked, readonlyPaths: readonly };
}
