/**
 * Figure 9: a layer-heavy build, cold (`--no-cache`): a RUN that writes a
 * node_modules-like tree of 30,000 small files (300 packages × 100 files),
 * then a RUN that changes 1,000 of them. What it measures is the commit of
 * big upper directories (walk, tar, digest), which a 9-step build on a small
 * context does not show. The Docker CLI uses the classic builder, as in
 * figure 4; the image is removed after each run (not timed).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchContext } from '../context.js';
import { IMAGE, type Engine } from '../engines.js';
import { check, run } from '../proc.js';
import { alternate, type Subject } from '../alternate.js';
import { newFigure, type Figure } from '../table.js';

export const BUILD_LAYER_HEAVY = 'build, 30,000 small files then 1,000 changed, cold';
const TAG = 'berth-bench/layer-heavy:latest';

function writeContext(dir: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'Dockerfile'), [
    `FROM ${IMAGE}`,
    // busybox sh: echo and the loops are built in, so 30,000 files cost no forks.
    'RUN mkdir -p /app/node_modules && cd /app/node_modules && for p in $(seq 1 300); do mkdir p$p; for f in $(seq 1 100); do echo "module.exports = \'$p/$f\';" > p$p/f$f.js; done; done',
    'RUN cd /app/node_modules && for p in $(seq 1 10); do for f in $(seq 1 100); do echo "// changed" >> p$p/f$f.js; done; done',
    '',
  ].join('\n'));
}

/**
 * One cold build of `contextDir` per measure (`--no-cache`, then `extraFlags`),
 * timed as `title`; the image is removed after it (not timed). Figures 9 and 11.
 */
export function coldBuildSubject(e: Engine, contextDir: string, title: string, tag: string, extraFlags: string[], timeoutMs: number): Subject {
  return {
    label: e.label,
    measure: async () => {
      const r = await check(e.cli('build', ...e.buildFlags, '--no-cache', ...extraFlags, '-t', tag, contextDir), { env: e.buildEnv, timeoutMs });
      await run(e.cli('rmi', tag), { env: e.env });
      return { [title]: r.ms };
    },
  };
}

export async function layerHeavyBuildFigure(ctx: BenchContext): Promise<Figure[]> {
  const contextDir = join(ctx.workDir, 'layer-heavy-context');
  writeContext(contextDir);
  const figure = newFigure(BUILD_LAYER_HEAVY);
  ctx.progress(BUILD_LAYER_HEAVY);
  await alternate(ctx.heavyRuns, [ctx.berth, ...ctx.peers].map((e) => coldBuildSubject(e, contextDir, BUILD_LAYER_HEAVY, TAG, [], 900_000)), [figure], ctx.progress);
  return [figure];
}
