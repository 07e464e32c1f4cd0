/**
 * Dropping faults act where a real network loses packets — on the wire
 * between containers, never in the sender's own output path — so no send
 * fails: ping shows 100% loss without an error, UDP sendto succeeds and
 * nothing arrives, TCP connect times out. A rejecting partition refuses as
 * the far host's firewall does (TCP reset, ICMP port unreachable), and UDP
 * sends still succeed. Before, the rules dropped in the sender's OUTPUT
 * chain and every send failed at once with EPERM.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { startDaemon, skipUnlessRoot, type Daemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';

describe('faithful network faults: no EPERM under any dropping fault', { skip: skipUnlessRoot() }, () => {
  let d!: Daemon;

  const berth = async (args: string[]) => {
    const r = await d.berth(args);
    assert.equal(r.code, 0, `berth ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const pid = async (name: string) => Number((await berth(['inspect', '-f', '{{.State.Pid}}', name])).trim());
  const sh = async (name: string, script: string) => {
    const r = await d.berth(['exec', name, 'sh', '-c', `${script} 2>&1; echo "exit=$?"`]);
    return r.stdout;
  };
  // By address: a fault on everything a container sends also loses its DNS queries.
  const ips = new Map<string, string>();
  /** busybox ping; every send must succeed. */
  const ping = (from: string, to: string) => sh(from, `ping -c 2 -W 1 ${ips.get(to)}`);
  /** busybox tftp: UDP datagrams to port 9000 for 2 s (an unconnected socket: ICMP errors stay unseen); a failed sendto is reported by name at once. */
  const udp = (from: string, to: string) => sh(from, `timeout 2 tftp -g -r probe -l /tmp/probe ${ips.get(to)} 9000`);
  /** busybox nc: a TCP connection to the peer's httpd. */
  const tcp = (from: string, to: string) => sh(from, `nc -w 2 ${ips.get(to)} 80 </dev/null`);
  /** UDP datagrams to port 9000 that reached the container's INPUT (a counting rule of the test's own, in its namespace). */
  const udpArrived = async (name: string) => {
    const out = execFileSync('nsenter', [`--net=/proc/${await pid(name)}/ns/net`, 'iptables', '-w', '-L', 'INPUT', '-v', '-x', '-n'], { encoding: 'utf8' });
    const line = out.split('\n').find((l) => l.includes('udp dpt:9000'));
    assert.ok(line, out);
    return Number(line.trim().split(/\s+/)[0]);
  };
  const noLocalError = (out: string, what: string) => {
    assert.doesNotMatch(out, /not permitted|Network is unreachable|sendto|No buffer space/i, `${what}: a send failed locally:\n${out}`);
  };

  before(async () => {
    d = await startDaemon();
    await importBusybox(d);
    await berth(['network', 'create', 'fidelnet']);
    for (const name of ['pa', 'pb', 'pc']) {
      await berth(['run', '-d', '--name', name, '--network', 'fidelnet', 'busybox', 'httpd', '-f', '-p', '80', '-h', '/']);
      ips.set(name, (await berth(['inspect', '-f', '{{.NetworkSettings.Networks.fidelnet.IPAddress}}', name])).trim());
    }
    // Counts UDP to port 9000 arriving at pb; the rule goes with pb's namespace.
    execFileSync('nsenter', [`--net=/proc/${await pid('pb')}/ns/net`, 'iptables', '-w', '-I', 'INPUT', '-p', 'udp', '--dport', '9000']);
  }, { timeout: 120_000 });

  after(async () => {
    await d?.berth(['rm', '-f', 'pa', 'pb', 'pc']);
    await d?.berth(['network', 'rm', 'fidelnet']);
    await d?.stop();
  });

  test('without a fault: ping answers, UDP arrives, TCP connects (the probes work)', async () => {
    assert.match(await ping('pa', 'pb'), /2 packets received.*\n[^]*exit=0\n$/);
    const before = await udpArrived('pb');
    await udp('pa', 'pb');
    assert.ok(await udpArrived('pb') > before, 'the datagram reached pb');
    assert.match(await tcp('pa', 'pb'), /^exit=0\n$/);
  });

  for (const [label, add] of [
    ['a dropping partition', ['partition', 'pa', 'pb']],
    ['100% loss out', ['loss', 'pa', '100%']],
    ['100% loss toward the peer only', ['loss', '--peer', 'pb', 'pa', '1']],
  ] as const) {
    test(`${label}: ping shows 100% loss with no error, UDP sends succeed and nothing arrives, TCP times out`, async () => {
      const id = (await berth(['fault', ...add])).trim();
      try {
        const p = await ping('pa', 'pb');
        noLocalError(p, 'ping');
        assert.match(p, /2 packets transmitted, 0 packets received, 100% packet loss\n[^]*exit=1\n$/);

        const before = await udpArrived('pb');
        const u = await udp('pa', 'pb');
        noLocalError(u, 'UDP');
        assert.doesNotMatch(u, /exit=0/, 'tftp waited for an answer in vain');
        assert.equal(await udpArrived('pb'), before, 'nothing arrived');

        const t = await tcp('pa', 'pb');
        noLocalError(t, 'TCP');
        assert.match(t, /timed out\nexit=1\n$/);
      } finally {
        await d.request('DELETE', `/containers/pa/faults/${id}`);
      }
      assert.match(await ping('pa', 'pb'), /exit=0\n$/, 'healed');
    });
  }

  test('100% loss in: what the container receives is lost, its sends all succeed', async () => {
    const id = (await berth(['fault', 'loss', '--direction', 'in', 'pb', '100%'])).trim();
    try {
      const p = await ping('pa', 'pb');
      noLocalError(p, 'ping to pb');
      assert.match(p, /100% packet loss/);
      const back = await ping('pb', 'pa');
      noLocalError(back, 'ping from pb');
      assert.match(back, /100% packet loss/, 'pb\'s pings go out, the replies are lost');
    } finally {
      await d.request('DELETE', `/containers/pb/faults/${id}`);
    }
  });

  test('a rejecting partition answers like the far host\'s firewall: TCP reset, ICMP unreachable; UDP sends succeed', async () => {
    const id = (await berth(['fault', 'partition', '--reject', 'pa', 'pb'])).trim();
    try {
      for (const [from, to] of [['pa', 'pb'], ['pb', 'pa']]) {
        const t = await tcp(from, to);
        assert.match(t, /Connection refused\nexit=1\n$/, `${from} → ${to}`);
        const p = await ping(from, to);
        noLocalError(p, `ping ${from} → ${to}`);
        assert.match(p, /0 packets received/);
        const u = await udp(from, to);
        noLocalError(u, `UDP ${from} → ${to}`);
        assert.doesNotMatch(u, /exit=0/);
      }
      assert.match(await tcp('pa', 'pc'), /^exit=0\n$/, 'pa → pc still connects');
    } finally {
      await d.request('DELETE', `/containers/pa/faults/${id}`);
    }
    assert.match(await tcp('pb', 'pa'), /^exit=0\n$/, 'pb\'s refusals went with the fault');
    assert.doesNotMatch(execFileSync('nsenter', [`--net=/proc/${await pid('pb')}/ns/net`, 'iptables', '-w', '-S'], { encoding: 'utf8' }), /berth-fault/);
  });
});
