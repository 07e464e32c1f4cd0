/**
 * What berth can leave behind on a host: mounts, processes (conmon, OCI
 * runtimes, berthd, aardvark-dns, container processes), cgroups, network
 * namespaces, network links (bridges, veths), netavark's iptables rules and
 * directories. `scripts/run-tests.mjs` compares a whole-host snapshot taken
 * before the suite with one taken after it; the daemon helper asks the same
 * questions about one test daemon's roots and containers.
 *
 * Only reads /proc and /sys, `ip -d -j link show` and `iptables -S`; nothing
 * here changes the host.
 */
import { execFile } from 'node:child_process';
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';

export interface LeftoverProcess {
  pid: number;
  /** Start time in clock ticks since boot (field 22 of /proc/<pid>/stat): with the pid, a process's identity. */
  startTicks: string;
  comm: string;
  cmdline: string;
  reason: string;
}

export interface Leftovers {
  /** Mount table lines: `<target> <fstype> <source> <options>`. */
  mounts: string[];
  processes: LeftoverProcess[];
  /** cgroup directories under /sys/fs/cgroup. */
  cgroups: string[];
  /** Entries of /run/netns. */
  netns: string[];
  /** Network links: `bridge <name>` or `veth <name> (master <bridge>)`. */
  links: string[];
  /** netavark's per-network and per-container iptables rules: `<table>: <rule>` as `iptables -S` prints it. */
  iptables: string[];
  /** Files or directories that should be gone. */
  paths: string[];
}

export function emptyLeftovers(): Leftovers {
  return { mounts: [], processes: [], cgroups: [], netns: [], links: [], iptables: [], paths: [] };
}

export function leftoverCount(l: Leftovers): number {
  return l.mounts.length + l.processes.length + l.cgroups.length + l.netns.length + l.links.length + l.iptables.length + l.paths.length;
}

export function isClean(l: Leftovers): boolean {
  return leftoverCount(l) === 0;
}

/** Human-readable list, one item a line, for test failures and the runner's report. */
export function formatLeftovers(l: Leftovers, indent = '  '): string {
  const lines: string[] = [];
  const clip = (s: string) => (s.length > 300 ? s.slice(0, 297) + '...' : s);
  for (const m of l.mounts) lines.push(`${indent}mount    ${clip(m)}`);
  for (const p of l.processes) lines.push(`${indent}process  ${p.pid} ${p.comm} (${p.reason}): ${clip(p.cmdline)}`);
  for (const c of l.cgroups) lines.push(`${indent}cgroup   ${c}`);
  for (const n of l.netns) lines.push(`${indent}netns    /run/netns/${n}`);
  for (const k of l.links) lines.push(`${indent}link     ${k}`);
  for (const r of l.iptables) lines.push(`${indent}iptables ${clip(r)}`);
  for (const p of l.paths) lines.push(`${indent}path     ${p}`);
  return lines.join('\n');
}

/** What `after` has that `before` had not (processes are compared by pid and start time). */
export function subtractLeftovers(after: Leftovers, before: Leftovers): Leftovers {
  const key = (p: LeftoverProcess) => `${p.pid}:${p.startTicks}`;
  const beforeProcs = new Set(before.processes.map(key));
  const minus = (a: string[], b: string[]) => { const s = new Set(b); return a.filter((x) => !s.has(x)); };
  return {
    mounts: minus(after.mounts, before.mounts),
    processes: after.processes.filter((p) => !beforeProcs.has(key(p))),
    cgroups: minus(after.cgroups, before.cgroups),
    netns: minus(after.netns, before.netns),
    links: minus(after.links, before.links),
    iptables: minus(after.iptables, before.iptables),
    paths: minus(after.paths, before.paths),
  };
}

export interface ProcessInfo {
  pid: number;
  ppid: number;
  /** R, S, D, Z (zombie: exited, not yet reaped), T… */
  state: string;
  startTicks: string;
  comm: string;
  argv: string[];
  cmdline: string;
  /** Contents of /proc/<pid>/cgroup. */
  cgroup: string;
}

/**
 * Every process the kernel shows us; processes that exit while we read are
 * skipped. Zombies are included (state Z): callers skip them, since an
 * exited process holds nothing (and where pid 1 does not reap orphans, as in
 * some sandboxes, daemonized conmons stay zombies forever).
 */
export async function listProcesses(): Promise<ProcessInfo[]> {
  const out: ProcessInfo[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const [statText, cmdlineRaw, cgroup] = await Promise.all([
        readFile(`/proc/${name}/stat`, 'utf8'),
        readFile(`/proc/${name}/cmdline`),
        readFile(`/proc/${name}/cgroup`, 'utf8').catch(() => ''),
      ]);
      // comm is in parentheses and may contain spaces or parentheses itself.
      const open = statText.indexOf('(');
      const close = statText.lastIndexOf(')');
      const comm = statText.slice(open + 1, close);
      const fields = statText.slice(close + 2).split(' ');
      const argv = cmdlineRaw.toString('utf8').split('\0').filter((a, i, all) => a !== '' || i < all.length - 1);
      out.push({
        pid: Number(name), ppid: Number(fields[1]), state: fields[0] ?? '', startTicks: fields[19] ?? '', comm, argv,
        cmdline: argv.join(' '), cgroup,
      });
    } catch {
      // gone
    }
  }
  return out;
}

export interface MountInfo { target: string; fstype: string; source: string; options: string; line: string }

function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

export async function listMounts(): Promise<MountInfo[]> {
  const text = await readFile('/proc/self/mounts', 'utf8');
  return text.split('\n').filter(Boolean).map((l) => {
    const [source = '', target = '', fstype = '', options = ''] = l.split(' ');
    const m = { source: unescapeMount(source), target: unescapeMount(target), fstype, options: unescapeMount(options) };
    return { ...m, line: `${m.target} ${m.fstype} ${m.source} ${m.options}` };
  });
}

/** Mount points at or below `root`, deepest first (the order to unmount them in). */
export async function mountsUnder(root: string): Promise<string[]> {
  const r = root.replace(/\/+$/, '');
  return (await listMounts()).map((m) => m.target).filter((t) => t === r || t.startsWith(r + '/'))
    .sort((a, b) => b.length - a.length);
}

/** cgroup directories below /sys/fs/cgroup (not following symlinks), up to `maxDepth` levels. */
export async function listCgroupDirs(maxDepth = 4): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string, depth: number): Promise<void> => {
    if (depth > maxDepth) return;
    let entries;
    try { entries = await readdir(dir, { withFileTypes: true }); } catch { return; }
    for (const e of entries) {
      if (!e.isDirectory()) continue;
      const p = join(dir, e.name);
      if (depth > 1) out.push(p);
      await walk(p, depth + 1);
    }
  };
  // Depth 1 is a controller hierarchy on cgroup v1 (cpu, memory, unified…) or a
  // first-level group on a pure v2 host; both are reported from depth 2 down,
  // and pure v2 groups directly below the root are added here.
  const v2 = await stat('/sys/fs/cgroup/cgroup.controllers').then(() => true, () => false);
  if (v2) {
    for (const e of await readdir('/sys/fs/cgroup', { withFileTypes: true }).catch(() => [])) {
      if (e.isDirectory()) out.push(join('/sys/fs/cgroup', e.name));
    }
  }
  await walk('/sys/fs/cgroup', 1);
  return out;
}

async function netnsNames(): Promise<string[]> {
  return readdir('/run/netns').catch(() => []);
}

function output(file: string, args: string[]): Promise<string> {
  return new Promise((resolve) => {
    execFile(file, args, { env: { ...process.env, PATH: `${process.env.PATH ?? ''}:/usr/sbin:/sbin` }, maxBuffer: 64 << 20 }, (err, stdout) => resolve(err ? '' : stdout));
  });
}

export interface LinkInfo { name: string; kind: string; master: string; addresses: string[] }

/** Network links of the host's namespace with their kind (bridge, veth…), bridge and IPv4 addresses (CIDR). */
export async function listLinks(): Promise<LinkInfo[]> {
  const [links, addrs] = await Promise.all([output('ip', ['-d', '-j', 'link', 'show']), output('ip', ['-j', '-4', 'addr', 'show'])]);
  const byName = new Map<string, string[]>();
  try {
    for (const a of JSON.parse(addrs || '[]') as { ifname: string; addr_info?: { local: string; prefixlen: number }[] }[]) {
      byName.set(a.ifname, (a.addr_info ?? []).map((i) => `${i.local}/${i.prefixlen}`));
    }
    return (JSON.parse(links || '[]') as { ifname: string; master?: string; linkinfo?: { info_kind?: string } }[]).map((l) => ({
      name: l.ifname, kind: l.linkinfo?.info_kind ?? '', master: l.master ?? '', addresses: byName.get(l.ifname) ?? [],
    }));
  } catch {
    return [];
  }
}

/** `<table>: <rule>` for every line of `iptables -S` in the filter and nat tables. */
export async function listIptables(): Promise<string[]> {
  const out: string[] = [];
  for (const table of ['filter', 'nat']) {
    for (const line of (await output('iptables', ['-w', '-t', table, '-S'])).split('\n')) if (line.trim()) out.push(`${table}: ${line.trim()}`);
  }
  return out;
}

/**
 * netavark's rules that belong to a network or a container: its per-network
 * chains (`NETAVARK-<hash>`, `NETAVARK-DN-<hash>`) and the rules in the shared
 * chains that point at them. The shared chains themselves (NETAVARK_FORWARD,
 * NETAVARK-HOSTPORT-DNAT/-SETMARK/-MASQ and their fixed rules) stay once
 * netavark has run, as they do for Podman, and are not leftovers.
 */
export function isNetavarkLeftover(rule: string): boolean {
  return /NETAVARK-(DN-)?[0-9A-F]{8,}\b/.test(rule) || /-A NETAVARK_FORWARD /.test(rule) || /-A NETAVARK-HOSTPORT-DNAT /.test(rule);
}

/** Bridges berth makes (the default `berth0`, user networks' `br-<id>`, test daemons' `bt<hex>`) and veths on them. */
const BERTH_BRIDGE = /^(berth|br-|bt)/;

function linkLine(l: LinkInfo): string {
  return l.kind === 'bridge' ? `bridge ${l.name} ${l.addresses.join(' ')}`.trim() : `${l.kind || 'link'} ${l.name} (master ${l.master})`;
}

async function existing(paths: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const p of paths) if (await stat(p).then(() => true, () => false)) out.push(p);
  return out;
}

const BERTH_MARK = /berth|\/run\/bt-/;

/**
 * Everything on this host that looks like berth's: mounts mentioning
 * `berth` or a test exec root (/run/bt-*), conmon and OCI runtime
 * processes, berthd processes, processes in a `berth/<id>` cgroup, container
 * cgroups below a `berth` parent, network namespaces, berth's bridges and
 * the veths on them, netavark's per-network iptables rules, and test
 * directories (/run/bt-*, /tmp/berth-test-*). Compare two snapshots with subtractLeftovers.
 */
export async function hostLeftovers(): Promise<Leftovers> {
  const l = emptyLeftovers();
  l.mounts = (await listMounts()).filter((m) => BERTH_MARK.test(m.line)).map((m) => m.line);
  for (const p of await listProcesses()) {
    if (p.pid === process.pid || p.state === 'Z') continue;
    let reason = '';
    if (p.comm === 'conmon') reason = 'conmon';
    else if (/^(runc|crun)\b/.test(p.comm)) reason = 'OCI runtime';
    else if (p.comm === 'aardvark-dns' && p.argv.some((a) => BERTH_MARK.test(a))) reason = 'aardvark-dns';
    else if (p.argv.slice(0, 3).some((a) => /(^|\/)bin\/berthd$|daemon\/main\.js$/.test(a))) reason = 'berthd';
    else if (/:\/berth\//.test(p.cgroup)) reason = 'in a berth container cgroup';
    if (reason) l.processes.push({ pid: p.pid, startTicks: p.startTicks, comm: p.comm, cmdline: p.cmdline, reason });
  }
  l.cgroups = (await listCgroupDirs()).filter((c) => basename(join(c, '..')) === 'berth');
  l.netns = await netnsNames();
  const links = await listLinks();
  const bridges = new Set(links.filter((k) => k.kind === 'bridge' && BERTH_BRIDGE.test(k.name)).map((k) => k.name));
  l.links = links.filter((k) => bridges.has(k.name) || (k.kind === 'veth' && bridges.has(k.master))).map(linkLine);
  l.iptables = (await listIptables()).filter(isNetavarkLeftover);
  const runDirs = (await readdir('/run').catch(() => [])).filter((n) => n.startsWith('bt-')).map((n) => `/run/${n}`);
  const tmpDirs = (await readdir('/tmp').catch(() => [])).filter((n) => n.startsWith('berth-test-')).map((n) => `/tmp/${n}`);
  l.paths = [...runDirs, ...tmpDirs];
  return l;
}

/**
 * What one daemon left: mounts and processes mentioning any of `roots`
 * (its data root, exec root, socket dir), processes and cgroups of
 * `containerIds`, network namespaces named after them, the daemon's bridges
 * (`net.bridges`, or any bridge with an address in `net.subnets`) and the
 * veths on them, iptables rules that mention its subnets or containers, and
 * the roots themselves when `rootsShouldBeGone`. `excludePids` (the daemon
 * while it runs) are not reported, nor is `net.standing`: the default
 * bridge of a running daemon, which stays (with its anchor veth and its
 * network-level rules) between containers, as docker0 does.
 */
export async function leftoversUnder(
  roots: string[],
  containerIds: Iterable<string>,
  opts: {
    excludePids?: number[]; rootsShouldBeGone?: boolean;
    net?: { bridges: string[]; subnets: string[]; standing?: { bridge: string; subnet: string } };
  } = {},
): Promise<Leftovers> {
  const ids = [...new Set(containerIds)].filter((id) => id.length >= 12);
  const exclude = new Set([process.pid, ...(opts.excludePids ?? [])]);
  const mentions = (s: string) => roots.some((r) => s.includes(r));
  const l = emptyLeftovers();
  l.mounts = (await listMounts()).filter((m) => mentions(m.line)).map((m) => m.line);
  for (const p of await listProcesses()) {
    if (exclude.has(p.pid) || p.state === 'Z') continue;
    let reason = '';
    const root = roots.find((r) => p.cmdline.includes(r));
    if (root) reason = `mentions ${root}`;
    else {
      const id = ids.find((i) => p.cgroup.includes(i));
      if (id) reason = `in the cgroup of container ${id.slice(0, 12)}`;
    }
    if (reason) l.processes.push({ pid: p.pid, startTicks: p.startTicks, comm: p.comm, cmdline: p.cmdline, reason });
  }
  if (ids.length) {
    l.cgroups = (await listCgroupDirs()).filter((c) => ids.some((i) => basename(c).includes(i)));
    l.netns = (await netnsNames()).filter((n) => ids.some((i) => n.includes(i) || n.includes(i.slice(0, 12))));
  }
  if (opts.net) {
    const inSubnets = (cidr: string) => opts.net!.subnets.some((s) => cidrWithin(cidr, s));
    const links = await listLinks();
    const bridges = new Set(links.filter((k) => k.kind === 'bridge' && (opts.net!.bridges.includes(k.name) || k.addresses.some(inSubnets))).map((k) => k.name));
    const standing = opts.net.standing;
    const isStanding = (k: { name: string; kind: string; master: string }) =>
      !!standing && (k.name === standing.bridge || (k.kind === 'veth' && k.master === standing.bridge && k.name.startsWith('bk')));
    l.links = links.filter((k) => !isStanding(k) && (bridges.has(k.name) || (k.kind === 'veth' && bridges.has(k.master)))).map(linkLine);
    const prefixes = opts.net.subnets.map((s) => s.split('/')[0].split('.').slice(0, s.endsWith('/16') ? 2 : 3).join('.') + '.');
    // The standing network's own rules name its subnet, and no container, address or port chain.
    const networkLevel = (r: string) => {
      if (!standing || !r.includes(standing.subnet) || r.includes('DN-') || /\b[0-9a-f]{64}\b/.test(r)) return false;
      const rest = r.split(standing.subnet).join('');
      return !prefixes.some((p) => rest.includes(` ${p}`) || rest.includes(`:${p}`));
    };
    l.iptables = (await listIptables()).filter((r) => !networkLevel(r)
      && (prefixes.some((p) => r.includes(` ${p}`) || r.includes(`:${p}`)) || ids.some((i) => r.includes(i))));
  }
  if (opts.rootsShouldBeGone) l.paths = await existing(roots);
  return l;
}

/** Whether address/prefix `cidr` (a host address with its prefix) lies inside `subnet` (IPv4). */
function cidrWithin(cidr: string, subnet: string): boolean {
  const num = (ip: string) => ip.split('.').reduce((a, p) => a * 256 + Number(p), 0);
  const [ip] = cidr.split('/');
  const [base, bits] = subnet.split('/');
  const size = 2 ** (32 - Number(bits));
  return Math.floor(num(ip) / size) === Math.floor(num(base) / size);
}
