/** `berth stats` arithmetic and rows as Docker's CLI computes and prints them; `berth update`'s request body. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  cpuPercent, invalidEntry, memoryUsage, statsContext, statsFormat, statsCommand, toEntry, type StatsResponse,
} from '../../../src/cli/container/stats.js';
import { buildUpdateBody, updateCommand } from '../../../src/cli/container/update.js';
import { formatRows } from '../../../src/cli/format/formatter.js';
import { parseFlags } from '../../../src/cli/flags.js';

const HEADERS = {
  Container: 'CONTAINER', ID: 'CONTAINER ID', Name: 'NAME', CPUPerc: 'CPU %', MemUsage: 'MEM USAGE / LIMIT',
  MemPerc: 'MEM %', NetIO: 'NET I/O', BlockIO: 'BLOCK I/O', PIDs: 'PIDS',
};

function sample(over: Partial<StatsResponse> = {}): StatsResponse {
  return {
    id: 'ab'.repeat(32), name: '/web',
    cpu_stats: { cpu_usage: { total_usage: 3e9, percpu_usage: [1, 2] }, system_cpu_usage: 20e9, online_cpus: 2 },
    precpu_stats: { cpu_usage: { total_usage: 2e9 }, system_cpu_usage: 18e9 },
    memory_stats: { usage: 10 << 20, limit: 100 << 20, stats: { total_inactive_file: 2 << 20 } },
    networks: { eth0: { rx_bytes: 1500, tx_bytes: 500 }, eth1: { rx_bytes: 500, tx_bytes: 500 } },
    blkio_stats: { io_service_bytes_recursive: [{ op: 'Read', value: 4096 }, { op: 'Write', value: 8192 }, { op: 'Total', value: 12288 }] },
    pids_stats: { current: 3 },
    ...over,
  };
}

test('CPU %: container delta over system delta × online CPUs (percpu count when online_cpus is missing)', () => {
  assert.equal(cpuPercent(sample()), 100);
  const noOnline = sample();
  delete noOnline.cpu_stats.online_cpus;
  assert.equal(cpuPercent(noOnline), 100);
  assert.equal(cpuPercent(sample({ precpu_stats: { cpu_usage: { total_usage: 3e9 }, system_cpu_usage: 18e9 } })), 0);
});

test('memory without inactive file pages: v1 total_inactive_file, v2 inactive_file', () => {
  assert.equal(memoryUsage({ usage: 100, stats: { total_inactive_file: 30 } }), 70);
  assert.equal(memoryUsage({ usage: 100, stats: { inactive_file: 40 } }), 60);
  assert.equal(memoryUsage({ usage: 100, stats: { inactive_file: 400 } }), 100);
  assert.equal(memoryUsage({}), 0);
});

test('a row as docker stats prints it, and --format json with Docker\'s keys', () => {
  const e = toEntry('web', sample());
  assert.equal(e.netRx, 2000);
  assert.equal(e.blockWrite, 8192);
  const table = formatRows(statsFormat(''), [statsContext(e, true)], HEADERS);
  assert.equal(table,
    'CONTAINER ID   NAME      CPU %     MEM USAGE / LIMIT   MEM %     NET I/O     BLOCK I/O        PIDS\n' +
    'abababababab   web       100.00%   8MiB / 100MiB       8.00%     2kB / 1kB   4.1kB / 8.19kB   3\n');
  const json = JSON.parse(formatRows('json', [statsContext(e, true)], HEADERS));
  assert.deepEqual(Object.keys(json), ['BlockIO', 'CPUPerc', 'Container', 'ID', 'MemPerc', 'MemUsage', 'Name', 'NetIO', 'PIDs']);
  assert.equal(json.MemUsage, '8MiB / 100MiB');
  assert.equal(formatRows('{{.Container}}: {{.CPUPerc}}', [statsContext(e, true)], HEADERS), 'web: 100.00%\n');
});

test('a row without data shows dashes, and a nameless one --', () => {
  const ctx = statsContext(invalidEntry('gone'), true);
  const row = JSON.parse(formatRows('json', [ctx], HEADERS));
  assert.deepEqual(row, { BlockIO: '--', CPUPerc: '--', Container: 'gone', ID: '', MemPerc: '--', MemUsage: '-- / --', Name: '--', NetIO: '--', PIDs: '--' });
});

test('stats flags are Docker\'s', () => {
  const f = parseFlags(statsCommand.flags ?? [], ['-a', '--no-stream', '--no-trunc', '--format', 'json', 'c1']);
  assert.equal(f.bool('all') && f.bool('no-stream') && f.bool('no-trunc'), true);
  assert.deepEqual(f.args, ['c1']);
});

test('update sends the Docker CLI\'s body: sizes in bytes, --cpus in nano CPUs, PidsLimit only when given', () => {
  const body = buildUpdateBody(parseFlags(updateCommand.flags ?? [], ['--memory', '64m', '--cpus', '0.5', '--pids-limit', '50', '--restart', 'on-failure:3', 'c1']));
  assert.equal(body.Memory, 64 << 20);
  assert.equal(body.NanoCpus, 5e8);
  assert.equal(body.PidsLimit, 50);
  assert.deepEqual(body.RestartPolicy, { Name: 'on-failure', MaximumRetryCount: 3 });
  assert.equal('KernelMemory' in body, false);
  const plain = buildUpdateBody(parseFlags(updateCommand.flags ?? [], ['--cpu-shares', '512', 'c1']));
  assert.equal(plain.PidsLimit, null);
  assert.deepEqual(plain.RestartPolicy, { Name: '', MaximumRetryCount: 0 });
  assert.equal(buildUpdateBody(parseFlags(updateCommand.flags ?? [], ['--memory-swap', '-1', 'c1'])).MemorySwap, -1);
  assert.equal('KernelMemory' in buildUpdateBody(parseFlags(updateCommand.flags ?? [], ['--kernel-memory', '10m', 'c1'])), false, 'not in the v1.50 API: warned about, never sent');
});
