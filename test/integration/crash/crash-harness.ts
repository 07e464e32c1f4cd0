/**
 * Crash-point testing (issue 9, "Systematic defences"): berthd is killed -9
 * at a random instant of an operation, restarted on the same roots, and the
 * data root and host are checked against ARCHITECTURE.md's "State on disk":
 * a crash at any instant leaves the old or the new state, never a half one,
 * and start-up reconciles the rest.
 *
 * The instants come from a seeded PRNG. Each test file prints its seed;
 * `BERTH_CRASH_SEED=<seed>` replays exactly those delays, and
 * `BERTH_CRASH_ROUNDS=<n>` runs more kills per operation than CI does.
 * A delay is a fraction drawn from [0, 1.1) of the operation's own
 * duration, as the last unkilled run of it took (the redo after each kill),
 * so the kills land inside it on fast and slow machines alike (and a few
 * just after it finished). The seed replays the fractions; the durations
 * are the machine's.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Daemon } from '../../helpers/daemon.js';
import { listProcesses, mountsUnder } from '../../helpers/host.js';
import { prng } from '../../../src/prng.js';

export interface CrashPlan {
  seed: number;
  rounds: number;
  random: () => number;
}

/** The seed (`BERTH_CRASH_SEED` or a fresh one, printed) and number of kills (`BERTH_CRASH_ROUNDS` or `defaultRounds`). */
export function crashPlan(operation: string, defaultRounds: number): CrashPlan {
  const fromEnv = process.env.BERTH_CRASH_SEED;
  const seed = fromEnv !== undefined && fromEnv !== '' ? Number(fromEnv) >>> 0 : (Math.random() * 2 ** 32) >>> 0;
  const rounds = Math.max(1, Number(process.env.BERTH_CRASH_ROUNDS) || defaultRounds);
  process.stdout.write(`crash test ${operation}: BERTH_CRASH_SEED=${seed} BERTH_CRASH_ROUNDS=${rounds}\n`);
  return { seed, rounds, random: prng(seed) };
}

/** Milliseconds `fn` takes (the unkilled run that scales the kill delays). */
export async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

/** What a round did, for failure messages: `pull round 3/10 (seed 42): killed 137 ms in`. */
export interface Round { what: string; delayMs: number }

/**
 * Starts `op` (a request to berthd), kills berthd -9 after `delayMs`, waits
 * for the request to end (it fails or was done already), records every
 * container id seen on disk meanwhile, and starts berthd again on the same roots.
 */
export async function killDuring(d: Daemon, op: () => Promise<unknown>, r: Round, seen: Set<string>): Promise<void> {
  let outcome = 'cut off';
  const pending = op().then(() => { outcome = 'finished first'; }, () => undefined);
  await sleep(r.delayMs);
  await d.kill9();
  await pending;
  await collectIds(d, seen);
  const restart = await timed(() => d.restart());
  process.stdout.write(`${r.what}: killed ${r.delayMs.toFixed(0)} ms in, the request ${outcome}; restarted in ${restart.toFixed(0)} ms\n`);
}

/** One operation killed at random points and redone after each restart (pull, load, build, commit). */
export interface KillAndRedo<R> {
  /** Names the operation in messages and picks its seed (`crashPlan`). */
  name: string;
  defaultRounds: number;
  /** The operation: a request to berthd. */
  op: () => Promise<R>;
  /** Throws unless `r` is a whole, successful run. */
  succeeded: (r: R, what: string) => void;
  /** Undoes the last run before each kill (removes the image it made), so every round starts alike. */
  undo: () => Promise<void>;
  /** Containers that must run through every kill; ids seen on disk. */
  expect: { running: string[]; seen: Set<string> };
  /** More checks after each restart, before the redo. */
  check?: (r: Round) => Promise<void>;
  /** More checks after each redo. */
  checkRedo?: (r: Round) => Promise<void>;
}

/**
 * Runs the operation once unkilled (its time scales the kill delays), then
 * for each round: undo, start it and kill berthd -9 at a random point of a
 * warm run's time, restart, check the data root is consistent, redo it and
 * check the redo succeeded. Ends with one more consistency check.
 */
export async function killAndRedo<R>(d: Daemon, o: KillAndRedo<R>): Promise<void> {
  const plan = crashPlan(o.name, o.defaultRounds);
  let took = await timed(async () => o.succeeded(await o.op(), o.name));
  process.stdout.write(`${o.name} takes ${took.toFixed(0)} ms unkilled\n`);
  for (let i = 1; i <= plan.rounds; i++) {
    await o.undo();
    const round = { what: `${o.name} round ${i}/${plan.rounds} (BERTH_CRASH_SEED=${plan.seed})`, delayMs: plan.random() * took * 1.1 };
    await killDuring(d, o.op, round, o.expect.seen);
    await assertConsistent(d, o.expect, round);
    await o.check?.(round);
    const t0 = performance.now();
    const again = await o.op();
    took = performance.now() - t0; // the next kill lands within a warm run's time
    o.succeeded(again, `${round.what}: ${o.name} again`);
    await o.checkRedo?.(round);
  }
  await assertConsistent(d, o.expect, { what: `${o.name}, after the last redo`, delayMs: 0 });
}

/** Container ids with a directory in the data root or exec root: what a crash may have left. */
export async function collectIds(d: Daemon, seen: Set<string>): Promise<void> {
  for (const dir of [join(d.dataRoot, 'containers'), join(d.execRoot, 'c')]) {
    for (const n of await readdir(dir).catch(() => [] as string[])) if (/^[0-9a-f]{64}$/.test(n)) seen.add(n);
  }
}

interface ListedContainer { Id: string; State: string }

async function json<T>(d: Daemon, path: string, what: string): Promise<T> {
  const r = await d.request('GET', path);
  assert.equal(r.status, 200, `${what}: GET ${path}: ${r.status} ${r.text}`);
  return r.json() as T;
}

async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(path)) h.update(c as Buffer);
  return h.digest('hex');
}

/** The container id a conmon serves (`-c <id>`), for container and exec conmons alike. */
function conmonContainer(argv: string[]): string | undefined {
  const i = argv.indexOf('-c');
  return i >= 0 ? argv[i + 1] : undefined;
}

export interface Expectations {
  /** Containers that ran before the kill and must run (unpaused) after the restart. */
  running: string[];
  /** Every container id this daemon ever had (created by the test or seen on disk). */
  seen: Set<string>;
}

/**
 * The invariants after a kill -9 and a restart:
 * - tmp/ was emptied by the start-up;
 * - every listed image inspects, has a history, and its layer directories
 *   exist; no layer directory exists that no listed image uses;
 * - every blob's content hashes to its name;
 * - every listed container inspects, its image exists, and no container
 *   directory (data root or exec root) exists without a listed container;
 * - `GET /system/df` answers;
 * - mounts under the data root, this daemon's network namespaces, cgroups
 *   and conmons all belong to listed, running containers;
 * - the containers that were running still run, unpaused.
 */
export async function assertConsistent(d: Daemon, x: Expectations, r: Round): Promise<void> {
  const at = `${r.what} (killed ${r.delayMs.toFixed(0)} ms in)`;

  assert.deepEqual(await readdir(join(d.dataRoot, 'tmp')), [], `${at}: tmp/ is not empty after the start-up`);

  const images = await json<{ Id: string }[]>(d, '/images/json?all=1', at);
  const usedLayers = new Set<string>();
  for (const { Id } of images) {
    const img = await json<{ RootFS: { Layers?: string[] }; GraphDriver: { Data: Record<string, string | undefined> } }>(d, `/images/${Id}/json`, at);
    await json(d, `/images/${Id}/history`, at);
    const data = img.GraphDriver.Data;
    const dirs = [data.UpperDir, ...(data.LowerDir ? data.LowerDir.split(':') : [])].filter((p): p is string => !!p);
    assert.equal(dirs.length, img.RootFS.Layers?.length ?? 0, `${at}: image ${Id} has ${img.RootFS.Layers?.length} layers but ${dirs.length} layer dirs`);
    for (const dir of dirs) {
      assert.ok(existsSync(dir), `${at}: layer dir ${dir} of image ${Id} is missing`);
      usedLayers.add(dir.split('/').slice(-2, -1)[0]);
    }
  }
  const layerDirs = await readdir(join(d.dataRoot, 'layers')).catch(() => [] as string[]);
  assert.deepEqual(layerDirs.filter((n) => !usedLayers.has(n)), [], `${at}: layer dirs that no listed image uses`);

  const blobDir = join(d.dataRoot, 'blobs', 'sha256');
  for (const name of await readdir(blobDir).catch(() => [] as string[])) {
    assert.equal(await sha256File(join(blobDir, name)), name, `${at}: blob ${name} does not hash to its name`);
  }

  const containers = await json<ListedContainer[]>(d, '/containers/json?all=1', at);
  const listed = new Map<string, { running: boolean; paused: boolean; network: string }>();
  for (const c of containers) {
    const ins = await json<{ Image: string; State: { Running: boolean; Paused: boolean }; HostConfig: { NetworkMode: string } }>(d, `/containers/${c.Id}/json`, at);
    await json(d, `/images/${ins.Image}/json`, `${at}: the image of container ${c.Id}`);
    listed.set(c.Id, { running: ins.State.Running, paused: ins.State.Paused, network: ins.HostConfig.NetworkMode });
  }
  for (const dir of [join(d.dataRoot, 'containers'), join(d.execRoot, 'c')]) {
    const orphans = (await readdir(dir).catch(() => [] as string[])).filter((n) => /^[0-9a-f]{64}$/.test(n) && !listed.has(n));
    assert.deepEqual(orphans, [], `${at}: directories in ${dir} without a listed container`);
  }
  await json(d, '/system/df', at);

  const runningIds = [...listed].filter(([, s]) => s.running).map(([id]) => id);
  for (const m of await mountsUnder(d.dataRoot)) {
    const rel = m.slice(d.dataRoot.length + 1).split('/');
    const ok = rel.length === 3 && rel[0] === 'containers' && rel[2] === 'merged' && runningIds.includes(rel[1]);
    assert.ok(ok, `${at}: mount ${m} belongs to no running container`);
  }
  const netns = await readdir('/run/netns').catch(() => [] as string[]);
  for (const id of x.seen) {
    if (!netns.includes(`berth-${id.slice(0, 12)}`)) continue;
    assert.ok(runningIds.includes(id), `${at}: network namespace berth-${id.slice(0, 12)} of container ${id} that is not running`);
  }
  const hierarchies = ['', ...(await readdir('/sys/fs/cgroup').catch(() => [] as string[]))];
  for (const id of x.seen) {
    if (runningIds.includes(id)) continue;
    const left = hierarchies.map((h) => join('/sys/fs/cgroup', h, 'berth', id)).filter((p) => existsSync(p));
    assert.deepEqual(left, [], `${at}: cgroups of container ${id} that is not running`);
  }
  for (const p of await listProcesses()) {
    if (p.comm !== 'conmon' || p.state === 'Z' || !p.cmdline.includes(d.execRoot)) continue;
    const id = conmonContainer(p.argv);
    assert.ok(id && runningIds.includes(id), `${at}: conmon ${p.pid} (${p.cmdline}) serves no running container`);
  }

  for (const id of x.running) {
    const s = listed.get(id);
    assert.ok(s, `${at}: container ${id} that ran before the kill is gone`);
    assert.ok(s.running && !s.paused, `${at}: container ${id} ran before the kill; now running=${s.running} paused=${s.paused}`);
  }
}

/** `berth system df` through the CLI (a whole process: once per file, not per round). */
export async function assertSystemDf(d: Daemon): Promise<void> {
  const r = await d.berth(['system', 'df']);
  assert.equal(r.code, 0, r.stderr);
}

/** A streamed response's JSON messages (pull, push, build, load); fails on an `error` message. */
export function assertStreamOk(text: string, what: string): void {
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const m = JSON.parse(line) as { error?: string; errorDetail?: unknown };
    assert.ok(!m.error, `${what}: ${m.error}`);
  }
}

/**
 * busybox plus two layers of its own (`/big`: `bigKiB` of random bytes,
 * `/small`: a line), committed and tagged `ref`; the intermediate image is
 * untagged and goes when `ref` is removed.
 */
export async function makeLayeredImage(d: Daemon, ref: string, bigKiB = 2048): Promise<string> {
  const step = async (image: string, script: string, tag?: string): Promise<string> => {
    const c = await d.request('POST', '/containers/create', { Image: image, Cmd: ['sh', '-c', script] });
    assert.equal(c.status, 201, c.text);
    const id = c.json().Id as string;
    try {
      assert.equal((await d.request('POST', `/containers/${id}/start`)).status, 204);
      const w = await d.request('POST', `/containers/${id}/wait`, undefined, { timeoutMs: 60_000 });
      assert.equal(w.json().StatusCode, 0, `${script}: exit ${w.text}`);
      const repo = tag ? `&repo=${encodeURIComponent(tag.slice(0, tag.lastIndexOf(':')))}&tag=${tag.slice(tag.lastIndexOf(':') + 1)}` : '';
      const r = await d.request('POST', `/commit?container=${id}${repo}`);
      assert.equal(r.status, 201, r.text);
      return r.json().Id as string;
    } finally {
      await d.request('DELETE', `/containers/${id}?force=1`);
    }
  };
  const middle = await step('busybox', `head -c ${bigKiB * 1024} /dev/urandom > /big`);
  return step(middle, 'echo small-$RANDOM > /small', ref);
}

/** Runs a round; a failure carries the tail of berthd's log (all its runs), which usually says why. */
export async function withDaemonLog<T>(d: Daemon, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    const tail = d.logs().split('\n').slice(-30).join('\n');
    // The reporter prints the stack, which carries the message it was made with.
    if (e instanceof Error) e.stack = `${e.stack ?? e.message}\n--- berthd.log (tail):\n${tail}`;
    throw e;
  }
}
