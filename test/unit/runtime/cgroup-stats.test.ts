/** Reading a container's usage from cgroup v1 and v2 files, on fake hierarchies in a temporary directory. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  canLimitSwap, cgroupDir, parseBlkioV1, parseIoStat, parseKeyedValues, parseLimit, parseProcStat, readCgroupUsage, readHostCpu,
} from '../../../src/runtime/cgroup-stats.js';

function tree(t: { after(fn: () => void): void }, files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'cgroup-stats-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

const CG = '/berth/abc';

test('cgroupDir: one directory per v1 controller, one for all on v2; escapes are refused', () => {
  assert.equal(cgroupDir(CG, 'memory', { version: 1 }), '/sys/fs/cgroup/memory/berth/abc');
  assert.equal(cgroupDir(CG, 'memory', { version: 2 }), '/sys/fs/cgroup/berth/abc');
  assert.equal(cgroupDir('berth/abc', 'pids', { version: 1, root: '/x' }), '/x/pids/berth/abc');
  assert.throws(() => cgroupDir('/', 'cpu', { version: 1 }), /invalid cgroups path/);
  assert.equal(cgroupDir('/berth/../../etc', 'cpu', { version: 1 }), '/sys/fs/cgroup/cpu/etc', 'never above the hierarchy');
});

test('v1: cpuacct in ns (stat ticks × 10 ms), memory, pids, throttle blkio tables', async (t) => {
  const root = tree(t, {
    'cpuacct/berth/abc/cpuacct.usage': '1500000000\n',
    'cpuacct/berth/abc/cpuacct.usage_percpu': '1000000000 500000000 \n',
    'cpuacct/berth/abc/cpuacct.stat': 'user 120\nsystem 30\n',
    'cpu/berth/abc/cpu.stat': 'nr_periods 10\nnr_throttled 4\nthrottled_time 123456\nnr_bursts 0\n',
    'memory/berth/abc/memory.usage_in_bytes': '8388608\n',
    'memory/berth/abc/memory.max_usage_in_bytes': '9437184\n',
    'memory/berth/abc/memory.failcnt': '2\n',
    'memory/berth/abc/memory.limit_in_bytes': '9223372036854771712\n',
    'memory/berth/abc/memory.memsw.limit_in_bytes': '9223372036854771712\n',
    'memory/berth/abc/memory.stat': 'cache 4096\nrss 8192\ntotal_inactive_file 1024\n',
    'pids/berth/abc/pids.current': '3\n',
    'pids/berth/abc/pids.max': 'max\n',
    'blkio/berth/abc/blkio.throttle.io_service_bytes_recursive': '8:0 Read 4096\n8:0 Write 8192\n8:0 Total 12288\nTotal 12288\n',
    'blkio/berth/abc/blkio.throttle.io_serviced_recursive': 'Total 0\n',
  });
  const u = await readCgroupUsage(CG, { root, version: 1 });
  assert.ok(u);
  assert.deepEqual(u.cpu, {
    totalNs: 1.5e9, userNs: 1.2e9, systemNs: 0.3e9, perCpuNs: [1e9, 5e8], periods: 10, throttledPeriods: 4, throttledNs: 123456,
  });
  assert.equal(u.memory.usage, 8388608);
  assert.equal(u.memory.maxUsage, 9437184);
  assert.equal(u.memory.failcnt, 2);
  assert.equal(u.memory.limit, null, 'v1 "unlimited" is no limit');
  assert.equal(u.memory.stats.total_inactive_file, 1024);
  assert.deepEqual(u.pids, { current: 3, limit: null });
  assert.deepEqual(u.blkio.serviceBytes, [
    { major: 8, minor: 0, op: 'Read', value: 4096 }, { major: 8, minor: 0, op: 'Write', value: 8192 },
    { major: 8, minor: 0, op: 'Total', value: 12288 },
  ]);
  assert.deepEqual(u.blkio.serviced, []);
  assert.equal(u.blkio.queued, null);
  assert.equal(await canLimitSwap(CG, { root, version: 1 }), true);
});

test('v2: cpu.stat in µs → ns, memory.current/max, oom events as failcnt, io.stat read/write bytes', async (t) => {
  const root = tree(t, {
    'berth/abc/cpu.stat': 'usage_usec 2000\nuser_usec 1500\nsystem_usec 500\nnr_periods 7\nnr_throttled 1\nthrottled_usec 30\n',
    'berth/abc/memory.current': '1048576\n',
    'berth/abc/memory.max': '67108864\n',
    'berth/abc/memory.stat': 'anon 4096\ninactive_file 2048\n',
    'berth/abc/memory.events': 'low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n',
    'berth/abc/pids.current': '2\n',
    'berth/abc/pids.max': '50\n',
    'berth/abc/io.stat': '8:16 rbytes=100 wbytes=200 rios=1 wios=2 dbytes=0 dios=0\n',
  });
  const u = await readCgroupUsage(CG, { root, version: 2 });
  assert.ok(u);
  assert.deepEqual(u.cpu, { totalNs: 2e6, userNs: 1.5e6, systemNs: 5e5, periods: 7, throttledPeriods: 1, throttledNs: 30000 });
  assert.equal(u.cpu.perCpuNs, undefined);
  assert.deepEqual({ ...u.memory, stats: undefined }, { usage: 1048576, failcnt: 1, limit: 67108864, stats: undefined });
  assert.deepEqual(u.pids, { current: 2, limit: 50 });
  assert.deepEqual(u.blkio.serviceBytes, [{ major: 8, minor: 16, op: 'read', value: 100 }, { major: 8, minor: 16, op: 'write', value: 200 }]);
  assert.equal(u.blkio.serviced, null);
  assert.equal(await canLimitSwap(CG, { root, version: 2 }), false);
});

test('a cgroup that is gone reads as null, not as an error', async (t) => {
  const root = tree(t, { 'memory/other/x': '' });
  assert.equal(await readCgroupUsage(CG, { root, version: 1 }), null);
  assert.equal(await readCgroupUsage(CG, { root, version: 2 }), null);
});

test('/proc/stat: the first seven cpu fields in ticks → ns, and the cpuN lines', async (t) => {
  const text = 'cpu  100 1 50 1000 9 2 3 4 0 0\ncpu0 50 0 25 500 4 1 1 2 0 0\ncpu1 50 1 25 500 5 1 2 2 0 0\nintr 1 2 3\nctxt 5\n';
  assert.deepEqual(parseProcStat(text), { systemNs: (100 + 1 + 50 + 1000 + 9 + 2 + 3) * 1e7, onlineCpus: 2 });
  assert.throws(() => parseProcStat('cpu 1 2 3\n'), /invalid number of cpu fields/);
  const root = tree(t, { stat: text });
  assert.equal((await readHostCpu(join(root, 'stat'))).onlineCpus, 2);
  const host = await readHostCpu();
  assert.ok(host.systemNs > 0 && host.onlineCpus >= 1);
});

test('parsers: keyed values, limits, blkio lines without an operation, io.stat', () => {
  assert.deepEqual(parseKeyedValues('a 1\nb x\n\nc 3 extra\n'), { a: 1, c: 3 });
  assert.equal(parseLimit('max\n'), null);
  assert.equal(parseLimit('52428800\n'), 52428800);
  assert.deepEqual(parseBlkioV1('8:0 77\n'), [{ major: 8, minor: 0, op: '', value: 77 }]);
  assert.deepEqual(parseIoStat('\n'), []);
});
