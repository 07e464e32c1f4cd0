/**
 * Issue 12, trust first: every CRI request is checked at the boundary. A
 * malformed or hostile request gets the right gRPC status and berthd keeps
 * serving; the socket is root's alone; `--cri-socket ''` turns the CRI off.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import grpc from '@grpc/grpc-js';
import { skipUnlessRoot, startDaemon, type Daemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';
import { CriClient } from './cri-client.js';

describe('CRI requests at the boundary', { skip: skipUnlessRoot() }, () => {
  let d: Daemon;
  let cri: CriClient;
  let pod = '';

  const podConfig = (name: string, extra: Record<string, unknown> = {}) => ({
    metadata: { name, uid: `${name}-uid`, namespace: 'default', attempt: 0 }, logDirectory: join(d.tmpDir, 'pods', name), ...extra,
  });

  before(async () => {
    d = await startDaemon();
    cri = new CriClient(join(d.execRoot, 'cri.sock'));
    await importBusybox(d);
    pod = (await cri.call('RunPodSandbox', { config: podConfig('guard') })).podSandboxId;
  });

  after(async () => {
    if (pod) await cri.call('RemovePodSandbox', { podSandboxId: pod }).catch(() => undefined);
    cri?.close();
    await d?.stop();
  });

  /** Ends every test: berthd is alive and answering. */
  async function stillServing(): Promise<void> {
    assert.equal((await cri.call('Version')).runtimeName, 'berth');
  }

  test('the socket is root\'s alone', () => {
    assert.equal(statSync(join(d.execRoot, 'cri.sock')).mode & 0o777, 0o600);
  });

  test('bytes that are not the message are INVALID_ARGUMENT', async () => {
    for (const bytes of [Buffer.from([0xff, 0xff, 0xff]), Buffer.from([0x0a, 0x05, 0x01]), Buffer.from('\x12\xff\xff\xff\xff\x0f')]) {
      const e = await cri.raw('/runtime.v1.RuntimeService/RunPodSandbox', bytes).then(() => null, (x: grpc.ServiceError) => x);
      assert.equal(e?.code, grpc.status.INVALID_ARGUMENT, `bytes ${bytes.toString('hex')}: ${e?.details}`);
    }
    await stillServing();
  });

  test('a request of more fields than a message may hold is INVALID_ARGUMENT before it is decoded', async () => {
    // CreateContainer{pod_sandbox_id, config{mounts: 70,000 empty}}: each mount was an object with its defaults
    // (16 MiB of them held berthd for 48 s and took 2.5 GB).
    const mounts = Buffer.alloc(2 * 70_000);
    for (let i = 0; i < mounts.length; i += 2) mounts[i] = 0x3a;
    const len: number[] = [];
    for (let n = mounts.length; ; n = Math.floor(n / 128)) { if (n < 128) { len.push(n); break; } len.push((n & 127) | 128); }
    const id = Buffer.from(pod);
    const bytes = Buffer.concat([Buffer.from([0x0a, id.length]), id, Buffer.from([0x12, ...len]), mounts]);
    const e = await cri.raw('/runtime.v1.RuntimeService/CreateContainer', bytes).then(() => null, (x: grpc.ServiceError) => x);
    assert.equal(e?.code, grpc.status.INVALID_ARGUMENT, e?.details);
    assert.match(e?.details ?? '', /malformed CreateContainerRequest: more than 65536 fields/);
    assert.deepEqual((await cri.call('ListContainers')).containers, []);
    await stillServing();
  });

  test('a method berth does not serve is UNIMPLEMENTED', async () => {
    const e = await cri.raw('/runtime.v1.RuntimeService/CheckpointContainer', Buffer.alloc(0)).then(() => null, (x: grpc.ServiceError) => x);
    assert.equal(e?.code, grpc.status.UNIMPLEMENTED);
    await stillServing();
  });

  test('sandbox configs: missing metadata, bad names, relative or climbing log directories, unknown handlers', async () => {
    const cases: [Record<string, unknown>, grpc.status][] = [
      [{}, grpc.status.INVALID_ARGUMENT],
      [{ config: { hostname: 'x' } }, grpc.status.INVALID_ARGUMENT],
      [{ config: podConfig('a_b') }, grpc.status.INVALID_ARGUMENT],
      [{ config: podConfig('../etc') }, grpc.status.INVALID_ARGUMENT],
      [{ config: podConfig('rel', { logDirectory: 'relative/dir' }) }, grpc.status.INVALID_ARGUMENT],
      [{ config: podConfig('climb', { logDirectory: '/var/log/../../etc' }) }, grpc.status.INVALID_ARGUMENT],
      [{ config: podConfig('nul', { logDirectory: '/tmp/a\0b' }) }, grpc.status.INVALID_ARGUMENT],
      [{ config: podConfig('sctp', { portMappings: [{ protocol: 'SCTP', containerPort: 80 }] }) }, grpc.status.UNIMPLEMENTED],
      [{ config: podConfig('port', { portMappings: [{ containerPort: 70000 }] }) }, grpc.status.INVALID_ARGUMENT],
      [{ config: podConfig('handler'), runtimeHandler: 'kata' }, grpc.status.NOT_FOUND],
      [{ config: podConfig('guard') }, grpc.status.ALREADY_EXISTS],
    ];
    for (const [req, code] of cases) {
      const e = await cri.fails('RunPodSandbox', req);
      assert.equal(e.code, code, `${JSON.stringify(req)}: ${e.details}`);
    }
    // Nothing half-made stays behind.
    assert.deepEqual((await cri.call('ListPodSandbox')).items.map((p: { id: string }) => p.id), [pod]);
    await stillServing();
  });

  test('container configs: log paths out of the log directory, relative mounts, NUL bytes, bad IDs', async () => {
    const ctr = (config: Record<string, unknown>) => ({
      podSandboxId: pod, config: { metadata: { name: 'c' }, image: { image: 'busybox' }, command: ['true'], ...config },
    });
    const cases: [Record<string, unknown>, grpc.status][] = [
      [ctr({ logPath: '../../../etc/cron.d/x' }), grpc.status.INVALID_ARGUMENT],
      [ctr({ logPath: '/etc/passwd' }), grpc.status.INVALID_ARGUMENT],
      [ctr({ mounts: [{ containerPath: '/data', hostPath: 'relative' }] }), grpc.status.INVALID_ARGUMENT],
      [ctr({ mounts: [{ containerPath: 'data', hostPath: '/tmp' }] }), grpc.status.INVALID_ARGUMENT],
      [ctr({ mounts: [{ containerPath: '/data', hostPath: '/tmp/../etc' }] }), grpc.status.INVALID_ARGUMENT],
      [ctr({ command: ['sh\0-c'] }), grpc.status.INVALID_ARGUMENT],
      [ctr({ envs: [{ key: 'A=B', value: 'c' }] }), grpc.status.INVALID_ARGUMENT],
      [ctr({ workingDir: 'relative' }), grpc.status.INVALID_ARGUMENT],
      [ctr({ image: { image: 'no-such-image' } }), grpc.status.NOT_FOUND],
      [ctr({ image: {} }), grpc.status.INVALID_ARGUMENT],
      [ctr({ devices: [{ containerPath: '/dev/sda', hostPath: '/dev/sda', permissions: 'rwm' }] }), grpc.status.UNIMPLEMENTED],
      [ctr({ linux: { securityContext: { runAsGroup: { value: 5 } } } }), grpc.status.INVALID_ARGUMENT],
      [ctr({ linux: { securityContext: { apparmor: { profileType: 'Localhost', localhostRef: 'x' } } } }), grpc.status.UNIMPLEMENTED],
      [ctr({ linux: { securityContext: { seccomp: { profileType: 'Localhost', localhostRef: 'rel.json' } } } }), grpc.status.INVALID_ARGUMENT],
      [{ ...ctr({}), podSandboxId: '' }, grpc.status.INVALID_ARGUMENT],
      [{ ...ctr({}), podSandboxId: 'not-hex!' }, grpc.status.NOT_FOUND],
      [{ ...ctr({}), podSandboxId: 'abcdef' }, grpc.status.NOT_FOUND],
    ];
    for (const [req, code] of cases) {
      const e = await cri.fails('CreateContainer', req);
      assert.equal(e.code, code, `${JSON.stringify(req)}: ${e.details}`);
    }
    assert.deepEqual((await cri.call('ListContainers')).containers, []);
    assert.equal(existsSync('/etc/cron.d/x'), false);
    await stillServing();
  });

  test('unknown IDs: NOT_FOUND for status and start, nothing to do for remove; ImageStatus of a missing image is empty', async () => {
    for (const m of ['ContainerStatus', 'StartContainer', 'StopContainer', 'ExecSync']) {
      const e = await cri.fails(m, { containerId: 'f'.repeat(64), cmd: ['true'] });
      assert.equal(e.code, grpc.status.NOT_FOUND, `${m}: ${e.details}`);
    }
    assert.equal((await cri.fails('PodSandboxStatus', { podSandboxId: 'f'.repeat(64) })).code, grpc.status.NOT_FOUND);
    await cri.call('RemoveContainer', { containerId: 'f'.repeat(64) });
    await cri.call('RemovePodSandbox', { podSandboxId: 'f'.repeat(64) });
    assert.equal((await cri.call('ImageStatus', { image: { image: 'nothing-here:1' } })).image, null);
    await cri.call('RemoveImage', { image: { image: 'nothing-here:1' } });
    assert.equal((await cri.fails('PullImage', { image: { image: 'spaces are not/allowed' } })).code, grpc.status.INVALID_ARGUMENT);
    await stillServing();
  });

  test('ExecSync: output and exit code, and a timeout is DEADLINE_EXCEEDED with the command killed', async () => {
    const { containerId } = await cri.call('CreateContainer', {
      podSandboxId: pod, config: { metadata: { name: 'exec' }, image: { image: 'busybox' }, command: ['sleep', '1000'] },
    });
    await cri.call('StartContainer', { containerId });
    const r = await cri.call('ExecSync', { containerId, cmd: ['sh', '-c', 'echo out; echo err >&2; exit 7'] });
    assert.deepEqual([r.stdout.toString(), r.stderr.toString(), r.exitCode], ['out\n', 'err\n', 7]);
    const e = await cri.fails('ExecSync', { containerId, cmd: ['sleep', '30'], timeout: 1 });
    assert.equal(e.code, grpc.status.DEADLINE_EXCEEDED);
    const ps = await cri.call('ExecSync', { containerId, cmd: ['ps', '-o', 'args'] });
    assert.doesNotMatch(ps.stdout.toString(), /sleep 30/);
    // A timeout past what a Node timer holds (2^31 ms, ~24.8 days) is a long one, not an immediate DEADLINE_EXCEEDED:
    // Node fires such a timer at once, which killed the command as it started.
    const long = await cri.call('ExecSync', { containerId, cmd: ['sh', '-c', 'sleep 1; echo done'], timeout: String(2 ** 32) });
    assert.deepEqual([long.stdout.toString(), long.exitCode], ['done\n', 0]);
    await cri.call('RemoveContainer', { containerId });
  });
});

describe('--cri-socket', { skip: skipUnlessRoot() }, () => {
  test("'' turns the CRI off", async (t) => {
    const d = await startDaemon({ args: ['--cri-socket', ''] });
    t.after(() => d.stop());
    assert.equal(existsSync(join(d.execRoot, 'cri.sock')), false);
    assert.equal((await d.request('GET', '/_ping')).status, 200);
  });

  test('a path of its own', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-cri-sock-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const sock = join(dir, 'elsewhere', 'k8s.sock');
    const d = await startDaemon({ args: ['--cri-socket', sock] });
    t.after(() => d.stop());
    const cri = new CriClient(sock);
    t.after(() => cri.close());
    assert.equal((await cri.call('Version')).runtimeApiVersion, 'v1');
  });
});
