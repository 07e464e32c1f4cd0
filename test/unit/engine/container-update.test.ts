/** `docker update`'s rules: refused fields, Docker's conflicts and messages, and what a live cgroup is told. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConflictError, InvalidParameterError, NotImplementedError } from '../../../src/errors.js';
import {
  checkUpdateRequest, liveResources, mergeUpdate, restoringResources, updateWarnings,
} from '../../../src/engine/container-update.js';

const ID = 'a'.repeat(64);

/** What the Docker 28 CLI sends for `docker update --memory 64m c`. */
const CLI_BODY = {
  CpuShares: 0, Memory: 67108864, NanoCpus: 0, CgroupParent: '', BlkioWeight: 0, BlkioWeightDevice: null, BlkioDeviceReadBps: null,
  BlkioDeviceWriteBps: null, BlkioDeviceReadIOps: null, BlkioDeviceWriteIOps: null, CpuPeriod: 0, CpuQuota: 0, CpuRealtimePeriod: 0,
  CpuRealtimeRuntime: 0, CpusetCpus: '', CpusetMems: '', Devices: null, DeviceCgroupRules: null, DeviceRequests: null,
  MemoryReservation: 0, MemorySwap: 0, MemorySwappiness: null, OomKillDisable: null, PidsLimit: null, Ulimits: null, CpuCount: 0,
  CpuPercent: 0, IOMaximumIOps: 0, IOMaximumBandwidth: 0, RestartPolicy: { Name: '', MaximumRetryCount: 0 },
};

test('the Docker CLI\'s body passes; fields berth cannot update are refused with a 501, not dropped', () => {
  checkUpdateRequest(CLI_BODY);
  checkUpdateRequest({ MemorySwappiness: -1 });
  for (const [field, value, why] of [
    ['Devices', [{ PathOnHost: '/dev/null' }], /devices/], ['Ulimits', [{ Name: 'nofile' }], /ulimits/],
    ['CpuRealtimeRuntime', 1000, /cpu-rt-runtime/], ['BlkioDeviceReadBps', [{ Path: '/dev/sda', Rate: 1 }], /device-read-bps/],
    ['MemorySwappiness', 10, /swappiness/], ['OomKillDisable', true, /OOM/], ['CpuCount', 2, /Windows/],
  ] as const) {
    assert.throws(() => checkUpdateRequest({ ...CLI_BODY, [field]: value }), (e: unknown) => e instanceof NotImplementedError && why.test(e.message), field);
  }
});

test('restart policies are checked with moby\'s validateRestartPolicy words', () => {
  checkUpdateRequest({ RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 3 } });
  checkUpdateRequest({ RestartPolicy: { Name: 'unless-stopped' } });
  const bad = (p: Record<string, any>, msg: RegExp) => assert.throws(() => checkUpdateRequest({ RestartPolicy: p }), (e: unknown) => e instanceof InvalidParameterError && msg.test(e.message));
  bad({ Name: 'sometimes' }, /^invalid restart policy: unknown policy 'sometimes'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'$/);
  bad({ Name: 'always', MaximumRetryCount: 2 }, /^invalid restart policy: maximum retry count can only be used with 'on-failure'$/);
  bad({ Name: 'no', MaximumRetryCount: -1 }, /can only be used with 'on-failure' and cannot be negative$/);
  bad({ Name: 'on-failure', MaximumRetryCount: -1 }, /^invalid restart policy: maximum retry count cannot be negative$/);
});

test('zero means unchanged; set fields replace; PidsLimit ≤ 0 is stored as 0 (unlimited)', () => {
  const hc = { Memory: 33554432, MemorySwap: 0, CpuShares: 512, CpusetCpus: '0', PidsLimit: 10, RestartPolicy: { Name: 'no', MaximumRetryCount: 0 } };
  const next = mergeUpdate(ID, hc, { ...CLI_BODY, Memory: 0, NanoCpus: 5e8, PidsLimit: -1, RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 3 } });
  assert.deepEqual(next, { ...hc, NanoCpus: 5e8, PidsLimit: 0, RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 3 } });
  assert.equal(hc.PidsLimit, 10, 'the stored HostConfig is not touched');
  assert.equal(mergeUpdate(ID, hc, { PidsLimit: null }).PidsLimit, 10);
  assert.equal(mergeUpdate(ID, hc, { CpusetCpus: '' }).CpusetCpus, '0');
});

test('NanoCpus and CpuPeriod/CpuQuota exclude each other across updates (409, Docker\'s words)', () => {
  const conflict = (hc: Record<string, any>, u: Record<string, any>, msg: string) => assert.throws(() => mergeUpdate(ID, hc, u),
    (e: unknown) => e instanceof ConflictError && e.message === `Cannot update container ${ID}: Conflicting options: ${msg}`);
  conflict({ CpuPeriod: 50000 }, { NanoCpus: 1e9 }, 'Nano CPUs cannot be updated as CPU Period has already been set');
  conflict({ CpuQuota: 50000 }, { NanoCpus: 1e9 }, 'Nano CPUs cannot be updated as CPU Quota has already been set');
  conflict({ NanoCpus: 1e9 }, { CpuPeriod: 50000 }, 'CPU Period cannot be updated as NanoCPUs has already been set');
  conflict({ NanoCpus: 1e9 }, { CpuQuota: 50000 }, 'CPU Quota cannot be updated as NanoCPUs has already been set');
  // -1 lifts a quota, as in Docker, whatever set it.
  assert.equal(mergeUpdate(ID, { NanoCpus: 1e9 }, { CpuQuota: -1 }).CpuQuota, -1);
});

test('memory above an explicit swap limit needs the swap limit too; unset (0) or unlimited (-1) swap does not', () => {
  assert.throws(() => mergeUpdate(ID, { Memory: 32 << 20, MemorySwap: 64 << 20 }, { Memory: 100 << 20 }),
    /Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time/);
  assert.equal(mergeUpdate(ID, { Memory: 32 << 20, MemorySwap: 64 << 20 }, { Memory: 100 << 20, MemorySwap: 200 << 20 }).MemorySwap, 200 << 20);
  assert.equal(mergeUpdate(ID, { Memory: 0, MemorySwap: 0 }, { Memory: 100 << 20 }).Memory, 100 << 20);
  assert.equal(mergeUpdate(ID, { Memory: 32 << 20, MemorySwap: -1 }, { Memory: 100 << 20 }).MemorySwap, -1);
});

test('a restart policy cannot be given to an AutoRemove container', () => {
  assert.throws(() => mergeUpdate(ID, { AutoRemove: true }, { RestartPolicy: { Name: 'always' } }),
    /Restart policy cannot be updated because AutoRemove is enabled for the container/);
  assert.equal(mergeUpdate(ID, { AutoRemove: true }, { RestartPolicy: { Name: 'no' } }).RestartPolicy.Name, 'no');
});

test('the merged configuration gets create\'s checks (400) and only new warnings', () => {
  const bad = (hc: Record<string, any>, msg: RegExp) => assert.throws(() => updateWarnings({}, hc), (e: unknown) => e instanceof InvalidParameterError && msg.test(e.message));
  bad({ Memory: 1 << 20 }, /^Minimum memory limit allowed is 6MB$/);
  bad({ Memory: 64 << 20, MemorySwap: 32 << 20 }, /^Minimum memoryswap limit should be larger than memory limit, see usage$/);
  bad({ Memory: 16 << 20, MemoryReservation: 32 << 20 }, /^Minimum memory limit can not be less than memory reservation limit, see usage$/);
  bad({ BlkioWeight: 5 }, /^Range of blkio weight is from 10 to 1000$/);
  bad({ CpuQuota: 10 }, /CPU cfs quota can not be less than 1ms/);
  assert.deepEqual(updateWarnings({ Memory: 0 }, { Memory: 64 << 20 }), []);
  // A warning the old configuration already had is not repeated.
  const old = { BlkioWeight: 300 };
  assert.deepEqual(updateWarnings(old, { ...old, Memory: 64 << 20 }), []);
});

test('a live cgroup is told to lift limits explicitly: pids -1, unlimited swap -1', () => {
  assert.deepEqual(liveResources({ Memory: 64 << 20, MemorySwap: 0, NanoCpus: 5e8, PidsLimit: 50 }, true),
    { memory: { limit: 64 << 20, swap: 128 << 20 }, cpu: { period: 100000, quota: 50000 }, pids: { limit: 50 } });
  assert.deepEqual(liveResources({ Memory: 64 << 20, MemorySwap: -1, PidsLimit: 0 }, true), { memory: { limit: 64 << 20, swap: -1 }, pids: { limit: -1 } });
  assert.deepEqual(liveResources({ Memory: 64 << 20, MemorySwap: -1 }, false), { memory: { limit: 64 << 20 } });
  assert.deepEqual(liveResources({ CpuQuota: -1 }, true), { cpu: { quota: -1 } });
});

test('putting old limits back lifts what the failed attempt added', () => {
  assert.deepEqual(restoringResources({ pids: { limit: 30 } }, { memory: { limit: 10 << 20, swap: 20 << 20 }, pids: { limit: 40 } }, true),
    { pids: { limit: 30 }, memory: { limit: -1, swap: -1 } });
  assert.deepEqual(restoringResources({}, { cpu: { quota: 1000 }, pids: { limit: 5 } }, false), { cpu: { quota: -1 }, pids: { limit: -1 } });
});
