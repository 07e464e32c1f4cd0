/**
 * Network fault injection (`berth fault`, `/containers/{id}/faults`) with
 * real containers on a user network: partitions both ways (dropping or
 * refusing), packet loss by
 * direction and peer, a bandwidth cap measured by a download, the errors,
 * and faults that end with the container and leave nothing on the host
 * (fault-delay.test.ts has delays, fault-fidelity.test.ts what senders see).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon, skipUnlessRoot, type Daemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';

interface Fault { Id: string; Kind: string; Peers?: string[]; Addresses?: string[]; Probability?: number; Direction?: string; Rate?: string }

/** The host's own rules in every table: a fault must never land there (other daemons' rules come and go meanwhile). */
function hostRules(): string {
  return ['filter', 'nat', 'mangle', 'raw'].map((t) => execFileSync('iptables', ['-w', '-t', t, '-S'], { encoding: 'utf8' })).join('');
}

describe('network faults', { skip: skipUnlessRoot() }, () => {
  let d!: Daemon;

  const berth = async (args: string[]) => {
    const r = await d.berth(args);
    assert.equal(r.code, 0, `berth ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const pid = async (name: string) => Number((await berth(['inspect', '-f', '{{.State.Pid}}', name])).trim());
  /** The container's own iptables rules (its network namespace). */
  const rulesIn = async (name: string) => execFileSync('nsenter', [`--net=/proc/${await pid(name)}/ns/net`, 'iptables', '-w', '-S'], { encoding: 'utf8' });
  /** The tc filters on the host's end of the container's eth0 (the wire, where drops happen). */
  const wireFilters = async (name: string, hook: 'ingress' | 'egress') => {
    const inside = JSON.parse(execFileSync('nsenter', [`--net=/proc/${await pid(name)}/ns/net`, 'ip', '-j', 'link', 'show', 'eth0'], { encoding: 'utf8' }))[0];
    const end = (JSON.parse(execFileSync('ip', ['-j', 'link', 'show'], { encoding: 'utf8' })) as { ifindex: number; ifname: string }[])
      .find((l) => l.ifindex === inside.link_index)!;
    return execFileSync('tc', ['filter', 'show', 'dev', end.ifname, hook], { encoding: 'utf8' });
  };
  const reaches = async (from: string, to: string) => (await d.berth(['exec', from, 'ping', '-c', '1', '-W', '1', to])).code === 0;
  const addFault = async (name: string, body: Record<string, unknown>) => {
    const r = await d.request('POST', `/containers/${name}/faults`, body);
    assert.equal(r.status, 201, r.text);
    return r.json<Fault>();
  };

  before(async () => {
    d = await startDaemon();
    await importBusybox(d);
    await berth(['network', 'create', 'faultnet']);
    for (const name of ['fa', 'fb', 'fc']) {
      await berth(['run', '-d', '--name', name, '--network', 'faultnet', 'busybox', 'sh', '-c',
        'mkdir -p /www && head -c 262144 /dev/zero > /www/big && exec httpd -f -p 80 -h /www']);
    }
  }, { timeout: 120_000 });

  after(async () => {
    await d?.berth(['rm', '-f', 'fa', 'fb', 'fc', 'fhost', 'fnone']);
    await d?.berth(['network', 'rm', 'faultnet']);
    await d?.stop();
    assert.doesNotMatch(hostRules(), /BERTH-FAULT|berth-fault/i, 'no fault rule on the host');
  });

  test('a partition cuts both ways and only between the named containers; rm heals it', async () => {
    assert.ok(await reaches('fa', 'fb'));
    const id = (await berth(['fault', 'partition', 'fa', 'fb'])).trim();
    assert.match(id, /^[0-9a-f]{12}$/);
    try {
      assert.equal(await reaches('fa', 'fb'), false, 'fa → fb');
      assert.equal(await reaches('fb', 'fa'), false, 'fb → fa');
      assert.ok(await reaches('fa', 'fc'), 'fa → fc still works');
      assert.ok(await reaches('fb', 'fc'), 'fb → fc still works');

      const table = (await berth(['fault', 'ls'])).split('\n');
      assert.match(table[0], /^CONTAINER +FAULT ID +KIND +DETAILS$/);
      const fbIp = (await berth(['inspect', '-f', '{{.NetworkSettings.Networks.faultnet.IPAddress}}', 'fb'])).trim();
      assert.match(table[1], new RegExp(`^fa +${id} +partition +from fb \\(${fbIp.replace(/\./g, '\\.')}\\)$`));
      const json = JSON.parse((await berth(['fault', 'ls', '--format', 'json', 'fa'])).trim());
      assert.deepEqual([json.Container, json.ID, json.Kind], ['fa', id, 'partition']);
      assert.deepEqual((await d.request('GET', '/containers/fa/faults')).json<Fault[]>(), [{ Id: id, Kind: 'partition', Peers: ['fb'], Addresses: [fbIp] }]);
      assert.doesNotMatch(await rulesIn('fa'), /DROP/, 'nothing dropped in fa\'s own output path');
      assert.match(await wireFilters('fa', 'ingress'), /bpf .*direct-action/, 'fa → fb is lost on the wire');
      assert.match(await wireFilters('fa', 'egress'), /bpf .*direct-action/, 'fb → fa is lost on the wire');
      assert.doesNotMatch(hostRules(), /berth-fault/i, 'no rule in the host\'s iptables');
    } finally {
      assert.equal((await berth(['fault', 'rm', id])).trim(), id);
    }
    assert.ok(await reaches('fa', 'fb'));
    assert.ok(await reaches('fb', 'fa'));
    assert.equal((await berth(['fault', 'ls', '-q'])).trim(), '');
    assert.doesNotMatch(await rulesIn('fa'), /berth-fault/);
    assert.equal(await wireFilters('fa', 'ingress'), '', 'the wire is clear again');
  });

  test('a rejecting partition refuses connections at once, both ways; a dropping one leaves them to time out', async () => {
    // busybox nc to the peer's httpd (busybox wget crashes on a refused connection).
    const connect = async (from: string, to: string) => {
      const t0 = Date.now();
      const r = await d.berth(['exec', from, 'sh', '-c', `nc -w 3 ${to} 80 </dev/null 2>&1; echo "exit=$?"`]);
      return { out: r.stdout, ms: Date.now() - t0 };
    };
    const rejecting = (await berth(['fault', 'partition', '--reject', 'fa', 'fb'])).trim();
    try {
      for (const [from, to] of [['fa', 'fb'], ['fb', 'fa']]) {
        const refused = await connect(from, to);
        assert.match(refused.out, /Connection refused\nexit=1\n$/, `${from} → ${to}`);
        assert.ok(refused.ms < 2500, `${from} → ${to} refused after ${refused.ms} ms`);
      }
      assert.match((await connect('fa', 'fc')).out, /^exit=0\n$/, 'fa → fc still connects');
      assert.match(await berth(['fault', 'ls', 'fa']), /partition +from fb \([\d.]+\), rejected/);
    } finally {
      await berth(['fault', 'rm', rejecting]);
    }
    const dropping = (await berth(['fault', 'partition', 'fa', 'fb'])).trim();
    try {
      const lost = await connect('fa', 'fb');
      assert.match(lost.out, /timed out\nexit=1\n$/);
      assert.ok(lost.ms >= 2500, `gave up after ${lost.ms} ms`);
    } finally {
      await berth(['fault', 'rm', dropping]);
    }
    assert.match((await connect('fa', 'fb')).out, /^exit=0\n$/);
  });

  test('packet loss: by direction, limited to a peer, with the probability in the rule', async () => {
    try {
      await berth(['fault', 'loss', 'fa', '100%']);
      assert.equal(await reaches('fa', 'fb'), false, 'everything fa sends is lost');
      await berth(['fault', 'rm', 'fa']);
      assert.ok(await reaches('fa', 'fb'));

      // Only what fa receives from fc: fa → fb works, fa → fc loses the replies.
      await berth(['fault', 'loss', '--direction', 'in', '--peer', 'fc', 'fa', '1']);
      assert.ok(await reaches('fa', 'fb'));
      assert.equal(await reaches('fa', 'fc'), false);
      await berth(['fault', 'rm', 'fa']);

      await addFault('fa', { Kind: 'loss', Probability: 0.3, Direction: 'both' });
      // The kernel's random number (SKF_AD_RANDOM, 4294963256) against 0.3·2³² (1288490188), both ways on the wire.
      for (const hook of ['ingress', 'egress'] as const) assert.match(await wireFilters('fa', hook), /bytecode '[^']*4294963256,53 1 0 1288490188,/);
      assert.match(await berth(['fault', 'ls', 'fa']), /loss +30% both/);
    } finally {
      await berth(['fault', 'rm', 'fa']);
    }
  });

  test('a rate cap slows a download to about the rate; a second cap replaces the first', async () => {
    const download = async () => {
      const t0 = Date.now();
      await berth(['exec', 'fa', 'wget', '-q', '-O', '/dev/null', 'http://fb/big']);
      return Date.now() - t0;
    };
    const free = await download();
    try {
      const first = await addFault('fb', { Kind: 'rate', Rate: '8mbit' });
      const second = await addFault('fb', { Kind: 'rate', Rate: '1mbit' });
      const list = (await d.request('GET', '/containers/fb/faults')).json<Fault[]>();
      assert.deepEqual(list.map((f) => [f.Id, f.Rate]), [[second.Id, '1mbit']], `${first.Id} was replaced`);
      const tc = execFileSync('nsenter', [`--net=/proc/${await pid('fb')}/ns/net`, 'tc', 'qdisc', 'show', 'dev', 'eth0'], { encoding: 'utf8' });
      assert.match(tc, /qdisc tbf .*rate 1Mbit/);
      // 256 KiB at 1 Mbit/s is 2.1 s; without the cap it takes a small fraction of that.
      const capped = await download();
      assert.ok(capped >= 1500, `capped download took ${capped} ms (free: ${free} ms)`);
      assert.ok(free < capped / 3, `free download took ${free} ms (capped: ${capped} ms)`);
    } finally {
      await berth(['fault', 'rm', 'fb']);
    }
    const tcAfter = execFileSync('nsenter', [`--net=/proc/${await pid('fb')}/ns/net`, 'tc', 'qdisc', 'show', 'dev', 'eth0'], { encoding: 'utf8' });
    assert.doesNotMatch(tcAfter, /tbf/);
  });

  test('errors: Docker-style statuses and messages; nothing is half applied', async () => {
    const cases: [string, string, unknown, number, RegExp][] = [
      ['POST', '/containers/nope/faults', { Kind: 'partition', Peers: ['fb'] }, 404, /No such container: nope/],
      ['POST', '/containers/fa/faults', { Kind: 'jam' }, 400, /invalid fault kind "jam"/],
      ['POST', '/containers/fa/faults', { Kind: 'partition' }, 400, /needs at least one peer/],
      ['POST', '/containers/fa/faults', { Kind: 'partition', Peers: ['fa'] }, 400, /cannot be its own peer/],
      ['POST', '/containers/fa/faults', { Kind: 'partition', Peers: ['ghost'] }, 404, /No such container: ghost/],
      ['POST', '/containers/fa/faults', { Kind: 'loss', Probability: 1.5 }, 400, /invalid loss probability 1\.5/],
      ['POST', '/containers/fa/faults', { Kind: 'rate', Rate: 'fast' }, 400, /invalid rate "fast"/],
      ['POST', '/containers/fa/faults', { Kind: 'delay', Delay: '5 minutes' }, 400, /invalid duration "5 minutes"/],
      ['DELETE', '/containers/fa/faults/0123456789ab', undefined, 404, /No such fault: 0123456789ab/],
      ['DELETE', '/faults/0123456789ab', undefined, 404, /No such fault: 0123456789ab/],
    ];
    for (const [method, path, body, status, message] of cases) {
      const r = await d.request(method, path, body as Record<string, unknown> | undefined);
      assert.equal(r.status, status, `${method} ${path} ${JSON.stringify(body)}: ${r.text}`);
      assert.match(r.json().message, message);
    }
    await berth(['run', '-d', '--name', 'fnone', '--network', 'none', 'busybox', 'sleep', '60']);
    const none = await d.request('POST', '/containers/fnone/faults', { Kind: 'rate', Rate: '1mbit' });
    assert.equal(none.status, 400, none.text);
    assert.match(none.json().message, /has no network interface to shape \(network mode none\)/);
    await berth(['create', '--name', 'fhost', '--network', 'host', 'busybox', 'sleep', '60']);
    const stopped = await d.request('POST', '/containers/fhost/faults', { Kind: 'loss', Probability: 0.5 });
    assert.equal(stopped.status, 409, stopped.text);
    assert.match(stopped.json().message, /is not running/);
    await berth(['start', 'fhost']);
    const host = await d.request('POST', '/containers/fhost/faults', { Kind: 'loss', Probability: 0.5 });
    assert.equal(host.status, 400, host.text);
    assert.match(host.json().message, /uses the host's network/);
    const cli = await d.berth(['fault', 'loss', 'fa', '150%']);
    assert.equal(cli.code, 1);
    assert.match(cli.stderr, /invalid loss "150%"/);
    assert.equal((await berth(['fault', 'ls', '-q'])).trim(), '', 'no fault was left by a refusal');
  });

  test('faults outlive a berthd restart (the container keeps running): listed, in force, and removable', async () => {
    const id = (await berth(['fault', 'partition', 'fb', 'fc'])).trim();
    try {
      await d.restart();
      assert.deepEqual((await d.request('GET', '/containers/fb/faults')).json<Fault[]>().map((f) => f.Id), [id]);
      assert.equal(await reaches('fb', 'fc'), false, 'still cut off after the restart');
    } finally {
      await berth(['fault', 'rm', 'fb']);
    }
    assert.ok(await reaches('fb', 'fc'));
    assert.doesNotMatch(await rulesIn('fb'), /berth-fault/);
  });

  test('faults end with the container: a restart starts clean, its state file goes', async () => {
    await berth(['fault', 'partition', 'fc', 'fa']);
    assert.equal(await reaches('fc', 'fa'), false);
    const stateFile = join(d.execRoot, 'faults', `${(await berth(['inspect', '-f', '{{.Id}}', 'fc'])).trim()}.json`);
    assert.ok(existsSync(stateFile));
    await berth(['restart', '-t', '0', 'fc']);
    assert.deepEqual((await d.request('GET', '/containers/fc/faults')).json(), []);
    assert.ok(!existsSync(stateFile), 'the state file went with the old process');
    assert.ok(await reaches('fc', 'fa'));
  });
});
