/**
 * Crash points of `rm -f` (issue 9): berthd is killed -9 at random instants
 * of `DELETE /containers/{id}?force=1&v=1` of a running container with an
 * anonymous volume. After the restart the container is either fully there
 * (inspects, and removing it again works) or fully gone (404, nothing of it
 * mounted or running), its anonymous volume goes with it either way (`-v`
 * outlives the crash), and a bystander container keeps running.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startDaemon, skipUnlessRoot, type Daemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';
import { createContainer, start } from '../engine/api.js';
import { assertConsistent, assertSystemDf, crashPlan, killDuring, withDaemonLog, timed } from './crash-harness.js';

const LOOP = ['sh', '-c', 'echo data > /data/f; while true; do sleep 0.1; done'];

describe('kill -9 during rm -f of a running container', { skip: skipUnlessRoot() }, () => {
  let d!: Daemon;
  const seen = new Set<string>();
  let bystander = '';

  before(async () => {
    d = await startDaemon();
    await importBusybox(d);
    bystander = await createContainer(d, { Cmd: LOOP, Volumes: { '/data': {} } }, 'bystander');
    seen.add(bystander);
    await start(d, bystander);
  }, { timeout: 120_000 });
  after(async () => { await d?.stop(); });

  const victim = async (): Promise<string> => {
    const id = await createContainer(d, { Cmd: LOOP, Volumes: { '/data': {} } });
    seen.add(id);
    await start(d, id);
    return id;
  };
  const volumeOf = async (id: string): Promise<string> =>
    (await d.request('GET', `/containers/${id}/json`)).json<{ Mounts: { Name: string }[] }>().Mounts[0].Name;
  const volumes = async (): Promise<string[]> =>
    ((await d.request('GET', '/volumes')).json<{ Volumes: { Name: string }[] | null }>().Volumes ?? []).map((v) => v.Name);
  const rm = (id: string) => d.request('DELETE', `/containers/${id}?force=1&v=1`, undefined, { timeoutMs: 60_000 });

  test('the container is either fully there or fully gone, and rm works again', { timeout: 600_000 }, () => withDaemonLog(d, async () => {
    const plan = crashPlan('rm', 8);
    const first = await victim();
    const took = await timed(async () => assert.equal((await rm(first)).status, 204));
    process.stdout.write(`rm takes ${took.toFixed(0)} ms unkilled\n`);
    for (let i = 1; i <= plan.rounds; i++) {
      const id = await victim();
      const volume = await volumeOf(id);
      const round = { what: `rm round ${i}/${plan.rounds} (BERTH_CRASH_SEED=${plan.seed})`, delayMs: plan.random() * took * 1.1 };
      await killDuring(d, () => rm(id), round, seen);
      await assertConsistent(d, { running: [bystander], seen }, round);
      const there = await d.request('GET', `/containers/${id}/json`);
      assert.ok(there.status === 200 || there.status === 404, `${round.what}: inspect: ${there.status} ${there.text}`);
      const again = await rm(id);
      assert.equal(again.status, there.status === 200 ? 204 : 404, `${round.what}: rm again: ${again.status} ${again.text}`);
      assert.equal((await d.request('GET', `/containers/${id}/json`)).status, 404, `${round.what}: still there after rm`);
      assert.ok(!(await volumes()).includes(volume), `${round.what}: the anonymous volume ${volume} outlived rm -v`);
    }
    await assertConsistent(d, { running: [bystander], seen }, { what: `rm, after the last redo`, delayMs: 0 });
    await assertSystemDf(d);
  }));
});
