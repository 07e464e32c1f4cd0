/**
 * Issue 2, acceptance 5: containers outlive a kill -9 of berthd; after a
 * restart a running one is still managed (ps, logs, stop) and one that
 * exited meanwhile shows its exit code.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startDaemon, skipUnlessRoot, waitFor, type Daemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';
import { createContainer, inspect, logs, remove, start } from './api.js';

describe('berthd restarts', { skip: skipUnlessRoot() }, () => {
  let d!: Daemon;
  before(async () => { d = await startDaemon(); await importBusybox(d); }, { timeout: 120_000 });
  after(async () => { await d?.stop(); });

  test('kill -9 of berthd leaves containers running, and a restarted berthd manages them', async () => {
    const long = await createContainer(d, { Cmd: ['sh', '-c', 'echo started; trap "exit 0" TERM; while true; do sleep 0.1; done'] }, 'long');
    const short = await createContainer(d, { Cmd: ['sh', '-c', 'sleep 1; exit 7'] }, 'short');
    try {
      await start(d, long);
      await start(d, short);
      await d.kill9();
      // While berthd is down, `short` exits; conmon records it.
      await new Promise((r) => setTimeout(r, 2000));
      await d.restart();

      const ps = await d.request('GET', '/containers/json');
      assert.deepEqual((ps.json() as { Id: string }[]).map((c) => c.Id), [long]);
      const s = await inspect(d, short);
      assert.equal(s.State.Status, 'exited');
      assert.equal(s.State.ExitCode, 7);
      assert.match(await logs(d, long), /started/);

      const stop = await d.request('POST', `/containers/${long}/stop?t=5`, undefined, { timeoutMs: 20_000 });
      assert.equal(stop.status, 204, stop.text);
      const l = await inspect(d, long);
      assert.equal(l.State.Status, 'exited');
      assert.equal(l.State.ExitCode, 0);
    } finally {
      await remove(d, long);
      await remove(d, short);
    }
  });

  test('a container started after a restart is watched for its exit', async () => {
    await d.restart();
    const id = await createContainer(d, { Cmd: ['sh', '-c', 'exit 4'] });
    try {
      await start(d, id);
      await waitFor(async () => (await inspect(d, id)).State.Status === 'exited', 10_000);
      assert.equal((await inspect(d, id)).State.ExitCode, 4);
    } finally {
      await remove(d, id);
    }
  });
});
