/**
 * `docker stats` and `docker update` against berthd, with real runtimes and
 * cgroups: samples through the API and both CLIs, network counters of the
 * default bridge, live limit changes read back from the host's cgroup files,
 * Docker's refusals, and limits a stopped container takes at its next start.
 * Every container is removed in `finally`; the daemon's stop() reports leaks.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { skipUnlessRoot, skipWithoutDocker, startDaemon, waitFor, type Daemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';
import { cgroupVersion } from '../../../src/runtime/cgroup-version.js';
import { inspect, remove } from './api.js';

const MiB = 1024 * 1024;

/** The limits the host's cgroup files hold for a container (`/berth/<id>`), v1 or v2. */
function cgroupLimits(id: string): { memory: string; swap: string; cpuQuota: string; cpuPeriod: string; pids: string } {
  const read = (path: string) => { try { return readFileSync(path, 'utf8').trim(); } catch { return ''; } };
  if (cgroupVersion() === 2) {
    const dir = `/sys/fs/cgroup/berth/${id}`;
    const [quota, period] = read(`${dir}/cpu.max`).split(' ');
    return { memory: read(`${dir}/memory.max`), swap: read(`${dir}/memory.swap.max`), cpuQuota: quota === 'max' ? '-1' : quota, cpuPeriod: period, pids: read(`${dir}/pids.max`) };
  }
  const v1 = (ctrl: string, file: string) => read(`/sys/fs/cgroup/${ctrl}/berth/${id}/${file}`);
  return {
    memory: v1('memory', 'memory.limit_in_bytes'), swap: v1('memory', 'memory.memsw.limit_in_bytes'),
    cpuQuota: v1('cpu', 'cpu.cfs_quota_us'), cpuPeriod: v1('cpu', 'cpu.cfs_period_us'), pids: v1('pids', 'pids.max'),
  };
}

const UNLIMITED_MEMORY = cgroupVersion() === 2 ? 'max' : '9223372036854771712';

describe('docker stats and docker update', { skip: skipUnlessRoot() || skipWithoutDocker() }, () => {
  let d!: Daemon;
  before(async () => { d = await startDaemon(); await importBusybox(d); }, { timeout: 120_000 });
  after(async () => { await d?.stop(); });

  async function run(args: string[]): Promise<string> {
    const r = await d.docker(['run', '-d', ...args]);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout.trim();
  }

  async function stats(name: string, query = 'stream=0'): Promise<any> {
    const r = await d.request('GET', `/containers/${name}/stats?${query}`, undefined, { timeoutMs: 10_000 });
    assert.equal(r.status, 200, r.text);
    return r.json();
  }

  for (const runtime of ['runc', 'crun'] as const) {
    test(`${runtime}: a busy container shows CPU, memory within its limit, pids and eth0 through the API and both CLIs`, async () => {
      const id = await run(['--runtime', runtime, '--name', `busy-${runtime}`, '--memory', '64m', 'busybox', 'sh', '-c', 'while :; do :; done']);
      try {
        const s = await stats(id);
        assert.equal(s.name, `/busy-${runtime}`);
        assert.equal(s.id, id);
        assert.notEqual(s.preread, '0001-01-01T00:00:00Z', 'no-stream waits for a second sample');
        assert.ok(Date.parse(s.read) > Date.parse(s.preread));
        const cpuDelta = s.cpu_stats.cpu_usage.total_usage - s.precpu_stats.cpu_usage.total_usage;
        const systemDelta = s.cpu_stats.system_cpu_usage - s.precpu_stats.system_cpu_usage;
        assert.ok(cpuDelta > 0 && systemDelta > 0, JSON.stringify(s.cpu_stats));
        const percent = (cpuDelta / systemDelta) * s.cpu_stats.online_cpus * 100;
        assert.ok(percent > 20, `a busy loop uses a CPU, got ${percent}%`);
        assert.ok(s.memory_stats.usage > 0);
        assert.equal(s.memory_stats.limit, 64 * MiB);
        assert.ok(s.memory_stats.usage <= 64 * MiB);
        assert.ok(s.pids_stats.current >= 1);
        assert.ok(s.networks?.eth0, JSON.stringify(s.networks));
        assert.equal(s.networks.lo, undefined);

        for (const cli of ['docker', 'berth'] as const) {
          const table = await d[cli](['stats', '--no-stream', `busy-${runtime}`]);
          assert.equal(table.code, 0, table.stderr);
          const [header, row] = table.stdout.trim().split('\n');
          assert.match(header, /^CONTAINER ID\s+NAME\s+CPU %\s+MEM USAGE \/ LIMIT\s+MEM %\s+NET I\/O\s+BLOCK I\/O\s+PIDS$/);
          assert.match(row, new RegExp(`^${id.slice(0, 12)}\\s+busy-${runtime}\\s+\\d+\\.\\d\\d%\\s+[\\d.]+[KMG]?i?B / 64MiB\\s`));
          const cpu = Number(/\s(\d+\.\d\d)%/.exec(row)![1]);
          assert.ok(cpu > 20, `${cli}: ${row}`);
          const json = await d[cli](['stats', '--no-stream', '--format', 'json', id]);
          const parsed = JSON.parse(json.stdout);
          assert.equal(parsed.Name, `busy-${runtime}`);
          assert.match(parsed.MemUsage, / \/ 64MiB$/);
        }
      } finally {
        await remove(d, id);
      }
    });
  }

  test('network counters of eth0 grow after pinging the default bridge\'s gateway', async () => {
    const id = await run(['--name', 'pinger', 'busybox', 'sleep', '300']);
    try {
      const gateway = (await inspect(d, id)).NetworkSettings.Gateway as string;
      assert.ok(gateway, 'the container is on the default bridge');
      const before = (await stats(id, 'stream=0&one-shot=1')).networks.eth0;
      const ping = await d.docker(['exec', id, 'ping', '-c', '3', '-W', '2', gateway]);
      assert.equal(ping.code, 0, ping.stdout + ping.stderr);
      const after = (await stats(id, 'stream=0&one-shot=1')).networks.eth0;
      assert.ok(after.tx_packets >= before.tx_packets + 3, `${JSON.stringify(before)} → ${JSON.stringify(after)}`);
      assert.ok(after.rx_packets >= before.rx_packets + 3);
      assert.ok(after.rx_bytes > before.rx_bytes && after.tx_bytes > before.tx_bytes);
    } finally {
      await remove(d, id);
    }
  });

  test('streaming sends a sample a second, each with the previous one as precpu_stats', async () => {
    const id = await run(['busybox', 'sleep', '300']);
    const res = await d.requestStream('GET', `/containers/${id}/stats`);
    try {
      assert.equal(res.statusCode, 200);
      const samples: any[] = [];
      for await (const line of createInterface({ input: res })) {
        samples.push(JSON.parse(line));
        if (samples.length === 3) break;
      }
      assert.equal(samples[0].preread, '0001-01-01T00:00:00Z');
      for (const i of [1, 2]) {
        assert.deepEqual(samples[i].precpu_stats, samples[i - 1].cpu_stats);
        assert.equal(samples[i].preread, samples[i - 1].read);
        const gap = Date.parse(samples[i].read) - Date.parse(samples[i - 1].read);
        assert.ok(gap >= 900 && gap < 2500, `samples ${gap} ms apart`);
      }
    } finally {
      res.destroy();
      await remove(d, id);
    }
  });

  test('a stopped container gives one empty sample; --network none has no networks field', async () => {
    const stopped = (await d.docker(['create', '--name', 'idle', 'busybox', 'true'])).stdout.trim();
    const none = await run(['--network', 'none', 'busybox', 'sleep', '300']);
    try {
      const s = await stats(stopped);
      assert.equal(s.name, '/idle');
      assert.equal(s.read, '0001-01-01T00:00:00Z');
      assert.deepEqual(s.memory_stats, {});
      assert.equal(s.cpu_stats.cpu_usage.total_usage, 0);
      const row = await d.docker(['stats', '--no-stream', '--format', '{{.Name}} {{.CPUPerc}} {{.MemUsage}} {{.PIDs}}', 'idle']);
      assert.equal(row.stdout, 'idle 0.00% 0B / 0B 0\n');
      const n = await stats(none, 'stream=0&one-shot=1');
      assert.equal('networks' in n, false);
      assert.ok(n.memory_stats.usage > 0);
      const bad = await d.request('GET', `/containers/${none}/stats?stream=1&one-shot=1`);
      assert.equal(bad.status, 400);
      assert.equal((await d.request('GET', '/containers/nosuch/stats?stream=0')).json().message, 'No such container: nosuch');
      const missing = await d.docker(['stats', '--no-stream', 'nosuch']);
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /No such container: nosuch/);
    } finally {
      await remove(d, stopped);
      await remove(d, none);
    }
  });

  for (const runtime of ['runc', 'crun'] as const) {
    test(`${runtime}: docker update changes a running container's cgroup files and inspect; -1 lifts limits`, async () => {
      const id = await run(['--runtime', runtime, 'busybox', 'sleep', '300']);
      try {
        const r = await d.docker(['update', '--memory', '64m', '--cpus', '0.5', '--pids-limit', '50', '--restart', 'on-failure:3', id]);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout, `${id}\n`);
        let lim = cgroupLimits(id);
        assert.equal(lim.memory, String(64 * MiB));
        assert.equal(lim.cpuQuota, '50000');
        assert.equal(lim.cpuPeriod, '100000');
        assert.equal(lim.pids, '50');
        const hc = (await inspect(d, id)).HostConfig;
        assert.equal(hc.Memory, 64 * MiB);
        assert.equal(hc.NanoCpus, 5e8);
        assert.equal(hc.PidsLimit, 50);
        assert.deepEqual(hc.RestartPolicy, { Name: 'on-failure', MaximumRetryCount: 3 });

        // berth's own CLI, and limits lifted again (crun cannot write -1 itself).
        const b = await d.berth(['update', '--pids-limit', '-1', '--memory', '128m', '--memory-swap', '-1', '--cpu-quota', '-1', id]);
        assert.equal(b.code, 0, b.stderr);
        lim = cgroupLimits(id);
        assert.equal(lim.pids, 'max');
        assert.equal(lim.memory, String(128 * MiB));
        if (lim.swap) assert.equal(lim.swap, UNLIMITED_MEMORY);
        assert.equal(lim.cpuQuota, '-1');
        const hc2 = (await inspect(d, id)).HostConfig;
        assert.equal(hc2.PidsLimit, 0);
        assert.equal(hc2.MemorySwap, -1);

        // A paused container takes updates too.
        assert.equal((await d.docker(['pause', id])).code, 0);
        assert.equal((await d.docker(['update', '--memory', '96m', id])).code, 0);
        assert.equal(cgroupLimits(id).memory, String(96 * MiB));
        assert.equal((await d.docker(['unpause', id])).code, 0);
      } finally {
        await remove(d, id);
      }
    });
  }

  test('invalid updates get Docker\'s messages and statuses, and change nothing', async () => {
    const id = await run(['--name', 'target', '--cpus', '1', 'busybox', 'sh', '-c', 'dd if=/dev/zero of=/dev/shm/fill bs=1M count=24; sleep 300']);
    try {
      await waitFor(async () => (await stats(id, 'stream=0&one-shot=1')).memory_stats.usage > 20 * MiB, 10_000, 'the container to fill 24 MiB');
      const update = (body: object) => d.request('POST', `/containers/${id}/update`, body as Record<string, unknown>);
      const cases: [object, number, RegExp][] = [
        [{ Memory: 1 * MiB }, 400, /^Minimum memory limit allowed is 6MB$/],
        [{ Memory: 100 * MiB, MemorySwap: 50 * MiB }, 400, /^Minimum memoryswap limit should be larger than memory limit, see usage$/],
        [{ MemoryReservation: 1 * MiB }, 400, /^Minimum memory reservation allowed is 6MB$/],
        [{ BlkioWeight: 5 }, 400, /^Range of blkio weight is from 10 to 1000$/],
        [{ CpuPeriod: 50000 }, 409, /Cannot update container [0-9a-f]{64}: Conflicting options: CPU Period cannot be updated as NanoCPUs has already been set/],
        [{ RestartPolicy: { Name: 'sometimes' } }, 400, /^invalid restart policy: unknown policy 'sometimes'/],
        [{ Devices: [{ PathOnHost: '/dev/null', PathInContainer: '/dev/x', CgroupPermissions: 'rwm' }] }, 501, /devices cannot be updated/],
        [{ Memory: 8 * MiB }, 400, /^Cannot update container [0-9a-f]{64}: unable to set memory limit to 8388608 \(current usage: \d+\): the container uses more memory than the new limit$/],
      ];
      for (const [body, status, message] of cases) {
        const r = await update(body);
        assert.equal(r.status, status, `${JSON.stringify(body)}: ${r.text}`);
        assert.match(r.json().message, message);
      }
      assert.equal(cgroupLimits(id).memory, UNLIMITED_MEMORY, 'the failed live update was rolled back');
      const hc = (await inspect(d, id)).HostConfig;
      assert.equal(hc.Memory, 0);
      assert.equal(hc.BlkioWeight, 0);
      const cli = await d.docker(['update', '--memory', '1m', id]);
      assert.equal(cli.code, 1);
      assert.equal(cli.stderr, 'Error response from daemon: Minimum memory limit allowed is 6MB\n');
      const nosuch = await d.docker(['update', '--memory', '64m', 'nosuch']);
      assert.match(nosuch.stderr, /No such container: nosuch/);
      const noflag = await d.berth(['update', id]);
      assert.equal(noflag.code, 1);
      assert.match(noflag.stderr, /you must provide one or more flags when using this command/);
    } finally {
      await remove(d, id);
    }
  });

  test('a stopped container keeps its new limits and policy, applies them at the next start, across a daemon restart', async () => {
    const id = (await d.docker(['create', '--runtime', 'crun', '--name', 'later', 'busybox', 'sleep', '300'])).stdout.trim();
    try {
      const r = await d.docker(['update', '--memory', '32m', '--pids-limit', '20', '--cpu-quota', '25000', '--restart', 'always', id]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(cgroupLimits(id).memory, '', 'no cgroup before the first start');
      await d.restart();
      assert.equal((await d.docker(['start', id])).code, 0);
      const lim = cgroupLimits(id);
      assert.equal(lim.memory, String(32 * MiB));
      assert.equal(lim.pids, '20');
      assert.equal(lim.cpuQuota, '25000');
      assert.equal((await inspect(d, id)).HostConfig.RestartPolicy.Name, 'always');

      // An exited container, updated, starts with the new limits; -1 quota (unlimited) starts too.
      assert.equal((await d.docker(['stop', '-t', '0', id])).code, 0);
      assert.equal((await d.docker(['update', '--memory', '48m', '--cpu-quota', '-1', '--restart', 'no', id])).code, 0);
      assert.equal((await d.docker(['start', id])).code, 0);
      assert.equal(cgroupLimits(id).memory, String(48 * MiB));
      assert.equal(cgroupLimits(id).cpuQuota, '-1');
    } finally {
      await remove(d, id);
    }
  });

  test('an AutoRemove container cannot get a restart policy (409)', async () => {
    const id = await run(['--rm', 'busybox', 'sleep', '300']);
    try {
      const r = await d.docker(['update', '--restart', 'always', id]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /Restart policy cannot be updated because AutoRemove is enabled for the container/);
    } finally {
      await remove(d, id);
    }
  });
});
