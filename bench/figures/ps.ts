/**
 * Figure 3: `ps -a` with 1000 containers created (not running). The 1000 are
 * made through the Engine API where there is one (berthd, dockerd) and with
 * `podman create` otherwise — set-up, not measured — and removed afterwards.
 */
import { createContainer, removeContainer } from '../api.js';
import type { BenchContext } from '../context.js';
import { IMAGE, type Engine } from '../engines.js';
import { check, CommandError, isInterrupted, run, runPool } from '../proc.js';
import { alternate } from '../alternate.js';
import { newFigure, type Figure } from '../table.js';

export const PS_1000 = 'ps -a, 1000 created containers';
const COUNT = 1000;
const PARALLEL = 8;

/** Creates the containers; resolves with a function that removes them. */
async function create1000(e: Engine): Promise<() => Promise<void>> {
  const socket = e.apiSocket;
  if (socket) {
    const ids: string[] = [];
    try {
      await runPool(COUNT, PARALLEL, async () => { ids.push(await createContainer(socket, { Image: IMAGE, Cmd: ['true'], HostConfig: { NetworkMode: 'none' } })); });
    } catch (e) {
      await runPool(ids.length, PARALLEL, (i) => removeContainer(socket, ids[i]).catch(() => undefined));
      throw e;
    }
    return async () => { await runPool(ids.length, PARALLEL, (i) => removeContainer(socket, ids[i])); };
  }
  const results = await runPool(COUNT, PARALLEL, () => run(e.cli('create', ...e.runFlags, '--network', 'none', IMAGE, 'true'), { env: e.env }));
  const ids = results.filter((r) => r.code === 0).map((r) => r.stdout.trim().split('\n').pop()!.trim());
  const remove = async () => {
    for (let i = 0; i < ids.length; i += 100) await check(e.cli('rm', ...e.rmForceFlags, ...ids.slice(i, i + 100)), { env: e.env });
  };
  const failure = results.find((r) => r.code !== 0);
  if (failure) { await remove(); throw new CommandError(e.cli('create'), failure); }
  return remove;
}

export async function psFigure(ctx: BenchContext): Promise<Figure[]> {
  const f = newFigure(PS_1000);
  ctx.progress(`${PS_1000}: creating ${COUNT} containers per engine`);
  const daemons = [ctx.berth, ...ctx.peers];
  const removers: (() => Promise<void>)[] = [];
  const errors = new Map<string, string>();
  try {
    for (const e of daemons) {
      try {
        removers.push(await create1000(e));
      } catch (err) {
        if (isInterrupted()) throw err;
        errors.set(e.label, (err instanceof Error ? err.message : String(err)).split('\n')[0]);
      }
    }
    // The Docker CLI lists berthd's 1000 too.
    const listers = [ctx.berth, ...(ctx.dockerOnBerthd ? [ctx.dockerOnBerthd] : []), ...ctx.peers]
      .filter((e) => !errors.has(e.label) && !(e.kind === 'docker-cli-berthd' && errors.has(ctx.berth.label)));
    await alternate(ctx.runs, listers.map((e) => ({
      label: e.label,
      measure: async () => ({ [PS_1000]: (await check(e.cli('ps', '-a'), { env: e.env })).ms }),
    })), [f], ctx.progress);
    for (const [label, error] of errors) f.series.push({ label, values: [], error: `creating the containers: ${error}`, notes: [] });
  } finally {
    ctx.progress(`${PS_1000}: removing them`);
    for (const remove of removers) await remove();
  }
  return [f];
}
