/**
 * Issue 9, item 8: commit pauses a running container while it reads its
 * changes. When berthd is killed (-9) during that pause, the restarted
 * berthd resumes the container, since the pause was its own; a pause the user
 * asked for survives a restart.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startDaemon, skipUnlessRoot, runCommand, type Daemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';
import { createContainer, inspect, logs, remove, start } from './api.js';

describe('pauses across berthd restarts', { skip: skipUnlessRoot() }, () => {
  let d!: Daemon;
  before(async () => { d = await startDaemon(); await importBusybox(d); }, { timeout: 120_000 });
  after(async () => { await d?.stop(); });

  /** What the OCI runtime itself says (`running`, `paused`): the cgroup freezer, not berth's record. */
  async function runtimeStatus(id: string): Promise<string> {
    for (const rt of ['crun', 'runc']) {
      const root = join(d.execRoot, 'runtime', rt);
      if (!existsSync(join(root, id))) continue;
      const r = await runCommand(rt, ['--root', root, 'state', id]);
      assert.equal(r.code, 0, r.stderr);
      return JSON.parse(r.stdout).status as string;
    }
    throw new Error(`no runtime state for ${id}`);
  }

  test('kill -9 of berthd while commit has the container paused: the restarted berthd resumes it', { timeout: 300_000 }, async () => {
    // A big upper dir makes the commit (and so its pause) last; bounded tries with more data each time.
    let caught = false;
    for (let attempt = 0, mib = 96; attempt < 4 && !caught; attempt++, mib *= 2) {
      const id = await createContainer(d, {
        Cmd: ['sh', '-c', `for i in $(seq 1 ${mib / 8}); do head -c 8388608 /dev/urandom > /big$i; done; echo ready; exec sleep 600`],
      });
      try {
        await start(d, id);
        for (let i = 0; i < 600 && !(await logs(d, id)).includes('ready'); i++) await sleep(100);
        const commit = d.request('POST', `/commit?container=${id}&repo=paused-commit`, {}, { timeoutMs: 120_000 }).then(() => 'done', () => 'cut');
        let finished = false;
        void commit.then(() => { finished = true; });
        while (!finished) {
          const state = (await inspect(d, id)).State;
          if (state.Paused) { await d.kill9(); caught = true; break; }
          await sleep(10);
        }
        await commit;
        if (!caught) continue;
        await d.restart();

        const s = (await inspect(d, id)).State;
        assert.equal(s.Status, 'running');
        assert.equal(s.Paused, false);
        assert.equal(await runtimeStatus(id), 'running');
        // And it really runs: exec answers.
        const ex = await d.berth(['exec', id, 'echo', 'thawed'], { timeoutMs: 20_000 });
        assert.equal(ex.stdout.trim(), 'thawed', ex.stderr);
      } finally {
        await remove(d, id);
        await d.request('DELETE', '/images/paused-commit?force=1');
      }
    }
    assert.ok(caught, 'commit never showed the container paused long enough to kill berthd');
  });

  test('a pause the user asked for stays paused across kill -9 and a restart', async () => {
    const id = await createContainer(d, { Cmd: ['sleep', '600'] });
    try {
      await start(d, id);
      assert.equal((await d.request('POST', `/containers/${id}/pause`)).status, 204);
      await d.kill9();
      await d.restart();
      assert.equal((await inspect(d, id)).State.Status, 'paused');
      assert.equal(await runtimeStatus(id), 'paused');
      await d.restart(); // a graceful one too
      assert.equal((await inspect(d, id)).State.Status, 'paused');
      assert.equal(await runtimeStatus(id), 'paused');
      assert.equal((await d.request('POST', `/containers/${id}/unpause`)).status, 204);
      assert.equal(await runtimeStatus(id), 'running');
    } finally {
      await remove(d, id);
    }
  });
});
