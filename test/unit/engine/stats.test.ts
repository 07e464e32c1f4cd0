/** Docker's stats samples: shape, limits, and the timing of stream / no-stream / one-shot. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { containerStats, emptyStats, toStatsResponse, type StatsContainers, type StatsResponse } from '../../../src/engine/stats.js';
import type { CgroupUsage } from '../../../src/runtime/cgroup-stats.js';
import type { ContainerRecord } from '../../../src/store/container-store.js';

function usage(version: 1 | 2, over: Partial<CgroupUsage['memory']> = {}): CgroupUsage {
  const blkio = { serviceBytes: null, serviced: null, queued: null, serviceTime: null, waitTime: null, merged: null, time: null, sectors: null };
  return {
    version,
    cpu: { totalNs: 5e8, userNs: 4e8, systemNs: 1e8, ...(version === 1 ? { perCpuNs: [3e8, 2e8] } : {}), periods: 0, throttledPeriods: 0, throttledNs: 0 },
    memory: { usage: 1 << 20, limit: null, stats: { total_inactive_file: 4096, inactive_file: 2048, cache: 1, unknown_key: 9 }, ...over },
    pids: { current: 2, limit: null },
    blkio: version === 2 ? { ...blkio, serviceBytes: [] } : blkio,
  };
}

const C = { Id: 'f'.repeat(64), Name: 'web' };
const HOST = { systemNs: 9e12, onlineCpus: 2 };

test('a v1 sample has Docker\'s fields, percpu usage, v1 memory keys and every blkio table', () => {
  const s = toStatsResponse(C, new Date('2026-01-02T03:04:05.678Z'), usage(1), HOST, 8 * 2 ** 30, { eth0: { rx_bytes: 1, rx_packets: 1, rx_errors: 0, rx_dropped: 0, tx_bytes: 2, tx_packets: 1, tx_errors: 0, tx_dropped: 0 } });
  assert.deepEqual(Object.keys(s), [
    'name', 'id', 'read', 'preread', 'pids_stats', 'blkio_stats', 'num_procs', 'storage_stats', 'cpu_stats', 'precpu_stats', 'memory_stats', 'networks',
  ]);
  assert.equal(s.name, '/web');
  assert.equal(s.read, '2026-01-02T03:04:05.678Z');
  assert.equal(s.preread, '0001-01-01T00:00:00Z');
  assert.deepEqual(s.cpu_stats.cpu_usage, { total_usage: 5e8, percpu_usage: [3e8, 2e8], usage_in_kernelmode: 1e8, usage_in_usermode: 4e8 });
  assert.equal(s.cpu_stats.system_cpu_usage, 9e12);
  assert.equal(s.cpu_stats.online_cpus, 2);
  assert.equal(s.memory_stats.limit, 8 * 2 ** 30, 'no limit: the host\'s memory');
  assert.equal(s.memory_stats.stats!.total_inactive_file, 4096);
  assert.equal(s.memory_stats.stats!.hierarchical_memsw_limit, 0, 'every v1 key, zero where the kernel has none');
  assert.equal(s.memory_stats.stats!.unknown_key, undefined);
  assert.equal(s.memory_stats.stats!.anon, undefined, 'v2 keys are not v1 keys');
  assert.deepEqual(s.blkio_stats.io_service_bytes_recursive, []);
  assert.deepEqual(s.pids_stats, { current: 2, limit: undefined });
  assert.ok(s.networks?.eth0);
});

test('a v2 sample: no percpu, v2 memory keys, only io_service_bytes_recursive; a limit above the host is capped', () => {
  const s = toStatsResponse(C, new Date(), usage(2, { limit: 64 * 2 ** 30 }), HOST, 8 * 2 ** 30, null);
  assert.equal(s.cpu_stats.cpu_usage.percpu_usage, undefined);
  assert.equal(s.memory_stats.limit, 8 * 2 ** 30);
  assert.equal(s.memory_stats.stats!.inactive_file, 2048);
  assert.equal(s.memory_stats.stats!.total_inactive_file, undefined);
  assert.deepEqual(s.blkio_stats.io_service_bytes_recursive, []);
  assert.equal(s.blkio_stats.io_serviced_recursive, null);
  assert.equal('networks' in s, false, 'no interfaces: no networks field (omitempty)');
  assert.equal(toStatsResponse(C, new Date(), usage(2, { limit: 64 << 20 }), HOST, 8 * 2 ** 30, {}).memory_stats.limit, 64 << 20);
});

test('the empty sample of a stopped container is Go\'s zero StatsResponse with name and id', () => {
  assert.deepEqual(JSON.parse(JSON.stringify(emptyStats(C))), {
    name: '/web', id: C.Id, read: '0001-01-01T00:00:00Z', preread: '0001-01-01T00:00:00Z', pids_stats: {},
    blkio_stats: {
      io_service_bytes_recursive: null, io_serviced_recursive: null, io_queue_recursive: null, io_service_time_recursive: null,
      io_wait_time_recursive: null, io_merged_recursive: null, io_time_recursive: null, sectors_recursive: null,
    },
    num_procs: 0, storage_stats: {},
    cpu_stats: { cpu_usage: { total_usage: 0, usage_in_kernelmode: 0, usage_in_usermode: 0 }, throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 } },
    precpu_stats: { cpu_usage: { total_usage: 0, usage_in_kernelmode: 0, usage_in_usermode: 0 }, throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 } },
    memory_stats: {},
  });
});

function record(running: boolean): ContainerRecord {
  return {
    Id: C.Id, Name: C.Name, Created: '', Image: '', ImageRef: '', Path: '', Args: [], Config: {}, HostConfig: { NetworkMode: 'none' },
    State: {
      Status: running ? 'running' : 'exited', Running: running, Paused: false, Restarting: false, OOMKilled: false, Dead: false,
      Pid: 0, ExitCode: 0, Error: '', StartedAt: '', FinishedAt: '',
    },
    RestartCount: 0, Mounts: [], Runtime: 'runc',
  };
}

function source(c: ContainerRecord | undefined): StatsContainers & { set(c: ContainerRecord | undefined): void } {
  let cur = c;
  return {
    set(n) { cur = n; },
    get: (id) => (cur && cur.Id === id ? cur : undefined),
    lookup: (n) => { if (cur && (cur.Id === n || cur.Name === n)) return cur; throw new Error('no such container'); },
  };
}

async function collect(gen: AsyncGenerator<StatsResponse>, max = 10): Promise<StatsResponse[]> {
  const out: StatsResponse[] = [];
  for await (const s of gen) { out.push(s); if (out.length >= max) break; }
  return out;
}

test('stream=false on a stopped container: one empty sample at once', async () => {
  const t0 = Date.now();
  const out = await collect(containerStats(source(record(false)), C.Id, { stream: false, oneShot: false, signal: new AbortController().signal, intervalMs: 5000 }));
  assert.equal(out.length, 1);
  assert.equal(out[0].read, '0001-01-01T00:00:00Z');
  assert.ok(Date.now() - t0 < 1000);
});

test('stream=false on a running container waits one interval so precpu_stats come from a first sample', async () => {
  // Its cgroup does not exist on this host, so both samples read as "stopped meanwhile": empty.
  const t0 = Date.now();
  const out = await collect(containerStats(source(record(true)), C.Id, { stream: false, oneShot: false, signal: new AbortController().signal, intervalMs: 200 }));
  assert.equal(out.length, 1);
  assert.ok(Date.now() - t0 >= 190, 'primed by a first sample one interval earlier');
  const one = await collect(containerStats(source(record(true)), C.Id, { stream: false, oneShot: true, signal: new AbortController().signal, intervalMs: 5000 }));
  assert.equal(one.length, 1);
});

test('streaming: a sample per interval, precpu from the previous one; removal or abort ends the stream', async () => {
  const src = source(record(false));
  const ac = new AbortController();
  const gen = containerStats(src, C.Id, { stream: true, oneShot: false, signal: ac.signal, intervalMs: 20 });
  const first = await gen.next();
  const second = await gen.next();
  assert.equal(first.done, false);
  assert.equal(second.done, false);
  assert.deepEqual((second.value as StatsResponse).precpu_stats, (first.value as StatsResponse).cpu_stats);
  src.set(undefined);
  assert.equal((await gen.next()).done, true);

  const gen2 = containerStats(source(record(false)), C.Id, { stream: true, oneShot: false, signal: ac.signal, intervalMs: 60_000 });
  await gen2.next();
  const pending = gen2.next();
  ac.abort();
  assert.equal((await pending).done, true);
});
