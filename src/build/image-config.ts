/**
 * The image config each build step produces, written the same way every
 * time so that equal builds give equal image IDs:
 *
 * - keys in a fixed order (top level and `config`), maps (Labels, Volumes,
 *   ExposedPorts) sorted by key as Go's encoding/json writes them, empty
 *   values left out;
 * - no build-host noise: no hostname, container ID, `container_config`,
 *   `docker_version`, or the base image's import comment;
 * - with SOURCE_DATE_EPOCH, `created` and every history timestamp are the
 *   epoch (earlier timestamps of the base stay; later ones are clamped, as
 *   BuildKit does).
 *
 * History lines follow the classic builder: `/bin/sh -c #(nop)  CMD ["sh"]`
 * for instructions without a layer (`empty_layer: true`), the command for
 * RUN (`|1 A=x /bin/sh -c make`), `COPY file:<sha256> in /dest ` for copies.
 */
import type { ContainerDefaults, HistoryEntry, ImageConfig } from '../image/config.js';
import { hostArchitecture } from '../image/config.js';

/** `config` keys in the order Docker's container.Config declares them. */
const DEFAULT_KEYS = [
  'User', 'ExposedPorts', 'Env', 'Cmd', 'Healthcheck', 'ArgsEscaped', 'Volumes', 'WorkingDir', 'Entrypoint',
  'OnBuild', 'Labels', 'StopSignal', 'StopTimeout', 'Shell',
] as const;

/** Per-container values an image config must not carry. */
const NOISE = new Set([
  'Hostname', 'Domainname', 'AttachStdin', 'AttachStdout', 'AttachStderr', 'Tty', 'OpenStdin', 'StdinOnce', 'Image',
  'NetworkDisabled', 'MacAddress',
]);

const SORTED_MAPS = new Set(['ExposedPorts', 'Volumes', 'Labels']);
const HEALTH_KEYS = ['Test', 'Interval', 'Timeout', 'StartPeriod', 'StartInterval', 'Retries'];

function isEmpty(v: unknown): boolean {
  if (v === undefined || v === null || v === '' || v === false) return true;
  if (Array.isArray(v)) return v.length === 0;
  if (typeof v === 'object') return Object.keys(v as object).length === 0;
  return false;
}

function sortedMap(m: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(m).sort()) out[k] = m[k];
  return out;
}

/** `config` in canonical form: fixed key order, sorted maps, no empties, no noise. */
export function normalizeDefaults(d: ContainerDefaults): ContainerDefaults {
  const src = d as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k of DEFAULT_KEYS) {
    let v = src[k];
    if (isEmpty(v)) continue;
    if (SORTED_MAPS.has(k)) v = sortedMap(v as Record<string, unknown>);
    if (k === 'Healthcheck') {
      const h = v as Record<string, unknown>;
      const hc: Record<string, unknown> = {};
      for (const hk of HEALTH_KEYS) if (!isEmpty(h[hk])) hc[hk] = h[hk];
      v = hc;
    }
    out[k] = v;
  }
  const known = new Set<string>(DEFAULT_KEYS);
  for (const k of Object.keys(src).sort()) {
    if (known.has(k) || NOISE.has(k) || isEmpty(src[k])) continue;
    out[k] = src[k];
  }
  return out as ContainerDefaults;
}

/** RFC 3339 in UTC the way Go prints it (no fractional part when it is zero). */
export function goTime(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}

/** A history entry in canonical key order. */
function historyEntry(h: HistoryEntry): HistoryEntry {
  const out: HistoryEntry = {};
  if (h.created !== undefined) out.created = h.created;
  if (h.created_by !== undefined) out.created_by = h.created_by;
  if (h.author) out.author = h.author;
  if (h.comment) out.comment = h.comment;
  if (h.empty_layer) out.empty_layer = true;
  return out;
}

function clamp(created: string | undefined, epochMs: number | undefined): string | undefined {
  if (epochMs === undefined) return created;
  const t = created ? Date.parse(created) : NaN;
  return Number.isNaN(t) || t > epochMs ? goTime(epochMs) : created;
}

/** The config of an empty image (`FROM scratch`). */
export function scratchConfig(): ImageConfig {
  return { architecture: hostArchitecture(), os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, history: [] };
}

export interface NextConfig {
  /** The config of the image the step starts from. */
  parent: ImageConfig;
  /** The container defaults after the step. */
  defaults: ContainerDefaults;
  /** The layer the step added, if any. */
  diffId?: string;
  /** History line for the step. */
  createdBy: string;
  /** The step's time (ms): the epoch when SOURCE_DATE_EPOCH is set. */
  createdMs: number;
  /** SOURCE_DATE_EPOCH in ms: clamps the history the base brought along. */
  epochMs?: number;
  /** MAINTAINER. */
  author?: string;
}

/** The config after a step, and its exact bytes (the image ID is their sha256). */
export function nextConfig(n: NextConfig): { config: ImageConfig; bytes: Buffer } {
  const p = n.parent as ImageConfig & Record<string, unknown>;
  const created = goTime(n.createdMs);
  const history = (p.history ?? []).map((h) => historyEntry({ ...h, created: clamp(h.created, n.epochMs) }));
  history.push(historyEntry({ created, created_by: n.createdBy, empty_layer: n.diffId === undefined }));
  const out: Record<string, unknown> = { architecture: p.architecture || hostArchitecture() };
  const author = n.author ?? p.author;
  if (author) out.author = author;
  out.config = normalizeDefaults(n.defaults);
  out.created = created;
  out.history = history;
  out.os = p.os || 'linux';
  for (const k of ['os.features', 'os.version']) if (!isEmpty(p[k])) out[k] = p[k];
  out.rootfs = { type: 'layers', diff_ids: [...p.rootfs.diff_ids, ...(n.diffId ? [n.diffId] : [])] };
  if (p.variant) out.variant = p.variant;
  const config = out as unknown as ImageConfig;
  return { config, bytes: Buffer.from(JSON.stringify(config)) };
}

/** History text of an instruction without a layer: `<shell> #(nop) <comment>`. */
export function nopCreatedBy(shell: readonly string[], comment: string): string {
  return [...shell, `#(nop) ${comment}`].join(' ');
}

/** Go's `%q` of a string list, as the classic builder prints CMD/ENTRYPOINT in history (`["sh" "-c" "x"]`). */
export function goQuotedList(list: readonly string[]): string {
  return `[${list.map((s) => JSON.stringify(s)).join(' ')}]`;
}
