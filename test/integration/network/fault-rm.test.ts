/**
 * `berth fault rm` takes containers and fault IDs mixed, and a container's
 * removal heals every partition that names it, from either side;
 * `berth fault heal [CONTAINER...]` removes every fault of those containers
 * or of all. Before, `fault rm a1 a2` read a2 as a fault of a1, failed with
 * "No such fault: a2", removed nothing, and the partition stayed.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { startDaemon, skipUnlessRoot, type Daemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';

interface Fault { Id: string; Kind: string; ContainerName?: string }

describe('fault rm and fault heal', { skip: skipUnlessRoot() }, () => {
  let d!: Daemon;
  const ips = new Map<string, string>();

  const berth = async (args: string[]) => {
    const r = await d.berth(args);
    assert.equal(r.code, 0, `berth ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const reaches = async (from: string, to: string) => (await d.berth(['exec', from, 'ping', '-c', '1', '-W', '1', ips.get(to)!])).code === 0;
  const all = async () => (await d.request('GET', '/faults')).json<Fault[]>().map((f) => `${f.ContainerName?.replace(/^\//, '')}:${f.Kind}`).sort();
  const add = async (args: string[]) => (await berth(['fault', ...args])).trim();
  const rulesIn = async (name: string) => {
    const pid = (await berth(['inspect', '-f', '{{.State.Pid}}', name])).trim();
    return execFileSync('nsenter', [`--net=/proc/${pid}/ns/net`, 'iptables', '-w', '-S'], { encoding: 'utf8' });
  };

  before(async () => {
    d = await startDaemon();
    await importBusybox(d);
    await berth(['network', 'create', 'rmnet']);
    for (const name of ['a1', 'a2', 'a3']) {
      await berth(['run', '-d', '--name', name, '--network', 'rmnet', 'busybox', 'sleep', '600']);
      ips.set(name, (await berth(['inspect', '-f', '{{.NetworkSettings.Networks.rmnet.IPAddress}}', name])).trim());
    }
  }, { timeout: 120_000 });

  after(async () => {
    await d?.request('DELETE', '/faults');
    await d?.berth(['rm', '-f', 'a1', 'a2', 'a3']);
    await d?.berth(['network', 'rm', 'rmnet']);
    await d?.stop();
  });

  test('fault rm a1 a2: two containers; the partition between them goes', async () => {
    await add(['partition', 'a1', 'a2']);
    assert.equal(await reaches('a1', 'a2'), false);
    assert.equal(await berth(['fault', 'rm', 'a1', 'a2']), 'a1\na2\n');
    assert.deepEqual(await all(), []);
    assert.ok(await reaches('a1', 'a2'));
    assert.ok(await reaches('a2', 'a1'));
  });

  test('a partition is removed from the other side too: fault rm of the peer', async () => {
    await add(['partition', 'a1', 'a2']);
    await add(['loss', 'a1', '1%']);
    assert.equal(await berth(['fault', 'rm', 'a2']), 'a2\n');
    assert.deepEqual(await all(), ['a1:loss'], 'the partition that named a2 went; a1\'s other fault stays');
    assert.ok(await reaches('a2', 'a1'));
    await berth(['fault', 'rm', 'a1']);

    // A rejecting partition puts refusals in the peer's namespace: they go with it.
    await add(['partition', '--reject', 'a1', 'a2']);
    assert.match(await rulesIn('a2'), /berth-fault/);
    await berth(['fault', 'rm', 'a2']);
    assert.doesNotMatch(await rulesIn('a2'), /berth-fault/);
    assert.doesNotMatch(await rulesIn('a1'), /berth-fault/);
    assert.ok(await reaches('a1', 'a2'));
  });

  test('fault rm: fault IDs and containers mixed; a bad one is reported and the rest still go', async () => {
    const loss = await add(['loss', 'a1', '1%']);
    await add(['partition', 'a3', 'a2']);
    const rate = await add(['rate', 'a2', '10mbit']);
    const r = await d.berth(['fault', 'rm', 'a3', loss, 'nope']);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, `${loss}\na3\n`);
    assert.match(r.stderr, /No such container: nope/);
    assert.deepEqual(await all(), ['a2:rate']);
    assert.equal(await berth(['fault', 'rm', rate, 'a2']), `${rate}\na2\n`, 'a fault and its own container: no error');
    assert.deepEqual(await all(), []);
  });

  test('fault heal CONTAINER… and fault heal (everything)', async () => {
    await add(['partition', 'a2', 'a1']);
    await add(['loss', 'a3', '1%']);
    await add(['loss', 'a2', '1%']);
    assert.equal(await berth(['fault', 'heal', 'a1']), 'a1\n');
    assert.deepEqual(await all(), ['a2:loss', 'a3:loss'], 'a2\'s partition from a1 is healed');
    assert.ok(await reaches('a1', 'a2'));
    assert.equal(await berth(['fault', 'heal']), '');
    assert.deepEqual(await all(), []);
    const stopped = await d.request('DELETE', '/faults');
    assert.equal(stopped.status, 204, 'healing nothing is fine');
  });
});
