/**
 * `RUN --mount=[type=<TYPE>][,option=<value>…]`
 * (https://docs.docker.com/reference/dockerfile/#run---mount).
 *
 * Parsing happens in two steps, as in BuildKit: at parse time the value is
 * split into fields (CSV, so `"a,b"` may be quoted), the type is checked
 * (`bind` when omitted) and every key must be one the reference lists; the
 * values stay raw because they may use build args (`id=$CACHE_ID`).
 * `resolveRunMount` then expands each value and gives typed options with the
 * documented defaults; what berth cannot provide is the executor's to refuse.
 */
import { InvalidParameterError } from '../../errors.js';

export type RunMountType = 'bind' | 'cache' | 'tmpfs' | 'secret' | 'ssh';
export type CacheSharing = 'shared' | 'private' | 'locked';

export interface RunMountOption {
  /** The key as written, lower-cased (aliases such as `dst`, `ro` kept). */
  key: string;
  /** Undefined for a bare boolean key (`readonly`, `rw`, `required`). */
  value?: string;
}

/** A `--mount` value split into fields; values not yet expanded. */
export interface RunMountSpec {
  type: RunMountType;
  options: RunMountOption[];
  /** The flag value as written. */
  raw: string;
}

/** A mount with its options expanded, typed and defaulted. */
export interface RunMount {
  type: RunMountType;
  /** Mount path in the build container (`target`, `dst`, `destination`). */
  target?: string;
  /** Path inside `from` (or the build context). */
  source?: string;
  /** Stage, image or named context to mount from. */
  from?: string;
  id?: string;
  readonly: boolean;
  /** cache mounts: defaults to `shared`. */
  sharing?: CacheSharing;
  /** secret/ssh: fail when unavailable. */
  required: boolean;
  /** File mode (octal in the Dockerfile). */
  mode?: number;
  uid?: number;
  gid?: number;
  /** tmpfs size limit, as written. */
  size?: string;
  /** secret: environment variable to expose the secret as. */
  env?: string;
}

const TYPES: ReadonlySet<string> = new Set<RunMountType>(['bind', 'cache', 'tmpfs', 'secret', 'ssh']);
const BOOLEAN_KEYS: ReadonlySet<string> = new Set(['readonly', 'ro', 'readwrite', 'rw', 'required']);
const VALUE_KEYS: ReadonlySet<string> = new Set([
  'type', 'from', 'source', 'src', 'target', 'dst', 'destination', 'id', 'sharing', 'mode', 'uid', 'gid', 'size', 'env',
]);

/** Splits and checks a `--mount` value. */
export function parseRunMount(raw: string): RunMountSpec {
  let type: RunMountType = 'bind';
  const options: RunMountOption[] = [];
  for (const field of splitCsv(raw)) {
    const eq = field.indexOf('=');
    const key = (eq < 0 ? field : field.slice(0, eq)).trim().toLowerCase();
    const value = eq < 0 ? undefined : field.slice(eq + 1);
    if (!BOOLEAN_KEYS.has(key) && !VALUE_KEYS.has(key)) {
      throw new InvalidParameterError(`unexpected key '${key}' in '${field}'`);
    }
    if (value === undefined && !BOOLEAN_KEYS.has(key)) {
      throw new InvalidParameterError(`invalid field '${field}' must be a key=value pair`);
    }
    if (key === 'type') {
      if (!TYPES.has(value!)) throw new InvalidParameterError(`unsupported mount type "${value}"`);
      type = value as RunMountType;
      continue;
    }
    options.push({ key, value });
  }
  return { type, options, raw };
}

/**
 * Expands (with `expand`, e.g. `w => expandString(w, env)`) and interprets a
 * mount's options, applying the reference's defaults: bind mounts are
 * read-only unless `rw`; cache sharing is `shared`; a secret's id defaults to
 * the target's basename and its target to `/run/secrets/<id>` (unless it goes
 * to `env`); an ssh mount's id is `default`.
 */
export function resolveRunMount(spec: RunMountSpec, expand: (word: string) => string = (w) => w): RunMount {
  const m: RunMount = { type: spec.type, readonly: spec.type === 'bind' || spec.type === 'secret' || spec.type === 'ssh', required: false };
  for (const { key, value: rawValue } of spec.options) {
    const value = rawValue === undefined ? undefined : expand(rawValue);
    switch (key) {
      case 'target': case 'dst': case 'destination': m.target = value; break;
      case 'source': case 'src': m.source = value; break;
      case 'from': m.from = value; break;
      case 'id': m.id = value; break;
      case 'readonly': case 'ro': m.readonly = boolValue(key, value); break;
      case 'readwrite': case 'rw': m.readonly = !boolValue(key, value); break;
      case 'required': m.required = boolValue(key, value); break;
      case 'sharing':
        if (value !== 'shared' && value !== 'private' && value !== 'locked') {
          throw new InvalidParameterError(`unsupported sharing value "${value}"`);
        }
        m.sharing = value;
        break;
      case 'mode': {
        if (!/^[0-7]+$/.test(value!)) throw new InvalidParameterError(`invalid mount mode "${value}"`);
        m.mode = parseInt(value!, 8);
        break;
      }
      case 'uid': case 'gid': {
        if (!/^\d+$/.test(value!)) throw new InvalidParameterError(`invalid mount ${key} "${value}"`);
        m[key] = Number(value);
        break;
      }
      case 'size': m.size = value; break;
      case 'env': m.env = value; break;
    }
  }
  if (m.type === 'cache') m.sharing ??= 'shared';
  if (m.type === 'secret') {
    // `source` names the secret too (BuildKit's dispatchSecret), but not together with `id`.
    if (m.source !== undefined && m.source !== '') {
      if (m.id !== undefined && m.id !== '') throw new InvalidParameterError("both source and id can't be set");
      m.id = m.source;
      delete m.source;
    }
    if (m.id === undefined && m.target !== undefined) m.id = m.target.split('/').filter(Boolean).pop();
    if (m.target === undefined && m.env === undefined && m.id !== undefined) m.target = `/run/secrets/${m.id}`;
  }
  if (m.type === 'ssh') m.id ??= 'default';
  if ((m.type === 'bind' || m.type === 'cache' || m.type === 'tmpfs') && !m.target) {
    throw new InvalidParameterError(`mount type=${m.type} requires a target`);
  }
  return m;
}

function boolValue(key: string, value: string | undefined): boolean {
  if (value === undefined) return true;
  const v = value.toLowerCase();
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw new InvalidParameterError(`invalid value for ${key}: ${value}`);
}

/** One CSV record: `,`-separated fields, a field may be `"quoted"` with `""` for a quote. */
function splitCsv(text: string): string[] {
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    let field = '';
    if (text[i] === '"') {
      i++;
      for (;;) {
        if (i >= text.length) throw new InvalidParameterError(`extraneous or missing " in quoted-field: ${text}`);
        if (text[i] === '"') {
          if (text[i + 1] === '"') { field += '"'; i += 2; continue; }
          i++;
          break;
        }
        field += text[i++];
      }
      if (i < text.length && text[i] !== ',') throw new InvalidParameterError(`extraneous or missing " in quoted-field: ${text}`);
    } else {
      while (i < text.length && text[i] !== ',') {
        if (text[i] === '"') throw new InvalidParameterError(`bare " in non-quoted-field: ${text}`);
        field += text[i++];
      }
    }
    fields.push(field);
    if (i >= text.length) return fields;
    i++; // the comma
  }
}
