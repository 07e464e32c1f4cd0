/**
 * What clients see of a container: `GET /containers/{id}/json` (inspect) and
 * `GET /containers/json` (ps) with its filters. Shapes follow the Docker
 * Engine API v1.50 definitions `ContainerInspectResponse` and `ContainerSummary`.
 */
import { join } from 'node:path';
import { InvalidParameterError } from '../errors.js';
import type { ContainerRecord } from '../store/container-store.js';
import type { DataPaths } from '../store/paths.js';
import { legacyLinks } from './legacy-links.js';
import { matchLabel } from './volumes.js';

/** `networkSettings` is the network service's view of the container (engine/network-views.ts). */
export function inspectView(c: ContainerRecord, paths: DataPaths, imageLowerDirs: string[], execIds: string[], networkSettings: Record<string, unknown>): Record<string, unknown> {
  const dir = paths.containerDir(c.Id);
  const hc = { ...c.HostConfig };
  const mounts = c.Mounts.map((m) => ({
    Type: m.Type, ...(m.Name ? { Name: m.Name } : {}), Source: m.Source, Destination: m.Destination,
    ...(m.Driver ? { Driver: m.Driver } : {}), Mode: m.Mode, RW: m.RW, Propagation: m.Propagation,
  }));
  return {
    Id: c.Id,
    Created: c.Created,
    Path: c.Path,
    Args: c.Args,
    State: stateView(c.State),
    Image: c.Image,
    ResolvConfPath: join(dir, 'resolv.conf'),
    HostnamePath: join(dir, 'hostname'),
    HostsPath: join(dir, 'hosts'),
    LogPath: c.HostConfig.LogConfig?.Type === 'none' ? '' : join(dir, 'ctr.log'),
    Name: `/${c.Name}`,
    RestartCount: c.RestartCount,
    Driver: 'overlay2',
    Platform: 'linux',
    MountLabel: '',
    ProcessLabel: '',
    AppArmorProfile: '',
    ExecIDs: execIds.length ? execIds : null,
    HostConfig: hc,
    GraphDriver: {
      Name: 'overlay2',
      Data: {
        LowerDir: imageLowerDirs.join(':'),
        UpperDir: join(dir, 'upper'),
        WorkDir: join(dir, 'work'),
        MergedDir: join(dir, 'merged'),
      },
    },
    Mounts: mounts,
    Config: c.Config,
    NetworkSettings: networkSettings,
  };
}

/**
 * State as dockerd shows it. dockerd counts a restart back-off as a run
 * (container/state.go SetRestarting: Running and Restarting both true, Pid
 * 0), and clients read it so (`docker attach` says "restarting", not
 * "stopped"). berth's record keeps Running for a live process, which its
 * own checks (exit handling, stop, signals, stats, health) rely on, so the
 * difference is made here, in the view.
 */
export function stateView(s: ContainerRecord['State']): ContainerRecord['State'] {
  return s.Restarting ? { ...s, Running: true, Paused: false, Pid: 0 } : s;
}

/** Docker's human status: `Up 3 seconds`, `Exited (0) 5 seconds ago`, `Created`. */
export function statusText(c: ContainerRecord, now = Date.now()): string {
  const s = c.State;
  if (s.Restarting) return `Restarting (${s.ExitCode}) ${humanDuration(now - Date.parse(s.FinishedAt))} ago`;
  if (s.Running) {
    const up = `Up ${humanDuration(now - Date.parse(s.StartedAt))}`;
    const health = s.Health && s.Health.Status !== 'none' ? ` (${s.Health.Status === 'starting' ? 'health: starting' : s.Health.Status})` : '';
    return s.Paused ? `${up} (Paused)` : up + health;
  }
  if (s.Status === 'removing') return 'Removal In Progress';
  if (s.Dead) return 'Dead';
  if (s.StartedAt === '0001-01-01T00:00:00Z') return 'Created';
  return `Exited (${s.ExitCode}) ${humanDuration(now - Date.parse(s.FinishedAt))} ago`;
}

/** Go's `units.HumanDuration`, which `docker ps` uses. */
export function humanDuration(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 1) return 'Less than a second';
  if (s === 1) return '1 second';
  if (s < 60) return `${s} seconds`;
  const m = Math.floor(s / 60);
  if (m === 1) return 'About a minute';
  if (m < 60) return `${m} minutes`;
  const h = Math.round(s / 3600);
  if (h === 1) return 'About an hour';
  if (h < 48) return `${h} hours`;
  if (h < 24 * 7 * 2) return `${Math.floor(h / 24)} days`;
  if (h < 24 * 30 * 2) return `${Math.floor(h / 24 / 7)} weeks`;
  if (h < 24 * 365 * 2) return `${Math.floor(h / 24 / 30)} months`;
  return `${Math.floor(h / 24 / 365)} years`;
}

/**
 * A row of `GET /containers/json`. `network` is the network service's
 * summary of the container: ps's PORTS and networks. `brief` (berth's
 * `brief=1`) leaves out HostConfig, NetworkSettings and Mounts, most of a
 * row's bytes, which no default table shows. `linkNames` are the legacy
 * link names the container is known by (linkNamesByChild).
 */
export function summaryView(
  c: ContainerRecord, imageId: string, network: { Ports: Record<string, unknown>[]; Networks: Record<string, unknown> }, brief = false,
  linkNames: readonly string[] = [],
): Record<string, unknown> {
  const row: Record<string, unknown> = {
    Id: c.Id,
    // dockerd lists every name its name index holds for the container, in the index's (byte) order.
    Names: [`/${c.Name}`, ...linkNames].sort(),
    Image: c.ImageRef,
    ImageID: imageId,
    Command: [c.Path, ...c.Args].map((a) => (/\s/.test(a) || a === '' ? `'${a}'` : a)).join(' '),
    Created: Math.floor(Date.parse(c.Created) / 1000),
    Ports: network.Ports,
    Labels: c.Config.Labels ?? {},
    State: c.State.Status,
    Status: statusText(c),
  };
  if (brief) return row;
  row.HostConfig = { NetworkMode: c.HostConfig.NetworkMode };
  row.NetworkSettings = { Networks: network.Networks };
  row.Mounts = c.Mounts.map((m) => ({ Type: m.Type, Name: m.Name, Source: m.Source, Destination: m.Destination, Driver: m.Driver, Mode: m.Mode, RW: m.RW, Propagation: m.Propagation }));
  return row;
}

/**
 * The link names (`/<parent>/<alias>`) each child of a legacy link is known
 * by, keyed by the child's name: dockerd reserves them in its name index at
 * the parent's create, so ps shows them among the child's Names. A record
 * whose links cannot be read names nobody.
 */
export function linkNamesByChild(all: readonly ContainerRecord[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const parent of all) {
    let links;
    try { links = legacyLinks(parent.Name, parent.HostConfig); } catch { continue; }
    for (const l of links) out.set(l.child, [...(out.get(l.child) ?? []), l.name]);
  }
  return out;
}

export type Filters = Record<string, string[]>;

/** Parses Docker's `filters` query parameter (both `{"k":["v"]}` and the legacy `{"k":{"v":true}}`). */
/**
 * A `filters` query as dockerd's filters.FromJSON decodes it: either every
 * value a set (`{"status":{"running":true}}`, whose keys are the values,
 * true or not) or every value a list of strings (the legacy form). Anything
 * else, malformed JSON included, is a bare "invalid filter"; `null` is none.
 */
export function parseFilters(raw: string | null | undefined): Filters {
  if (!raw) return {};
  const invalid = () => new InvalidParameterError('invalid filter');
  let v: unknown;
  try { v = JSON.parse(raw); } catch { throw invalid(); }
  if (v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw invalid();
  const entries = Object.entries(v as Record<string, unknown>);
  const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
  // No prototype: a key named __proto__ is a filter like any other (and refused as unknown).
  const out: Filters = Object.create(null) as Filters;
  if (entries.every(([, x]) => x === null || (isObject(x) && Object.values(x).every((b) => typeof b === 'boolean')))) {
    for (const [k, x] of entries) out[k] = x === null ? [] : Object.keys(x as Record<string, unknown>);
    return out;
  }
  if (entries.every(([, x]) => x === null || (Array.isArray(x) && x.every((s) => typeof s === 'string')))) {
    for (const [k, x] of entries) out[k] = x === null ? [] : [...new Set(x as string[])];
    return out;
  }
  throw invalid();
}

/**
 * A yes/no filter (`dangling`) as dockerd's Args.GetBoolOrDefault reads it:
 * absent is `dflt`; otherwise exactly one of 1/true or 0/false must be
 * among the values, or it is "invalid filter 'dangling=[…]'".
 */
export function boolFilter(f: Filters, key: string, dflt: boolean): boolean {
  const values = f[key];
  if (values === undefined) return dflt;
  if (values.length === 0) throw new InvalidParameterError(`invalid filter '${key}'`);
  const isFalse = values.includes('0') || values.includes('false');
  const isTrue = values.includes('1') || values.includes('true');
  if (isFalse === isTrue) throw new InvalidParameterError(`invalid filter '${key}=[${values.join(' ')}]'`);
  return isTrue;
}

/** Whether port key `80/tcp` matches a filter value `80`, `80/tcp` or `79-81/tcp`. */
function portMatches(spec: string, key: string): boolean {
  const [range, proto = 'tcp'] = spec.split('/');
  const m = /^(\d+)(?:-(\d+))?$/.exec(range);
  if (!m) throw new InvalidParameterError(`invalid filter: port "${spec}"`);
  const [port, kproto = 'tcp'] = key.split('/');
  const n = Number(port);
  return kproto === proto.toLowerCase() && n >= Number(m[1]) && n <= Number(m[2] ?? m[1]);
}

const CONTAINER_FILTERS = new Set(['id', 'name', 'label', 'status', 'exited', 'ancestor', 'before', 'since', 'volume', 'network', 'health', 'is-task', 'expose', 'publish']);

export interface ListContext {
  lookup(nameOrId: string): ContainerRecord | undefined;
  imageMatches(ancestor: string, imageId: string): boolean;
  /** Names and IDs of the networks the container is on. */
  networksOf(c: ContainerRecord): string[];
}

/**
 * The label that puts a container in a namespace other than Docker's (the CRI's `k8s.io`, as
 * nerdctl names it): such containers are listed only when a label filter names this key.
 */
export const NAMESPACE_LABEL = 'io.berth.namespace';

export function filterContainers(all: ContainerRecord[], f: Filters, ctx: ListContext): ContainerRecord[] {
  for (const k of Object.keys(f)) if (!CONTAINER_FILTERS.has(k)) throw new InvalidParameterError(`invalid filter '${k}'`);
  const statuses = f.status ?? [];
  for (const s of statuses) {
    if (!['created', 'restarting', 'running', 'removing', 'paused', 'exited', 'dead'].includes(s)) throw new InvalidParameterError(`invalid filter 'status=${s}'`);
  }
  const before = f.before?.[0] ? ctx.lookup(f.before[0]) : undefined;
  const since = f.since?.[0] ? ctx.lookup(f.since[0]) : undefined;
  if (f.before?.[0] && !before) throw new InvalidParameterError(`No such container: ${f.before[0]}`);
  if (f.since?.[0] && !since) throw new InvalidParameterError(`No such container: ${f.since[0]}`);
  const namespaced = (f.label ?? []).some((l) => l.split('=')[0] === NAMESPACE_LABEL);
  return all.filter((c) => {
    if (!namespaced && c.Config.Labels?.[NAMESPACE_LABEL] !== undefined) return false;
    if (f.id && !f.id.some((p) => c.Id.startsWith(p))) return false;
    if (f.name && !f.name.some((n) => new RegExp(n.replace(/^\//, '')).test(c.Name))) return false;
    if (f.label && !f.label.every((l) => matchLabel(c.Config.Labels, l))) return false;
    if (statuses.length && !statuses.includes(c.State.Status)) return false;
    if (f.exited && !(c.State.Status === 'exited' && f.exited.map(Number).includes(c.State.ExitCode))) return false;
    if (f.ancestor && !f.ancestor.some((a) => ctx.imageMatches(a, c.Image))) return false;
    if (before && !(c.Created < before.Created)) return false;
    if (since && !(c.Created > since.Created)) return false;
    if (f.volume && !f.volume.some((v) => c.Mounts.some((m) => m.Name === v || m.Destination === v || m.Source === v))) return false;
    if (f.network && !f.network.some((n) => ctx.networksOf(c).includes(n))) return false;
    if (f.health && !f.health.includes(c.State.Health?.Status ?? 'none')) return false;
    // publish/expose match the container side of a port (`80`, `80/udp`, `8000-8080/tcp`), as dockerd's list filters do.
    if (f.publish) {
      const published = [...Object.keys(c.HostConfig.PortBindings ?? {}), ...(c.HostConfig.PublishAllPorts ? Object.keys(c.Config.ExposedPorts ?? {}) : [])];
      if (!f.publish.some((spec) => published.some((p) => portMatches(spec, p)))) return false;
    }
    if (f.expose && !f.expose.some((spec) => Object.keys(c.Config.ExposedPorts ?? {}).some((p) => portMatches(spec, p)))) return false;
    return true;
  });
}
