/**
 * The top-level command list is stubs (root.ts) so that a command line loads
 * only its own command's code: each stub must say what the command it loads
 * says, or `berth --help` and lookup would drift from the real commands.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadCommand, type Command } from '../../../src/cli/command.js';
import { rootCommand } from '../../../src/cli/root.js';

function listed(c: Command): Record<string, unknown> {
  return { name: c.name, aliases: c.aliases ?? [], short: c.short, group: c.group, hidden: c.hidden ?? false };
}

test('each top-level stub lists the name, aliases, description and group of the command it loads', async () => {
  const stubs = rootCommand({}).subcommands ?? [];
  assert.ok(stubs.length > 40);
  for (const stub of stubs) {
    assert.ok(stub.load, `${stub.name} is not a stub`);
    assert.equal(stub.run, undefined, `${stub.name}: a stub has no run of its own`);
    const full = await loadCommand(stub);
    assert.equal(full.load, undefined, `${stub.name}: loads another stub`);
    assert.deepEqual(listed(stub), listed(full), `stub of ${stub.name}`);
    assert.ok(full.run || full.subcommands?.length, `${stub.name} loads a command that does nothing`);
  }
});

test('top-level names and aliases are unique', () => {
  const seen = new Set<string>();
  for (const c of rootCommand({}).subcommands ?? []) {
    for (const n of [c.name, ...(c.aliases ?? [])]) {
      assert.ok(!seen.has(n), `${n} listed twice`);
      seen.add(n);
    }
  }
});

test('a stub loads the command with the environment rootCommand was given', async () => {
  // run's --env values come from that environment: `-e FOO` copies FOO.
  const stub = (rootCommand({ BERTH_ROOT_TEST: 'x' }).subcommands ?? []).find((c) => c.name === 'run');
  const run = await loadCommand(stub!);
  const env = run.flags?.find((f) => f.name === 'env');
  assert.equal(env?.parse?.('BERTH_ROOT_TEST'), 'BERTH_ROOT_TEST=x');
});
