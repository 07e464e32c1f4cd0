/**
 * Figure 4: a cold (`--no-cache`) and then a fully cached build of the same
 * 9-step Dockerfile — FROM, ENV, RUN, COPY ×3, WORKDIR, RUN, CMD — on the
 * imported busybox, with a small context (a file, a directory of 20 files,
 * 1 MiB of random data). The Docker CLI uses the classic builder
 * (DOCKER_BUILDKIT=0), as berth's `build` is the classic builder API; RUN
 * steps get each engine's default build network (berth's is none). The
 * image is removed after each pair, so every cold build starts from busybox.
 *
 * Where the buildx plugin is built (build-go-clients.sh), the same pair
 * runs through buildx too (`docker build` with DOCKER_BUILDKIT=1, the
 * default since Docker 23, buildx as the builder) against berthd and
 * dockerd: BuildKit's API on berth's builder. Those are figures of their
 * own, with berthd through buildx as the base of their ratios, and run in
 * the same alternation as the classic pair, so that buildx and the classic
 * path on the same daemon can be compared.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchContext } from '../context.js';
import { BUILD_IMAGE, IMAGE, type Engine } from '../engines.js';
import { check, run } from '../proc.js';
import { alternate, type Subject } from '../alternate.js';
import { newFigure, type Figure } from '../table.js';

export const BUILD_COLD = 'build, 9 steps, cold (--no-cache)';
export const BUILD_CACHED = 'build, 9 steps, fully cached';
const THROUGH_BUILDX = 'through buildx (docker build with buildx as builder)';
export const BUILDX_COLD = `${BUILD_COLD}, ${THROUGH_BUILDX}`;
export const BUILDX_CACHED = `${BUILD_CACHED}, ${THROUGH_BUILDX}`;
export const BUILD_TITLES = [BUILD_COLD, BUILD_CACHED, BUILDX_COLD, BUILDX_CACHED];
/** Steps after FROM, each of which a fully cached build takes from the cache. */
const CACHEABLE_STEPS = 8;
/** BuildKit shows no vertex for ENV and CMD (image config only): its CACHED lines are the RUNs, COPYs and WORKDIR. */
const BUILDKIT_CACHED_VERTEXES = 6;

function writeContext(dir: string): void {
  mkdirSync(join(dir, 'lib'), { recursive: true });
  writeFileSync(join(dir, 'Dockerfile'), [
    `FROM ${IMAGE}`,
    'ENV APP_HOME=/app APP_MODE=bench',
    'RUN mkdir -p /app/data && echo "made by step 3" > /app/data/stamp',
    'COPY a.txt /app/',
    'COPY lib/ /app/lib/',
    'COPY data.bin /app/data/',
    'WORKDIR /app',
    'RUN ls -lR /app > /app/manifest.txt && wc -c /app/data/data.bin',
    'CMD ["cat", "/app/manifest.txt"]',
    '',
  ].join('\n'));
  writeFileSync(join(dir, 'a.txt'), 'a small file\n');
  for (let i = 0; i < 20; i++) writeFileSync(join(dir, 'lib', `module-${i}.txt`), randomBytes(2048).toString('hex'));
  writeFileSync(join(dir, 'data.bin'), randomBytes(1 << 20));
}

const BUILDX = join(process.env.BERTH_GO_CLIENTS ?? '/var/cache/berth-go-clients', 'docker-buildx');

/** `e` (a Docker CLI engine) building through buildx: the plugin in its DOCKER_CONFIG, BuildKit on. */
function throughBuildx(e: Engine): Engine | null {
  const config = e.env.DOCKER_CONFIG;
  if (!config || !existsSync(BUILDX)) return null;
  const plugins = join(config, 'cli-plugins');
  mkdirSync(plugins, { recursive: true });
  if (!existsSync(join(plugins, 'docker-buildx'))) symlinkSync(BUILDX, join(plugins, 'docker-buildx'));
  return { ...e, label: `${e.label} (buildx)`, buildFlags: ['--progress=plain'], buildEnv: { ...e.env, DOCKER_BUILDKIT: '1' } };
}

function subject(e: Engine, contextDir: string, titles: { cold: string; cached: string }): Subject {
  const build = (...flags: string[]) => check(e.cli('build', ...e.buildFlags, ...flags, '-t', BUILD_IMAGE, contextDir), { env: e.buildEnv });
  return {
    label: e.label,
    titles: [titles.cold, titles.cached],
    measure: async (_run, note) => {
      const cold = await build('--no-cache');
      const cached = await build();
      // The classic builder says "Using cache" on stdout; buildx's plain progress "CACHED" on stderr.
      const buildkit = e.buildEnv.DOCKER_BUILDKIT === '1';
      const hits = (buildkit ? cached.stderr.match(/CACHED/g) : cached.stdout.match(/Using cache/g))?.length ?? 0;
      const want = buildkit ? BUILDKIT_CACHED_VERTEXES : CACHEABLE_STEPS;
      if (hits < want) note(titles.cached, `${e.label}: the "cached" build reported only ${hits} of ${want} steps from the cache`);
      await run(e.cli('rmi', BUILD_IMAGE), { env: e.env });
      return { [titles.cold]: cold.ms, [titles.cached]: cached.ms };
    },
  };
}

/** The figures of BUILD_TITLES that `selected` names: the classic pair, the buildx pair, or both in one alternation. */
export async function buildFigures(ctx: BenchContext, selected: ReadonlySet<string>): Promise<Figure[]> {
  const contextDir = join(ctx.workDir, 'build-context');
  writeContext(contextDir);
  const classic = selected.has(BUILD_COLD) || selected.has(BUILD_CACHED);
  const viaBuildx = selected.has(BUILDX_COLD) || selected.has(BUILDX_CACHED);
  const figures: Figure[] = [];
  const subjects: Subject[] = [];
  if (classic) {
    figures.push(newFigure(BUILD_COLD), newFigure(BUILD_CACHED));
    const engines = [ctx.berth, ...(ctx.dockerOnBerthd ? [ctx.dockerOnBerthd] : []), ...ctx.peers];
    subjects.push(...engines.map((e) => subject(e, contextDir, { cold: BUILD_COLD, cached: BUILD_CACHED })));
  }
  if (viaBuildx) {
    const buildxFigures = [newFigure(BUILDX_COLD), newFigure(BUILDX_CACHED)];
    const docker = [ctx.dockerOnBerthd, ...ctx.peers.filter((p) => p.kind === 'dockerd')].filter((e): e is Engine => e !== null);
    const buildx = docker.map(throughBuildx).filter((e): e is Engine => e !== null);
    const onBerthd = buildx.find((e) => e.kind === 'docker-cli-berthd');
    for (const f of buildxFigures) {
      if (onBerthd) f.base = onBerthd.label;
      else f.series.push({ label: 'docker CLI → berthd (buildx)', values: [], notes: [], error: ctx.dockerOnBerthd ? `no buildx plugin at ${BUILDX}` : 'no docker CLI' });
    }
    figures.push(...buildxFigures);
    subjects.push(...buildx.map((e) => subject(e, contextDir, { cold: BUILDX_COLD, cached: BUILDX_CACHED })));
  }
  ctx.progress(figures.map((f) => f.title).join(' / '));
  await alternate(ctx.heavyRuns, subjects, figures, ctx.progress);
  return figures;
}
