/**
 * `POST /containers/create` with the Docker CLI's surroundings
 * (createContainer in create.go): the `--cidfile` written only on success
 * and refused when it exists, `--pull always|missing|never` — on a 404 for a
 * missing image it prints `Unable to find image 'x:latest' locally`, pulls
 * with progress on stderr, and creates again — and the daemon's warnings.
 */
import { closeSync, existsSync, openSync, rmSync, writeSync } from 'node:fs';
import { ApiError, type ApiClient } from '../client.js';
import type { CliContext } from '../context.js';
import type { CreateRequest } from './create-config.js';
import { familiarTagged, normalizeImageRef, pullImage } from '../image/pull-image.js';

class CidFile {
  private fd?: number;
  constructor(private readonly path: string) {
    if (!path) return;
    if (existsSync(path)) throw new Error(`container ID file found, make sure the other container isn't running or delete ${path}`);
    try {
      this.fd = openSync(path, 'w');
    } catch (e) {
      throw new Error(`failed to create the container ID file: ${(e as Error).message}`);
    }
  }

  write(id: string): void {
    if (this.fd === undefined) return;
    try {
      writeSync(this.fd, id);
    } catch (e) {
      throw new Error(`failed to write the container ID to the file: ${(e as Error).message}`);
    } finally {
      closeSync(this.fd);
      this.fd = undefined;
    }
  }

  /** Removes the file when no ID was written (create failed). */
  close(): void {
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
    rmSync(this.path, { force: true });
  }
}

export async function createContainer(ctx: CliContext, client: ApiClient, req: CreateRequest): Promise<string> {
  const cid = new CidFile(req.body.HostConfig.ContainerIDFile as string);
  try {
    let named = true;
    try {
      normalizeImageRef(req.body.Image);
    } catch {
      named = false; // an image ID or digest-only reference: nothing to pull
    }
    const pull = () => pullImage(ctx, client, req.body.Image, { platform: req.platform, quiet: req.quiet, out: ctx.err });
    if (req.pull === 'always' && named) await pull();
    const send = () => client.json<{ Id: string; Warnings?: string[] | null }>('POST', '/containers/create', {
      query: { name: req.name || undefined, platform: req.platform || undefined },
      body: req.body,
    });
    let res: { Id: string; Warnings?: string[] | null };
    try {
      res = await send();
    } catch (e) {
      if (!(e instanceof ApiError && e.statusCode === 404 && named && req.pull === 'missing')) throw e;
      if (!req.quiet) ctx.err.write(`Unable to find image '${familiarTagged(req.body.Image)}' locally\n`);
      await pull();
      res = await send();
    }
    for (const w of res.Warnings ?? []) ctx.err.write(`WARNING: ${w}\n`);
    cid.write(res.Id);
    return res.Id;
  } finally {
    cid.close();
  }
}
