/**
 * Figure 6: memory. The daemon's RSS when idle — berthd fresh, right after
 * importing busybox and before any other figure; dockerd (+ its containerd)
 * as found; podman has no daemon — and the cost of one more running
 * container: (RSS of the processes that watch the N containers — conmon for
 * berth and podman, containerd-shim for dockerd — plus the daemon's growth
 * while they run) / N. RSS counts shared library pages in every process, so
 * the per-container figure is an upper bound.
 */
import type { BenchContext } from '../context.js';
import { IMAGE, monitorPids, type Engine } from '../engines.js';
import { check, isInterrupted, listProcesses, pssMiB, rssMiB, sleep, steadyReading } from '../proc.js';
import { newFigure, seriesOf, type Figure } from '../table.js';

export const MEMORY_IDLE = 'memory: daemon idle (RSS)';
export const MEMORY_PER_CONTAINER = 'memory: per running container (RSS, monitor + daemon growth)';
const CONTAINERS = 20;

/** berth's memory rows are berthd's, not its CLI's. */
const rowLabel = (e: Engine) => (e.kind === 'berth' ? 'berthd' : e.label);
const daemonRss = (e: Engine) => steadyReading(() => e.daemonPids().reduce((n, pid) => n + rssMiB(pid), 0), 5, 400);

/** The idle figure; call it on a fresh berthd, before anything else ran on it. */
export async function idleMemoryFigure(ctx: BenchContext): Promise<Figure> {
  const f = newFigure(MEMORY_IDLE, 'MiB');
  ctx.progress(MEMORY_IDLE);
  await sleep(1000);
  seriesOf(f, rowLabel(ctx.berth)).values.push(await daemonRss(ctx.berth));
  seriesOf(f, rowLabel(ctx.berth)).notes.push('berthd fresh: started for the bench, busybox imported, nothing else done yet');
  for (const e of ctx.peers) {
    const s = seriesOf(f, rowLabel(e));
    if (e.daemonPids().length === 0) s.text = 'no daemon';
    else s.values.push(await daemonRss(e));
  }
  return f;
}

export async function perContainerMemoryFigure(ctx: BenchContext): Promise<Figure> {
  const f = newFigure(MEMORY_PER_CONTAINER, 'MiB');
  ctx.progress(MEMORY_PER_CONTAINER);
  for (const e of [ctx.berth, ...ctx.peers]) {
    const s = seriesOf(f, rowLabel(e));
    const ids: string[] = [];
    try {
      const before = await daemonRss(e);
      for (let i = 0; i < CONTAINERS; i++) {
        const r = await check(e.cli('run', '-d', ...e.runFlags, '--network', 'none', IMAGE, 'sleep', '600'), { env: e.env });
        ids.push(r.stdout.trim().split('\n').pop()!.trim());
      }
      await sleep(1500);
      const monitors = monitorPids(ids);
      const names = [...new Set(listProcesses().filter((p) => monitors.includes(p.pid)).map((p) => p.comm))].join(', ') || 'none';
      const monitorMiB = monitors.reduce((n, pid) => n + rssMiB(pid), 0);
      const growth = (await daemonRss(e)) - before;
      s.values.push((monitorMiB + growth) / CONTAINERS);
      const monitorPss = monitors.reduce((n, pid) => n + pssMiB(pid), 0);
      s.notes.push(`${rowLabel(e)}: ${CONTAINERS} containers, ${monitors.length} monitor processes (${names}) ${(monitorMiB / CONTAINERS).toFixed(1)} MiB per container (PSS ${(monitorPss / CONTAINERS).toFixed(2)} MiB) + daemon growth ${(growth / CONTAINERS).toFixed(1)} MiB per container`);
    } catch (err) {
      if (isInterrupted()) throw err;
      s.error = (err instanceof Error ? err.message : String(err)).split('\n')[0];
    } finally {
      if (ids.length) await check(e.cli('rm', ...e.rmForceFlags, ...ids), { env: e.env }).catch(() => undefined);
    }
  }
  return f;
}
