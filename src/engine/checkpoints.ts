/**
 * Checkpoints (CRIU, through the OCI runtime): `checkpoint create|ls|rm`
 * and the images `start --checkpoint` restores from.
 *
 * A checkpoint is a directory of CRIU images at
 * `<container dir>/checkpoints/<name>`, so it goes with the container's
 * directory when the container is removed. A dump is written to a hidden
 * `.<name>.tmp` first and renamed once complete: a failed dump leaves
 * nothing a restore could mistake for a checkpoint. Names are checked as
 * dockerd checks them (a container name's alphabet): no slash, no `..`.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ConflictError, InvalidParameterError, NotFoundError, SystemError, errorMessage } from '../errors.js';
import type { DataPaths } from '../store/paths.js';
import { criuErrors, criuUnavailable } from '../runtime/criu.js';
import type { ContainerService, RestoreSource } from './containers.js';

const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

export interface CheckpointCreateOptions {
  CheckpointID?: unknown;
  CheckpointDir?: unknown;
  Exit?: unknown;
}

/** dockerd's check of a checkpoint ID (daemon/checkpoint.go). */
export function checkCheckpointName(name: unknown): string {
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new InvalidParameterError(`invalid checkpoint ID (${String(name)}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
  }
  return name;
}

/** berth keeps checkpoints with the container; a directory elsewhere on the host is not taken from a client. */
function refuseCheckpointDir(dir: unknown): void {
  if (dir !== undefined && dir !== null && dir !== '') {
    throw new InvalidParameterError('custom checkpoint directories are not supported: berth keeps checkpoints with the container');
  }
}

/** `state` column 01 of /proc/<pid>/net/tcp{,6}: the container's network namespace has an established connection. */
async function hasEstablishedTcp(pid: number): Promise<boolean> {
  for (const f of ['tcp', 'tcp6']) {
    const text = await readFile(`/proc/${pid}/net/${f}`, 'utf8').catch(() => '');
    for (const line of text.split('\n').slice(1)) {
      if (line.trim().split(/\s+/)[3] === '01') return true;
    }
  }
  return false;
}

export class CheckpointService {
  constructor(private readonly containers: ContainerService, private readonly paths: DataPaths) {}

  private dir(id: string): string {
    return join(this.paths.containerDir(id), 'checkpoints');
  }

  async create(nameOrId: string, body: CheckpointCreateOptions): Promise<void> {
    const name = checkCheckpointName(body.CheckpointID);
    refuseCheckpointDir(body.CheckpointDir);
    if (body.Exit !== undefined && typeof body.Exit !== 'boolean') throw new InvalidParameterError('Exit must be a boolean');
    const exit = body.Exit === true;
    const c = this.containers.lookup(nameOrId);
    const root = this.dir(c.Id);
    const final = join(root, name);
    const tmp = join(root, `.${name}.tmp`);
    const work = join(root, `.${name}.work`);
    await this.containers.checkpoint(c.Id, exit, async (cur, runtime) => {
      if (existsSync(final)) throw new ConflictError(`checkpoint with name ${name} already exists for container ${cur.Id}`);
      runtime.assertCheckpointable();
      if (cur.State.Pid && (await hasEstablishedTcp(cur.State.Pid))) {
        throw new ConflictError(`cannot checkpoint container ${cur.Id}: it has established TCP connections, which CRIU cannot dump without --tcp-established (not offered by the Docker API)`);
      }
      // Before the container is touched: a CRIU that cannot work here would fail the dump anyway.
      const unavailable = await criuUnavailable();
      if (unavailable) throw new SystemError(`cannot checkpoint container ${cur.Id}: ${unavailable}`);
      await rm(tmp, { recursive: true, force: true });
      await rm(work, { recursive: true, force: true });
      await mkdir(tmp, { recursive: true });
      await mkdir(work, { recursive: true });
      try {
        await runtime.checkpoint(cur.Id, { imagePath: tmp, workPath: work, leaveRunning: !exit, tcpEstablished: false });
        await rename(tmp, final);
      } catch (e) {
        await rm(tmp, { recursive: true, force: true });
        const why = await criuErrors(join(work, 'dump.log'));
        if (e instanceof InvalidParameterError) throw e;
        throw new SystemError(`cannot checkpoint container ${cur.Id}: ${errorMessage(e).trim()}${why ? `: ${why}` : ''}`, { cause: e });
      } finally {
        await rm(work, { recursive: true, force: true });
      }
    });
  }

  /** `GET /containers/{id}/checkpoints`: `[{Name}]`, by name. */
  async list(nameOrId: string): Promise<{ Name: string }[]> {
    const c = this.containers.lookup(nameOrId);
    const entries = await readdir(this.dir(c.Id), { withFileTypes: true }).catch(() => []);
    return entries.filter((e) => e.isDirectory() && NAME.test(e.name)).map((e) => ({ Name: e.name })).sort((a, b) => a.Name.localeCompare(b.Name));
  }

  async remove(nameOrId: string, checkpoint: string): Promise<void> {
    const name = checkCheckpointName(checkpoint);
    const c = this.containers.lookup(nameOrId);
    const p = join(this.dir(c.Id), name);
    if (!existsSync(p)) throw new NotFoundError(`checkpoint ${name} does not exist for container ${c.Id}`);
    await rm(p, { recursive: true, force: true });
  }

  /** `start?checkpoint=`: the checkpoint's images, which must be a complete dump. */
  async restoreSource(nameOrId: string, checkpoint: string, dir: string | null): Promise<RestoreSource> {
    refuseCheckpointDir(dir);
    const c = this.containers.lookup(nameOrId);
    return { imagePath: this.existing(c.Id, checkpoint), tcpEstablished: false };
  }

  /** The directory of a complete checkpoint of container `id` (export and restore read it). */
  existing(id: string, checkpoint: string): string {
    const name = checkCheckpointName(checkpoint);
    const p = join(this.dir(id), name);
    if (!existsSync(p)) throw new NotFoundError(`checkpoint ${name} does not exist for container ${id}`);
    // CRIU's inventory is written last-but-not-least of a dump; without it there is nothing to restore.
    if (!existsSync(join(p, 'inventory.img'))) throw new InvalidParameterError(`checkpoint ${name} of container ${id} is incomplete or corrupt: no inventory.img`);
    return p;
  }

  /**
   * Makes files of ours (an imported archive's, in tmp/ on the same file
   * system) checkpoint `checkpoint` of container `id`: moved into a hidden
   * directory, which is renamed into place once complete, as a dump is.
   */
  async adopt(id: string, checkpoint: string, files: { name: string; host: string }[]): Promise<void> {
    const name = checkCheckpointName(checkpoint);
    const root = this.dir(id);
    const final = join(root, name);
    if (existsSync(final)) throw new ConflictError(`checkpoint with name ${name} already exists for container ${id}`);
    const tmp = join(root, `.${name}.tmp`);
    await rm(tmp, { recursive: true, force: true });
    await mkdir(tmp, { recursive: true });
    try {
      for (const f of files) {
        if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(f.name)) throw new InvalidParameterError(`invalid checkpoint file name ${JSON.stringify(f.name)}`);
        await rename(f.host, join(tmp, f.name));
      }
      await rename(tmp, final);
    } catch (e) {
      await rm(tmp, { recursive: true, force: true });
      throw e;
    }
  }

  async start(nameOrId: string, checkpoint: string, dir: string | null): Promise<void> {
    const c = this.containers.lookup(nameOrId);
    // A running container is refused by the start itself (304, as a plain start).
    const source = await this.restoreSource(c.Id, checkpoint, dir);
    try {
      await this.containers.start(c.Id, { restoreFrom: source });
    } catch (e) {
      // The start undid itself (containers.ts); the message says why CRIU failed when the host is the cause.
      const unavailable = await criuUnavailable();
      if (unavailable) throw new SystemError(`${errorMessage(e)}: ${unavailable}`, { cause: e });
      throw e;
    }
  }
}
