import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkCreateRequest } from '../../../src/engine/create-checks.js';
import type { CreateRequest } from '../../../src/engine/container-config.js';
import { statusFromError } from '../../../src/api/status.js';

const refused = (req: CreateRequest, msg: string) => {
  assert.throws(() => checkCreateRequest({ Image: 'busybox', ...req }), (e: Error) => {
    assert.equal(statusFromError(e), 400);
    assert.equal(e.message, msg);
    return true;
  });
};

test('environment variables need a name (opts.ValidateEnv)', () => {
  refused({ Env: [''] }, 'invalid environment variable: ');
  refused({ Env: ['A=1', '='] }, 'invalid environment variable: =');
  refused({ Env: ['=foo'] }, 'invalid environment variable: =foo');
  checkCreateRequest({ Image: 'b', Env: ['A=1', 'B', 'C='] });
});

test('healthcheck durations of at least 1ms, retries not negative', () => {
  refused({ Healthcheck: { Interval: 999_999 } }, 'Interval in Healthcheck cannot be less than 1ms');
  refused({ Healthcheck: { Interval: -1 } }, 'Interval in Healthcheck cannot be less than 1ms');
  refused({ Healthcheck: { Timeout: 5 } }, 'Timeout in Healthcheck cannot be less than 1ms');
  refused({ Healthcheck: { Retries: -1 } }, 'Retries in Healthcheck cannot be negative');
  refused({ Healthcheck: { StartPeriod: 1 } }, 'StartPeriod in Healthcheck cannot be less than 1ms');
  refused({ Healthcheck: { StartInterval: 1 } }, 'StartInterval in Healthcheck cannot be less than 1ms');
  checkCreateRequest({ Image: 'b', Healthcheck: { Test: ['CMD', 'true'], Interval: 1_000_000, Timeout: 0, Retries: 0 } });
});

test('HostConfig values dockerd refuses at create', () => {
  refused({ HostConfig: { OomScoreAdj: 5000 } }, 'Invalid value 5000, range for oom score adj is [-1000, 1000]');
  refused({ HostConfig: { OomScoreAdj: -1001 } }, 'Invalid value -1001, range for oom score adj is [-1000, 1000]');
  refused({ HostConfig: { ShmSize: -1 } }, 'SHM size can not be less than 0');
  refused({ HostConfig: { CpuShares: -1 } }, 'invalid CPU shares (-1): value must be a positive integer');
  refused({ HostConfig: { RestartPolicy: { Name: 'sometimes' } } }, "invalid restart policy: unknown policy 'sometimes'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'");
  refused({ HostConfig: { RestartPolicy: { Name: 'on-failure', MaximumRetryCount: -1 } } }, 'invalid restart policy: maximum retry count cannot be negative');
  refused({ HostConfig: { RestartPolicy: { Name: 'always', MaximumRetryCount: -1 } } }, "invalid restart policy: maximum retry count can only be used with 'on-failure' and cannot be negative");
  refused({ HostConfig: { AutoRemove: true, RestartPolicy: { Name: 'always' } } }, "can't create 'AutoRemove' container with restart policy");
  refused({ HostConfig: { IpcMode: 'weird' } }, 'invalid IPC mode: weird');
  refused({ HostConfig: { PidMode: 'weird' } }, 'invalid PID mode: weird');
  refused({ HostConfig: { UTSMode: 'weird' } }, 'invalid UTS mode: weird');
  refused({ HostConfig: { CgroupnsMode: 'weird' } }, 'invalid cgroup namespace mode: weird');
  refused({ HostConfig: { Isolation: 'hyperv' } }, "invalid isolation (hyperv): linux only supports 'default'");
  refused({ HostConfig: { Annotations: { '': 'x' } } }, 'invalid Annotations: the empty string is not permitted as an annotation key');
  refused({ Hostname: 'h', HostConfig: { UTSMode: 'host' } }, 'conflicting options: hostname and the UTS mode');
  refused({ Hostname: 'x'.repeat(65) }, `hostname "${'x'.repeat(65)}" is too long (maximum 64 bytes)`);
  refused({ StopSignal: 'SIGNOPE' }, 'Invalid signal: SIGNOPE');
  checkCreateRequest({ Image: 'b', HostConfig: { OomScoreAdj: -1000, ShmSize: 0, RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 3 }, IpcMode: 'shareable', Isolation: 'default' } });
});
