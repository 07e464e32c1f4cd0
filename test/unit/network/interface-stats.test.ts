/** /proc/<pid>/net/dev → Docker's per-interface counters. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseNetDev, readInterfaceStats } from '../../../src/network/interface-stats.js';

const NET_DEV = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:     120       2    0    0    0     0          0         0      120       2    0    0    0     0       0          0
  eth0:    5338      36    1    2    0     0          0         0      648       8    3    4    0     0       0          0
  eth1: 4641 26 0 0 0 0 0 0 690 9 0 0 0 0 0 0
`;

test('every interface but lo, with rx/tx bytes, packets, errors and drops', () => {
  assert.deepEqual(parseNetDev(NET_DEV), {
    eth0: { rx_bytes: 5338, rx_packets: 36, rx_errors: 1, rx_dropped: 2, tx_bytes: 648, tx_packets: 8, tx_errors: 3, tx_dropped: 4 },
    eth1: { rx_bytes: 4641, rx_packets: 26, rx_errors: 0, rx_dropped: 0, tx_bytes: 690, tx_packets: 9, tx_errors: 0, tx_dropped: 0 },
  });
  assert.deepEqual(parseNetDev(''), {});
});

test('a process that is gone has no counters; this process has its namespace\'s', async () => {
  assert.equal(await readInterfaceStats(2 ** 30), null);
  assert.equal(typeof (await readInterfaceStats(process.pid)), 'object');
});
