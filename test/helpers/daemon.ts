/**
 * A private berthd for one test file: its own socket, data root and exec
 * root, so tests run side by side without touching /var/lib/berth or each
 * other. Typical use:
 *
 *   const d = await startDaemon();
 *   t.after(() => d.stop());
 *   await importBusybox(d);
 *   const r = await d.berth(['run', '--rm', 'busybox', 'echo', 'hi']);
 *
 * `berth(args)` runs this checkout's CLI as `berth -H unix://<socket> args…`
 * with BERTH_NO_AUTOSTART=1 (a test must never start a daemon on the default
 * roots by accident); `docker(args)` runs the real docker CLI with
 * DOCKER_HOST and a private DOCKER_CONFIG; `request()` speaks HTTP to the
 * socket directly.
 *
 * `stop()` removes every container through the API, stops berthd, reports
 * (on stderr, and as its result) whatever mounts, processes and cgroups were
 * left behind, then sweeps them away and deletes the roots (BERTH_TEST_KEEP_LOGS=<dir> keeps
 * berthd.log there), so one leaky
 * test does not break the next.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { createReadStream, existsSync, openSync, closeSync, readFileSync } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, readdir, rmdir } from 'node:fs/promises';
import http, { type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { randomBytes } from 'node:crypto';
import { basename, join } from 'node:path';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { berthBin, berthdBin } from './paths.js';
import { TimeoutError } from './wait.js';
import {
  emptyLeftovers, formatLeftovers, isClean, leftoversUnder, listCgroupDirs, mountsUnder, type Leftovers,
} from './host.js';

export { withTimeout, waitFor, TimeoutError } from './wait.js';
export { isClean, formatLeftovers, type Leftovers } from './host.js';

export interface DaemonOptions {
  /** `--default-runtime` (berthd's default is crun where it works, else runc). */
  runtime?: 'runc' | 'crun';
  /** `--log-level`; default `$BERTH_TEST_LOG_LEVEL` or `info`. */
  logLevel?: 'debug' | 'info' | 'warn' | 'error' | 'fatal';
  /** More berthd flags. */
  args?: string[];
  /** Extra environment for berthd. */
  env?: NodeJS.ProcessEnv;
  /** How long to wait for `/_ping` (default 20 s). */
  startTimeoutMs?: number;
  /**
   * Make the private temporary directory (the data root's parent) 0711, so
   * a `--userns-remap` root may pass through it (berthd refuses to start
   * otherwise, as dockerd does).
   */
  traversableRoots?: boolean;
}

export interface RunOptions {
  /** Written to the command's stdin, which is then closed. */
  input?: string | Buffer;
  /** A file streamed to stdin instead of `input`. */
  inputFile?: string;
  /** Added to (or, with `undefined` values, removed from) the environment. */
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Default 60 s; the command is killed and the call rejects when it runs out. */
  timeoutMs?: number;
  /**
   * Sent when `timeoutMs` runs out (default SIGKILL). Another signal lets a
   * command that starts daemons of its own stop them; SIGKILL follows after
   * `graceMs` (default 60 s) if it has not exited by then.
   */
  timeoutSignal?: NodeJS.Signals;
  graceMs?: number;
}

export interface RunResult {
  /** Exit code, or null when killed by a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CommandLine {
  argv: string[];
  /** To merge into process.env; `undefined` removes a variable. */
  env: Record<string, string | undefined>;
}

export interface ApiResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  text: string;
  json<T = any>(): T;
}

export type RequestBody = string | Buffer | Readable | Record<string, unknown> | unknown[] | undefined;

export interface RequestOptions {
  headers?: Record<string, string>;
  timeoutMs?: number;
}

export interface Daemon {
  /** Path of the unix socket. */
  readonly socket: string;
  /** `unix://<socket>`, for -H and DOCKER_HOST. */
  readonly host: string;
  readonly dataRoot: string;
  readonly execRoot: string;
  /** Private temporary directory holding the socket, data root and berthd.log. */
  readonly tmpDir: string;
  /**
   * This daemon's own networking: its default bridge device and subnet, and
   * the address pool of its user-defined networks (`10.<100+N>.0.0/16`);
   * tests that pick a `--subnet` take it from `userSubnet(i)`.
   */
  readonly net: { bridge: string; bip: string; pool: string; userSubnet(i: number): string };
  /** berthd's pid, or undefined when it is not running. */
  readonly pid: number | undefined;
  /** berthd's stdout and stderr so far (all runs, including restarts). */
  logs(): string;
  berth(args: string[], opts?: RunOptions): Promise<RunResult>;
  docker(args: string[], opts?: RunOptions): Promise<RunResult>;
  /** argv and environment changes of `berth(args)`, e.g. for spawnPty(). */
  berthCommand(args: string[]): CommandLine;
  /** argv and environment changes of `docker(args)`; throws when there is no docker CLI. */
  dockerCommand(args: string[]): CommandLine;
  request(method: string, path: string, body?: RequestBody, opts?: RequestOptions): Promise<ApiResponse>;
  /** Like request() but resolves at the response headers, leaving the body to stream. */
  requestStream(method: string, path: string, body?: RequestBody, opts?: RequestOptions): Promise<IncomingMessage>;
  /** Mounts, processes and cgroups of this daemon's containers and roots, now (berthd itself excluded). */
  leftovers(): Promise<Leftovers>;
  /** SIGKILL berthd (containers keep running under conmon); `restart()` brings it back. */
  kill9(): Promise<void>;
  /** SIGTERM berthd (if running) and start it again on the same roots. */
  restart(): Promise<void>;
  /**
   * Removes all containers, stops berthd, and cleans the host. Resolves with
   * what was left behind before the forced clean-up (empty when berth
   * cleaned up after itself). Calling it again does nothing.
   */
  stop(): Promise<Leftovers>;
}

const DOCKER_CANDIDATES = ['/usr/local/bin/docker', '/usr/bin/docker'];

/** The real docker CLI, or null when this machine has none. */
export function dockerCliPath(): string | null {
  for (const p of DOCKER_CANDIDATES) if (existsSync(p)) return p;
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir && existsSync(join(dir, 'docker'))) return join(dir, 'docker');
  }
  return null;
}

/** For `test(name, { skip: skipWithoutDocker() }, …)`: a reason string when there is no docker CLI. */
export function skipWithoutDocker(): string | false {
  return dockerCliPath() ? false : 'no docker CLI (/usr/local/bin/docker or docker in PATH): install Docker\'s CLI to run the compatibility tests';
}

/** For `test(name, { skip: skipUnlessRoot() }, …)`. */
export function skipUnlessRoot(): string | false {
  return process.getuid?.() === 0 ? false : 'needs root (mounts, namespaces, cgroups): run with sudo';
}

/** Runs `file args` and collects its output; rejects (after killing it) when `timeoutMs` runs out. */
export function runCommand(file: string, args: string[], opts: RunOptions & { env?: Record<string, string | undefined> } = {}): Promise<RunResult> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const [k, v] of Object.entries(opts.env ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  const timeoutMs = opts.timeoutMs ?? 60_000;
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env, cwd: opts.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.stdin.on('error', () => { /* the command may exit without reading its input */ });
    let timedOut = false;
    let grace: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => {
      timedOut = true;
      const signal = opts.timeoutSignal ?? 'SIGKILL';
      child.kill(signal);
      if (signal !== 'SIGKILL') grace = setTimeout(() => child.kill('SIGKILL'), opts.graceMs ?? 60_000);
    }, timeoutMs);
    // A killed command's own children may hold its stdout open: stop waiting for them.
    child.on('exit', () => {
      if (timedOut) setTimeout(() => { child.stdout.destroy(); child.stderr.destroy(); }, 100);
    });
    child.on('error', (e) => { clearTimeout(timer); reject(e); });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      clearTimeout(grace);
      const stdout = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8');
      if (timedOut) {
        reject(new TimeoutError(`\`${[file, ...args].join(' ')}\` did not finish within ${timeoutMs} ms\n--- stdout:\n${stdout}\n--- stderr:\n${stderr}`));
      } else {
        resolve({ code, signal, stdout, stderr });
      }
    });
    if (opts.inputFile) {
      createReadStream(opts.inputFile).on('error', (e) => child.stdin.destroy(e)).pipe(child.stdin);
    } else {
      child.stdin.end(opts.input ?? '');
    }
  });
}

function apiRequest(socketPath: string, method: string, path: string, body: RequestBody, opts: RequestOptions = {}): Promise<IncomingMessage> {
  const headers: Record<string, string> = { Host: 'berth', ...opts.headers };
  let payload: string | Buffer | Readable | undefined;
  if (body instanceof Readable) {
    payload = body;
  } else if (typeof body === 'string' || Buffer.isBuffer(body)) {
    payload = body;
  } else if (body !== undefined) {
    payload = JSON.stringify(body);
    headers['Content-Type'] ??= 'application/json';
  }
  if (typeof payload === 'string' || Buffer.isBuffer(payload)) headers['Content-Length'] = String(Buffer.byteLength(payload));
  const timeoutMs = opts.timeoutMs ?? 60_000;
  return new Promise<IncomingMessage>((resolve, reject) => {
    const req = http.request({ socketPath, method, path, headers, agent: false }, (res) => { clearTimeout(timer); resolve(res); });
    // Destroy the request on timeout so no socket keeps the test process alive.
    const timer = setTimeout(() => req.destroy(new TimeoutError(`${method} ${path}: no response within ${timeoutMs} ms`)), timeoutMs);
    req.on('error', (e) => { clearTimeout(timer); reject(e); });
    if (payload instanceof Readable) payload.on('error', (e) => req.destroy(e)).pipe(req);
    else req.end(payload);
  });
}

async function readAll(res: IncomingMessage, what: string, timeoutMs: number): Promise<Buffer> {
  const timer = setTimeout(() => res.destroy(new TimeoutError(`reading the body of ${what}: not finished within ${timeoutMs} ms`)), timeoutMs);
  try {
    const chunks: Buffer[] = [];
    for await (const c of res) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  } finally {
    clearTimeout(timer);
  }
}

/** One HTTP request over a unix socket, body read whole (what Daemon.request uses). */
export async function unixRequest(socketPath: string, method: string, path: string, body?: RequestBody, opts: RequestOptions = {}): Promise<ApiResponse> {
  const res = await apiRequest(socketPath, method, path, body, opts);
  return toResponse(res, await readAll(res, `${method} ${path}`, opts.timeoutMs ?? 60_000));
}

function toResponse(res: IncomingMessage, body: Buffer): ApiResponse {
  const text = body.toString('utf8');
  return {
    status: res.statusCode ?? 0, headers: res.headers, body, text,
    json() {
      try { return JSON.parse(text); } catch { throw new Error(`not JSON (status ${res.statusCode}): ${text.slice(0, 500)}`); }
    },
  };
}

/** Exec roots hold conmon's attach sockets: `<execRoot>/c/<64 hex>/attach` must stay under 107 bytes. */
async function makeExecRoot(): Promise<string> {
  for (let i = 0; i < 20; i++) {
    const dir = `/run/bt-${randomBytes(3).toString('hex')}`;
    try {
      await mkdir(dir, { mode: 0o711 });
      return dir;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
  throw new Error('could not pick a free /run/bt-* exec root');
}

/**
 * Each test daemon gets networks of its own — a default bridge device and
 * subnet, and an address pool for user-defined networks — so daemons that run
 * side by side never share a bridge, a subnet or netavark's iptables chains.
 * A slot is claimed by creating `/run/bt-net<N>` (removed with the roots).
 */
export interface NetworkSlot { dir: string; bridge: string; bip: string; pool: string; subnets: string[] }

async function claimNetworkSlot(execRoot: string): Promise<NetworkSlot> {
  for (let i = 0; i < 400; i++) {
    const n = (randomBytes(1)[0] + i) % 100;
    const dir = `/run/bt-net${n}`;
    try {
      await mkdir(dir, { mode: 0o700 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') continue;
      throw e;
    }
    // 10.100–10.199/16 for pools, 10.240.N.0/24 for default bridges: clear of berth's, Docker's and Podman's defaults.
    return {
      dir, bridge: `bt${execRoot.slice('/run/bt-'.length)}`, bip: `10.240.${n}.1/24`, pool: `base=10.${100 + n}.0.0/16,size=24`,
      subnets: [`10.240.${n}.0/24`, `10.${100 + n}.0.0/16`],
    };
  }
  throw new Error('no free test network slot (/run/bt-net0 … /run/bt-net99 all taken)');
}

/** Splits an `iptables -S` rule into argv (double-quoted comments stay one word). */
function ruleArgv(rule: string): string[] {
  return [...rule.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)].map((m) => (m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2]));
}

/** Deletes leftover netavark rules (`<table>: -A …`), then their chains (`<table>: -N …`). */
async function sweepIptables(rules: string[]): Promise<void> {
  const parsed = rules.map((r) => { const i = r.indexOf(': '); return { table: r.slice(0, i), argv: ruleArgv(r.slice(i + 2)) }; });
  for (const r of parsed) if (r.argv[0] === '-A') await exec('iptables', ['-w', '-t', r.table, '-D', ...r.argv.slice(1)]);
  // Per-network chains (named after a hash), whether listed themselves or only named by a rule.
  const chains = new Set<string>();
  for (const r of parsed) for (const w of r.argv) if (/^NETAVARK-(DN-)?[0-9A-F]{8,}$/.test(w)) chains.add(`${r.table} ${w}`);
  for (const c of chains) {
    const [table, chain] = c.split(' ');
    await exec('iptables', ['-w', '-t', table, '-F', chain]);
    await exec('iptables', ['-w', '-t', table, '-X', chain]);
  }
}

function exec(file: string, args: string[]): Promise<void> {
  return new Promise((resolve) => execFile(file, args, { env: { ...process.env, PATH: `${process.env.PATH ?? ''}:/usr/sbin:/usr/bin:/sbin:/bin` } }, () => resolve()));
}

function tail(text: string, lines = 40): string {
  return text.split('\n').slice(-lines).join('\n');
}

export async function startDaemon(opts: DaemonOptions = {}): Promise<Daemon> {
  const tmpDir = await mkdtemp('/tmp/berth-test-');
  if (opts.traversableRoots) await chmod(tmpDir, 0o711);
  const socket = join(tmpDir, 'berth.sock');
  const host = `unix://${socket}`;
  const dataRoot = join(tmpDir, 'data');
  const execRoot = await makeExecRoot();
  const net = await claimNetworkSlot(execRoot);
  const logFile = join(tmpDir, 'berthd.log');
  const dockerConfig = join(tmpDir, 'docker-config');
  await mkdir(dockerConfig);
  const roots = [tmpDir, execRoot, net.dir];
  const netScope = { bridges: [net.bridge], subnets: net.subnets };
  const seenIds = new Set<string>();
  const logLevel = opts.logLevel ?? (process.env.BERTH_TEST_LOG_LEVEL as DaemonOptions['logLevel']) ?? 'info';
  const argv = [
    berthdBin, '-H', host, '--data-root', dataRoot, '--exec-root', execRoot, '--log-level', logLevel,
    '--bridge', net.bridge, '--bip', net.bip, '--default-address-pool', net.pool,
    ...(opts.runtime ? ['--default-runtime', opts.runtime] : []), ...(opts.args ?? []),
  ];

  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let stopped = false;

  const running = () => child !== undefined && child.exitCode === null && child.signalCode === null;
  const logs = () => { try { return readFileSync(logFile, 'utf8'); } catch { return ''; } };

  const request = (method: string, path: string, body?: RequestBody, ro: RequestOptions = {}) => unixRequest(socket, method, path, body, ro);

  async function spawnDaemon(): Promise<void> {
    const fd = openSync(logFile, 'a');
    try {
      child = spawn(process.execPath, argv, { stdio: ['ignore', fd, fd], env: { ...process.env, ...opts.env } });
    } finally {
      closeSync(fd);
    }
    const c = child;
    exited = new Promise((resolve) => c.once('exit', () => resolve()));
    c.once('error', () => { /* reported through the ping wait below */ });
    const timeoutMs = opts.startTimeoutMs ?? 20_000;
    const end = Date.now() + timeoutMs;
    let failure = '';
    for (;;) {
      if (c.exitCode !== null || c.signalCode !== null) { failure = `berthd exited (${c.exitCode ?? c.signalCode})`; break; }
      const ok = await request('GET', '/_ping', undefined, { timeoutMs: 2000 }).then((r) => r.status === 200, () => false);
      if (ok) return;
      if (Date.now() >= end) { failure = `no answer on /_ping at ${socket} within ${timeoutMs} ms`; break; }
      await sleep(50);
    }
    if (running()) { c.kill('SIGKILL'); await exited; }
    throw new Error(`berthd did not start: ${failure}\n$ node ${argv.join(' ')}\n--- berthd.log (tail):\n${tail(logs())}`);
  }

  /** SIGTERM, then SIGKILL after `graceMs`. */
  async function terminate(graceMs = 10_000): Promise<void> {
    if (!running()) return;
    child!.kill('SIGTERM');
    const done = await Promise.race([exited.then(() => true), sleep(graceMs, false, { ref: false })]);
    if (!done) {
      process.stderr.write(`berth test daemon ${tmpDir}: berthd ignored SIGTERM for ${graceMs} ms, killing it\n`);
      child!.kill('SIGKILL');
      await exited;
    }
  }

  /**
   * Ids of every container this daemon had: those on disk now, and (while
   * berthd runs) those in its event history, so leaks of removed containers
   * (a cgroup, a conmon) are found too.
   */
  async function collectIds(): Promise<void> {
    for (const dir of [join(dataRoot, 'containers'), join(execRoot, 'c')]) {
      for (const n of await readdir(dir).catch(() => [] as string[])) if (/^[0-9a-f]{64}$/.test(n)) seenIds.add(n);
    }
    if (!running()) return;
    // `until` in the past: the daemon answers from its history and closes at once.
    const q = new URLSearchParams({ since: '0', until: (Date.now() / 1000).toFixed(3), filters: JSON.stringify({ type: ['container'] }) });
    try {
      const r = await request('GET', `/events?${q}`, undefined, { timeoutMs: 5000 });
      for (const line of r.text.split('\n')) {
        const id = line.trim() ? (JSON.parse(line) as { Actor?: { ID?: string } }).Actor?.ID : undefined;
        if (id && /^[0-9a-f]{64}$/.test(id)) seenIds.add(id);
      }
    } catch {
      // best effort: the ids on disk still count
    }
  }

  async function leftovers(): Promise<Leftovers> {
    await collectIds();
    const pid = running() ? child!.pid : undefined;
    // While berthd runs, its default bridge stands between containers (as docker0 does).
    const standing = pid ? { bridge: net.bridge, subnet: net.subnets[0] } : undefined;
    return leftoversUnder(roots, seenIds, { excludePids: pid ? [pid] : [], net: { ...netScope, ...(standing ? { standing } : {}) } });
  }

  /** Forced clean-up after berthd is gone: kill, delete runtime state, unmount, rmdir cgroups. */
  async function sweep(found: Leftovers): Promise<void> {
    for (const p of found.processes) {
      try { process.kill(p.pid, 'SIGKILL'); } catch { /* gone */ }
    }
    if (found.processes.length) await sleep(200);
    const runtimeState = join(execRoot, 'runtime');
    for (const rt of await readdir(runtimeState).catch(() => [] as string[])) {
      for (const id of await readdir(join(runtimeState, rt)).catch(() => [] as string[])) {
        await exec(rt, ['--root', join(runtimeState, rt), 'delete', '--force', id]);
      }
    }
    for (const root of roots) {
      for (const target of await mountsUnder(root)) {
        await exec('umount', [target]);
        if ((await mountsUnder(target)).includes(target)) await exec('umount', ['-l', target]);
      }
    }
    for (const n of found.netns) await exec('ip', ['netns', 'delete', n]);
    // veths first: a deleted bridge lets go of its ports, it does not delete them.
    for (const k of found.links) if (!k.startsWith('bridge ')) await exec('ip', ['link', 'delete', k.split(' ')[1]]);
    for (const k of found.links) if (k.startsWith('bridge ')) await exec('ip', ['link', 'delete', k.split(' ')[1]]);
    await sweepIptables(found.iptables);
    const ids = [...seenIds];
    const cgroups = (await listCgroupDirs()).filter((c) => ids.some((i) => c.includes(i))).sort((a, b) => b.length - a.length);
    for (const c of cgroups) await rmdir(c).catch(() => { /* still busy or already gone */ });
  }

  async function removeRoots(): Promise<void> {
    for (const root of roots) {
      const still = await mountsUnder(root);
      if (still.length) {
        process.stderr.write(`berth test daemon: NOT removing ${root}: still mounted: ${still.join(', ')}\n`);
        continue;
      }
      // --one-file-system: never descend into a mount that appeared meanwhile.
      await exec('rm', ['-rf', '--one-file-system', root]);
    }
  }

  async function stop(): Promise<Leftovers> {
    if (stopped) return emptyLeftovers();
    stopped = true;
    const problems: string[] = [];
    if (!running()) {
      try { await spawnDaemon(); } catch (e) { problems.push(`could not restart berthd to remove containers: ${(e as Error).message}`); }
    }
    if (running()) {
      try {
        const listed = async (q: string) => (await request('GET', `/containers/json?all=1${q}`, undefined, { timeoutMs: 15_000 })).json<Array<{ Id: string }>>();
        // The CRI's containers (pods) stay out of the default list: ask for them by their namespace label too.
        const criFilter = `&filters=${encodeURIComponent(JSON.stringify({ label: ['io.berth.namespace'] }))}`;
        const list = [...await listed(''), ...await listed(criFilter)];
        for (const c of list) {
          seenIds.add(c.Id);
          try {
            const r = await request('DELETE', `/containers/${c.Id}?force=1&v=1`, undefined, { timeoutMs: 30_000 });
            if (r.status !== 204 && r.status !== 404) problems.push(`DELETE /containers/${c.Id.slice(0, 12)}?force=1&v=1: ${r.status} ${r.text.trim()}`);
          } catch (e) {
            problems.push(`DELETE /containers/${c.Id.slice(0, 12)}: ${(e as Error).message}`);
          }
        }
      } catch (e) {
        problems.push(`listing containers: ${(e as Error).message}`);
      }
      await collectIds();
      await terminate();
    }
    await collectIds();
    const found = await leftoversUnder(roots, seenIds, { net: netScope });
    if (problems.length || !isClean(found)) {
      process.stderr.write(`berth test daemon ${tmpDir} (exec root ${execRoot}) did not clean up:\n`
        + problems.map((p) => `  ${p}\n`).join('') + (isClean(found) ? '' : formatLeftovers(found) + '\n'));
    }
    await sweep(found);
    // BERTH_TEST_KEEP_LOGS=<dir>: berthd's log outlives the roots, for a failure that needs it.
    if (process.env.BERTH_TEST_KEEP_LOGS) await copyFile(logFile, join(process.env.BERTH_TEST_KEEP_LOGS, `berthd-${basename(tmpDir)}.log`)).catch(() => undefined);
    await removeRoots();
    return found;
  }

  const poolPrefix = net.pool.slice('base='.length).split('.').slice(0, 2).join('.');
  const d: Daemon = {
    socket, host, dataRoot, execRoot, tmpDir,
    // Subnets from the top of the pool: auto-allocation starts at its bottom.
    net: { bridge: net.bridge, bip: net.bip, pool: net.pool, userSubnet: (i: number) => `${poolPrefix}.${250 - i}.0/24` },
    get pid() { return running() ? child!.pid : undefined; },
    logs,
    berthCommand(args) {
      return {
        argv: [process.execPath, berthBin, '-H', host, ...args],
        env: { DOCKER_HOST: undefined, DOCKER_CONTEXT: undefined, BERTH_NO_AUTOSTART: '1' },
      };
    },
    dockerCommand(args) {
      const docker = dockerCliPath();
      if (!docker) throw new Error(String(skipWithoutDocker()));
      return {
        argv: [docker, ...args],
        env: {
          DOCKER_HOST: host, DOCKER_CONFIG: dockerConfig, DOCKER_CONTEXT: undefined, DOCKER_TLS_VERIFY: undefined,
          DOCKER_CERT_PATH: undefined, DOCKER_API_VERSION: undefined, DOCKER_CLI_HINTS: 'false',
        },
      };
    },
    berth(args, ro = {}) {
      const c = d.berthCommand(args);
      return runCommand(c.argv[0], c.argv.slice(1), { ...ro, env: { ...c.env, ...ro.env } });
    },
    docker(args, ro = {}) {
      let c: CommandLine;
      try { c = d.dockerCommand(args); } catch (e) { return Promise.reject(e); }
      return runCommand(c.argv[0], c.argv.slice(1), { ...ro, env: { ...c.env, ...ro.env } });
    },
    request,
    requestStream: (method, path, body, ro) => apiRequest(socket, method, path, body, ro),
    leftovers,
    async kill9() {
      if (!running()) return;
      child!.kill('SIGKILL');
      await exited;
    },
    async restart() {
      await terminate();
      await spawnDaemon();
    },
    stop,
  };

  try {
    await spawnDaemon();
  } catch (e) {
    stopped = true;
    await collectIds();
    await sweep(await leftoversUnder(roots, seenIds, { net: netScope }));
    await removeRoots();
    throw e;
  }
  return d;
}
