/**
 * Shaping what a container receives: `fault rate --direction in` caps the
 * container's download rate (measured: bytes over time of a download inside
 * it), while what it sends stays free; the shaping sits on the host's end of
 * its veth, whose egress is the container's ingress. Before, a rate only
 * ever capped what the container sent.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startDaemon, skipUnlessRoot, type Daemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';

const SIZE = 262144; // bytes: 2.1 s at 1 Mbit/s

describe('ingress shaping', { skip: skipUnlessRoot() }, () => {
  let d!: Daemon;
  const ips = new Map<string, string>();

  const berth = async (args: string[]) => {
    const r = await d.berth(args);
    assert.equal(r.code, 0, `berth ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  /** Bits per second of a download by `into` from `from`, timed inside the container by busybox time. */
  const downloadRate = async (into: string, from: string) => {
    const out = await berth(['exec', into, 'sh', '-c', `time -p wget -q -O /dev/null http://${ips.get(from)}/big 2>&1`]);
    const m = /real ([\d.]+)/.exec(out);
    assert.ok(m, out);
    return Number(m[1]) > 0 ? (SIZE * 8) / Number(m[1]) : Infinity; // time -p counts hundredths: a free download may take none
  };

  before(async () => {
    d = await startDaemon();
    await importBusybox(d);
    await berth(['network', 'create', 'ingressnet']);
    for (const name of ['ia', 'ib']) {
      await berth(['run', '-d', '--name', name, '--network', 'ingressnet', 'busybox', 'sh', '-c',
        `mkdir -p /www && head -c ${SIZE} /dev/zero > /www/big && exec httpd -f -p 80 -h /www`]);
      ips.set(name, (await berth(['inspect', '-f', '{{.NetworkSettings.Networks.ingressnet.IPAddress}}', name])).trim());
    }
  }, { timeout: 120_000 });

  after(async () => {
    await d?.request('DELETE', '/faults');
    await d?.berth(['rm', '-f', 'ia', 'ib']);
    await d?.berth(['network', 'rm', 'ingressnet']);
    await d?.stop();
  });

  test('rate --direction in: what the container receives arrives at about the rate; what it sends is free', async () => {
    const free = await downloadRate('ia', 'ib');
    await berth(['fault', 'rate', '--direction', 'in', 'ia', '1mbit']);
    try {
      assert.match(await berth(['fault', 'ls', 'ia']), /rate +1mbit in/);
      const capped = await downloadRate('ia', 'ib');
      assert.ok(capped <= 1.15e6 && capped >= 0.6e6, `ia received at ${Math.round(capped)} bit/s under a 1 Mbit/s cap (free: ${Math.round(free)})`);
      assert.ok(free > 3 * capped, `free download at ${Math.round(free)} bit/s`);
      const sent = await downloadRate('ib', 'ia');
      assert.ok(sent > 3e6, `what ia sends is not capped: ib received at ${Math.round(sent)} bit/s`);

      // A second cap on the same direction replaces the first; one on the other direction adds to it.
      await berth(['fault', 'rate', '--direction', 'in', 'ia', '2mbit']);
      await berth(['fault', 'rate', 'ia', '1mbit']);
      assert.deepEqual((await d.request('GET', '/containers/ia/faults')).json<{ Rate: string; Direction?: string }[]>().map((f) => `${f.Rate} ${f.Direction ?? 'out'}`),
        ['2mbit in', '1mbit out']);
      const doubled = await downloadRate('ia', 'ib');
      assert.ok(doubled <= 2.3e6 && doubled >= 1.2e6, `ia received at ${Math.round(doubled)} bit/s under a 2 Mbit/s cap`);
      const out = await downloadRate('ib', 'ia');
      assert.ok(out <= 1.15e6 && out >= 0.6e6, `ia sent at ${Math.round(out)} bit/s under a 1 Mbit/s cap`);
    } finally {
      await berth(['fault', 'rm', 'ia']);
    }
    assert.ok(await downloadRate('ia', 'ib') > 3e6, 'free again');
  });
});
