/**
 * Figure 8: throughput of the two commands that move a container's bytes to
 * the user: `logs` of a container that wrote 1 GiB to stdout (64-byte lines,
 * read by the bench through a pipe, every byte counted), and `cp` of a
 * 1 GiB tree (16 directories × 64 files × 1 MiB of random data) out of a
 * stopped container into a fresh host directory. Each engine's container is
 * made once, before its first measured run (not timed), and removed at the
 * end; the copy's destination is removed after each run (not timed).
 */
import { mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchContext } from '../context.js';
import { IMAGE, type Engine } from '../engines.js';
import { check, run } from '../proc.js';
import { alternate, type Subject } from '../alternate.js';
import { newFigure, type Figure } from '../table.js';

export const LOGS_1G = 'logs of a container that wrote 1 GiB';
export const CP_1G = 'cp of a 1 GiB tree out of a container';
export const THROUGHPUT_TITLES = [LOGS_1G, CP_1G];

const GIB = 1 << 30;
const LOG_SCRIPT = `yes "$(printf '%063d' 0)" | head -c ${GIB}`;
const TREE_SCRIPT = 'for d in $(seq 1 16); do mkdir -p /data/d$d; for f in $(seq 1 64); do head -c 1048576 /dev/urandom > /data/d$d/f$f; done; done';

function treeBytes(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) n += treeBytes(p);
    else if (e.isFile()) n += statSync(p).size;
  }
  return n;
}

/** Runs `script` in a new container to its end; its id. */
async function finishedContainer(e: Engine, script: string): Promise<string> {
  const r = await check(e.cli('run', '-d', ...e.runFlags, '--network', 'none', IMAGE, 'sh', '-c', script), { env: e.env });
  const id = r.stdout.trim().split('\n').pop()!.trim();
  const waited = await check(e.cli('wait', id), { env: e.env, timeoutMs: 900_000 });
  if (waited.stdout.trim() !== '0') throw new Error(`${e.label}: the set-up container exited ${waited.stdout.trim()}`);
  return id;
}

function subject(ctx: BenchContext, e: Engine, selected: Set<string>): Subject {
  let logger: string | undefined;
  let tree: string | undefined;
  ctx.cleanup.add(`${e.label}: throughput containers`, async () => {
    const ids = [logger, tree].filter((x): x is string => x !== undefined);
    if (ids.length) await run(e.cli('rm', ...e.rmForceFlags, ...ids), { env: e.env });
  });
  return {
    label: e.label,
    measure: async (runNo) => {
      const values: Record<string, number> = {};
      if (selected.has(LOGS_1G)) {
        logger ??= await finishedContainer(e, LOG_SCRIPT);
        const r = await check(e.cli('logs', logger), { env: e.env, countStdoutOnly: true });
        if (r.stdoutBytes !== GIB) throw new Error(`${e.label}: logs gave ${r.stdoutBytes} bytes, not ${GIB}`);
        values[LOGS_1G] = r.ms;
      }
      if (selected.has(CP_1G)) {
        tree ??= await finishedContainer(e, TREE_SCRIPT);
        const dest = join(ctx.workDir, `cp-${e.kind}-${runNo}`);
        mkdirSync(dest);
        try {
          const r = await check(e.cli('cp', `${tree}:/data`, dest), { env: e.env });
          const got = treeBytes(dest);
          if (got !== GIB) throw new Error(`${e.label}: cp wrote ${got} bytes, not ${GIB}`);
          values[CP_1G] = r.ms;
        } finally {
          await run(['rm', '-rf', '--one-file-system', dest]);
        }
      }
      return values;
    },
  };
}

export async function throughputFigures(ctx: BenchContext, selected: Set<string>): Promise<Figure[]> {
  const figures = THROUGHPUT_TITLES.filter((t) => selected.has(t)).map((t) => newFigure(t));
  ctx.progress(figures.map((f) => f.title).join(' / '));
  await alternate(ctx.heavyRuns, [ctx.berth, ...(ctx.dockerOnBerthd ? [ctx.dockerOnBerthd] : []), ...ctx.peers].map((e) => subject(ctx, e, selected)), figures, ctx.progress);
  return figures;
}
