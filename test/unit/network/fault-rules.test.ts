import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidParameterError } from '../../../src/errors.js';
import {
  durationMicros, isAddressPeer, iptablesRestoreInput, normalizeRequest, qdiscCommand, rateBitsPerSecond, replacesOnAdd, type Fault,
} from '../../../src/network/fault-rules.js';
import { describeFault, parseProbability } from '../../../src/cli/fault/fault.js';

test('normalizeRequest keeps what each kind uses and refuses the rest by name', () => {
  assert.deepEqual(normalizeRequest({ Kind: 'partition', Peers: ['b', '10.0.0.0/8'], Rate: 'x' }), { Kind: 'partition', Peers: ['b', '10.0.0.0/8'] });
  assert.deepEqual(normalizeRequest({ Kind: 'partition', Peers: ['b'], Reject: true }), { Kind: 'partition', Peers: ['b'], Reject: true });
  assert.deepEqual(normalizeRequest({ Kind: 'partition', Peers: ['b'], Reject: false }), { Kind: 'partition', Peers: ['b'] });
  assert.deepEqual(normalizeRequest({ Kind: 'loss', Probability: 0.25 }), { Kind: 'loss', Probability: 0.25, Direction: 'out' });
  assert.deepEqual(normalizeRequest({ Kind: 'loss', Probability: 1, Direction: 'both', Peers: ['c'] }), { Kind: 'loss', Probability: 1, Direction: 'both', Peers: ['c'] });
  assert.deepEqual(normalizeRequest({ Kind: 'rate', Rate: '1MBit' }), { Kind: 'rate', Rate: '1mbit' });
  assert.deepEqual(normalizeRequest({ Kind: 'delay', Delay: '100ms', Jitter: '' }), { Kind: 'delay', Delay: '100ms' });
  assert.deepEqual(normalizeRequest({ Kind: 'delay', Delay: '1.5s', Jitter: '10ms' }), { Kind: 'delay', Delay: '1.5s', Jitter: '10ms' });
  for (const [bad, message] of [
    [null, /JSON object/], [{ Kind: 'flood' }, /invalid fault kind "flood"/], [{ Kind: 'partition', Peers: [] }, /at least one peer/],
    [{ Kind: 'partition', Peers: [''] }, /list of container names/], [{ Kind: 'loss', Probability: 0 }, /invalid loss probability 0/],
    [{ Kind: 'loss', Probability: '0.5' }, /invalid loss probability "0.5"/], [{ Kind: 'loss', Probability: 0.5, Direction: 'up' }, /invalid direction "up"/],
    [{ Kind: 'rate', Rate: '10 mbit' }, /invalid rate "10 mbit"/], [{ Kind: 'rate', Rate: '1mbit', Peers: ['x'] }, /takes no peers/],
    [{ Kind: 'rate', Rate: '4bit' }, /at least 8bit/], [{ Kind: 'partition', Peers: ['b'], Reject: 'yes' }, /Reject must be true or false/], [{ Kind: 'delay' }, /needs a Delay/], [{ Kind: 'delay', Delay: '1m' }, /invalid duration "1m"/],
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

test('iptablesRestoreInput: both chains flushed and rebuilt from the list', () => {
  const faults: Fault[] = [
    { Id: 'aaaaaaaaaaaa', Kind: 'partition', Peers: ['b'], Addresses: ['10.9.0.3', '10.8.0.0/16'] },
    { Id: 'bbbbbbbbbbbb', Kind: 'loss', Probability: 0.3, Direction: 'both' },
    { Id: 'cccccccccccc', Kind: 'loss', Probability: 1, Direction: 'in', Peers: ['c'], Addresses: ['10.9.0.4'] },
    { Id: 'dddddddddddd', Kind: 'rate', Rate: '1mbit' },
  ];
  assert.equal(iptablesRestoreInput(faults), [
    '*filter', ':BERTH-FAULT-IN - [0:0]', ':BERTH-FAULT-OUT - [0:0]', '-F BERTH-FAULT-IN', '-F BERTH-FAULT-OUT',
    '-A BERTH-FAULT-OUT -d 10.9.0.3/32 -m comment --comment "berth-fault aaaaaaaaaaaa" -j DROP',
    '-A BERTH-FAULT-IN -s 10.9.0.3/32 -m comment --comment "berth-fault aaaaaaaaaaaa" -j DROP',
    '-A BERTH-FAULT-OUT -d 10.8.0.0/16 -m comment --comment "berth-fault aaaaaaaaaaaa" -j DROP',
    '-A BERTH-FAULT-IN -s 10.8.0.0/16 -m comment --comment "berth-fault aaaaaaaaaaaa" -j DROP',
    '-A BERTH-FAULT-OUT -m statistic --mode random --probability 0.3 -m comment --comment "berth-fault bbbbbbbbbbbb" -j DROP',
    '-A BERTH-FAULT-IN -m statistic --mode random --probability 0.3 -m comment --comment "berth-fault bbbbbbbbbbbb" -j DROP',
    '-A BERTH-FAULT-IN -s 10.9.0.4/32 -m statistic --mode random --probability 1 -m comment --comment "berth-fault cccccccccccc" -j DROP',
    'COMMIT', '',
  ].join('\n'));
  assert.match(iptablesRestoreInput([]), /^\*filter\n.*-F BERTH-FAULT-OUT\nCOMMIT\n$/s);
  assert.deepEqual(iptablesRestoreInput([{ Id: 'eeeeeeeeeeee', Kind: 'partition', Peers: ['b'], Addresses: ['10.9.0.3'], Reject: true }]).split('\n').slice(5, -2), [
    '-A BERTH-FAULT-OUT -d 10.9.0.3/32 -p tcp --tcp-flags RST RST -m comment --comment "berth-fault eeeeeeeeeeee" -j RETURN',
    '-A BERTH-FAULT-OUT -d 10.9.0.3/32 -p tcp -m comment --comment "berth-fault eeeeeeeeeeee" -j REJECT --reject-with tcp-reset',
    '-A BERTH-FAULT-OUT -d 10.9.0.3/32 -m comment --comment "berth-fault eeeeeeeeeeee" -j REJECT --reject-with icmp-port-unreachable',
    '-A BERTH-FAULT-IN -s 10.9.0.3/32 -p tcp --tcp-flags RST RST -m comment --comment "berth-fault eeeeeeeeeeee" -j RETURN',
    '-A BERTH-FAULT-IN -s 10.9.0.3/32 -p tcp -m comment --comment "berth-fault eeeeeeeeeeee" -j REJECT --reject-with tcp-reset',
    '-A BERTH-FAULT-IN -s 10.9.0.3/32 -m comment --comment "berth-fault eeeeeeeeeeee" -j REJECT --reject-with icmp-port-unreachable',
  ]);
});

test('qdiscCommand: tbf for a rate, netem for a delay (with its own rate), deletion for neither', () => {
  assert.deepEqual(qdiscCommand('eth0', [{ Id: 'a', Kind: 'rate', Rate: '1mbit' }]),
    ['qdisc', 'replace', 'dev', 'eth0', 'root', 'tbf', 'rate', '1mbit', 'burst', '1600', 'latency', '50ms']);
  assert.deepEqual(qdiscCommand('eth1', [{ Id: 'a', Kind: 'rate', Rate: '1gbit' }]).slice(8, 10), ['burst', '1250000']);
  assert.deepEqual(qdiscCommand('eth0', [{ Id: 'a', Kind: 'rate', Rate: '1mbit' }, { Id: 'b', Kind: 'delay', Delay: '100ms', Jitter: '10ms' }]),
    ['qdisc', 'replace', 'dev', 'eth0', 'root', 'netem', 'delay', '100ms', '10ms', 'rate', '1mbit']);
  assert.deepEqual(qdiscCommand('eth0', [{ Id: 'a', Kind: 'partition', Addresses: ['10.0.0.1'] }]), ['qdisc', 'del', 'dev', 'eth0', 'root']);
  assert.ok(replacesOnAdd({ Id: 'a', Kind: 'rate', Rate: '1mbit' }, { Kind: 'rate', Rate: '2mbit' }));
  assert.ok(!replacesOnAdd({ Id: 'a', Kind: 'loss', Probability: 1 }, { Kind: 'loss', Probability: 0.5 }));
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
});
