import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileInSpawner } from '../../../src/runtime/spawner.js';

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
