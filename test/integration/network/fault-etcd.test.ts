/**
 * The etcd scenario (examples/etcd-partition/run.mjs) end to end against a
 * private berthd: a 3-member cluster from Debian's etcd-server, clients
 * recording a history through every member while `berth fault run`
 * partitions the leader away, heals, loses 30% of a follower's packets,
 * delays a member and pauses a follower; `berth fault check` finds the
 * history valid. The deliberately broken client (it acknowledges writes
 * before etcd commits them) must make the checker fail.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDaemon, skipUnlessRoot, type Daemon } from '../../helpers/daemon.js';
import { repoRoot } from '../../helpers/paths.js';

const ETCD = '/usr/bin/etcd';

describe('the etcd partition scenario', { skip: skipUnlessRoot() || (existsSync(ETCD) ? false : `no ${ETCD} (Debian's etcd-server)`) }, () => {
  let d!: Daemon;
  const out = mkdtempSync(join(tmpdir(), 'berth-etcd-scenario-'));

  const scenario = async (extra: string[]) => {
    const c = d.berthCommand([]);
    const child = spawn(process.execPath, [join(repoRoot, 'examples/etcd-partition/run.mjs'), '--out', join(out, extra.join('') || 'ok'), ...extra], {
      env: { ...process.env, ...c.env, BERTH: JSON.stringify(c.argv) } as NodeJS.ProcessEnv, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => { stdout += b.toString('utf8'); });
    child.stderr.on('data', (b: Buffer) => { stderr += b.toString('utf8'); });
    const code = await new Promise<number | null>((r) => child.once('close', r));
    return { code, stdout, stderr };
  };

  before(async () => {
    d = await startDaemon();
  }, { timeout: 60_000 });

  after(async () => {
    await d?.request('DELETE', '/faults');
    await d?.berth(['rm', '-f', 'etcdpart1', 'etcdpart2', 'etcdpart3']);
    await d?.berth(['network', 'rm', 'etcdpart']);
    await d?.stop();
    rmSync(out, { recursive: true, force: true });
  });

  test('the cluster keeps its promises through the schedule', async (t) => {
    const r = await scenario([]);
    t.diagnostic(r.stdout);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /apply partition etcdpart\d from etcdpart\d,etcdpart\d/);
    assert.match(r.stdout, /undo pause etcdpart\d/);
    assert.match(r.stdout, /leader etcdpart\d isolated at \d+ ms: etcdpart\d seen leading \d+ ms later/);
    assert.match(r.stdout, /\nvalid: /);
    assert.deepEqual((await d.request('GET', '/faults')).json(), [], 'every fault undone');
  });

  test('a client that acknowledges before the commit fails the check', async (t) => {
    const r = await scenario(['--broken']);
    t.diagnostic(r.stdout);
    assert.equal(r.code, 1, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /INVALID: \d+ violation/);
  });
});
