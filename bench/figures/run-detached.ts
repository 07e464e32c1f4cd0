/**
 * Figure 2: 50 × `run -d busybox sleep 600`, 8 CLI calls at a time, then
 * one `rm -f` of all 50 (podman: `rm -f -t 0`, which is what Docker's
 * `rm -f` does: SIGKILL at once). `--network none` everywhere, so the figure
 * compares container start-up, not bridge set-up.
 */
import type { BenchContext } from '../context.js';
import { IMAGE, type Engine } from '../engines.js';
import { check, CommandError, run, runPool } from '../proc.js';
import { alternate, type Subject } from '../alternate.js';
import { newFigure, type Figure } from '../table.js';

export const RUN_D_50 = '50 × run -d, 8 at a time (--network none)';
export const RM_F_50 = 'rm -f of those 50';
const COUNT = 50;
const PARALLEL = 8;

function subject(e: Engine): Subject {
  return {
    label: e.label,
    measure: async () => {
      const start = process.hrtime.bigint();
      const results = await runPool(COUNT, PARALLEL, () => run(e.cli('run', '-d', ...e.runFlags, '--network', 'none', IMAGE, 'sleep', '600'), { env: e.env }));
      const runMs = Number(process.hrtime.bigint() - start) / 1e6;
      const ids = results.filter((r) => r.code === 0).map((r) => r.stdout.trim().split('\n').pop()!.trim());
      const failure = results.find((r) => r.code !== 0);
      if (failure) {
        await run(e.cli('rm', ...e.rmForceFlags, ...ids), { env: e.env });
        throw new CommandError(e.cli('run', '-d'), failure);
      }
      const rmMs = (await check(e.cli('rm', ...e.rmForceFlags, ...ids), { env: e.env })).ms;
      return { [RUN_D_50]: runMs, [RM_F_50]: rmMs };
    },
  };
}

export async function runDetachedFigures(ctx: BenchContext): Promise<Figure[]> {
  const figures = [newFigure(RUN_D_50), newFigure(RM_F_50)];
  ctx.progress(RUN_D_50);
  await alternate(ctx.heavyRuns, [ctx.berth, ...ctx.peers].map(subject), figures, ctx.progress);
  return figures;
}
