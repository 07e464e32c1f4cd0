import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCommand } from '../../src/run-command.js';
import { CommandError } from '../../src/errors.js';

test("runCommand's programs are spawned by the spawner process, not by this one", async () => {
  // A fork of berthd stalls its event loop: the daemon's commands (ip, mount, rm…) must not fork it.
  const out = await runCommand(['/bin/sh', '-c', 'echo $PPID']);
  assert.notEqual(Number(out.trim()), process.pid);
});

test('runCommand gives stdout, writes its input to stdin, and keeps cwd and env', async () => {
  assert.equal(await runCommand(['tr', 'a-z', 'A-Z'], { input: 'abc\n' }), 'ABC\n');
  assert.equal(await runCommand(['cat']), ''); // stdin closed at once without input
  assert.equal(await runCommand(['/bin/sh', '-c', 'pwd; echo "$X"'], { cwd: '/tmp', env: { X: 'y', PATH: '/usr/bin:/bin' } }), '/tmp\ny\n');
  process.env.BERTH_RUN_COMMAND_TEST = 'now';
  try {
    // This process's environment as it is at the call, not as it was when the spawner started.
    assert.equal(await runCommand(['/bin/sh', '-c', 'echo "$BERTH_RUN_COMMAND_TEST"']), 'now\n');
  } finally {
    delete process.env.BERTH_RUN_COMMAND_TEST;
  }
});

test('a failing program gives a CommandError with its exit code and stderr', async () => {
  const e = await runCommand(['/bin/sh', '-c', 'echo nope >&2; exit 4']).catch((x: unknown) => x);
  assert.ok(e instanceof CommandError);
  assert.equal(e.exitCode, 4);
  assert.equal(e.message, '/bin/sh -c: nope');
  const missing = await runCommand(['/nonexistent/berth-run-command']).catch((x: unknown) => x);
  assert.ok(missing instanceof CommandError);
  assert.equal(missing.exitCode, null);
  assert.match(missing.message, /ENOENT/);
  const killed = await runCommand(['/bin/sh', '-c', 'kill -TERM $$']).catch((x: unknown) => x);
  assert.ok(killed instanceof CommandError);
  assert.equal(killed.exitCode, null);
  const big = await runCommand(['head', '-c', '5000', '/dev/zero'], { maxBuffer: 1000 }).catch((x: unknown) => x);
  assert.ok(big instanceof CommandError);
  assert.match(big.message, /maxBuffer/);
});

test('inThisProcess spawns from this process', async () => {
  const out = await runCommand(['/bin/sh', '-c', 'echo $PPID'], { inThisProcess: true });
  assert.equal(Number(out.trim()), process.pid);
});
