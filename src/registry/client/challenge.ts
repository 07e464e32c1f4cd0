/**
 * `WWW-Authenticate` challenges (RFC 9110 §11.6.1, §11.3): one header may
 * carry several challenges, each `scheme` followed by comma-separated
 * `name=value` parameters whose values may be quoted strings — and a quoted
 * `scope` routinely contains commas (`repository:a:pull,push`), so the header
 * cannot be split on commas naively.
 *
 * What registries send (distribution v2.8.2 `docs/spec/auth/token.md`; fact
 * sheet §4.2): `Bearer realm="…",service="…"[,scope="…"][,error="…"]` from
 * token-auth registries, `Basic realm="…"` from htpasswd ones. Scheme and
 * parameter names are case-insensitive; they are lowercased here.
 */

export interface Challenge {
  /** Lowercased: `bearer`, `basic`, … */
  scheme: string;
  /** Parameter names lowercased; values unquoted. */
  params: Record<string, string>;
}

export interface BearerChallenge {
  realm: string;
  service?: string;
  /** Each scope from the space-separated `scope` parameter. */
  scopes: string[];
  /** `insufficient_scope`, `invalid_token`, … (RFC 6750 §3.1). */
  error?: string;
}

const TOKEN = "[!#$%&'*+\\-.^_`|~0-9A-Za-z]+";
const PARAM_RE = new RegExp(`^(${TOKEN})[ \\t]*=[ \\t]*("(?:[^"\\\\]|\\\\.)*"|${TOKEN})$`);
const SCHEME_RE = new RegExp(`^(${TOKEN})(?:[ \\t]+(.*))?$`);

/** Parses every challenge in a `WWW-Authenticate` value; unparsable pieces are skipped. */
export function parseWwwAuthenticate(header: string | string[] | undefined): Challenge[] {
  const values = Array.isArray(header) ? header : header === undefined ? [] : [header];
  const out: Challenge[] = [];
  for (const value of values) {
    let current: Challenge | undefined;
    for (const element of splitTopLevel(value)) {
      const param = PARAM_RE.exec(element);
      if (param && current) {
        current.params[param[1].toLowerCase()] = unquote(param[2]);
        continue;
      }
      const scheme = SCHEME_RE.exec(element);
      if (!scheme) { current = undefined; continue; }
      current = { scheme: scheme[1].toLowerCase(), params: {} };
      out.push(current);
      const first = scheme[2] !== undefined ? PARAM_RE.exec(scheme[2].trim()) : null;
      // Otherwise the rest is a token68 (`Negotiate abc==`), which no registry scheme uses.
      if (first) current.params[first[1].toLowerCase()] = unquote(first[2]);
    }
  }
  return out;
}

/** Splits on commas outside quoted strings; elements are trimmed, empty ones dropped. */
function splitTopLevel(s: string): string[] {
  const parts: string[] = [];
  let buf = '';
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (quoted && c === '\\' && i + 1 < s.length) { buf += c + s[++i]; continue; }
    if (c === '"') quoted = !quoted;
    if (c === ',' && !quoted) { parts.push(buf); buf = ''; continue; }
    buf += c;
  }
  parts.push(buf);
  return parts.map((p) => p.trim()).filter(Boolean);
}

function unquote(v: string): string {
  return v.startsWith('"') ? v.slice(1, -1).replace(/\\(.)/g, '$1') : v;
}

/** The Bearer challenge among `challenges`, with its scope list split. */
export function bearerChallenge(challenges: readonly Challenge[]): BearerChallenge | undefined {
  const c = challenges.find((x) => x.scheme === 'bearer' && x.params.realm);
  if (!c) return undefined;
  const scopes = (c.params.scope ?? '').split(' ').filter(Boolean);
  const out: BearerChallenge = { realm: c.params.realm, scopes };
  if (c.params.service !== undefined) out.service = c.params.service;
  if (c.params.error) out.error = c.params.error;
  return out;
}

export function hasBasicChallenge(challenges: readonly Challenge[]): boolean {
  return challenges.some((c) => c.scheme === 'basic');
}
