/**
 * A private berthd for the benchmark: fresh data root under /tmp and a short
 * exec root under /run (conmon's attach socket path must stay under 107
 * bytes), and — when berthd has bridge networking — a default bridge and
 * subnet of its own (`bb<hex>`, 10.243.N.0/24), clear of berth's defaults,
 * the test daemons' (10.240.N.0/24, `bt<hex>`), Docker's and Podman's, so
 * the bench can run beside them. Started with a clean environment and torn
 * down completely by `stop()`: containers removed through the API, berthd
 * stopped, then any leftover process, runtime state, mount, bridge and
 * netavark rule of its own swept away and the roots deleted.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { apiRequest, listContainerIds, removeContainer } from './api.js';
import type { Cleanup } from './cleanup.js';
import { CLEAN_ENV, listProcesses, run, sleep, throwIfInterrupted } from './proc.js';

export interface BenchDaemon {
  readonly socket: string;
  /** `unix://<socket>`, for -H. */
  readonly host: string;
  readonly dataRoot: string;
  readonly execRoot: string;
  readonly pid: number;
  /** Tail of berthd's log, for error messages. */
  logTail(): string;
  stop(): Promise<void>;
}

function makeExecRoot(): string {
  for (let i = 0; i < 20; i++) {
    const dir = `/run/bb-${randomBytes(3).toString('hex')}`;
    try {
      mkdirSync(dir, { mode: 0o711 });
      return dir;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
  throw new Error('could not pick a free /run/bb-* exec root');
}

/**
 * Node flags for berthd from BERTH_BENCH_BERTHD_NODE_ARGS (split on spaces),
 * to profile the daemon under a figure's load: e.g.
 * `--cpu-prof --cpu-prof-dir=/tmp/prof` (written when berthd exits at clean-up).
 */
function nodeArgs(): string[] {
  return (process.env.BERTH_BENCH_BERTHD_NODE_ARGS ?? '').split(' ').filter(Boolean);
}

/** Mount points at or below `root`, deepest first. */
function mountsUnder(root: string): string[] {
  const points = readFileSync('/proc/self/mountinfo', 'utf8').split('\n')
    .map((l) => l.split(' ')[4]).filter((p): p is string => !!p)
    .map((p) => p.replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))));
  return points.filter((p) => p === root || p.startsWith(`${root}/`)).sort((a, b) => b.length - a.length);
}

/** Whether this berthd has a flag (older ones have no bridge networking, hence no --bridge). */
async function hasFlag(berthdBin: string, flag: string): Promise<boolean> {
  const r = await run([process.execPath, berthdBin, '--help']);
  return r.stdout.includes(flag);
}

/** Rules of iptables' filter and nat tables that mention `subnet`, as `[table, rule]`. */
async function rulesMentioning(subnet: string): Promise<[string, string][]> {
  const out: [string, string][] = [];
  for (const table of ['filter', 'nat']) {
    const r = await run(['iptables', '-w', '-t', table, '-S']);
    for (const line of r.stdout.split('\n')) if (line.startsWith('-A ') && line.includes(subnet)) out.push([table, line]);
  }
  return out;
}

/** Deletes netavark's rules for `subnet`, then the per-network chains they named. */
async function sweepIptables(subnet: string): Promise<void> {
  const rules = await rulesMentioning(subnet);
  const chains = new Set<string>();
  for (const [table, rule] of rules) {
    const argv = [...rule.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)].map((m) => m[1] ?? m[2]);
    for (const w of argv) if (/^NETAVARK-(DN-)?[0-9A-F]{8,}$/.test(w)) chains.add(`${table} ${w}`);
    await run(['iptables', '-w', '-t', table, '-D', ...argv.slice(1)]);
  }
  for (const c of chains) {
    const [table, chain] = c.split(' ');
    await run(['iptables', '-w', '-t', table, '-F', chain]);
    await run(['iptables', '-w', '-t', table, '-X', chain]);
  }
}

/** Starts berthd; its `stop()` is on `cleanup` from the moment it is spawned, so a failed start is cleaned up too. */
export async function startBerthd(berthdBin: string, cleanup: Cleanup, extraArgs: string[] = []): Promise<BenchDaemon> {
  const bridged = await hasFlag(berthdBin, '--bridge');
  const tmpDir = mkdtempSync('/tmp/berth-bench-');
  const execRoot = makeExecRoot();
  const hex = execRoot.slice('/run/bb-'.length);
  const slot = parseInt(hex, 16) % 250;
  const net = bridged
    ? { bridge: `bb${hex}`, subnet: `10.243.${slot}.0/24`, args: ['--bridge', `bb${hex}`, '--bip', `10.243.${slot}.1/24`, '--default-address-pool', 'base=10.244.0.0/16,size=24'] }
    : undefined;
  const dataRoot = join(tmpDir, 'data');
  const socket = join(tmpDir, 'berth.sock');
  const host = `unix://${socket}`;
  const logFile = join(tmpDir, 'berthd.log');
  const roots = [tmpDir, execRoot];
  const fd = openSync(logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(process.execPath, [...nodeArgs(), berthdBin, '-H', host, '--data-root', dataRoot, '--exec-root', execRoot,
      '--pidfile', join(execRoot, 'berthd.pid'), '--log-level', 'warn', ...(net?.args ?? []), ...extraArgs],
      // A session of its own, as a daemon has under systemd (and dockerd here, started apart): with the
      // kernel's autogroup scheduling a session shares one CPU share, and berthd in the bench's session
      // would split its share with the load the bench drives (figure 7's 600 listers and pinger).
      // stop() ends it; a Ctrl-C reaches the bench, whose clean-up does.
      { env: { ...CLEAN_ENV }, stdio: ['ignore', fd, fd], detached: true });
  } finally {
    closeSync(fd);
  }
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('error', () => { /* seen as "did not answer" below */ });
  const alive = () => child.exitCode === null && child.signalCode === null;
  const logTail = () => { try { return readFileSync(logFile, 'utf8').split('\n').slice(-20).join('\n'); } catch { return ''; } };

  /**
   * Ids of every container this daemon had — on disk now, and in its event
   * history — whose network namespaces (/run/netns/berth-<short id>) may
   * have outlived them.
   */
  async function seenContainerIds(): Promise<Set<string>> {
    const ids = new Set(safeReaddir(join(dataRoot, 'containers')).filter((n) => /^[0-9a-f]{64}$/.test(n)));
    if (!alive()) return ids;
    const q = new URLSearchParams({ since: '0', until: (Date.now() / 1000).toFixed(3), filters: JSON.stringify({ type: ['container'] }) });
    const r = await apiRequest(socket, 'GET', `/events?${q}`, undefined, 10_000).catch(() => ({ status: 0, body: '' }));
    for (const line of r.body.split('\n')) {
      try {
        const id = line.trim() ? (JSON.parse(line) as { Actor?: { ID?: string } }).Actor?.ID : undefined;
        if (id && /^[0-9a-f]{64}$/.test(id)) ids.add(id);
      } catch { /* a partial line */ }
    }
    return ids;
  }

  let stopped = false;
  async function stop(): Promise<void> {
    if (stopped) return;
    stopped = true;
    const ids = await seenContainerIds();
    if (alive()) {
      try {
        for (const id of await listContainerIds(socket)) await removeContainer(socket, id).catch(() => { /* swept below */ });
      } catch { /* swept below */ }
      child.kill('SIGTERM');
      const done = await Promise.race([exited.then(() => true), sleep(10_000).then(() => false)]);
      if (!done) { child.kill('SIGKILL'); await exited; }
    }
    // Whatever berth left behind: monitors and container processes under our roots, runtime state, mounts.
    for (const p of listProcesses()) {
      if (p.pid !== process.pid && roots.some((r) => p.cmdline.includes(r))) {
        try { process.kill(p.pid, 'SIGKILL'); } catch { /* gone */ }
      }
    }
    const runtimeState = join(execRoot, 'runtime');
    for (const rt of safeReaddir(runtimeState)) {
      for (const id of safeReaddir(join(runtimeState, rt))) await run([rt, '--root', join(runtimeState, rt), 'delete', '--force', id]);
    }
    const namespaces = new Set(safeReaddir('/run/netns'));
    for (const id of ids) if (namespaces.has(`berth-${id.slice(0, 12)}`)) await run(['ip', 'netns', 'delete', `berth-${id.slice(0, 12)}`]);
    if (net) {
      if ((await run(['ip', 'link', 'show', net.bridge])).code === 0) await run(['ip', 'link', 'delete', net.bridge]);
      await sweepIptables(net.subnet);
    }
    for (const root of roots) {
      for (const point of mountsUnder(root)) {
        const r = await run(['umount', point]);
        if (r.code !== 0) await run(['umount', '-l', point]);
      }
      if (mountsUnder(root).length === 0) await run(['rm', '-rf', '--one-file-system', root]);
      else process.stderr.write(`bench: not removing ${root}: still mounted\n`);
    }
  }

  cleanup.add('berthd', stop);
  const deadline = Date.now() + 30_000;
  for (;;) {
    throwIfInterrupted();
    if (!alive()) throw new Error(`berthd exited at start:\n${logTail()}`);
    const ok = await apiRequest(socket, 'GET', '/_ping', undefined, 2000).then((r) => r.status === 200, () => false);
    if (ok) break;
    if (Date.now() > deadline) throw new Error(`berthd did not answer on ${socket} within 30 s:\n${logTail()}`);
    await sleep(50);
  }
  return { socket, host, dataRoot, execRoot, pid: child.pid!, logTail, stop };
}

function safeReaddir(dir: string): string[] {
  try { return readdirSync(dir); } catch { return []; }
}
