/**
 * `--change` instructions for `import` and `commit` (Docker accepts CMD,
 * ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME, WORKDIR),
 * applied to an image's container defaults. JSON and shell forms follow the
 * Dockerfile rules: a shell-form CMD/ENTRYPOINT runs under `/bin/sh -c`.
 */
import { InvalidParameterError } from '../errors.js';
import type { ContainerDefaults } from './config.js';

const ALLOWED = new Set(['CMD', 'ENTRYPOINT', 'ENV', 'EXPOSE', 'LABEL', 'ONBUILD', 'STOPSIGNAL', 'USER', 'VOLUME', 'WORKDIR']);

/** Parses `["a","b"]` (JSON form) or returns undefined for shell form. */
function jsonForm(rest: string): string[] | undefined {
  const t = rest.trim();
  if (!t.startsWith('[')) return undefined;
  try {
    const v: unknown = JSON.parse(t);
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
  } catch { /* not JSON: shell form, as Docker treats it */ }
  return undefined;
}

/** Splits `A=1 B="two words"` or the legacy `A value with spaces` form. */
export function parseKeyValues(rest: string, instruction: string): [string, string][] {
  const s = rest.trim();
  const words = splitWords(s);
  if (words.length > 0 && !words[0].includes('=')) {
    // Legacy form: ENV KEY value…
    const sp = s.search(/\s/);
    if (sp < 0) throw new InvalidParameterError(`${instruction} requires at least two arguments`);
    return [[s.slice(0, sp), s.slice(sp).trim()]];
  }
  return words.map((w) => {
    const eq = w.indexOf('=');
    if (eq <= 0) throw new InvalidParameterError(`${instruction} names can not be blank`);
    return [w.slice(0, eq), w.slice(eq + 1)];
  });
}

/** Shell-like word splitting with double/single quotes and backslash escapes. */
export function splitWords(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  let inWord = false;
  let quote: string | null = null;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (quote) {
      if (c === quote) quote = null;
      else if (c === '\\' && quote === '"' && i + 1 < s.length) cur += s[++i];
      else cur += c;
    } else if (c === '"' || c === "'") { quote = c; inWord = true; }
    else if (c === '\\' && i + 1 < s.length) { cur += s[++i]; inWord = true; }
    else if (/\s/.test(c)) { if (inWord) { out.push(cur); cur = ''; inWord = false; } }
    else { cur += c; inWord = true; }
  }
  if (quote) throw new InvalidParameterError(`unterminated quote in: ${s}`);
  if (inWord) out.push(cur);
  return out;
}

export function applyChanges(defaults: ContainerDefaults, changes: string[]): ContainerDefaults {
  const cfg: ContainerDefaults = structuredClone(defaults);
  for (const raw of changes) {
    const line = raw.trim();
    if (!line) continue;
    const m = /^(\S+)\s*([\s\S]*)$/.exec(line)!;
    const instr = m[1].toUpperCase();
    const rest = m[2];
    // Named as written (dockerd's parser keeps the instruction's case): `run …` is "run is not …".
    if (!ALLOWED.has(instr)) throw new InvalidParameterError(`${m[1]} is not a valid change command`);
    switch (instr) {
      case 'CMD': cfg.Cmd = jsonForm(rest) ?? ['/bin/sh', '-c', rest]; break;
      case 'ENTRYPOINT': cfg.Entrypoint = jsonForm(rest) ?? ['/bin/sh', '-c', rest]; break;
      case 'ENV': {
        const env = cfg.Env ?? [];
        for (const [k, v] of parseKeyValues(rest, 'ENV')) {
          const i = env.findIndex((e) => e.split('=')[0] === k);
          if (i >= 0) env[i] = `${k}=${v}`; else env.push(`${k}=${v}`);
        }
        cfg.Env = env;
        break;
      }
      case 'LABEL': {
        cfg.Labels = cfg.Labels ?? {};
        for (const [k, v] of parseKeyValues(rest, 'LABEL')) cfg.Labels[k] = v;
        break;
      }
      case 'EXPOSE': {
        cfg.ExposedPorts = cfg.ExposedPorts ?? {};
        for (const p of splitWords(rest)) cfg.ExposedPorts[p.includes('/') ? p : `${p}/tcp`] = {};
        break;
      }
      case 'VOLUME': {
        cfg.Volumes = cfg.Volumes ?? {};
        for (const v of jsonForm(rest) ?? splitWords(rest)) cfg.Volumes[v] = {};
        break;
      }
      case 'WORKDIR': cfg.WorkingDir = rest.trim(); break;
      case 'USER': cfg.User = rest.trim(); break;
      case 'STOPSIGNAL': cfg.StopSignal = rest.trim(); break;
      case 'ONBUILD': cfg.OnBuild = [...(cfg.OnBuild ?? []), rest.trim()]; break;
    }
  }
  return cfg;
}
