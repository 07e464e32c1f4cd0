/**
 * Figure 1: `run --rm busybox true`, with `--network none` and with the
 * default network, for the berth CLI, the Docker CLI against berthd, the
 * peers, and (network none only) the floor. An engine that refuses the
 * default network (berth before its bridge driver), or accepts it but gives
 * the container no interface besides lo, gets "not measured" with the
 * reason, never a number from another mode.
 */
import type { BenchContext } from '../context.js';
import { IMAGE, type Engine } from '../engines.js';
import { check, firstErrorLine, run } from '../proc.js';
import { alternate, type Subject } from '../alternate.js';
import { newFigure, type Figure } from '../table.js';

export const RUN_RM_NONE = 'run --rm busybox true, --network none';
export const RUN_RM_DEFAULT = 'run --rm busybox true, default network';

function runRm(e: Engine, title: string, network: string[]): Subject {
  return {
    label: e.label,
    measure: async () => ({ [title]: (await check(e.cli('run', '--rm', ...e.runFlags, ...network, IMAGE, 'true'), { env: e.env })).ms }),
  };
}

export async function runRmFigures(ctx: BenchContext, titles: Set<string>): Promise<Figure[]> {
  const engines = [ctx.berth, ...(ctx.dockerOnBerthd ? [ctx.dockerOnBerthd] : []), ...ctx.peers];
  const figures: Figure[] = [];
  if (titles.has(RUN_RM_NONE)) {
    const f = newFigure(RUN_RM_NONE);
    ctx.progress(f.title);
    const subjects: Subject[] = engines.map((e) => runRm(e, f.title, ['--network', 'none']));
    for (const floor of ctx.floors) {
      subjects.push({ label: `${floor.runtime} run (floor)`, measure: async (i) => ({ [f.title]: await floor.runOnce(i) }) });
    }
    await alternate(ctx.runs, subjects, [f], ctx.progress);
    figures.push(f);
  }
  if (titles.has(RUN_RM_DEFAULT)) {
    const f = newFigure(RUN_RM_DEFAULT);
    ctx.progress(f.title);
    // An engine that accepts the default network but gives the container none would measure --network none again.
    const networked: Engine[] = [];
    for (const e of engines) {
      const r = await run(e.cli('run', '--rm', ...e.runFlags, IMAGE, 'cat', '/proc/net/dev'), { env: e.env });
      const interfaces = r.stdout.split('\n').slice(2).map((l) => l.split(':')[0].trim()).filter(Boolean);
      if (r.code !== 0) f.series.push({ label: e.label, values: [], error: firstErrorLine(r), notes: [] });
      else if (!interfaces.some((i) => i !== 'lo')) {
        f.series.push({ label: e.label, values: [], error: `the container got no interface besides lo, i.e. no network (${e.label} ran the default network as none)`, notes: [] });
      } else networked.push(e);
    }
    await alternate(ctx.runs, networked.map((e) => runRm(e, f.title, [])), [f], ctx.progress);
    f.series.sort((a, b) => engines.findIndex((e) => e.label === a.label) - engines.findIndex((e) => e.label === b.label));
    figures.push(f);
  }
  return figures;
}
