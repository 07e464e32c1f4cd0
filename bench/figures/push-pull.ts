/**
 * Figure 5: push and pull of a 100 MiB image of four 25 MiB layers of
 * random (incompressible) data on busybox, built by each engine from the
 * same Dockerfile, to and from a registry on loopback: Debian's
 * `docker-registry` and `berth registry serve`. Every push goes to a fresh
 * registry (no blob can be skipped or mounted); before every pull the image
 * is removed locally, and the pull's output is checked for layers it found
 * already present (the busybox base layer may be; the four data layers must
 * not be, or the row gets a note).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchContext } from '../context.js';
import { BIG_IMAGE, IMAGE, type Engine } from '../engines.js';
import { check, firstErrorLine, run, which } from '../proc.js';
import { startRegistry, type RegistryKind } from '../registries.js';
import { alternate, type Subject } from '../alternate.js';
import { newFigure, type Figure } from '../table.js';

const LAYERS = 4;
const LAYER_BYTES = 25 * 1024 * 1024;

export const pushTitle = (kind: RegistryKind) => `push 100 MiB (4 random layers) → ${kind}`;
export const pullTitle = (kind: RegistryKind) => `pull 100 MiB ← ${kind}`;

/** Lines of a pull's progress saying a layer was already there (Docker's and berth's wording, then podman's). */
const ALREADY_THERE = /Already exists|skipped: already exists/g;

function writeContext(dir: string): void {
  mkdirSync(dir, { recursive: true });
  const steps = Array.from({ length: LAYERS }, (_, i) => `RUN head -c ${LAYER_BYTES} /dev/urandom > /data-${i + 1}`);
  writeFileSync(join(dir, 'Dockerfile'), [`FROM ${IMAGE}`, ...steps, ''].join('\n'));
}

async function imageIds(e: Engine): Promise<string[]> {
  return (await check(e.cli('images', '-aq', '--no-trunc'), { env: e.env })).stdout.split('\n').map((l) => l.trim().replace(/^sha256:/, '')).filter(Boolean);
}

/**
 * One push and one pull. `buildParents` are the untagged images the build
 * made on the way (one per RUN): Docker's `rmi` deletes such parents with
 * the image; an engine that keeps them keeps the layers too, and its pull
 * would find them — so whatever is left of them is removed (and noted)
 * before the pull.
 */
function subject(ctx: BenchContext, e: Engine, kind: RegistryKind, buildParents: string[]): Subject {
  const cli = (...args: string[]) => check(e.cli(...args), { env: e.env });
  return {
    label: e.label,
    measure: async (_run, note) => {
      const registry = await startRegistry(kind, ctx.berthBin);
      try {
        const ref = `${registry.host}/bench/big:1`;
        await cli('tag', BIG_IMAGE, ref);
        const push = await check(e.cli('push', ...e.registryFlags, ref), { env: e.env });
        await cli('rmi', ref);
        await cli('rmi', BIG_IMAGE);
        if (buildParents.length) {
          const kept = (await imageIds(e)).filter((id) => buildParents.includes(id));
          if (kept.length) {
            note(pullTitle(kind), `${e.label}: \`rmi\` kept ${kept.length} untagged parent images of the build (Docker deletes them with the image); the bench removed them before the first pull`);
            await cli('rmi', ...kept);
          }
          buildParents.length = 0;
        }
        const left = await run(e.cli('image', 'inspect', ref), { env: e.env });
        if (left.code === 0) throw new Error(`the image is still there after rmi: the pull would not download`);
        const pull = await check(e.cli('pull', ...e.registryFlags, ref), { env: e.env });
        const reused = (`${pull.stdout}\n${pull.stderr}`.match(ALREADY_THERE) ?? []).length;
        if (reused > 1) note(pullTitle(kind), `${e.label}: the pull found ${reused} layers already present locally (only busybox's should be)`);
        await cli('tag', ref, BIG_IMAGE);
        await cli('rmi', ref);
        return { [pushTitle(kind)]: push.ms, [pullTitle(kind)]: pull.ms };
      } finally {
        await registry.stop();
      }
    },
  };
}

export async function pushPullFigures(ctx: BenchContext, titles: Set<string>): Promise<Figure[]> {
  const contextDir = join(ctx.workDir, 'big-image-context');
  writeContext(contextDir);
  const kinds = (['docker-registry', 'berth registry serve'] as RegistryKind[]).filter((k) => titles.has(pushTitle(k)) || titles.has(pullTitle(k)));
  const figures = kinds.flatMap((k) => [newFigure(pushTitle(k)), newFigure(pullTitle(k))]);
  const engines = [ctx.berth, ...ctx.peers];
  const ready: Engine[] = [];
  const buildParents = new Map<string, string[]>();
  ctx.progress('push/pull: building the 100 MiB image with each engine');
  for (const e of engines) {
    const before = await imageIds(e).catch(() => [] as string[]);
    const built = await run(e.cli('build', ...e.buildFlags, '-t', BIG_IMAGE, contextDir), { env: e.buildEnv });
    if (built.code === 0) {
      const image = (await check(e.cli('image', 'inspect', '--format', '{{.Id}}', BIG_IMAGE), { env: e.env })).stdout.trim().replace(/^sha256:/, '');
      buildParents.set(e.label, (await imageIds(e)).filter((id) => !before.includes(id) && id !== image));
      ready.push(e);
      continue;
    }
    const error = `building the image: ${firstErrorLine(built)}`;
    for (const f of figures) f.series.push({ label: e.label, values: [], error, notes: [] });
  }
  for (const kind of kinds) {
    const pair = figures.filter((f) => f.title === pushTitle(kind) || f.title === pullTitle(kind));
    if (kind === 'docker-registry' && !which('docker-registry')) {
      for (const f of pair) f.series.push({ label: ctx.berth.label, values: [], error: 'no docker-registry binary (apt-get install docker-registry)', notes: [] });
      continue;
    }
    ctx.progress(`push/pull: ${kind}`);
    await alternate(ctx.heavyRuns, ready.map((e) => subject(ctx, e, kind, buildParents.get(e.label)!)), pair, ctx.progress);
  }
  // Move the never-built engines' error rows after the measured ones, berth first.
  for (const f of figures) f.series.sort((a, b) => engines.findIndex((e) => e.label === a.label) - engines.findIndex((e) => e.label === b.label));
  for (const e of ready) await run(e.cli('rmi', BIG_IMAGE), { env: e.env });
  return figures;
}
