/**
 * berth's side-by-side benchmark (issue 5). Each figure runs for berth and,
 * when they are present, for the Docker CLI against berthd, dockerd (through
 * the Docker CLI, when a dockerd answers on /var/run/docker.sock), podman,
 * and the floor (`runc run` / `crun run` of a prepared bundle), alternating
 * engines run by run, and prints a markdown table of medians, min–max and
 * the ratio of each engine's median to berth's.
 *
 *   npm run bench [-- --runs N] [-- --only SUBSTRING]... [-- --write]
 *
 * --runs N     runs of the quick figures (default 15); the figures that take
 *              seconds per run (50 containers, builds, push/pull) run
 *              min(N, 5) times, the memory figures once
 * --only S     only the figures whose title contains S (case-insensitive;
 *              repeatable): e.g. `--only build`, `--only "network none"`
 * --write      also write the table to bench/RESULTS.md
 *
 * Figures: 1. `run --rm busybox true` with `--network none` and with the
 * default network; 2. 50 × `run -d` 8 at a time, then `rm -f` of all 50;
 * 3. `ps -a` with 1000 created containers; 4. cold and fully cached build of
 * a 9-step Dockerfile; 5. push and pull of a 100 MiB four-layer image to
 * Debian's docker-registry and to `berth registry serve` on loopback;
 * 6. memory: berthd idle, and per running container; 7. `/_ping`'s latency
 * (p50, p99, max) while 600 clients list containers and 50 containers run;
 * 8. `logs` of 1 GiB and `cp` of a 1 GiB tree out; 9. a layer-heavy build
 * (30,000 small files, then 1,000 changed); 10. berthd with 1000 running
 * containers: memory per container, `ps`, idle CPU.
 *
 * Every CLI runs with a clean environment (PATH and HOME only): variables
 * such as NODE_EXTRA_CA_CERTS add ~85 ms to every Node start on the machines
 * this was written for. Timing never fails anything; this only measures. The
 * bench needs root, starts its own berthd on private roots, and removes
 * everything it made — daemon, registries, containers and images (on peers
 * only its own `berth-bench/` images, their containers and the untagged
 * images that appeared meanwhile), temporary directories — even on failure
 * or Ctrl-C.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startBerthd } from './berthd.js';
import { Cleanup } from './cleanup.js';
import type { BenchContext } from './context.js';
import {
  berthEngine, detectDockerd, detectPodman, dockerCliOnBerthd, IMAGE, privateDockerConfig, type Engine,
} from './engines.js';
import { prepareFloor, type Floor } from './floor.js';
import { check, CLEAN_ENV, isInterrupted, run, which } from './proc.js';
import { BUILD_TITLES, buildFigures } from './figures/build.js';
import { idleMemoryFigure, MEMORY_IDLE, MEMORY_PER_CONTAINER, perContainerMemoryFigure } from './figures/memory.js';
import { PING_TITLES, pingUnderLoadFigures } from './figures/ping-under-load.js';
import { PS_1000, psFigure } from './figures/ps.js';
import { pullTitle, pushPullFigures, pushTitle } from './figures/push-pull.js';
import { RM_F_50, RUN_D_50, runDetachedFigures } from './figures/run-detached.js';
import { RUN_RM_DEFAULT, RUN_RM_NONE, runRmFigures } from './figures/run-rm.js';
import { BUILD_LAYER_HEAVY, layerHeavyBuildFigure } from './figures/layer-heavy-build.js';
import { BUILD_REAL, realBuildFigure } from './figures/real-build.js';
import { RUNNING_1000_TITLES, thousandRunningFigures } from './figures/thousand-running.js';
import { THROUGHPUT_TITLES, throughputFigures } from './figures/throughput.js';
import { renderTable, type Figure } from './table.js';

/** bench/RESULTS.md: the table above this line is the bench's, the analysis below it a person's. */
const ANALYSIS_MARKER = '<!-- analysis -->';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const berthBin = join(repo, 'bin', 'berth');
const berthdBin = join(repo, 'bin', 'berthd');

const USAGE = `usage: npm run bench [-- --runs N] [-- --only SUBSTRING]... [-- --write]
  --runs N   runs of the quick figures (default 15); the slow ones run min(N, 5) times, memory once
  --only S   only the figures whose title contains S (case-insensitive; repeatable)
  --write    also write the table to bench/RESULTS.md (what follows its
             "${ANALYSIS_MARKER}" line is kept)`;

interface Options { runs: number; only: string[]; write: boolean }

function parseArgs(argv: string[]): Options {
  const o: Options = { runs: 15, only: [], write: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--runs') {
      o.runs = Number(value());
      if (!Number.isInteger(o.runs) || o.runs < 1) throw new Error(`--runs wants a positive integer`);
    } else if (a === '--only') o.only.push(value().toLowerCase());
    else if (a === '--write') o.write = true;
    else if (a === '-h' || a === '--help') {
      process.stdout.write(`${USAGE}\nFigures (for --only):\n  ${ALL_TITLES.join('\n  ')}\n`);
      process.exit(0);
    } else throw new Error(`unknown argument ${a}\n${USAGE}`);
  }
  return o;
}

const ALL_TITLES = [
  MEMORY_IDLE, MEMORY_PER_CONTAINER, RUN_RM_NONE, RUN_RM_DEFAULT, RUN_D_50, RM_F_50, PS_1000, ...PING_TITLES, ...BUILD_TITLES,
  pushTitle('docker-registry'), pullTitle('docker-registry'), pushTitle('berth registry serve'), pullTitle('berth registry serve'),
  BUILD_LAYER_HEAVY, BUILD_REAL, ...THROUGHPUT_TITLES, ...RUNNING_1000_TITLES,
];

const progress = (message: string) => process.stderr.write(`bench: ${message}\n`);

async function firstLine(argv: string[], env: Record<string, string> = CLEAN_ENV): Promise<string> {
  const r = await run(argv, { env });
  return r.code === 0 ? r.stdout.trim().split('\n')[0] : '?';
}

/**
 * Undo for a peer engine: its containers of the bench's busybox, the bench's
 * image names (and registry tags left by an interrupted push), then images
 * that appeared during the bench and are left dangling (build
 * intermediates). Registered before the bench imports anything there.
 */
async function peerCleanup(cleanup: Cleanup, label: string, cli: (...a: string[]) => string[], env: Record<string, string>, rmForce: readonly string[]): Promise<void> {
  const lines = async (...args: string[]) => (await run(cli(...args), { env })).stdout.split('\n').map((l) => l.trim()).filter(Boolean);
  const before = new Set(await lines('images', '-aq', '--no-trunc'));
  cleanup.add(`${label}: bench containers and images`, async () => {
    const containers = await lines('ps', '-aq', '--no-trunc', '--filter', `ancestor=${IMAGE}`);
    if (containers.length) await run(cli('rm', ...rmForce, ...containers), { env });
    const ours = (await lines('images', '--format', '{{.Repository}}:{{.Tag}}'))
      .filter((name) => /^(localhost\/)?berth-bench\//.test(name) || /^127\.0\.0\.1:\d+\/bench\/big:1$/.test(name));
    if (ours.length) await run(cli('rmi', ...ours), { env });
    for (let pass = 0; pass < 5; pass++) {
      const added = (await lines('images', '-q', '--no-trunc', '--filter', 'dangling=true')).filter((id) => !before.has(id));
      if (added.length === 0) break;
      await run(cli('rmi', ...added), { env });
    }
  });
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const selected = ALL_TITLES.filter((t) => opts.only.length === 0 || opts.only.some((o) => t.toLowerCase().includes(o)));
  if (selected.length === 0) throw new Error(`--only ${opts.only.join(', ')} matches no figure; the figures are:\n  ${ALL_TITLES.join('\n  ')}`);
  const wants = (...titles: string[]) => titles.some((t) => selected.includes(t));
  if (process.getuid?.() !== 0) throw new Error('the benchmark needs root (namespaces, mounts, cgroups)');

  const cleanup = new Cleanup();
  cleanup.onSignals();
  try {
    const workDir = mkdtempSync('/tmp/berth-bench-work-');
    cleanup.add(workDir, async () => { await run(['rm', '-rf', '--one-file-system', workDir]); });
    const dockerConfig = privateDockerConfig();
    cleanup.add(dockerConfig, async () => { await run(['rm', '-rf', dockerConfig]); });

    progress('making the busybox root filesystem');
    const rootfs = join(workDir, 'busybox-rootfs');
    const tar = join(workDir, 'busybox.tar');
    await check(['bash', join(repo, 'scripts', 'make-busybox-rootfs.sh'), rootfs]);
    await check(['tar', '-C', rootfs, '-cf', tar, '.']);

    progress('starting berthd');
    const daemon = await startBerthd(berthdBin, cleanup);
    const berth = berthEngine(berthBin, daemon.host, daemon.pid, daemon.socket);
    const imported = await run(berth.cli('import', '--change', 'CMD ["sh"]', tar, IMAGE));
    if (imported.code !== 0) throw new Error(`berth import: ${imported.stderr.trim()}\n${daemon.logTail()}`);
    const dockerOnBerthd = dockerCliOnBerthd(daemon.host, daemon.pid, daemon.socket, dockerConfig);

    // Peers. Nothing here touches berthd, which stays idle for the memory figure.
    const peers: Engine[] = [];
    const absent: string[] = [];
    const docker = which('docker');
    const dockerd = await detectDockerd(dockerConfig);
    if (dockerd.engine) {
      const e = dockerd.engine;
      await peerCleanup(cleanup, e.label, e.cli, e.env as Record<string, string>, e.rmForceFlags);
      const r = await run(e.cli('import', '--change', 'CMD ["sh"]', tar, IMAGE), { env: e.env });
      if (r.code === 0) peers.push(e);
      else absent.push(`dockerd: docker import failed: ${r.stderr.trim()}`);
    } else absent.push(`dockerd (${dockerd.why})`);
    const podmanBin = which('podman');
    if (podmanBin) await peerCleanup(cleanup, 'podman', (...a) => [podmanBin, ...a], CLEAN_ENV, ['-f', '-t', '0']);
    const podman = await detectPodman(IMAGE, tar);
    if (podman.engine) peers.push(podman.engine);
    else absent.push(`podman (${podman.why})`);

    const floors: Floor[] = [];
    for (const runtime of ['runc', 'crun']) {
      const path = which(runtime);
      if (!path) { absent.push(`${runtime} floor (not installed)`); continue; }
      try {
        const floor = await prepareFloor(runtime, path, rootfs, workDir);
        await floor.runOnce(-1);
        floors.push(floor);
      } catch (e) {
        if (isInterrupted()) throw e;
        absent.push(`${runtime} floor (${e instanceof Error ? e.message : String(e)})`);
      }
    }

    const ctx: BenchContext = {
      runs: opts.runs, heavyRuns: Math.min(opts.runs, 5), berth, dockerOnBerthd, peers, floors, berthBin, workDir, cleanup, progress,
    };
    progress(`engines: ${[berth, ...(dockerOnBerthd ? [dockerOnBerthd] : []), ...peers].map((e) => e.label).join(', ')}${floors.length ? `; floor: ${floors.map((f) => f.runtime).join(', ')}` : ''}`);
    if (absent.length) progress(`not compared: ${absent.join('; ')}`);

    const figures: Figure[] = [];
    if (wants(MEMORY_IDLE)) figures.push(await idleMemoryFigure(ctx));
    if (wants(MEMORY_PER_CONTAINER)) figures.push(await perContainerMemoryFigure(ctx));
    if (wants(RUN_RM_NONE, RUN_RM_DEFAULT)) figures.push(...await runRmFigures(ctx, new Set(selected)));
    if (wants(RUN_D_50, RM_F_50)) figures.push(...await runDetachedFigures(ctx));
    if (wants(PS_1000)) figures.push(...await psFigure(ctx));
    if (wants(...PING_TITLES)) figures.push(...await pingUnderLoadFigures(ctx));
    if (wants(...BUILD_TITLES)) figures.push(...await buildFigures(ctx, new Set(selected)));
    if (wants(...ALL_TITLES.filter((t) => t.startsWith('push') || t.startsWith('pull')))) figures.push(...await pushPullFigures(ctx, new Set(selected)));
    if (wants(BUILD_LAYER_HEAVY)) figures.push(...await layerHeavyBuildFigure(ctx));
    if (wants(BUILD_REAL)) figures.push(...await realBuildFigure(ctx));
    if (wants(...THROUGHPUT_TITLES)) figures.push(...await throughputFigures(ctx, new Set(selected)));
    if (wants(...RUNNING_1000_TITLES)) figures.push(...await thousandRunningFigures(ctx, new Set(selected)));

    const version = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')).version as string;
    const berthRuntime = await firstLine(berth.cli('info', '--format', '{{.DefaultRuntime}}'));
    const engineNotes = [
      `berth ${version} (berthd default runtime ${berthRuntime}; the daemon is started by the bench on empty roots)`,
      ...(docker && dockerOnBerthd ? [`Docker CLI ${await firstLine(dockerOnBerthd.cli('version', '--format', '{{.Client.Version}}'), dockerOnBerthd.env as Record<string, string>)} (classic builder: DOCKER_BUILDKIT=0)`] : []),
      ...peers.flatMap((e) => e.notes),
      ...await Promise.all(floors.map(async (f) => `floor: ${await firstLine([f.runtime, '--version'])}`)),
    ];
    const text = [
      '# berth benchmark', '',
      `${new Date().toISOString()} · Linux ${release()}, ${cpus().length} CPUs, ${(totalmem() / 2 ** 30).toFixed(0)} GiB · ` +
        `quick figures ${ctx.runs} runs, heavy figures (50 containers, builds, push/pull, ping under load) ${ctx.heavyRuns}, memory 1 · engines alternate run by run`, '',
      `Engines: ${engineNotes.join(' · ')}.`, '',
      ...(absent.length ? [`Not compared: ${absent.join('; ')}.`, ''] : []),
      'Every CLI runs with a clean environment (PATH and HOME only): NODE_EXTRA_CA_CERTS alone adds ~85 ms to every Node start. ' +
        'The ratio is the engine\'s median over the berth CLI\'s (in the figures through buildx, over berthd\'s through buildx): below 1, the engine is faster (or smaller) than berth.', '',
      renderTable(figures), '',
    ].join('\n');
    process.stdout.write(text);
    if (opts.write) {
      // The written analysis below the marker outlives each new table.
      const file = join(repo, 'bench', 'RESULTS.md');
      let old = '';
      try { old = readFileSync(file, 'utf8'); } catch { /* first run */ }
      const at = old.indexOf(ANALYSIS_MARKER);
      writeFileSync(file, at >= 0 ? `${text}\n${old.slice(at)}` : text);
      progress('wrote bench/RESULTS.md');
    }
  } finally {
    progress('cleaning up');
    await cleanup.runAll();
    if (cleanup.signalExitCode !== undefined) process.exit(cleanup.signalExitCode);
  }
}

main().catch((e) => {
  process.stderr.write(`bench: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
