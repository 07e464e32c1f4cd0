/**
 * Crash points of `start` (issue 9; the window builds and `run` cross at
 * every step): berthd is killed -9 at random instants of starting a
 * container. After the restart the container either runs (the start got
 * far enough to be recorded) or is stopped with nothing of the half start
 * left — no conmon, container process, cgroup, network namespace or rootfs
 * mount — and starting it again works.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startDaemon, skipUnlessRoot, type Daemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';
import { createContainer, remove, start } from '../engine/api.js';
import { assertConsistent, crashPlan, killDuring, timed, withDaemonLog } from './crash-harness.js';

const LOOP = ['sh', '-c', 'while true; do sleep 0.1; done'];

describe('kill -9 during start', { skip: skipUnlessRoot() }, () => {
  let d!: Daemon;
  const seen = new Set<string>();

  before(async () => {
    d = await startDaemon();
    await importBusybox(d);
  }, { timeout: 120_000 });
  after(async () => { await d?.stop(); });

  const fresh = async (): Promise<string> => {
    const id = await createContainer(d, { Cmd: LOOP });
    seen.add(id);
    return id;
  };
  const startReq = (id: string) => d.request('POST', `/containers/${id}/start`, undefined, { timeoutMs: 60_000 });

  test('the container runs, or is stopped with nothing of the start left, and starts again', { timeout: 600_000 }, () => withDaemonLog(d, async () => {
    const plan = crashPlan('start', 8);
    const first = await fresh();
    let took = await timed(() => start(d, first));
    await remove(d, first);
    for (let i = 1; i <= plan.rounds; i++) {
      const id = await fresh();
      const round = { what: `start round ${i}/${plan.rounds} (BERTH_CRASH_SEED=${plan.seed})`, delayMs: plan.random() * took * 1.1 };
      await killDuring(d, () => startReq(id), round, seen);
      await assertConsistent(d, { running: [], seen }, round);
      const t0 = performance.now();
      const again = await startReq(id);
      if (again.status === 204) took = performance.now() - t0; // a warm start paces the next kill
      assert.ok(again.status === 204 || again.status === 304, `${round.what}: start again: ${again.status} ${again.text}`);
      const s = (await d.request('GET', `/containers/${id}/json`)).json();
      assert.ok(s.State.Running && !s.State.Paused, `${round.what}: not running after the second start: ${JSON.stringify(s.State)}`);
      await remove(d, id);
    }
    await assertConsistent(d, { running: [], seen }, { what: 'start, after the last redo', delayMs: 0 });
  }));
});
