/**
 * Exec sessions (`docker exec`): created with a command, started once, then
 * inspected for their exit code. Like dockerd, sessions live in memory only
 * and go when their container stops.
 */
import { randomBytes } from 'node:crypto';
import { readFile, rm, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ConflictError, InvalidParameterError, NotFoundError, SystemError } from '../errors.js';
import type { DataPaths } from '../store/paths.js';
import type { ContainerService, RuntimeRegistry } from './containers.js';
import { DEFAULT_PATH, mergeEnv } from './container-config.js';
import { AttachHandle } from './attach-handle.js';
import { resolveUser } from '../runtime/user.js';
import { startExec } from '../runtime/exec.js';
import { resizeTerminal } from '../runtime/conmon.js';
import { resolveCapabilities } from '../runtime/capabilities.js';
import type { EventBus } from './events.js';
import { detachKeyBytes } from './detach-keys.js';

export interface ExecConfig {
  User?: string; Privileged?: boolean; Tty?: boolean; AttachStdin?: boolean; AttachStdout?: boolean; AttachStderr?: boolean;
  Detach?: boolean; DetachKeys?: string; Env?: string[] | null; WorkingDir?: string; Cmd?: string[]; ConsoleSize?: [number, number] | null;
}

export interface ExecRecord {
  ID: string;
  ContainerID: string;
  Config: ExecConfig;
  Running: boolean;
  ExitCode: number | null;
  Pid: number;
  OpenStdin: boolean; OpenStdout: boolean; OpenStderr: boolean;
  CanRemove: boolean;
  started: boolean;
  finished: Promise<number>;
}

export class ExecService {
  private readonly sessions = new Map<string, ExecRecord>();

  constructor(
    private readonly containers: ContainerService,
    private readonly paths: DataPaths,
    private readonly runtimes: RuntimeRegistry,
    private readonly events: EventBus,
  ) {}

  /**
   * Forgets a finished session now instead of in 5 minutes: a health probe's
   * (dockerd unregisters those at once too). Kept, a probe running every
   * millisecond piled up thousands of sessions, each with its command.
   */
  forget(id: string): void {
    if (this.sessions.get(id)?.Running === false) this.sessions.delete(id);
  }

  idsOf(containerId: string): string[] {
    return [...this.sessions.values()].filter((s) => s.ContainerID === containerId).map((s) => s.ID);
  }

  async create(nameOrId: string, cfg: ExecConfig): Promise<{ Id: string }> {
    const c = this.containers.lookup(nameOrId);
    if (!c.State.Running) throw new ConflictError(`container ${c.Id} is not running`);
    if (c.State.Paused) throw new ConflictError(`container ${c.Id} is paused, unpause the container before exec`);
    if (!cfg.Cmd || cfg.Cmd.length === 0) throw new InvalidParameterError('No exec command specified');
    // Checked here, as dockerd's ContainerExecCreate does (a plain error there: a 500).
    if (cfg.DetachKeys && detachKeyBytes(cfg.DetachKeys) === null) throw new SystemError(`Invalid escape keys (${cfg.DetachKeys}) provided`);
    // The user is looked up at create too, as dockerd 28.2 and later do (a 400 with its
    // wording); start looks again, for the container may change its passwd file meanwhile.
    if (cfg.User) await resolveUser(await this.rootfsOf(c.Id), cfg.User);
    const id = randomBytes(32).toString('hex');
    this.sessions.set(id, {
      ID: id, ContainerID: c.Id, Config: cfg, Running: false, ExitCode: null, Pid: 0,
      OpenStdin: !!cfg.AttachStdin, OpenStdout: !!cfg.AttachStdout, OpenStderr: !!cfg.AttachStderr, CanRemove: false,
      started: false, finished: Promise.resolve(-1),
    });
    this.events.emit('container', `exec_create: ${cfg.Cmd.join(' ')}`, c.Id, { name: c.Name, image: c.ImageRef, execID: id });
    return { Id: id };
  }

  /** The running container's root filesystem, as its bundle names it. */
  private async rootfsOf(containerId: string): Promise<string> {
    const bundle = JSON.parse(await readFile(join(this.paths.bundleDir(containerId), 'config.json'), 'utf8'));
    return bundle.root.path as string;
  }

  get(id: string): ExecRecord {
    const s = this.sessions.get(id);
    if (!s) throw new NotFoundError(`No such exec instance: ${id}`);
    return s;
  }

  inspect(id: string): Record<string, unknown> {
    const s = this.get(id);
    return {
      ID: s.ID, Running: s.Running, ExitCode: s.ExitCode, ProcessConfig: {
        privileged: !!s.Config.Privileged, user: s.Config.User ?? '', tty: !!s.Config.Tty,
        entrypoint: s.Config.Cmd?.[0] ?? '', arguments: s.Config.Cmd?.slice(1) ?? [],
      },
      OpenStdin: s.OpenStdin, OpenStderr: s.OpenStderr, OpenStdout: s.OpenStdout, CanRemove: s.CanRemove,
      // moby keeps the keys as bytes (ExecConfig.DetachKeys []byte): JSON gives them base64.
      ContainerID: s.ContainerID, DetachKeys: Buffer.from(detachKeyBytes(s.Config.DetachKeys ?? '') ?? []).toString('base64'), Pid: s.Pid,
    };
  }

  /**
   * Starts the session. Returns an attach handle (null when detached). The
   * process spec starts from the container's own (capabilities, seccomp,
   * rlimits) with the session's command, env, user and cwd.
   *
   * The pty is the one exec *create* asked for (`Tty`), as in dockerd's
   * ContainerExecStart (`p.Terminal = ec.Tty`): start's own `Tty` only picks
   * how the API frames the output, which is the API layer's business. A
   * `ConsoleSize` given to start wins over create's; either needs the pty.
   */
  async start(id: string, o: { Detach?: boolean; ConsoleSize?: [number, number] | null }): Promise<AttachHandle | null> {
    const s = this.get(id);
    if (s.started) throw new ConflictError(`Error: Exec command ${id} has already run`);
    const c = this.containers.lookup(s.ContainerID);
    if (!c.State.Running) throw new ConflictError(`container ${c.Id} is not running`);
    s.started = true;
    const bundle = JSON.parse(await readFile(join(this.paths.bundleDir(c.Id), 'config.json'), 'utf8'));
    const proc = structuredClone(bundle.process);
    const rootfs: string = bundle.root.path;
    const tty = !!s.Config.Tty;
    proc.args = s.Config.Cmd;
    proc.terminal = tty;
    let env = mergeEnv(proc.env ?? [], s.Config.Env ?? []);
    if (!env.some((e) => e.startsWith('PATH='))) env = [`PATH=${DEFAULT_PATH}`, ...env];
    if (tty && !env.some((e) => e.startsWith('TERM='))) env.push('TERM=xterm');
    proc.env = env;
    if (s.Config.WorkingDir) proc.cwd = s.Config.WorkingDir;
    if (s.Config.User) {
      const u = await resolveUser(rootfs, s.Config.User);
      proc.user = { uid: u.uid, gid: u.gid, additionalGids: u.additionalGids };
    }
    if (s.Config.Privileged) {
      const caps = resolveCapabilities([], [], true);
      proc.capabilities = { bounding: caps, effective: caps, permitted: caps };
    }
    delete proc.consoleSize;
    const sessionDir = this.paths.execDir(id);
    await mkdir(sessionDir, { recursive: true });
    const detach = !!o.Detach;
    const size = o.ConsoleSize ?? s.Config.ConsoleSize;
    const session = await startExec({
      containerId: c.Id, sessionId: id, sessionDir, runtime: this.runtimes.get(c.Runtime), process: proc,
      tty, stdin: !!s.Config.AttachStdin && !detach, consoleSize: size && size[0] > 0 ? [size[0], size[1]] : undefined, detach,
    }).catch(async (e) => {
      s.ExitCode = /not found|no such file/.test(String(e)) ? 127 : 126;
      await rm(sessionDir, { recursive: true, force: true });
      throw e;
    });
    s.Running = true;
    s.Pid = session.pid;
    this.events.emit('container', `exec_start: ${s.Config.Cmd!.join(' ')}`, c.Id, { name: c.Name, image: c.ImageRef, execID: id });
    s.finished = session.exited.then(async (code) => {
      s.Running = false;
      s.ExitCode = code;
      s.Pid = 0;
      this.events.emit('container', 'exec_die', c.Id, { name: c.Name, image: c.ImageRef, execID: id, exitCode: String(code) });
      await rm(sessionDir, { recursive: true, force: true }).catch(() => undefined);
      // Like dockerd, keep a finished session inspectable for a while, then forget it.
      setTimeout(() => this.sessions.delete(id), 5 * 60_000).unref();
      return code;
    });
    if (!session.attach) return null;
    // Go's zero values: a stream not asked for at create is not attached (dockerd's OpenStdout…).
    const h = new AttachHandle({ stdin: !!s.Config.AttachStdin, stdout: !!s.Config.AttachStdout, stderr: !!s.Config.AttachStderr });
    h.connect(session.attach);
    return h;
  }

  async resize(id: string, rows: number, cols: number): Promise<void> {
    const s = this.get(id);
    if (!s.Running) throw new ConflictError(`Exec ${id} is not running`);
    await resizeTerminal(this.paths.execDir(id), rows, cols);
  }

  /** Drops the sessions of a container that stopped (dockerd forgets them too). */
  forgetContainer(containerId: string): void {
    for (const [id, s] of this.sessions) if (s.ContainerID === containerId && !s.Running) this.sessions.delete(id);
  }
}
