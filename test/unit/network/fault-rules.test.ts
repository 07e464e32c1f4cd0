import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidParameterError } from '../../../src/errors.js';
import {
  durationMicros, isAddressPeer, normalizeRequest, rateBitsPerSecond, replacesOnAdd, type Fault,
} from '../../../src/network/fault-rules.js';
import { planFaults } from '../../../src/network/fault-plan.js';
import { bytecode, dnsLabels, dropProgram, wireBatch } from '../../../src/network/fault-wire.js';
import { describeFault, parseProbability } from '../../../src/cli/fault/fault.js';
import { describeStep, parseDuration, resolveSchedule } from '../../../src/cli/fault/schedule.js';
import { eventTime } from '../../../src/cli/fault/run.js';
import { checkHistory, formatReport } from '../../../src/cli/fault/history-check.js';

test('normalizeRequest keeps what each kind uses and refuses the rest by name', () => {
  assert.deepEqual(normalizeRequest({ Kind: 'partition', Peers: ['b', '10.0.0.0/8'], Rate: 'x' }), { Kind: 'partition', Peers: ['b', '10.0.0.0/8'] });
  assert.deepEqual(normalizeRequest({ Kind: 'partition', Peers: ['b'], Reject: true }), { Kind: 'partition', Peers: ['b'], Reject: true });
  assert.deepEqual(normalizeRequest({ Kind: 'partition', Peers: ['b'], Reject: false }), { Kind: 'partition', Peers: ['b'] });
  assert.deepEqual(normalizeRequest({ Kind: 'loss', Probability: 0.25 }), { Kind: 'loss', Probability: 0.25, Direction: 'out' });
  assert.deepEqual(normalizeRequest({ Kind: 'loss', Probability: 1, Direction: 'both', Peers: ['c'] }), { Kind: 'loss', Probability: 1, Direction: 'both', Peers: ['c'] });
  assert.deepEqual(normalizeRequest({ Kind: 'rate', Rate: '1MBit' }), { Kind: 'rate', Rate: '1mbit' });
  assert.deepEqual(normalizeRequest({ Kind: 'delay', Delay: '100ms', Jitter: '' }), { Kind: 'delay', Delay: '100ms' });
  assert.deepEqual(normalizeRequest({ Kind: 'delay', Delay: '1.5s', Jitter: '10ms' }), { Kind: 'delay', Delay: '1.5s', Jitter: '10ms' });
  assert.deepEqual(normalizeRequest({ Kind: 'delay', Delay: '1s', Direction: 'both' }), { Kind: 'delay', Delay: '1s', Direction: 'both' });
  assert.deepEqual(normalizeRequest({ Kind: 'rate', Rate: '1mbit', Direction: 'in' }), { Kind: 'rate', Rate: '1mbit', Direction: 'in' });
  assert.deepEqual(normalizeRequest({ Kind: 'rate', Rate: '1mbit', Direction: 'out' }), { Kind: 'rate', Rate: '1mbit' });
  for (const [bad, message] of [
    [null, /JSON object/], [{ Kind: 'flood' }, /invalid fault kind "flood"/], [{ Kind: 'partition', Peers: [] }, /at least one peer/],
    [{ Kind: 'partition', Peers: [''] }, /list of container names/], [{ Kind: 'loss', Probability: 0 }, /invalid loss probability 0/],
    [{ Kind: 'loss', Probability: '0.5' }, /invalid loss probability "0.5"/], [{ Kind: 'loss', Probability: 0.5, Direction: 'up' }, /invalid direction "up"/],
    [{ Kind: 'rate', Rate: '10 mbit' }, /invalid rate "10 mbit"/], [{ Kind: 'rate', Rate: '1mbit', Peers: ['x'] }, /takes no peers/],
    [{ Kind: 'rate', Rate: '4bit' }, /at least 8bit/], [{ Kind: 'partition', Peers: ['b'], Reject: 'yes' }, /Reject must be true or false/], [{ Kind: 'delay' }, /needs a Delay/], [{ Kind: 'delay', Delay: '1m' }, /invalid duration "1m"/], [{ Kind: 'rate', Rate: '1mbit', Direction: 'up' }, /invalid direction "up"/], [{ Kind: 'delay', Delay: '61s' }, /invalid delay "61s": at most 60s/], [{ Kind: 'delay', Delay: '1s', Jitter: '90s' }, /invalid jitter/],
  ] as const) {
    assert.throws(() => normalizeRequest(bad), (e: unknown) => e instanceof InvalidParameterError && message.test(e.message), JSON.stringify(bad));
  }
});

test('units: tc rates in bits per second, durations in microseconds, address peers', () => {
  assert.equal(rateBitsPerSecond('1mbit'), 1e6);
  assert.equal(rateBitsPerSecond('512kbit'), 512e3);
  assert.equal(rateBitsPerSecond('2mbps'), 16e6);
  assert.equal(rateBitsPerSecond('1.5gbit'), 1.5e9);
  assert.equal(durationMicros('250us'), 250);
  assert.equal(durationMicros('100ms'), 100_000);
  assert.equal(durationMicros('1.5s'), 1_500_000);
  assert.ok(isAddressPeer('10.1.2.3'));
  assert.ok(isAddressPeer('10.1.0.0/16'));
  assert.ok(!isAddressPeer('10.1.0.0/33'));
  assert.ok(!isAddressPeer('web'));
  assert.ok(!isAddressPeer('fe80::1'));
});

test('planFaults: drops on the wire, refusals in INPUT (own and inbound), TCP resets toward address peers', () => {
  const faults: Fault[] = [
    { Id: 'aaaaaaaaaaaa', Kind: 'partition', Peers: ['b'], Addresses: ['10.9.0.3', '10.8.0.0/16'] },
    { Id: 'bbbbbbbbbbbb', Kind: 'loss', Probability: 0.3, Direction: 'both' },
    { Id: 'cccccccccccc', Kind: 'loss', Probability: 1, Direction: 'in', Peers: ['c'], Addresses: ['10.9.0.4'] },
    { Id: 'dddddddddddd', Kind: 'rate', Rate: '1mbit' },
  ];
  const plan = planFaults(faults, [], false);
  assert.equal(plan.iptables, ['*filter', ':BERTH-FAULT-IN - [0:0]', ':BERTH-FAULT-OUT - [0:0]', '-F BERTH-FAULT-IN', '-F BERTH-FAULT-OUT', 'COMMIT', ''].join('\n'),
    'no DROP in the namespace: a drop in OUTPUT fails the send with EPERM');
  assert.deepEqual(plan.wire.ingress, [
    { match: { field: 'dst', cidr: '10.9.0.3/32' }, probability: 1 },
    { match: { field: 'dst', cidr: '10.8.0.0/16' }, probability: 1 },
    { probability: 0.3 },
  ]);
  assert.deepEqual(plan.wire.egress, [
    { match: { field: 'src', cidr: '10.9.0.3/32' }, probability: 1 },
    { match: { field: 'src', cidr: '10.8.0.0/16' }, probability: 1 },
    { probability: 0.3 },
    { match: { field: 'src', cidr: '10.9.0.4/32' }, probability: 1 },
  ]);
  assert.deepEqual(plan.delayLine, {});

  const rejecting = planFaults([{ Id: 'eeeeeeeeeeee', Kind: 'partition', Peers: ['b', '192.0.2.7'], Addresses: ['10.9.0.3', '192.0.2.7'], Reject: true }],
    [{ faultId: 'ffffffffffff', from: ['10.9.0.5'] }], false);
  const lines = rejecting.iptables.split('\n').slice(5, -2);
  const c = (id: string) => `-m comment --comment "berth-fault ${id}"`;
  assert.deepEqual(lines, [
    `-A BERTH-FAULT-IN -s 10.9.0.3/32 -p tcp --tcp-flags RST RST ${c('eeeeeeeeeeee')} -j RETURN`,
    `-A BERTH-FAULT-IN -s 10.9.0.3/32 -p icmp --icmp-type destination-unreachable ${c('eeeeeeeeeeee')} -j RETURN`,
    `-A BERTH-FAULT-IN -s 10.9.0.3/32 -p tcp ${c('eeeeeeeeeeee')} -j REJECT --reject-with tcp-reset`,
    `-A BERTH-FAULT-IN -s 10.9.0.3/32 ${c('eeeeeeeeeeee')} -j REJECT --reject-with icmp-port-unreachable`,
    `-A BERTH-FAULT-IN -s 192.0.2.7/32 -p tcp --tcp-flags RST RST ${c('eeeeeeeeeeee')} -j RETURN`,
    `-A BERTH-FAULT-IN -s 192.0.2.7/32 -p icmp --icmp-type destination-unreachable ${c('eeeeeeeeeeee')} -j RETURN`,
    `-A BERTH-FAULT-IN -s 192.0.2.7/32 -p tcp ${c('eeeeeeeeeeee')} -j REJECT --reject-with tcp-reset`,
    `-A BERTH-FAULT-IN -s 192.0.2.7/32 ${c('eeeeeeeeeeee')} -j REJECT --reject-with icmp-port-unreachable`,
    `-A BERTH-FAULT-IN -s 10.9.0.5/32 -p tcp --tcp-flags RST RST ${c('ffffffffffff')} -j RETURN`,
    `-A BERTH-FAULT-IN -s 10.9.0.5/32 -p icmp --icmp-type destination-unreachable ${c('ffffffffffff')} -j RETURN`,
    `-A BERTH-FAULT-IN -s 10.9.0.5/32 -p tcp ${c('ffffffffffff')} -j REJECT --reject-with tcp-reset`,
    `-A BERTH-FAULT-IN -s 10.9.0.5/32 ${c('ffffffffffff')} -j REJECT --reject-with icmp-port-unreachable`,
    `-A BERTH-FAULT-OUT -d 192.0.2.7/32 -p tcp --tcp-flags RST RST ${c('eeeeeeeeeeee')} -j RETURN`,
    `-A BERTH-FAULT-OUT -d 192.0.2.7/32 -p tcp ${c('eeeeeeeeeeee')} -j REJECT --reject-with tcp-reset`,
  ]);
  assert.deepEqual(rejecting.wire, { ingress: [{ match: { field: 'dst', cidr: '192.0.2.7/32' }, exceptTcp: true, probability: 1 }], egress: [] });
});

test('planFaults: tbf for a rate where it acts (own interface: out, host end: in), netem or the delay line for a delay', () => {
  const rateOut: Fault = { Id: 'a', Kind: 'rate', Rate: '1mbit' };
  assert.deepEqual(planFaults([rateOut], [], false).containerQdisc('eth0'),
    ['qdisc', 'replace', 'dev', 'eth0', 'root', 'tbf', 'rate', '1mbit', 'burst', '1600', 'latency', '50ms']);
  assert.deepEqual(planFaults([rateOut], [], false).hostQdisc('veth1'), ['qdisc', 'del', 'dev', 'veth1', 'root']);
  const rateIn: Fault = { Id: 'b', Kind: 'rate', Rate: '1gbit', Direction: 'in' };
  assert.deepEqual(planFaults([rateIn], [], false).hostQdisc('veth1').slice(0, 10), ['qdisc', 'replace', 'dev', 'veth1', 'root', 'tbf', 'rate', '1gbit', 'burst', '1250000']);
  assert.deepEqual(planFaults([rateIn], [], false).containerQdisc('eth0'), ['qdisc', 'del', 'dev', 'eth0', 'root']);

  const delay: Fault = { Id: 'c', Kind: 'delay', Delay: '100ms', Jitter: '10ms', Direction: 'both' };
  const netem = planFaults([rateOut, delay], [], true);
  assert.deepEqual(netem.containerQdisc('eth0'), ['qdisc', 'replace', 'dev', 'eth0', 'root', 'netem', 'delay', '100ms', '10ms', 'rate', '1mbit']);
  assert.deepEqual(netem.hostQdisc('veth1'), ['qdisc', 'replace', 'dev', 'veth1', 'root', 'netem', 'delay', '100ms', '10ms']);
  assert.deepEqual(netem.delayLine, {});
  assert.doesNotMatch(netem.iptables, /NFQUEUE/);

  const line = planFaults([rateOut, delay], [], false);
  assert.deepEqual(line.delayLine, { out: { delayUs: 100_000, jitterUs: 10_000 }, in: { delayUs: 100_000, jitterUs: 10_000 } });
  assert.equal(line.containerQdisc('eth0')[5], 'tbf');
  assert.deepEqual(line.iptables.split('\n').filter((l) => l.includes('NFQUEUE')), [
    '-A BERTH-FAULT-IN ! -i lo -m comment --comment "berth-fault c" -j NFQUEUE --queue-num 1 --queue-bypass',
    '-A BERTH-FAULT-OUT ! -o lo -m comment --comment "berth-fault c" -j NFQUEUE --queue-num 0 --queue-bypass',
  ]);
  assert.deepEqual(planFaults([{ Id: 'd', Kind: 'delay', Delay: '1s' }], [], false).delayLine, { out: { delayUs: 1_000_000, jitterUs: 0 } });
  assert.deepEqual(planFaults([{ Id: 'a', Kind: 'partition', Addresses: ['10.0.0.1'] }], [], false).containerQdisc('eth0'), ['qdisc', 'del', 'dev', 'eth0', 'root']);
});

/** Just enough of a classic-BPF interpreter to run the wire's programs on made-up frames. */
function runBpf(program: ReturnType<typeof dropProgram>, frame: Buffer, random: number): number {
  let a = 0;
  let x = 0;
  for (let pc = 0; pc < program.length; pc++) {
    const i = program[pc];
    const jt = i.jt as number;
    const jf = i.jf as number;
    // Classic BPF ends with 0 on a load past the end of the packet.
    if ([0x28, 0x30, 0x48, 0x50].includes(i.code) || (i.code === 0x20 && i.k !== 0xfffff038) || i.code === 0x40) {
      const at = i.k + (i.code >= 0x40 && i.code <= 0x50 ? x : 0);
      const size = i.code === 0x20 || i.code === 0x40 ? 4 : i.code === 0x28 || i.code === 0x48 ? 2 : 1;
      if (at + size > frame.length) return 0;
    }
    switch (i.code) {
      case 0x28: a = frame.readUInt16BE(i.k); break;
      case 0x30: a = frame[i.k]; break;
      case 0x20: a = i.k === 0xfffff038 ? random : frame.readUInt32BE(i.k); break;
      case 0x40: a = frame.readUInt32BE(x + i.k); break;
      case 0x48: a = frame.readUInt16BE(x + i.k); break;
      case 0x50: a = frame[x + i.k]; break;
      case 0xb1: x = 4 * (frame[i.k] & 0xf); break;
      case 0x54: a = (a & i.k) >>> 0; break;
      case 0x44: a = (a | i.k) >>> 0; break;
      case 0x45: pc += (a & i.k) !== 0 ? jt : jf; break;
      case 0x15: pc += a === i.k ? jt : jf; break;
      case 0x35: pc += a >= i.k ? jt : jf; break;
      case 0x06: return i.k;
      default: throw new Error(`opcode ${i.code}`);
    }
  }
  throw new Error('fell off the end');
}

function frame(ethertype: number, src = '10.0.0.2', dst = '10.0.0.3', proto = 17): Buffer {
  const b = Buffer.alloc(64);
  b.writeUInt16BE(ethertype, 12);
  b[23] = proto;
  src.split('.').forEach((o, n) => { b[26 + n] = Number(o); });
  dst.split('.').forEach((o, n) => { b[30 + n] = Number(o); });
  return b;
}

test('dropProgram: drops what it matches (TC_ACT_SHOT), leaves the rest to the next filter (TC_ACT_UNSPEC), never ARP', () => {
  const SHOT = 2;
  const UNSPEC = 0xffffffff;
  const toPeer = dropProgram({ match: { field: 'dst', cidr: '10.0.0.3/32' }, probability: 1 });
  assert.equal(runBpf(toPeer, frame(0x0800), 0), SHOT);
  assert.equal(runBpf(toPeer, frame(0x0800, '10.0.0.2', '10.0.0.4'), 0), UNSPEC);
  assert.equal(runBpf(toPeer, frame(0x0806), 0), UNSPEC, 'ARP passes');
  const fromNet = dropProgram({ match: { field: 'src', cidr: '10.8.0.0/16' }, probability: 1 });
  assert.equal(runBpf(fromNet, frame(0x0800, '10.8.200.1'), 0), SHOT);
  assert.equal(runBpf(fromNet, frame(0x0800, '10.9.0.1'), 0), UNSPEC);
  const exceptTcp = dropProgram({ match: { field: 'dst', cidr: '10.0.0.3' }, exceptTcp: true, probability: 1 });
  assert.equal(runBpf(exceptTcp, frame(0x0800, '10.0.0.2', '10.0.0.3', 6), 0), UNSPEC, 'TCP passes');
  assert.equal(runBpf(exceptTcp, frame(0x0800, '10.0.0.2', '10.0.0.3', 17), 0), SHOT);
  const lossy = dropProgram({ probability: 0.25 });
  assert.equal(runBpf(lossy, frame(0x0800), 0x3fffffff), SHOT, 'a random number below p·2³² drops');
  assert.equal(runBpf(lossy, frame(0x86dd), 0x3fffffff), SHOT, 'IPv6 too');
  assert.equal(runBpf(lossy, frame(0x0800), 0x40000000), UNSPEC);
  assert.equal(runBpf(lossy, frame(0x0806), 0), UNSPEC, 'ARP passes');
  assert.match(bytecode(toPeer), /^6,40 0 0 12,21 0 3 2048,32 0 0 30,21 0 1 167772163,6 0 0 2,6 0 0 4294967295$/);
  assert.deepEqual(wireBatch('veth1', [], []), []);
  const batch = wireBatch('veth1', [{ probability: 1 }], [{ match: { field: 'src', cidr: '10.0.0.3/32' }, probability: 1 }]);
  assert.equal(batch[0], 'qdisc add dev veth1 clsact');
  assert.match(batch[1], /^filter add dev veth1 ingress pref 1 protocol all bpf bytecode "\d+,[\d ,]+" da$/);
  assert.match(batch[2], /^filter add dev veth1 egress pref 1 protocol all bpf bytecode "/);
});

/** An Ethernet frame with an IPv4 UDP DNS query for `name` to `port`. */
function dnsQuery(name: string, port = 53, ihl = 5): Buffer {
  const qname = Buffer.concat([...name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])), Buffer.from([0, 0, 1, 0, 1])]);
  const b = Buffer.alloc(14 + ihl * 4 + 8 + 12 + qname.length);
  b.writeUInt16BE(0x0800, 12);
  b[14] = 0x40 | ihl;
  b[23] = 17;
  b.writeUInt16BE(port, 14 + ihl * 4 + 2);
  qname.copy(b, 14 + ihl * 4 + 8 + 12);
  return b;
}

test('dropProgram for a DNS name: its queries (any case, any search-domain suffix, any IP header length), nothing else', () => {
  const SHOT = 2;
  const UNSPEC = 0xffffffff;
  const db = dropProgram({ dnsName: 'db1', probability: 1 });
  assert.equal(runBpf(db, dnsQuery('db1'), 0), SHOT);
  assert.equal(runBpf(db, dnsQuery('DB1.dns.podman'), 0), SHOT);
  assert.equal(runBpf(db, dnsQuery('db1', 53, 6), 0), SHOT, 'IP options');
  assert.equal(runBpf(db, dnsQuery('db10'), 0), UNSPEC);
  assert.equal(runBpf(db, dnsQuery('db'), 0), UNSPEC);
  assert.equal(runBpf(db, dnsQuery('xdb1'), 0), UNSPEC);
  assert.equal(runBpf(db, dnsQuery('db1', 5353), 0), UNSPEC, 'not DNS');
  assert.equal(runBpf(db, frame(0x0806), 0), UNSPEC, 'ARP');
  assert.equal(runBpf(db, frame(0x0800, '10.0.0.2', '10.0.0.3', 6), 0), UNSPEC, 'TCP');
  const long = dropProgram({ dnsName: 'etcd-2.cluster.example', probability: 1 });
  assert.equal(runBpf(long, dnsQuery('Etcd-2.Cluster.Example'), 0), SHOT);
  assert.equal(runBpf(long, dnsQuery('etcd-2.cluster.examplf'), 0), UNSPEC);
  assert.deepEqual([...dnsLabels('db1.x.')], [3, 0x64, 0x62, 0x31, 1, 0x78]);
  // DNS drops come after every other drop (a short query ends its program with "pass, skip the rest").
  const plan = planFaults([
    { Id: 'a', Kind: 'dns', Names: ['db1'] },
    { Id: 'b', Kind: 'partition', Peers: ['c'], Addresses: ['10.0.0.9'] },
  ], [], false);
  assert.deepEqual(plan.wire.ingress.map((w) => w.dnsName ?? w.match?.cidr), ['10.0.0.9/32', 'db1']);
  assert.deepEqual(normalizeRequest({ Kind: 'dns', Names: ['DB1.'] }), { Kind: 'dns', Names: ['db1'] });
  for (const bad of [{ Kind: 'dns' }, { Kind: 'dns', Names: [] }, { Kind: 'dns', Names: ['a b'] }, { Kind: 'dns', Names: ['x'], Peers: ['y'] }, { Kind: 'dns', Names: ['a'.repeat(64)] }]) {
    assert.throws(() => normalizeRequest(bad), InvalidParameterError, JSON.stringify(bad));
  }
  assert.equal(describeFault({ Id: 'a', Kind: 'dns', Names: ['db1', 'db2'] }), 'no answer for db1,db2');
});

test('replacesOnAdd: one rate and one delay per direction', () => {
  assert.ok(replacesOnAdd({ Id: 'a', Kind: 'rate', Rate: '1mbit' }, { Kind: 'rate', Rate: '2mbit' }));
  assert.ok(!replacesOnAdd({ Id: 'a', Kind: 'loss', Probability: 1 }, { Kind: 'loss', Probability: 0.5 }));
  assert.ok(!replacesOnAdd({ Id: 'a', Kind: 'rate', Rate: '1mbit' }, { Kind: 'rate', Rate: '2mbit', Direction: 'in' }));
  assert.ok(replacesOnAdd({ Id: 'a', Kind: 'delay', Delay: '1ms', Direction: 'both' }, { Kind: 'delay', Delay: '2ms', Direction: 'in' }));
});

test('CLI: loss as a percentage or a fraction; a fault described in a few words', () => {
  assert.equal(parseProbability('30%'), 0.3);
  assert.equal(parseProbability('0.25'), 0.25);
  assert.equal(parseProbability('100%'), 1);
  for (const bad of ['0', '0%', '150%', '1.5', 'half', '-5%']) assert.throws(() => parseProbability(bad), /invalid loss/, bad);
  assert.equal(describeFault({ Id: 'a', Kind: 'partition', Peers: ['b', 'c'], Addresses: ['10.0.0.2', '10.0.0.3'] }), 'from b,c (10.0.0.2,10.0.0.3)');
  assert.equal(describeFault({ Id: 'a', Kind: 'loss', Probability: 0.3, Direction: 'both' }), '30% both');
  assert.equal(describeFault({ Id: 'a', Kind: 'partition', Peers: ['b'], Addresses: ['10.0.0.2'], Reject: true }), 'from b (10.0.0.2), rejected');
  assert.equal(describeFault({ Id: 'a', Kind: 'loss', Probability: 1, Direction: 'in', Peers: ['c'], Addresses: ['10.0.0.3'] }), '100% in to/from c (10.0.0.3)');
  assert.equal(describeFault({ Id: 'a', Kind: 'rate', Rate: '1mbit' }), '1mbit out');
  assert.equal(describeFault({ Id: 'a', Kind: 'delay', Delay: '100ms', Jitter: '5ms' }), '100ms ±5ms out');
  assert.equal(describeFault({ Id: 'a', Kind: 'rate', Rate: '1mbit', Direction: 'in' }), '1mbit in');
});

test('resolveSchedule: a seeded timeline, undos first at the same instant, loud refusals', () => {
  const text = JSON.stringify({
    steps: [
      { at: '0s', fault: 'partition', target: { oneOf: ['a', 'b', 'c'] }, peers: ['d'], for: '2s' },
      { at: '2s', fault: 'loss', target: { oneOf: ['a', 'b', 'c'] }, probability: '30%', direction: 'both' },
      { at: 1, fault: 'kill', target: 'c', signal: 'TERM', for: '500ms' },
    ],
  });
  const one = resolveSchedule(text, 7);
  assert.deepEqual(resolveSchedule(text, 7), one, 'the same seed, the same timeline');
  const choices = new Set([1, 2, 3, 4, 5, 6, 8, 9].map((seed) => resolveSchedule(text, seed).events.filter((e) => e.action === 'apply').map((e) => e.step.target).join()));
  assert.ok(choices.size > 1, 'other seeds, other choices');
  assert.equal(one.end, 2000);
  assert.deepEqual(one.events.map((e) => `${e.t} ${e.action} ${e.step.kind}`), [
    '0 apply partition', '1000 apply kill', '1500 undo kill', '2000 undo partition', '2000 apply loss', '2000 undo loss',
  ]);
  assert.deepEqual(one.events[4].step.body, { Kind: 'loss', Probability: 0.3, Direction: 'both' });
  assert.equal(describeStep(one.events[4].step), '30% both');
  assert.equal(resolveSchedule('seed: 3\nend: 10s\nsteps:\n  - {fault: pause, target: x}\n').end, 10_000, 'YAML');
  for (const [bad, message] of [
    ['[]', /a mapping with `steps`/], ['steps: []', /non-empty list/], ['steps: [{fault: jam, target: x}]', /fault "jam" must be one of/],
    ['steps: [{fault: pause}]', /target must be a name/], ['steps: [{fault: loss, target: x, probability: 2}]', /probability 2/],
    ['steps: [{fault: partition, target: x}]', /peers must be a list/], ['steps: [{fault: pause, target: x, at: soon}]', /"soon" is not a duration/],
    ['seed: -1\nsteps: [{fault: pause, target: x}]', /seed -1/], ['steps: [{fault: kill, target: x, signal: "KILL; rm"}]', /signal/],
  ] as const) {
    assert.throws(() => resolveSchedule(bad), message, bad);
  }
  assert.equal(parseDuration('250ms', 'x'), 250);
  assert.equal(parseDuration('2m', 'x'), 120_000);
  assert.equal(eventTime(new Date(Date.UTC(2026, 11, 6, 23, 20, 1, 118))), '2026-12-06T23:20:01.118000000Z');
});

/** A history of a healthy run: etcd1 leads, is isolated at 5 s, etcd2 takes over, writes go on through the majority. */
function healthyHistory(): object[] {
  return [
    { type: 'config', electionTimeoutMs: 1000 },
    { type: 'leader', member: 'etcd2', leader: 'etcd1', time: 100 },
    { type: 'invoke', process: 1, f: 'incr', key: 'c', member: 'etcd1', time: 200 },
    { type: 'ok', process: 1, f: 'incr', key: 'c', value: 1, revision: 2, member: 'etcd1', time: 210 },
    { type: 'invoke', process: 2, f: 'cas', key: 'k', value: 'a', member: 'etcd2', time: 300 },
    { type: 'ok', process: 2, f: 'cas', key: 'k', value: 'a', revision: 3, member: 'etcd2', time: 310 },
    { type: 'nemesis', f: 'partition-start', isolated: ['etcd1'], time: 5000 },
    { type: 'invoke', process: 1, f: 'incr', key: 'c', member: 'etcd1', time: 5100 },
    { type: 'info', process: 1, f: 'incr', key: 'c', member: 'etcd1', time: 7100 },
    { type: 'invoke', process: 3, f: 'read', key: 'k', member: 'etcd1', linearizable: false, time: 5200 },
    { type: 'ok', process: 3, f: 'read', key: 'k', value: 'a', member: 'etcd1', linearizable: false, time: 5210 },
    { type: 'leader', member: 'etcd2', leader: 'etcd3', time: 6500 },
    { type: 'invoke', process: 2, f: 'incr', key: 'c', member: 'etcd2', time: 6600 },
    { type: 'ok', process: 2, f: 'incr', key: 'c', value: 2, revision: 4, member: 'etcd2', time: 6610 },
    { type: 'nemesis', f: 'partition-end', time: 15000 },
    { type: 'final', key: 'c', value: 2, time: 20000 },
    { type: 'final', key: 'k', value: 'a', time: 20000 },
  ];
}
const lines = (h: object[]) => h.map((r) => JSON.stringify(r)).join('\n');

test('checkHistory: a healthy run is valid; each broken variant is caught and named', () => {
  const good = checkHistory(lines(healthyHistory()));
  assert.deepEqual(good.violations, []);
  assert.ok(good.ok);
  assert.deepEqual(good.operations, { ok: 4, fail: 0, info: 1 });
  assert.match(formatReport(good), /^operations: 4 ok, 0 failed, 1 unknown\n {2}leader etcd1 isolated at 5000 ms: etcd3 seen leading 1500 ms later\nvalid: /);

  // A "cluster" whose client acknowledges before the write is committed: the isolated member says ok, and the write is lost.
  const early = healthyHistory().map((r) => ((r as { type: string; time?: number }).type === 'info' ? { ...r, type: 'ok', value: 3, revision: 4 } : r));
  const broken = checkHistory(lines(early));
  assert.equal(broken.ok, false);
  assert.ok(broken.violations.some((v) => /etcd1 was isolated from 5000 to 15000 ms but acknowledged incr c at 7100 ms/.test(v)), broken.violations.join('\n'));
  assert.ok(broken.violations.some((v) => /c: 3 increments acknowledged, but the counter ends at 2/.test(v)), broken.violations.join('\n'));
  assert.ok(broken.violations.some((v) => /revision 4 acknowledged for two values/.test(v)), broken.violations.join('\n'));
  assert.match(formatReport(broken), /INVALID: 3 violations/);

  const slowElection = healthyHistory().map((r) => ((r as { type: string; leader?: string }).leader === 'etcd3' ? { ...r, time: 9000 } : r));
  assert.match(checkHistory(lines(slowElection)).violations.join(), /etcd3 was seen leading only 4000 ms later \(more than 3 × 1000 ms\)/);
  const lostCas = healthyHistory().map((r) => ((r as { type: string; key?: string }).type === 'final' && (r as { key: string }).key === 'k' ? { ...r, value: 'zz' } : r));
  assert.match(checkHistory(lines(lostCas)).violations.join(), /k: ends as "zz", which no write that did not fail put there/);
  const staleIsOk = healthyHistory();
  assert.ok(checkHistory(lines(staleIsOk)).ok, 'a serializable read from the minority is allowed');
  assert.throws(() => checkHistory('{"type":"ok"\n'), /history line 1: not JSON/);
});
