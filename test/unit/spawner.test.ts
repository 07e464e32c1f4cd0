import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Readable } from 'node:stream';
import { execFileInSpawner, spawnInSpawner } from '../../src/spawner.js';

test('commands run by the spawner process give their output, exit code and stderr as execFile does', async () => {
  const [echo, failing, missing] = await Promise.all([
    execFileInSpawner('/bin/sh', ['-c', 'echo out; echo err >&2']),
    execFileInSpawner('/bin/sh', ['-c', 'echo why >&2; exit 3']),
    execFileInSpawner('/nonexistent/berth-test-binary', []),
  ]);
  assert.deepEqual([echo.stdout, echo.stderr, echo.failure], ['out\n', 'err\n', undefined]);
  assert.equal(failing.failure?.code, 3);
  assert.equal(failing.stderr, 'why\n');
  assert.equal(missing.failure?.code, null);
  assert.match(missing.failure?.message ?? '', /ENOENT/);
});

test('many commands at once each get their own answer', async () => {
  const replies = await Promise.all(Array.from({ length: 20 }, (_, i) => execFileInSpawner('/bin/echo', [String(i)])));
  assert.deepEqual(replies.map((r) => r.stdout), Array.from({ length: 20 }, (_, i) => `${i}\n`));
});

test('commands are children of the spawner process, itself a child of this one, not of this process', async () => {
  // A fork locks the forking process's memory map and malloc arenas: berthd must never be the one forking.
  const r = await execFileInSpawner('/bin/sh', ['-c', 'echo $PPID; cut -d" " -f4 /proc/$PPID/stat']);
  const [spawner, spawnersParent] = r.stdout.trim().split('\n').map(Number);
  assert.notEqual(spawner, process.pid);
  assert.equal(spawnersParent, process.pid);
});

test('a spawned child gets its input on stdin, then end of file, and its output pipes are relayed', async () => {
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
  const child = spawnInSpawner('/bin/sh', ['-c', 'tr a-z A-Z; echo done >&2'], { cwd: '/', env, stdio: ['pipe', 'pipe', 'pipe'], detached: false, input: 'netavark\n' });
  assert.equal(child.stdio[0], null); // written by the spawner, not readable here
  const read = (s: Readable) => new Promise<string>((resolve) => {
    let t = '';
    s.setEncoding('utf8');
    s.on('data', (d: string) => { t += d; });
    s.on('end', () => resolve(t));
  });
  const [out, err, exit] = await Promise.all([read(child.stdio[1]!), read(child.stdio[2]!), child.exited]);
  assert.deepEqual([out, err, exit.code], ['NETAVARK\n', 'done\n', 0]);
});

test('a command run with options gets its stdin, working directory and environment', async () => {
  const r = await execFileInSpawner('/bin/sh', ['-c', 'cat; pwd; echo "$BERTH_SPAWNER_TEST"'], { input: 'in\n', cwd: '/tmp', env: { BERTH_SPAWNER_TEST: 'set', PATH: '/usr/bin:/bin' } });
  assert.equal(r.stdout, 'in\n/tmp\nset\n');
  assert.equal(r.failure, undefined);
});

test('a command past maxBuffer fails', async () => {
  const r = await execFileInSpawner('/bin/sh', ['-c', 'head -c 5000 /dev/zero'], { maxBuffer: 1000 });
  assert.match(r.failure?.message ?? '', /maxBuffer/);
});
