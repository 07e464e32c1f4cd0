/**
 * The one module that runs an OCI runtime binary (runc or crun). conmon runs
 * `runtime create`/`exec` itself; everything else — start, kill, pause,
 * state, delete — goes through here with argv arrays, and a failure carries
 * the runtime's stderr in a `CommandError`.
 *
 * runc and crun take the same flags for what berth uses; where they differ
 * (messages for a missing container, crun's `ps` on a stopped container) the
 * difference is handled here so callers see one behaviour.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { findExecutable } from '../executable.js';
import { CommandError, InvalidParameterError, SystemError } from '../errors.js';
import { cgroupDir } from './cgroup-stats.js';
import { cgroupVersion } from './cgroup-version.js';
import { execFileInSpawner } from '../spawner.js';
import type { LinuxResources } from './oci-types.js';

export type RuntimeName = 'runc' | 'crun';

export type RuntimeStatus = 'creating' | 'created' | 'running' | 'paused' | 'stopped';

export interface RuntimeState { status: RuntimeStatus; pid: number }

let crunFeatures: string | undefined;

/** runc says "container does not exist", crun fails to open `<root>/<id>/status`. */
const NOT_EXIST = /does not exist|No such file or directory/;

export class OciRuntime {
  /**
   * @param name  runtime name as the API knows it (`runc`, `crun`)
   * @param path  absolute path of the binary
   * @param stateRoot  `--root` of the runtime: berth keeps its containers'
   *   state apart from other engines using the same runtime on this host
   */
  /**
   * `noCgroups`: the daemon may not make cgroups (rootless berthd without a
   * delegated cgroup v2 subtree, rootless/resource-limits.ts), so crun is
   * told to leave them alone; runc, in a user namespace, skips the cgroups
   * it may not make on its own.
   */
  constructor(readonly name: string, readonly path: string, readonly stateRoot?: string, private readonly o: { noCgroups?: boolean } = {}) {}

  /** Flags that come before the subcommand in every call, conmon's included. */
  get globalArgs(): string[] {
    return [...this.stateRoot ? [`--root=${this.stateRoot}`] : [], ...this.o.noCgroups && this.name === 'crun' ? ['--cgroup-manager=disabled'] : []];
  }

  /**
   * Global flags conmon should pass to the runtime it runs (`--runtime-arg`):
   * the state root, and a JSON log at `ociLogPath` where the runtime writes
   * its error when `create`/`exec` fails (read back with `lastRuntimeError`).
   */
  monitorArgs(ociLogPath: string): string[] {
    return [...this.globalArgs, '--log-format=json', `--log=${ociLogPath}`];
  }

  /**
   * Whether the runtime still keeps state for `id` under its state root (a
   * directory per container, for runc and crun alike). A file check, so the
   * start path only spawns `delete` when there is something to delete.
   */
  hasState(id: string): boolean {
    const root = this.stateRoot ?? (this.name === 'crun' ? '/run/crun' : '/run/runc');
    return existsSync(join(root, id));
  }

  async start(id: string): Promise<void> {
    await this.run(['start', id]);
  }

  /**
   * `all` signals every process in the container (needed to kill a paused or `--pid host` one).
   * Without cgroups the runtime cannot find them (`--all` reads the cgroup), and needs not: such
   * a daemon's containers all have a user namespace and so a PID namespace of their own, whose
   * processes die with its init.
   */
  async kill(id: string, signal: string | number, all = false): Promise<void> {
    await this.run(['kill', ...(all && !this.o.noCgroups ? ['--all'] : []), id, String(signal)]);
  }

  async pause(id: string): Promise<void> {
    await this.run(['pause', id]);
  }

  async resume(id: string): Promise<void> {
    await this.run(['resume', id]);
  }

  /** Removes the runtime's state (and cgroup); a container it never heard of is fine. */
  async delete(id: string, force = false): Promise<void> {
    try {
      await this.run(['delete', ...(force ? ['--force'] : []), id]);
    } catch (e) {
      if (e instanceof CommandError && NOT_EXIST.test(e.stderr)) return;
      throw e;
    }
  }

  /** The runtime's view of the container, or null when it does not know it. */
  async state(id: string): Promise<RuntimeState | null> {
    let out: string;
    try {
      out = await this.run(['state', id]);
    } catch (e) {
      if (e instanceof CommandError && NOT_EXIST.test(e.stderr)) return null;
      throw e;
    }
    const s = JSON.parse(out) as { status?: string; pid?: number };
    return { status: (s.status ?? 'stopped') as RuntimeStatus, pid: s.pid ?? 0 };
  }

  /** Host pids of the container's processes; empty once it stopped. */
  async pids(id: string): Promise<number[]> {
    try {
      const out = await this.run(['ps', '--format', 'json', id]);
      const list = JSON.parse(out) as number[] | null;
      return list ?? [];
    } catch (e) {
      // crun 1.8 crashes on `ps` of a stopped container; both fail for an unknown one.
      const st = await this.state(id).catch(() => null);
      if (!st || st.status === 'stopped' || st.status === 'creating') return [];
      throw e;
    }
  }

  /**
   * `checkpoint`: CRIU dumps the container's processes into `o.imagePath`
   * (its log in `o.workPath`); without `leaveRunning` they are killed after
   * the dump and conmon records the exit. crun 1.8 as Debian builds it has no
   * CRIU support: said plainly instead of its "not supported" error.
   */
  async checkpoint(id: string, o: { imagePath: string; workPath: string; leaveRunning: boolean; tcpEstablished: boolean }): Promise<void> {
    this.assertCheckpointable();
    const args = ['checkpoint', '--image-path', o.imagePath, '--work-path', o.workPath];
    if (o.leaveRunning) args.push('--leave-running');
    if (o.tcpEstablished) args.push('--tcp-established');
    await this.run([...args, id]);
  }

  /** runc always has CRIU support; crun only when built with it (`+CRIU` in its version). */
  assertCheckpointable(): void {
    if (this.name !== 'crun') return;
    crunFeatures ??= execFileSync(this.path, ['--version'], { encoding: 'utf8' });
    if (!/\+CRIU\b/.test(crunFeatures)) throw new InvalidParameterError(`checkpoint/restore needs an OCI runtime built with CRIU support: ${this.name} is not (run the container with --runtime runc)`);
  }

  /** `update --resources FILE`: applies an OCI `linux.resources` JSON file to a live container. */
  async update(id: string, resourcesJsonPath: string): Promise<void> {
    await this.run(['update', '--resources', resourcesJsonPath, id]);
  }

  /**
   * Applies an OCI `linux.resources` object to a live (running or paused)
   * container, through a file written at `o.file` and removed afterwards.
   * crun 1.8 cannot lift two limits — it writes -1 verbatim, which
   * `pids.max` refuses (EINVAL), and its -1 for `cpu.cfs_quota_us` fails
   * with ERANGE — so for crun those two are left out of the file and written
   * to the container's cgroup (`o.cgroupsPath`) directly afterwards.
   */
  async updateResources(id: string, resources: LinuxResources, o: { file: string; cgroupsPath: string }): Promise<void> {
    const r: LinuxResources = structuredClone(resources);
    const lift: ('pids' | 'cpuQuota')[] = [];
    if (this.name === 'crun') {
      if (r.pids && r.pids.limit < 0) { delete r.pids; lift.push('pids'); }
      if (r.cpu?.quota !== undefined && r.cpu.quota < 0) { delete r.cpu.quota; lift.push('cpuQuota'); }
    }
    await writeFile(o.file, JSON.stringify(r));
    try {
      await this.update(id, o.file);
    } finally {
      await rm(o.file, { force: true });
    }
    for (const what of lift) await liftLimit(o.cgroupsPath, what);
  }

  /** Runs the binary from the spawner process (spawner.ts): a fork of berthd stalls all its threads. */
  private async run(args: string[]): Promise<string> {
    const argv = [this.path, ...this.globalArgs, ...args];
    const r = await execFileInSpawner(argv[0], argv.slice(1));
    if (r.failure) throw new CommandError(argv, r.failure.code, r.stderr || r.failure.message);
    return r.stdout;
  }
}

/** Removes a container's pids or CFS quota limit by writing its cgroup file (v1 or v2). */
async function liftLimit(cgroupsPath: string, what: 'pids' | 'cpuQuota'): Promise<void> {
  const v2 = cgroupVersion() === 2;
  const [controller, file, value] = what === 'pids'
    ? ['pids', 'pids.max', 'max']
    : v2 ? ['cpu', 'cpu.max', 'max'] : ['cpu', 'cpu.cfs_quota_us', '-1'];
  try {
    await writeFile(join(cgroupDir(cgroupsPath, controller), file), value);
  } catch (e) {
    throw new SystemError(`lifting the ${what === 'pids' ? 'pids' : 'CPU quota'} limit: ${(e as Error).message}`, { cause: e });
  }
}

/** Where distributions put the runtimes, searched before $PATH. */
const SEARCH_DIRS = ['/usr/sbin', '/usr/bin', '/usr/local/sbin', '/usr/local/bin', '/sbin', '/bin'];
const KNOWN: readonly string[] = ['runc', 'crun'] satisfies RuntimeName[];

/** Resolves a runtime by name to its binary; the state root stays the runtime's default. */
export function findRuntime(name: string): OciRuntime {
  if (!KNOWN.includes(name)) throw new InvalidParameterError(`unknown or invalid runtime name: ${name}`);
  const dirs = [...SEARCH_DIRS, ...(process.env.PATH ?? '').split(delimiter).filter((d) => d.startsWith('/'))];
  const p = findExecutable(name, dirs);
  if (!p) throw new SystemError(`OCI runtime ${name} not found in ${dirs.join(', ')}`);
  return new OciRuntime(name, p);
}

/**
 * The last error the runtime wrote to its JSON log (`--log-format=json`),
 * e.g. `exec failed: unable to start container process: exec: "x":
 * executable file not found in $PATH`. runc and crun both write one object
 * per line with `level` and `msg`; null when there is none.
 */
export function lastRuntimeError(ociLogPath: string): string | null {
  let text: string;
  try {
    text = readFileSync(ociLogPath, 'utf8');
  } catch {
    return null;
  }
  let found: string | null = null;
  // crun does not end its entries with a newline: split between objects too.
  for (const piece of text.split(/\n|(?<=\})(?=\{)/)) {
    if (!piece.trim()) continue;
    try {
      const e = JSON.parse(piece) as { level?: string; msg?: string };
      if (e.msg && (e.level === 'error' || e.level === 'fatal')) found = e.msg;
    } catch {
      // a line cut short by a crash: ignore
    }
  }
  return found;
}
