/**
 * `berth ps` / `container ls`: `GET /containers/json` and Docker's
 * container table — truncated IDs and commands, familiar image names,
 * grouped port ranges — or `--format` templates over the same fields.
 */
import { isIPv6 } from 'node:net';
import type { Command } from '../command.js';
import type { CliContext } from '../context.js';
import type { ParsedFlags } from '../flags.js';
import { formatRows, type RowContext } from '../format/formatter.js';
import { tabwrite, tabwriteCells } from '../format/tabwriter.js';
import { formatFlag } from '../format/format-flag.js';
import { goQuote } from '../format/go-quote.js';
import { goTimeString } from '../format/time.js';
import { ellipsis, truncateId } from '../format/truncate.js';
import { humanSizeWithPrecision, timeAgo } from '../format/units.js';
import { filterFlag, filtersQuery } from '../opts/filters.js';
import { familiarName, parseReference } from '../../image/reference.js';

export interface PortSummary {
  IP?: string;
  PrivatePort: number;
  PublicPort?: number;
  Type: string;
}

export interface ContainerSummary {
  Id: string;
  Names: string[];
  Image: string;
  ImageID: string;
  Command: string;
  Created: number;
  Ports: PortSummary[] | null;
  SizeRw?: number;
  SizeRootFs?: number;
  Labels: Record<string, string> | null;
  State: string;
  Status: string;
  NetworkSettings?: { Networks?: Record<string, unknown> | null } | null;
  Mounts?: { Name?: string; Source?: string; Driver?: string }[] | null;
  ImageManifestDescriptor?: { platform?: unknown } | null;
}

const DEFAULT_TABLE = 'table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}';

export const CONTAINER_HEADERS: Record<string, string> = {
  ID: 'CONTAINER ID', Image: 'IMAGE', Command: 'COMMAND', CreatedAt: 'CREATED AT', RunningFor: 'CREATED',
  Ports: 'PORTS', State: 'STATE', Status: 'STATUS', Size: 'SIZE', Names: 'NAMES', Labels: 'LABELS', Label: 'LABEL',
  Mounts: 'MOUNTS', LocalVolumes: 'LOCAL VOLUMES', Networks: 'NETWORKS', Platform: 'PLATFORM',
};

function joinHostPort(host: string, port: string): string {
  return isIPv6(host) || host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** formatter.DisplayablePorts: consecutive ports grouped into ranges, host mappings last. */
export function displayablePorts(input: readonly PortSummary[]): string {
  if (input.length === 0) return '';
  const ports = [...input].sort((a, b) => {
    if (a.PrivatePort !== b.PrivatePort) return a.PrivatePort - b.PrivatePort;
    if ((a.IP ?? '') !== (b.IP ?? '')) return (a.IP ?? '') < (b.IP ?? '') ? -1 : 1;
    if ((a.PublicPort ?? 0) !== (b.PublicPort ?? 0)) return (a.PublicPort ?? 0) - (b.PublicPort ?? 0);
    return a.Type < b.Type ? -1 : a.Type > b.Type ? 1 : 0;
  });
  const groups = new Map<string, { first: number; last: number }>();
  const result: string[] = [];
  const hostMappings: string[] = [];
  const formGroup = (key: string, start: number, last: number) => {
    const slash = key.lastIndexOf('/');
    const ip = slash >= 0 ? key.slice(0, slash) : '';
    const type = slash >= 0 ? key.slice(slash + 1) : key;
    let group = start === last ? String(start) : `${start}-${last}`;
    if (ip) group = `${joinHostPort(ip, group)}->${group}`;
    return `${group}/${type}`;
  };
  for (const p of ports) {
    const current = p.PrivatePort;
    let key = p.Type;
    if (p.IP) {
      if ((p.PublicPort ?? 0) !== current) {
        hostMappings.push(`${joinHostPort(p.IP, String(p.PublicPort ?? 0))}->${p.PrivatePort}/${p.Type}`);
        continue;
      }
      key = `${p.IP}/${p.Type}`;
    }
    const g = groups.get(key);
    if (!g) {
      groups.set(key, { first: current, last: current });
      continue;
    }
    if (current === g.last + 1) {
      g.last = current;
      continue;
    }
    result.push(formGroup(key, g.first, g.last));
    groups.set(key, { first: current, last: current });
  }
  for (const [key, g] of groups) result.push(formGroup(key, g.first, g.last));
  result.push(...hostMappings);
  return result.join(', ');
}

/**
 * An image reference as the truncated table shows it (`docker.io/library/busybox:latest` → `busybox:latest`),
 * or as it is when it does not parse. Containers share a few images, so each is parsed once.
 */
const familiarImages = new Map<string, string>();
function familiarImage(image: string): string {
  let shown = familiarImages.get(image);
  if (shown === undefined) {
    try {
      const ref = parseReference(image);
      shown = ref.tag ? `${familiarName(ref)}:${ref.tag}` : familiarName(ref);
    } catch {
      shown = image;
    }
    familiarImages.set(image, shown);
  }
  return shown;
}

/** The NAMES cell: names without their `/`; truncated, only the first that is not a link's (`/web/db`). */
function shownNames(c: ContainerSummary, trunc: boolean): string {
  const names = (c.Names ?? []).map((n) => n.replace(/^\//, ''));
  if (trunc) {
    const primary = names.find((n) => !n.includes('/'));
    return primary ?? names.join(',');
  }
  return names.join(',');
}

function shownImage(c: ContainerSummary, trunc: boolean): string {
  if (!c.Image) return '<no image>';
  if (trunc) {
    if (truncateId(c.ImageID) === truncateId(c.Image)) return truncateId(c.Image);
    return familiarImage(c.Image);
  }
  return c.Image;
}

function shownSize(c: ContainerSummary): string {
  const srw = humanSizeWithPrecision(c.SizeRw ?? 0, 3);
  return (c.SizeRootFs ?? 0) > 0 ? `${srw} (virtual ${humanSizeWithPrecision(c.SizeRootFs ?? 0, 3)})` : srw;
}

/** ContainerContext: the fields `--format` can use on a container row. */
export function containerContext(c: ContainerSummary, trunc: boolean, now = Date.now()): RowContext {
  const labels = c.Labels ?? {};
  return {
    ID: () => (trunc ? truncateId(c.Id) : c.Id),
    Names: () => shownNames(c, trunc),
    Image: () => shownImage(c, trunc),
    Command: () => goQuote(trunc ? ellipsis(c.Command, 20) : c.Command),
    CreatedAt: () => goTimeString(c.Created),
    RunningFor: () => timeAgo(c.Created, now),
    Ports: () => displayablePorts(c.Ports ?? []),
    State: () => c.State,
    Status: () => c.Status,
    Size: () => shownSize(c),
    Labels: () => Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(','),
    Label: (name: unknown) => labels[String(name)] ?? '',
    Mounts: () => (c.Mounts ?? []).map((m) => {
      const name = m.Name || m.Source || '';
      return trunc ? ellipsis(name, 15) : name;
    }).join(','),
    LocalVolumes: () => String((c.Mounts ?? []).filter((m) => m.Driver === 'local').length),
    Networks: () => Object.keys(c.NetworkSettings?.Networks ?? {}).sort().join(','),
    Platform: () => c.ImageManifestDescriptor?.platform ?? null,
  };
}

/**
 * The default table (with SIZE under `-s`) and `-q`, laid out without the
 * template engine: the same cells from the same functions, with no row
 * context (16 closures a row) and no template run per row — for 1000
 * containers most of what `ps` allocates, and so of its collections. Any
 * other format, and `psFormat` from config.json, goes through formatRows.
 * Equal output is checked by test/unit/cli/ps-table.test.ts.
 */
export function psDefaultOutput(format: string, list: readonly ContainerSummary[], trunc: boolean, now: number): string | undefined {
  if (format === '{{.ID}}') {
    let out = '';
    for (const c of list) out += `${trunc ? truncateId(c.Id) : c.Id}\n`;
    return out;
  }
  const size = format === `${DEFAULT_TABLE}\t{{.Size}}`;
  if (format !== DEFAULT_TABLE && !size) return undefined;
  const h = CONTAINER_HEADERS;
  const rows: string[][] = [[h.ID, h.Image, h.Command, h.RunningFor, h.Status, h.Ports, h.Names]];
  if (size) rows[0].push(h.Size);
  let split = false;
  for (const c of list) {
    const cells = [trunc ? truncateId(c.Id) : c.Id, shownImage(c, trunc), goQuote(trunc ? ellipsis(c.Command, 20) : c.Command),
      timeAgo(c.Created, now), `${c.Status}`, displayablePorts(c.Ports ?? []), shownNames(c, trunc)];
    if (size) cells.push(shownSize(c));
    // A tab or newline in a cell (a daemon's odd Status) splits it in the template's text: lay that text out instead.
    for (const cell of cells) if (TAB_OR_NEWLINE.test(cell)) split = true;
    rows.push(cells);
  }
  return split ? tabwrite(`${rows.map((cells) => cells.join('\t')).join('\n')}\n`) : tabwriteCells(rows);
}

const TAB_OR_NEWLINE = /[\t\n]/;

/** NewContainerFormat: the format to use given --format, --quiet, --size and config.json psFormat. */
export function containerFormat(source: string, quiet: boolean, size: boolean): string {
  if (source === '' || source === 'table') {
    if (quiet) return '{{.ID}}';
    return size ? `${DEFAULT_TABLE}\t{{.Size}}` : DEFAULT_TABLE;
  }
  return quiet ? '{{.ID}}' : source;
}

/**
 * `--namespace NS` (berth's, after nerdctl's): the containers of a namespace
 * other than Docker's, such as the CRI's `k8s.io`, which the default list
 * leaves out; the same as `--filter label=io.berth.namespace=NS`.
 */
function namespaceFilter(ns: string): string[] {
  return ns ? [`label=io.berth.namespace=${ns}`] : [];
}

async function ps(ctx: CliContext, f: ParsedFlags): Promise<void> {
  let format = f.string('format');
  const quiet = f.bool('quiet');
  if (format === '') format = ctx.config.data.psFormat ?? '';
  else if (quiet) ctx.err.write('WARNING: Ignoring custom format, because both --format and --quiet are set.\n');
  let limit = f.number('last');
  if (f.bool('latest') && limit === -1) limit = 1;
  const size = f.bool('size') || (!quiet && /\.Size\b/.test(format));
  const client = await ctx.client();
  // The default table and -q need none of a row's networks or mounts: berthd then leaves them out.
  const brief = quiet || format === '' || format === 'table';
  const list = await client.json<ContainerSummary[]>('GET', '/containers/json', {
    query: { all: f.bool('all'), filters: filtersQuery([...f.list('filter'), ...namespaceFilter(f.string('namespace'))]), limit: limit > 0 ? limit : undefined, size, brief: brief || undefined },
  });
  const trunc = !f.bool('no-trunc');
  const now = Date.now();
  const shown = containerFormat(format, quiet, size);
  ctx.out.write(psDefaultOutput(shown, list, trunc, now)
    ?? formatRows(shown, list.map((c) => containerContext(c, trunc, now)), CONTAINER_HEADERS));
}

export const psCommand: Command = {
  name: 'ls', aliases: ['ps', 'list'], usage: '[OPTIONS]', short: 'List containers',
  aliasesHelp: 'berth container ls, berth container list, berth container ps, berth ps', args: { max: 0 },
  flags: [
    { name: 'all', short: 'a', kind: 'bool', usage: 'Show all containers (default shows just running)' },
    filterFlag('Filter output based on conditions provided'),
    formatFlag(),
    { name: 'last', short: 'n', kind: 'int', default: -1, defaultText: '-1', usage: 'Show n last created containers (includes all states)' },
    { name: 'latest', short: 'l', kind: 'bool', usage: 'Show the latest created container (includes all states)' },
    { name: 'namespace', kind: 'string', usage: 'Show the containers of this berth namespace instead of Docker\'s (k8s.io: the CRI\'s pods and containers)' },
    { name: 'no-trunc', kind: 'bool', usage: "Don't truncate output" },
    { name: 'quiet', short: 'q', kind: 'bool', usage: 'Only display container IDs' },
    { name: 'size', short: 's', kind: 'bool', usage: 'Display total file sizes' },
  ],
  run: ps,
};

/** The top-level `berth ps` shortcut. */
export const topLevelPsCommand: Command = { ...psCommand, name: 'ps', aliases: [], group: 'common' };
