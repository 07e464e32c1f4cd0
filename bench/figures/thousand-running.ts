/**
 * Figure 10: berthd with 1000 running containers (`sleep 3600`, network
 * none, started through the API 8 at a time: set-up, not timed). Three
 * numbers: the memory one more running container costs at that scale (RSS
 * of the 1000 monitors plus the daemon's growth, over 1000), `ps` with the
 * 1000 listed (berth CLI and the Docker CLI on berthd), and the daemon's CPU
 * over 10 s in which nobody asks it anything (a daemon that polls its
 * containers shows here). berthd only: at dockerd's 13 MiB per container
 * (figure 6) 1000 containers would take most of this machine's memory.
 */
import { apiRequest, createContainer, removeContainer } from '../api.js';
import type { BenchContext } from '../context.js';
import { IMAGE, monitorPids, type Engine } from '../engines.js';
import { check, cpuSeconds, pssMiB, rssMiB, runPool, sleep, steadyReading } from '../proc.js';
import { alternate, type Subject } from '../alternate.js';
import { newFigure, seriesOf, type Figure } from '../table.js';

export const RUNNING_1000_MEMORY = 'memory: per running container, 1000 running (RSS, monitor + daemon growth)';
export const RUNNING_1000_PS = 'ps, 1000 running containers';
export const RUNNING_1000_IDLE_CPU = 'daemon CPU when idle, 1000 running (% of one core over 10 s)';
export const RUNNING_1000_TITLES = [RUNNING_1000_MEMORY, RUNNING_1000_PS, RUNNING_1000_IDLE_CPU];

const COUNT = 1000;
const PARALLEL = 8;
const IDLE_SECONDS = 10;

const daemonRss = (e: Engine) => steadyReading(() => e.daemonPids().reduce((n, pid) => n + rssMiB(pid), 0), 5, 400);
const daemonCpu = (e: Engine) => e.daemonPids().reduce((n, pid) => n + cpuSeconds(pid), 0);

function psSubject(e: Engine): Subject {
  return {
    label: e.label,
    measure: async () => {
      const r = await check(e.cli('ps'), { env: e.env });
      const rows = r.stdout.trim().split('\n').length - 1;
      if (rows < COUNT) throw new Error(`${e.label}: ps listed ${rows} containers, not ${COUNT}`);
      return { [RUNNING_1000_PS]: r.ms };
    },
  };
}

export async function thousandRunningFigures(ctx: BenchContext, selected: Set<string>): Promise<Figure[]> {
  const e = ctx.berth;
  const socket = e.apiSocket!;
  const ids: string[] = [];
  const removeAll = async () => {
    const gone = ids.splice(0);
    await runPool(gone.length, PARALLEL, (i) => removeContainer(socket, gone[i]).catch(() => undefined));
  };
  ctx.cleanup.add('berthd: the 1000 running containers', removeAll);
  const figures: Figure[] = [];
  ctx.progress(`starting ${COUNT} containers for: ${RUNNING_1000_TITLES.filter((t) => selected.has(t)).join(' / ')}`);
  const rssBefore = await daemonRss(e);
  try {
    await runPool(COUNT, PARALLEL, async () => {
      const id = await createContainer(socket, { Image: IMAGE, Cmd: ['sleep', '3600'], HostConfig: { NetworkMode: 'none' } });
      ids.push(id);
      const started = await apiRequest(socket, 'POST', `/containers/${id}/start`);
      if (started.status !== 204) throw new Error(`POST /containers/${id}/start: ${started.status} ${started.body.trim()}`);
      if (ids.length % 100 === 0) ctx.progress(`  ${ids.length} running`);
    });
    await sleep(3000);

    if (selected.has(RUNNING_1000_MEMORY)) {
      const f = newFigure(RUNNING_1000_MEMORY, 'MiB');
      const monitors = monitorPids(ids);
      const monitorMiB = monitors.reduce((n, pid) => n + rssMiB(pid), 0);
      const growth = (await daemonRss(e)) - rssBefore;
      const s = seriesOf(f, 'berthd');
      s.values.push((monitorMiB + growth) / COUNT);
      const monitorPss = monitors.reduce((n, pid) => n + pssMiB(pid), 0);
      s.notes.push(`berthd: ${monitors.length} monitor processes, ${(monitorMiB / COUNT).toFixed(2)} MiB per container (PSS, shared pages counted once: ${(monitorPss / COUNT).toFixed(2)} MiB) + daemon growth ${(growth / COUNT).toFixed(3)} MiB per container`);
      figures.push(f);
    }
    if (selected.has(RUNNING_1000_IDLE_CPU)) {
      const f = newFigure(RUNNING_1000_IDLE_CPU, '%');
      const before = daemonCpu(e);
      await sleep(IDLE_SECONDS * 1000);
      seriesOf(f, 'berthd').values.push(((daemonCpu(e) - before) / IDLE_SECONDS) * 100);
      figures.push(f);
    }
    if (selected.has(RUNNING_1000_PS)) {
      const f = newFigure(RUNNING_1000_PS);
      ctx.progress(RUNNING_1000_PS);
      await alternate(ctx.runs, [e, ...(ctx.dockerOnBerthd ? [ctx.dockerOnBerthd] : [])].map(psSubject), [f], ctx.progress);
      figures.push(f);
    }
  } finally {
    ctx.progress(`removing the ${ids.length} containers`);
    await removeAll();
  }
  return figures;
}
