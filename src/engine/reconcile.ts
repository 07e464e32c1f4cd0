/**
 * Start-up reconciliation of what a crash (kill -9 of berthd, power loss)
 * cut off half way, beyond the exits conmon recorded meanwhile
 * (`ContainerService.reconcile`). Each step is one small function, run by
 * `Engine.open` once the container records agree with conmon's exit files
 * and before network sandboxes are reconciled, while nothing is in flight:
 *
 * - `stopUnrecordedRuns`: a start that died between the runtime's `create`
 *   and the record saying "running" left a container process (its conmon,
 *   its runtime state, its cgroup) that no record admits to; it is killed,
 *   as a failed start's undo would have.
 * - `unmountIdleRootfs`: a start, `cp` or export that died with the
 *   rootfs mounted leaves an overlay mount on a container that is not running.
 * - `deleteIdleNetns`: a start that died between making the network
 *   namespace and recording its sandbox leaves a namespace no teardown knows.
 * - `removeOrphanContainerDirs`: a create that died before its record was
 *   inserted (or a remove after the record went) leaves a container
 *   directory, a bundle or runtime state without a record.
 * - `removeBuildContainers`: the RUN containers of builds that died with the
 *   berthd that ran them; no build of this berthd is running yet.
 * - `clearSubpathBinds` (run earlier, before the container reconciliation
 *   can queue a restart policy's start, which binds there): a start or `cp`
 *   that died between binding a volume Subpath and releasing it leaves the
 *   bind mounted under `<exec root>/subpaths`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ContainerStore, ContainerRecord } from '../store/container-store.js';
import type { DataPaths } from '../store/paths.js';
import { isMounted, mountsUnder, unmount } from '../store/mounts.js';
import { deleteNetns, netnsName, netnsPath } from '../network/netns.js';
import { errorMessage } from '../errors.js';
import { removeCgroup } from '../runtime/cgroup-setup.js';
import { cgroupOfContainer, containerCgroupPath } from '../runtime/cgroup-path.js';
import type { RuntimeRegistry } from './containers.js';
import { clearStaleSubpaths } from './volume-subpath.js';

export interface ReconcileContext {
  store: ContainerStore;
  paths: DataPaths;
  runtimes: RuntimeRegistry;
  /**
   * Runs `fn` with the container's operation queue held and its current
   * record: a restart policy's start, queued by the container reconciliation,
   * is either done (the container runs and is left alone) or not yet begun.
   */
  exclusive(id: string, fn: (c: ContainerRecord) => Promise<void>): Promise<void>;
}

const CONTAINER_ID = /^[0-9a-f]{64}$/;

function warn(what: string, e: unknown): void {
  console.error(`berthd: start-up: ${what}: ${errorMessage(e)}`);
}

function isRunning(c: ContainerRecord): boolean {
  return c.State.Running || c.State.Restarting;
}

/** The pid in `<bundle>/conmon.pid` if that process is alive and is the conmon of `id`. */
async function liveConmon(paths: DataPaths, id: string): Promise<number | undefined> {
  const pid = await readFile(join(paths.bundleDir(id), 'conmon.pid'), 'utf8').then((s) => Number(s.trim()), () => 0);
  if (!(pid > 0)) return undefined;
  try {
    // A pid file outlives its process; the pid may since be another's.
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return argv.includes(id) ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Whether `pid` has exited (or is a zombie) within `ms`. */
async function waitGone(pid: number, ms: number): Promise<boolean> {
  const gone = () => {
    try { return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.startsWith('Z') ?? true; } catch { return true; }
  };
  for (const end = Date.now() + ms; Date.now() < end; await sleep(20)) if (gone()) return true;
  return gone();
}

/**
 * The cgroup of a container without a record: the one its bundle's spec
 * names, if that is a container cgroup of this id under a parent berth
 * accepts (runtime/cgroup-path.ts), else the default parent's.
 */
async function orphanCgroupPath(paths: DataPaths, id: string): Promise<string> {
  try {
    const spec = JSON.parse(await readFile(join(paths.bundleDir(id), 'config.json'), 'utf8')) as { linux?: { cgroupsPath?: unknown } };
    const named = spec.linux?.cgroupsPath;
    if (typeof named === 'string' && containerCgroupPath(id, posix.dirname(named)) === named) return named;
  } catch { /* no bundle, or not one berth wrote */ }
  return containerCgroupPath(id);
}

/**
 * Kills what the OCI runtime and conmon still hold of container `id` (known
 * to the runtime `runtime`, or to any) and removes its cgroup, `cgroupsPath`
 * (runtime/cgroup-path.ts; only the container's own leaf, never its parent).
 */
async function killRun(ctx: ReconcileContext, id: string, cgroupsPath: string, runtime?: string): Promise<void> {
  const conmon = await liveConmon(ctx.paths, id);
  const names = runtime ? [runtime] : await readdir(join(ctx.paths.execRoot, 'runtime')).catch(() => [] as string[]);
  for (const name of names) {
    let rt;
    try { rt = ctx.runtimes.get(name); } catch { continue; }
    if (rt.hasState(id)) await rt.delete(id, true).catch((e) => warn(`deleting the runtime state of ${id}`, e));
  }
  // conmon exits once its container is gone; one that does not (it never got a container) is killed.
  if (conmon && !(await waitGone(conmon, 2000))) {
    try { process.kill(conmon, 'SIGKILL'); } catch { /* gone */ }
  }
  await rm(join(ctx.paths.exitDir, id), { force: true });
  // A runtime killed half way through `create` may have made the cgroup without a state to delete it by.
  await removeCgroup(cgroupsPath).catch((e) => warn(`removing the cgroup of ${id}`, e));
}

/** Runs `fn` for each container the records say is not running, in its queue. */
async function forEachIdle(ctx: ReconcileContext, fn: (c: ContainerRecord) => Promise<void>): Promise<void> {
  for (const { Id } of ctx.store.all()) {
    await ctx.exclusive(Id, async (c) => { if (!isRunning(c)) await fn(c); }).catch((e) => warn(`container ${Id}`, e));
  }
}

/** Containers the records say are not running, but whose runtime state or conmon lives on: killed. */
export async function stopUnrecordedRuns(ctx: ReconcileContext): Promise<void> {
  await forEachIdle(ctx, async (c) => {
    const rt = ctx.runtimes.get(c.Runtime);
    if (!rt.hasState(c.Id) && !(await liveConmon(ctx.paths, c.Id))) return;
    await killRun(ctx, c.Id, cgroupOfContainer(c), c.Runtime);
    await rm(ctx.paths.bundleDir(c.Id), { recursive: true, force: true });
  });
}

/** Volume Subpath binds left under `<exec root>/subpaths`: unmounted (lazily when busy), then their mount points removed. */
export async function clearSubpathBinds(paths: DataPaths): Promise<void> {
  await clearStaleSubpaths(paths.execRoot).catch((e) => warn('clearing volume subpath mounts', e));
}

/** Rootfs overlays of containers that are not running: unmounted (start mounts them again). */
export async function unmountIdleRootfs(ctx: ReconcileContext): Promise<void> {
  await forEachIdle(ctx, async (c) => {
    const merged = join(ctx.paths.containerDir(c.Id), 'merged');
    if (await isMounted(merged)) await unmount(merged);
  });
}

/** Network namespaces named after containers that are not running: deleted. */
export async function deleteIdleNetns(ctx: ReconcileContext): Promise<void> {
  await forEachIdle(ctx, async (c) => {
    const name = netnsName(c.Id);
    if (existsSync(netnsPath(name))) await deleteNetns(name);
  });
}

/** Container directories, bundles and runtime state of ids that have no record: removed. */
export async function removeOrphanContainerDirs(ctx: ReconcileContext): Promise<void> {
  const orphans = new Set<string>();
  for (const dir of [ctx.paths.containers, join(ctx.paths.execRoot, 'c')]) {
    for (const n of await readdir(dir).catch(() => [] as string[])) if (CONTAINER_ID.test(n) && !ctx.store.get(n)) orphans.add(n);
  }
  const runtimeRoot = join(ctx.paths.execRoot, 'runtime');
  for (const rt of await readdir(runtimeRoot).catch(() => [] as string[])) {
    for (const n of await readdir(join(runtimeRoot, rt)).catch(() => [] as string[])) if (CONTAINER_ID.test(n) && !ctx.store.get(n)) orphans.add(n);
  }
  for (const id of orphans) {
    await killRun(ctx, id, await orphanCgroupPath(ctx.paths, id));
    const cdir = ctx.paths.containerDir(id);
    let clean = true;
    for (const m of await mountsUnder(cdir)) await unmount(m).catch((e) => { clean = false; warn(`unmounting ${m}`, e); });
    // Never delete through a mount that would not go: that would delete an image's layers.
    if (clean) await rm(cdir, { recursive: true, force: true });
    await rm(ctx.paths.bundleDir(id), { recursive: true, force: true });
    const name = netnsName(id);
    if (existsSync(netnsPath(name))) await deleteNetns(name).catch((e) => warn(`deleting network namespace ${name}`, e));
  }
}

/** RUN containers (labelled `label`) of builds that died with an earlier berthd: removed with their volumes. */
export async function removeBuildContainers(
  store: ContainerStore, label: string, remove: (id: string) => Promise<void>,
): Promise<void> {
  for (const c of store.all()) {
    if ((c.Config.Labels as Record<string, string> | null | undefined)?.[label] === undefined) continue;
    await remove(c.Id).catch((e) => warn(`removing build container ${c.Id}`, e));
  }
}
