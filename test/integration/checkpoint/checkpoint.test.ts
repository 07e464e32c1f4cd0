/**
 * Checkpoint and restore with CRIU through a private berthd and the real
 * runc + criu: a counter checkpointed (exit) and restored counts on from the
 * number after its last one; `checkpoint ls|rm` through berth's CLI and the
 * Docker CLI; names and a corrupt checkpoint refused cleanly (the container
 * stays exited, nothing left behind); crun without CRIU said plainly.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon, waitFor, type Daemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';

const COUNTER = 'i=0; while true; do echo $i; i=$((i+1)); sleep 0.1; done';
/** Why CRIU cannot dump on this host (`criu check`), or null. Debian 12's CRIU 3.17 fails on kernels ≥ 6.13 (vDSO layout). */
function criuCheck(): string | null {
  try {
    execFileSync('criu', ['check'], { stdio: 'pipe' });
    return null;
  } catch (e) {
    return `criu check fails here: ${String((e as { stderr?: Buffer }).stderr ?? e).split('\n')[0]}`;
  }
}
const criuProblem = criuCheck();

async function numbers(d: Daemon, id: string): Promise<number[]> {
  const r = await d.berth(['logs', id]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.split('\n').filter((l) => l.trim() !== '').map(Number);
}

async function state(d: Daemon, id: string): Promise<{ Status: string; Running: boolean; Pid: number }> {
  return (await d.request('GET', `/containers/${id}/json`)).json().State;
}

test('checkpoint and restore with CRIU', async (t) => {
  // --experimental: the Docker CLI shows its checkpoint commands only to a daemon that says so.
  const d = await startDaemon({ runtime: 'runc', args: ['--experimental'] });
  t.after(() => d.stop());
  await importBusybox(d);

  await t.test('a checkpointed (exit) counter restored counts on from the next number', { skip: criuProblem ?? false }, async () => {
    const run = await d.berth(['run', '-d', '--network', 'none', 'busybox', 'sh', '-c', COUNTER]);
    assert.equal(run.code, 0, run.stderr);
    const id = run.stdout.trim();
    await waitFor(async () => (await numbers(d, id)).length >= 5, 20_000, 'the counter to count');
    const cp = await d.berth(['checkpoint', 'create', id, 'cp1']);
    assert.equal(cp.code, 0, cp.stderr);
    assert.equal(cp.stdout.trim(), 'cp1');
    const st = await state(d, id);
    assert.equal(st.Status, 'exited');
    const before = await numbers(d, id);
    assert.deepEqual(before, before.map((_, i) => i), 'one run, counting from 0');
    const last = before[before.length - 1];

    const ls = await d.berth(['checkpoint', 'ls', id]);
    assert.equal(ls.code, 0, ls.stderr);
    assert.deepEqual(ls.stdout.trim().split('\n'), ['CHECKPOINT NAME', 'cp1']);

    const start = await d.berth(['start', '--checkpoint', 'cp1', id]);
    assert.equal(start.code, 0, start.stderr);
    assert.equal((await state(d, id)).Status, 'running');
    await waitFor(async () => (await numbers(d, id)).length >= before.length + 3, 20_000, 'the restored counter to count');
    const after = await numbers(d, id);
    assert.equal(after[before.length], last + 1, `after ${last} came ${after[before.length]}`);
    assert.deepEqual(after, after.map((_, i) => i), 'no number lost or repeated');

    // The checkpoint stays until removed; a second one of the same name is refused.
    const dup = await d.request('POST', `/containers/${id}/checkpoints`, { CheckpointID: 'cp1', Exit: false });
    assert.equal(dup.status, 409, dup.text);
    const rm = await d.berth(['checkpoint', 'rm', id, 'cp1']);
    assert.equal(rm.code, 0, rm.stderr);
    assert.deepEqual((await d.request('GET', `/containers/${id}/checkpoints`)).json(), []);
    const again = await d.berth(['checkpoint', 'rm', id, 'cp1']);
    assert.notEqual(again.code, 0);
    assert.match(again.stderr, /checkpoint cp1 does not exist/);

    // --leave-running: the container goes on, the checkpoint is there.
    const lr = await d.berth(['checkpoint', 'create', '--leave-running', id, 'live']);
    assert.equal(lr.code, 0, lr.stderr);
    assert.equal((await state(d, id)).Status, 'running');
    assert.deepEqual((await d.request('GET', `/containers/${id}/checkpoints`)).json(), [{ Name: 'live' }]);
    const dir = join(d.dataRoot, 'containers', id, 'checkpoints');
    const rmc = await d.berth(['rm', '-f', id]);
    assert.equal(rmc.code, 0, rmc.stderr);
    assert.ok(!existsSync(dir), 'checkpoints go with the container');
  });

  await t.test('on the default bridge the restored counter counts on, in a network namespace berth set up anew', { skip: criuProblem ?? false }, async () => {
    const run = await d.berth(['run', '-d', 'busybox', 'sh', '-c', COUNTER]);
    assert.equal(run.code, 0, run.stderr);
    const id = run.stdout.trim();
    await waitFor(async () => (await numbers(d, id)).length >= 3, 20_000, 'the counter to count');
    const cp = await d.berth(['checkpoint', 'create', id, 'b1']);
    assert.equal(cp.code, 0, cp.stderr);
    const before = await numbers(d, id);
    const start = await d.berth(['start', '--checkpoint', 'b1', id]);
    assert.equal(start.code, 0, start.stderr);
    await waitFor(async () => (await numbers(d, id)).length >= before.length + 2, 20_000, 'the restored counter to count');
    assert.equal((await numbers(d, id))[before.length], before[before.length - 1] + 1);
    const ip = await d.berth(['exec', id, 'ip', '-4', 'addr', 'show', 'eth0']);
    assert.match(ip.stdout, /inet \d+\.\d+\.\d+\.\d+\//, ip.stderr);
    assert.equal((await d.berth(['rm', '-f', id])).code, 0);
  });

  await t.test('where CRIU cannot work, checkpoint says why and leaves the container running', { skip: !criuProblem && 'criu works here' }, async () => {
    const run = await d.berth(['run', '-d', '--network', 'none', 'busybox', 'sleep', '1000']);
    const id = run.stdout.trim();
    const cp = await d.berth(['checkpoint', 'create', id, 'cp1']);
    assert.notEqual(cp.code, 0);
    assert.match(cp.stderr, /cannot checkpoint container .*: CRIU \S+ cannot work on this host \(kernel .*\): criu check failed: /);
    assert.equal((await state(d, id)).Status, 'running');
    assert.deepEqual((await d.request('GET', `/containers/${id}/checkpoints`)).json(), []);
    assert.ok(!existsSync(join(d.dataRoot, 'containers', id, 'checkpoints')) || readdirSync(join(d.dataRoot, 'containers', id, 'checkpoints')).length === 0);
    assert.equal((await d.berth(['rm', '-f', id])).code, 0);
  });

  await t.test('crun without CRIU support is named', { skip: /\+CRIU/.test(execFileSync('crun', ['--version'], { encoding: 'utf8' })) && 'this crun has CRIU' }, async () => {
    const run = await d.berth(['run', '-d', '--runtime', 'crun', '--network', 'none', 'busybox', 'sleep', '1000']);
    assert.equal(run.code, 0, run.stderr);
    const id = run.stdout.trim();
    const r = await d.request('POST', `/containers/${id}/checkpoints`, { CheckpointID: 'c1', Exit: false });
    assert.equal(r.status, 400, r.text);
    assert.match(r.json().message, /needs an OCI runtime built with CRIU support: crun is not/);
    assert.equal((await state(d, id)).Status, 'running');
    assert.equal((await d.berth(['rm', '-f', id])).code, 0);
  });

  await t.test("the Docker CLI's checkpoint commands and start --checkpoint", async () => {
    const v = await d.docker(['version', '--format', '{{.Server.Experimental}}']);
    assert.equal(v.stdout.trim(), 'true', v.stderr);
    const run = await d.docker(['run', '-d', '--network', 'none', 'busybox', 'sleep', '1000']);
    assert.equal(run.code, 0, run.stderr);
    const id = run.stdout.trim();
    const create = await d.docker(['checkpoint', 'create', '--leave-running', id, 'd1']);
    if (criuProblem) {
      assert.notEqual(create.code, 0);
      assert.match(create.stderr, /cannot work on this host/);
      // A checkpoint's images put in place by hand stand in for a dump CRIU cannot make here.
      mkdirSync(join(d.dataRoot, 'containers', id, 'checkpoints', 'd1'), { recursive: true });
      writeFileSync(join(d.dataRoot, 'containers', id, 'checkpoints', 'd1', 'inventory.img'), 'not an image');
    } else {
      assert.equal(create.code, 0, create.stderr);
    }
    const ls = await d.docker(['checkpoint', 'ls', id]);
    assert.equal(ls.code, 0, ls.stderr);
    assert.deepEqual(ls.stdout.trim().split('\n').map((l) => l.trim()), ['CHECKPOINT NAME', 'd1']);
    assert.equal((await d.docker(['stop', '-t', '0', id])).code, 0);
    const start = await d.docker(['start', '--checkpoint', 'd1', id]);
    if (criuProblem) {
      assert.notEqual(start.code, 0);
      assert.match(start.stderr, /OCI runtime restore failed/);
      assert.equal((await state(d, id)).Status, 'exited');
    } else {
      assert.equal(start.code, 0, start.stderr);
      assert.equal((await state(d, id)).Status, 'running');
    }
    const rm = await d.docker(['checkpoint', 'rm', id, 'd1']);
    assert.equal(rm.code, 0, rm.stderr);
    assert.equal((await d.docker(['checkpoint', 'ls', id])).stdout.trim(), 'CHECKPOINT NAME');
    assert.equal((await d.docker(['rm', '-f', id])).code, 0);
  });

  await t.test('an established TCP connection is refused before CRIU is asked', async () => {
    // A connection over the container's own loopback: established in its network namespace.
    const run = await d.berth(['run', '-d', '--network', 'none', 'busybox', 'sh', '-c', 'sleep 1000 | nc -l -p 5000 & sleep 0.3; sleep 1000 | nc 127.0.0.1 5000 & sleep 1000']);
    assert.equal(run.code, 0, run.stderr);
    const id = run.stdout.trim();
    const pid = (await state(d, id)).Pid;
    await waitFor(() => ['tcp', 'tcp6'].some((f) => { try { return readFileSync(`/proc/${pid}/net/${f}`, 'utf8').split('\n').slice(1).some((l) => l.trim().split(/\s+/)[3] === '01'); } catch { return false; } }), 20_000, 'the connection');
    const cp = await d.berth(['checkpoint', 'create', id, 'tcp1']);
    assert.notEqual(cp.code, 0);
    assert.match(cp.stderr, /established TCP connections, which CRIU cannot dump without --tcp-established/);
    assert.equal((await state(d, id)).Status, 'running');
    assert.deepEqual((await d.request('GET', `/containers/${id}/checkpoints`)).json(), []);
    assert.equal((await d.berth(['rm', '-f', id])).code, 0);
  });

  await t.test('names, bodies and custom directories are checked', async () => {
    const run = await d.berth(['run', '-d', '--network', 'none', 'busybox', 'sleep', '1000']);
    const id = run.stdout.trim();
    for (const bad of ['../x', 'a/b', '.hidden', 'x', '', 7]) {
      const r = await d.request('POST', `/containers/${id}/checkpoints`, { CheckpointID: bad });
      assert.equal(r.status, 400, `${JSON.stringify(bad)}: ${r.text}`);
    }
    const dirReq = await d.request('POST', `/containers/${id}/checkpoints`, { CheckpointID: 'ok1', CheckpointDir: '/tmp' });
    assert.equal(dirReq.status, 400, dirReq.text);
    const arr = await d.request('POST', `/containers/${id}/checkpoints`, [1]);
    assert.equal(arr.status, 400, arr.text);
    const del = await d.request('DELETE', `/containers/${id}/checkpoints/.x.tmp`);
    assert.equal(del.status, 400, del.text);
    const slash = await d.request('DELETE', `/containers/${id}/checkpoints/${encodeURIComponent('../x')}`);
    assert.equal(slash.status, 400, slash.text);
    assert.match(slash.json().message, /invalid checkpoint ID \(\.\.\/x\)/);
    const st = await d.request('POST', `/containers/${id}/start?checkpoint=..%2F..`);
    assert.equal(st.status, 400, st.text);
    assert.equal((await state(d, id)).Status, 'running');
    const stopped = await d.berth(['rm', '-f', id]);
    assert.equal(stopped.code, 0);
  });

  await t.test('a corrupt checkpoint is refused; the container stays exited with nothing left behind', async () => {
    const run = await d.berth(['run', '-d', '--network', 'none', 'busybox', 'sh', '-c', COUNTER]);
    const id = run.stdout.trim();
    await waitFor(async () => (await numbers(d, id)).length >= 2, 20_000, 'the counter to count');
    assert.equal((await d.berth(['stop', '-t', '0', id])).code, 0);
    // Images CRIU cannot read: garbage where the inventory and process tree should be.
    const images = join(d.dataRoot, 'containers', id, 'checkpoints', 'good');
    mkdirSync(images, { recursive: true });
    writeFileSync(join(images, 'inventory.img'), 'not an image');
    writeFileSync(join(images, 'pstree.img'), 'not an image');
    mkdirSync(join(d.dataRoot, 'containers', id, 'checkpoints', 'partial'));
    const partial = await d.request('POST', `/containers/${id}/start?checkpoint=partial`);
    assert.equal(partial.status, 400, partial.text);
    assert.match(partial.json().message, /incomplete or corrupt/);
    const start = await d.berth(['start', '--checkpoint', 'good', id]);
    assert.notEqual(start.code, 0);
    assert.match(start.stderr, /OCI runtime restore failed/);
    if (criuProblem) assert.match(start.stderr, /cannot work on this host/);
    const st = await state(d, id);
    assert.equal(st.Status, 'exited');
    assert.equal(st.Running, false);
    // Nothing of this container's failed restore: no conmon, processes, cgroups or rootfs mount.
    const left = await d.leftovers();
    const mine = [...left.mounts, ...left.cgroups, ...left.processes.map((p) => `${p.cmdline} ${p.reason}`)].filter((x) => x.includes(id) || x.includes(id.slice(0, 12)));
    assert.deepEqual(mine, []);
    // A missing checkpoint is a 404; a plain start still works afterwards.
    assert.equal((await d.request('POST', `/containers/${id}/start?checkpoint=nope`)).status, 404);
    const plain = await d.berth(['start', id]);
    assert.equal(plain.code, 0, plain.stderr);
    assert.equal((await d.berth(['rm', '-f', id])).code, 0);
    assert.ok(!existsSync(images), 'checkpoints go with the container');
  });
});
