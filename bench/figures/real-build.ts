/**
 * Figure 11: a real build, cold (`--no-cache`): a debootstrap'd Debian
 * bookworm base (minbase), `apt-get update`, then `apt-get install monit
 * rabbitmq-server` (with their recommends, as apt does by default). It is
 * what a build spends its time on in practice: RUN containers that download,
 * unpack and configure packages, and commits of upper dirs with thousands of
 * files of every kind (Erlang's tree, dpkg's database, whiteouts of
 * replaced files).
 *
 * The base is made once per machine (debootstrap from the Debian mirror the
 * host uses, a few minutes) and kept under /var/cache/berth-bench; each
 * engine imports it (not timed). The RUN steps use the host's network
 * (`--network host`) on every engine: the bench's dockerd runs without its
 * iptables rules, so its bridge reaches no mirror, and the figure is about
 * builds, not NAT. The download is the same for every engine and runs
 * alternate, so the mirror's speed weighs on all alike.
 */
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchContext } from '../context.js';
import type { Engine } from '../engines.js';
import { check, isInterrupted, run } from '../proc.js';
import { alternate } from '../alternate.js';
import { coldBuildSubject } from './layer-heavy-build.js';
import { newFigure, seriesOf, type Figure } from '../table.js';

export const BUILD_REAL = 'build, Debian base + apt-get install monit rabbitmq-server, cold';
const BASE = 'berth-bench/debian:bookworm';
const TAG = 'berth-bench/real-build:latest';
const CACHE_DIR = '/var/cache/berth-bench';
const BASE_TAR = join(CACHE_DIR, 'debian-bookworm-minbase.tar');
const MIRROR = 'http://deb.debian.org/debian';

/** The base's tar, made with debootstrap the first time. */
async function debianBase(ctx: BenchContext): Promise<string> {
  if (existsSync(BASE_TAR)) return BASE_TAR;
  ctx.progress(`${BUILD_REAL}: debootstrap of bookworm (minbase) into ${CACHE_DIR}, once per machine`);
  mkdirSync(CACHE_DIR, { recursive: true });
  const rootfs = join(ctx.workDir, 'debian-rootfs');
  await check(['debootstrap', '--variant=minbase', 'bookworm', rootfs, MIRROR], { timeoutMs: 1_800_000 });
  const partial = `${BASE_TAR}.partial`;
  await check(['tar', '-C', rootfs, '--numeric-owner', '-cf', partial, '.'], { timeoutMs: 600_000 });
  renameSync(partial, BASE_TAR);
  await run(['rm', '-rf', '--one-file-system', rootfs]);
  return BASE_TAR;
}

function writeContext(dir: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'Dockerfile'), [
    `FROM ${BASE}`,
    'ENV DEBIAN_FRONTEND=noninteractive',
    'RUN apt-get update',
    'RUN apt-get install -y monit rabbitmq-server',
    '',
  ].join('\n'));
}

export async function realBuildFigure(ctx: BenchContext): Promise<Figure[]> {
  const figure = newFigure(BUILD_REAL);
  ctx.progress(BUILD_REAL);
  const firstLine = (err: unknown) => (err instanceof Error ? err.message : String(err)).split('\n')[0];
  let tar: string;
  try {
    tar = await debianBase(ctx);
  } catch (err) {
    if (isInterrupted()) throw err;
    for (const e of [ctx.berth, ...ctx.peers]) seriesOf(figure, e.label).error = `no Debian base: ${firstLine(err)}`;
    return [figure];
  }
  const engines: Engine[] = [];
  for (const e of [ctx.berth, ...ctx.peers]) {
    ctx.cleanup.add(`${e.label}: ${BASE}`, async () => { await run(e.cli('rmi', BASE), { env: e.env }); });
    try {
      await check(e.cli('import', tar, BASE), { env: e.env, timeoutMs: 600_000 });
      engines.push(e);
    } catch (err) {
      if (isInterrupted()) throw err;
      seriesOf(figure, e.label).error = `import of the Debian base: ${firstLine(err)}`;
    }
  }
  const contextDir = join(ctx.workDir, 'real-build-context');
  writeContext(contextDir);
  await alternate(ctx.heavyRuns, engines.map((e) => coldBuildSubject(e, contextDir, BUILD_REAL, TAG, ['--network', 'host'], 1_800_000)), [figure], ctx.progress);
  return [figure];
}
