/**
 * `run`/`create` flags → create request, compared with what the Docker 28 CLI
 * sent for the same command lines (fixtures/docker-create-bodies.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseFlags } from '../../../src/cli/flags.js';
import { commandFlags } from '../../../src/cli/command.js';
import { createFlagSpecs } from '../../../src/cli/container/create-flags.js';
import { buildCreateRequest, ContainerOptionsError, type CreateRequest } from '../../../src/cli/container/create-config.js';
import { encodeQuery } from '../../../src/cli/client.js';
import { DOCKER_CREATE_BODIES } from './fixtures/docker-create-bodies.js';

const dir = mkdtempSync(join(tmpdir(), 'berth-cli-test-'));
const envList = join(dir, 'env.list');
const labelsList = join(dir, 'labels.list');
writeFileSync(envList, 'A=1\n# comment\nB\n\nC=three words\n');
writeFileSync(labelsList, 'l1=a\nl2\n');

const lookupEnv = (k: string) => (k === 'HOME' ? '/tmp/gold/home' : undefined);

function build(argv: string[], consoleSize: [number, number] = [0, 0]): CreateRequest {
  const [mode, ...rest] = argv;
  const specs = commandFlags({ name: mode, short: '', flags: createFlagSpecs(lookupEnv, mode as 'run' | 'create') });
  const flags = parseFlags(specs, rest.map((a) => a.replace('/tmp/gold/env.list', envList).replace('/tmp/gold/labels.list', labelsList)), { interspersed: false });
  const req = buildCreateRequest(flags, { lookupEnv, consoleSize });
  if (mode === 'run' && flags.bool('detach')) {
    // run -d clears the attach fields before create (runRun in run.go)
    req.body.AttachStdin = req.body.AttachStdout = req.body.AttachStderr = req.body.StdinOnce = false;
  }
  return req;
}

// Flags berth refuses before building a request (see run-cli refuseUnsupported).
const REFUSED = new Set(['--gpus']);

for (const c of DOCKER_CREATE_BODIES.filter((b) => !b.argv.some((a) => REFUSED.has(a)))) {
  test(`create body matches docker 28 for: docker ${c.argv.join(' ')}`, () => {
    const req = build(c.argv);
    const query = encodeQuery({ name: req.name || undefined, platform: req.platform || undefined });
    assert.equal(`/v1.50/containers/create${query}`, c.url);
    // Byte-level: same keys in the same order, same values.
    assert.equal(JSON.stringify(req.body), JSON.stringify(c.body));
  });
}

test('ConsoleSize carries the terminal size', () => {
  assert.deepEqual(build(['run', '-it', 'busybox'], [40, 120]).body.HostConfig.ConsoleSize, [40, 120]);
});

test('conflicting and invalid options are refused like Docker', () => {
  assert.throws(() => build(['run', '--rm', '--restart', 'always', 'busybox']), (e) => e instanceof ContainerOptionsError && /cannot specify both --restart and --rm/.test(e.message));
  assert.throws(() => build(['run', '-p', 'abc', 'busybox']), /invalid containerPort: abc/);
  assert.throws(() => build(['run', '--memory-swappiness', '101', 'busybox']), /Valid memory swappiness range is 0-100/);
  assert.throws(() => build(['run', '--no-healthcheck', '--health-cmd', 'x', 'busybox']), /--no-healthcheck conflicts/);
  assert.throws(() => build(['run', '--pid', 'bogus', 'busybox']), /--pid: invalid PID mode/);
  assert.throws(() => build(['run', '--network-alias', 'a', 'busybox']), /network-scoped aliases are only supported/);
  assert.throws(() => build(['run', '--pull', 'sometimes', 'busybox']), /invalid pull option/);
  assert.throws(() => build(['run', '--env-file', join(dir, 'missing'), 'busybox']), /no such file or directory/);
});

test('flag values are checked while parsing with pflag wording', () => {
  assert.throws(() => build(['run', '-m', 'foo', 'busybox']), /invalid argument "foo" for "-m, --memory" flag: invalid size: 'foo'/);
  assert.throws(() => build(['run', '--ulimit', 'nofile=2048:1024', 'busybox']), /ulimit soft limit must be less than or equal to hard limit: 2048 > 1024/);
  assert.throws(() => build(['run', '--mount', 'type=bind,readonly', 'busybox']), /invalid argument "type=bind,readonly" for "--mount" flag: target is required/);
  assert.throws(() => build(['run', '--sysctl', 'kernel.foo=1', 'busybox']), /sysctl 'kernel.foo=1' is not allowed/);
  assert.throws(() => build(['run', '-a', 'stdfoo', 'busybox']), /valid streams are STDIN, STDOUT and STDERR/);
});

test('the brief examples map to the API fields', () => {
  const hc = build(['create', '-p', '80:80', '-v', '/h:/c', '-m', '64m', '--cpus', '0.5', '--restart', 'on-failure:3', '--ulimit', 'nofile=1024:2048', '--tmpfs', '/run', 'busybox']).body.HostConfig;
  assert.deepEqual(hc.PortBindings, { '80/tcp': [{ HostIp: '', HostPort: '80' }] });
  assert.deepEqual(hc.Binds, ['/h:/c']);
  assert.equal(hc.Memory, 67108864);
  assert.equal(hc.NanoCpus, 500000000);
  assert.deepEqual(hc.RestartPolicy, { Name: 'on-failure', MaximumRetryCount: 3 });
  assert.deepEqual(hc.Ulimits, [{ Name: 'nofile', Hard: 2048, Soft: 1024 }]);
  assert.deepEqual(hc.Tmpfs, { '/run': '' });
});

test('relative bind sources become absolute', () => {
  const hc = build(['create', '-v', './data:/data', 'busybox']).body.HostConfig;
  assert.deepEqual(hc.Binds, [`${process.cwd()}/data:/data`]);
});
