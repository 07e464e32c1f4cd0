/**
 * Delay and jitter, measured: ping's round trip inside the container lands
 * within 20% of the configured delay (the assertion compares the network's
 * delay with the setting, not berth's speed), jitter spreads it, a delay on
 * what a container receives acts as well as one on what it sends. On a
 * kernel without sch_netem (this one) the delay line does it — one helper
 * process per container — and the test checks that helper's life: it goes
 * when the fault is removed, when berthd exits (and comes back with the next
 * berthd while the container still runs), and when the container stops.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { startDaemon, skipUnlessRoot, waitFor, type Daemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';

/** Processes whose command line names this namespace: the delay line helpers of the container with init `pid`. */
function helpersOf(pid: number): number[] {
  const ns = `/proc/${pid}/ns/net`;
  const out: number[] = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const argv = readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0');
      if (argv[0] === 'perl' && argv.includes(ns)) out.push(Number(p));
    } catch { /* gone meanwhile */ }
  }
  return out;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

describe('delay and jitter', { skip: skipUnlessRoot() }, () => {
  let d!: Daemon;
  const ips = new Map<string, string>();
  const pids = new Set<number>();

  const berth = async (args: string[]) => {
    const r = await d.berth(args);
    assert.equal(r.code, 0, `berth ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const pid = async (name: string) => {
    const p = Number((await berth(['inspect', '-f', '{{.State.Pid}}', name])).trim());
    pids.add(p);
    return p;
  };
  /** Round trips (ms) of `count` pings, each sent as the previous answer arrives. */
  const rtts = async (from: string, to: string, count: number) => {
    const out = await berth(['exec', from, 'ping', '-A', '-c', String(count), '-W', '5', ips.get(to)!]);
    const times = [...out.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1]));
    assert.equal(times.length, count, out);
    return times;
  };
  const near = (measured: number, configured: number, what: string) => {
    assert.ok(Math.abs(measured - configured) <= configured * 0.2, `${what}: round trip ${measured} ms, configured ${configured} ms`);
  };

  before(async () => {
    d = await startDaemon();
    await importBusybox(d);
    await berth(['network', 'create', 'delaynet']);
    for (const name of ['da', 'db']) {
      await berth(['run', '-d', '--name', name, '--network', 'delaynet', 'busybox', 'sleep', '600']);
      ips.set(name, (await berth(['inspect', '-f', '{{.NetworkSettings.Networks.delaynet.IPAddress}}', name])).trim());
    }
  }, { timeout: 120_000 });

  after(async () => {
    await d?.request('DELETE', '/faults');
    await d?.berth(['rm', '-f', 'da', 'db']);
    await d?.berth(['network', 'rm', 'delaynet']);
    await d?.stop();
    for (const p of pids) assert.deepEqual(helpersOf(p), [], `no delay line helper left for ${p}`);
  });

  test('a delay on what a container sends: the round trip is the delay (within 20%); removing it ends the helper', async () => {
    assert.ok(median(await rtts('da', 'db', 3)) < 40, 'no delay yet');
    const id = (await berth(['fault', 'delay', 'da', '200ms'])).trim();
    const daPid = await pid('da');
    try {
      assert.match(await berth(['fault', 'ls', 'da']), /delay +200ms out/);
      near(median(await rtts('da', 'db', 5)), 200, 'da → db');
      near(median(await rtts('db', 'da', 3)), 200, 'db → da (da\'s replies wait)');
      assert.equal(helpersOf(daPid).length, 1, 'one delay line helper');
    } finally {
      await berth(['fault', 'rm', id]);
    }
    await waitFor(() => helpersOf(daPid).length === 0, 5000, 'the helper to end');
    assert.ok(median(await rtts('da', 'db', 3)) < 40, 'no delay any more');
  });

  test('jitter spreads the round trips around the delay; a delay on what a container receives; both ways', async () => {
    await berth(['fault', 'delay', '--jitter', '50ms', 'da', '100ms']);
    try {
      // 30 round trips: their mean lies within 20% of the delay with a margin of almost 4 standard deviations (uniform ±50 ms).
      const times = await rtts('da', 'db', 30);
      for (const t of times) assert.ok(t >= 50 * 0.8 && t <= 150 * 1.2, `${t} ms outside 100 ms ± 50 ms: ${times}`);
      assert.ok(Math.max(...times) - Math.min(...times) >= 20, `jitter seen: ${times}`);
      near(times.reduce((a, b) => a + b, 0) / times.length, 100, `mean of ${times}`);
    } finally {
      await berth(['fault', 'rm', 'da']);
    }

    await berth(['fault', 'delay', '--direction', 'in', 'db', '150ms']);
    try {
      near(median(await rtts('da', 'db', 3)), 150, 'what db receives waits');
      assert.match(await berth(['fault', 'ls', 'db']), /delay +150ms in/);
    } finally {
      await berth(['fault', 'rm', 'db']);
    }

    await berth(['fault', 'delay', '--direction', 'both', 'db', '100ms']);
    try {
      near(median(await rtts('da', 'db', 3)), 200, 'both ways: the request and the reply wait');
    } finally {
      await berth(['fault', 'rm', 'db']);
    }
  });

  test('the helper ends with berthd and comes back with the next one; it ends when the container stops', async () => {
    await berth(['fault', 'delay', 'db', '200ms']);
    const dbPid = await pid('db');
    const [first] = helpersOf(dbPid);
    assert.ok(first, 'a helper runs');
    await d.kill9();
    await waitFor(() => !helpersOf(dbPid).includes(first), 5000, 'the helper to end with berthd (even a killed one)');
    await d.restart();
    await waitFor(() => helpersOf(dbPid).length === 1, 10_000, 'the next berthd to start the helper again');
    near(median(await rtts('db', 'da', 3)), 200, 'still delayed after the restart');
    await berth(['stop', '-t', '0', 'db']);
    await waitFor(() => helpersOf(dbPid).length === 0, 5000, 'the helper to end with the container');
    await berth(['start', 'db']);
    ips.set('db', (await berth(['inspect', '-f', '{{.NetworkSettings.Networks.delaynet.IPAddress}}', 'db'])).trim());
    assert.deepEqual((await d.request('GET', '/containers/db/faults')).json(), []);
  });
});
