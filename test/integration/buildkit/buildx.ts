/**
 * The real buildx (v0.17.1, built by ../shared/tools/build-go-clients.sh)
 * as a Docker CLI plugin of one test daemon's private docker config.
 */
import { existsSync } from 'node:fs';
import { mkdir, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { startDaemon, type Daemon, type RunOptions } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';

export const BUILDX = process.env.BERTH_BUILDX ?? '/var/cache/berth-go-clients/docker-buildx';

export const skipWithoutBuildx = (): string | false => (existsSync(BUILDX) ? false : `no buildx at ${BUILDX} (run build-go-clients.sh)`);

/** Makes `docker buildx` (and `docker build` through it) available to `d.docker(…)`. */
export async function installBuildx(d: Pick<Daemon, 'tmpDir'>): Promise<void> {
  const plugins = join(d.tmpDir, 'docker-config', 'cli-plugins');
  await mkdir(plugins, { recursive: true });
  await symlink(BUILDX, join(plugins, 'docker-buildx'));
}

/** `docker buildx build --progress=plain args… .` in `cwd`, through `d`'s docker CLI. */
export function buildxBuild(d: Pick<Daemon, 'docker'>, cwd: string, args: string[], opts: RunOptions = {}) {
  return d.docker(['buildx', 'build', '--progress=plain', ...args, '.'], { timeoutMs: 180_000, ...opts, cwd });
}

/** A test daemon with busybox imported and buildx as its docker CLI's plugin: every buildx test's start. */
export async function startBuildxDaemon(): Promise<Daemon> {
  const d = await startDaemon();
  await importBusybox(d);
  await installBuildx(d);
  return d;
}
