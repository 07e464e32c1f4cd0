/**
 * Issue 12: berthd's CRI server driven by the real crictl (cri-tools
 * v1.29.0, built by shared/tools/build-go-clients.sh).
 *
 * - crictl end to end: version, info, pull from Debian's docker-registry,
 *   images, runp, create, start, ps, inspect, logs (the CRI log format at
 *   log_path), exec -s, stats, statsp, stop, rm, stopp, rmp, rmi.
 * - The CRI's containers are berth containers on the same engine, out of
 *   the Docker API's default listing but shown under the namespace filter.
 * - Two pods on the berth network reach each other by IP; a pod's
 *   containers share its network namespace.
 * - kill -9 of berthd leaves pods running, and the CRI lists them again
 *   after the restart.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCommand, skipUnlessRoot, startDaemon, waitFor, type Daemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';
import { startDockerRegistry, type DockerRegistry } from '../../helpers/docker-registry.js';

const CRICTL = process.env.CRICTL ?? '/var/cache/berth-go-clients/crictl';
const skip = skipUnlessRoot() || (existsSync(CRICTL) ? false : `no crictl at ${CRICTL}: run shared/tools/build-go-clients.sh`);

/** One line of the CRI log format: RFC 3339 time with nanoseconds, stream, P or F, the text. */
const CRI_LOG_LINE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}(Z|[+-]\d\d:\d\d) (stdout|stderr) (P|F) (.*)$/;

describe('crictl against berthd', { skip }, () => {
  let d: Daemon;
  let reg: DockerRegistry;
  let image: string;
  let dir: string;
  const pods: string[] = [];

  async function crictl(...args: string[]): Promise<string> {
    const sock = `unix://${d.execRoot}/cri.sock`;
    const r = await runCommand(CRICTL, ['--runtime-endpoint', sock, '--image-endpoint', sock, '--timeout', '60s', ...args], { timeoutMs: 90_000 });
    assert.equal(r.code, 0, `crictl ${args.join(' ')} failed:\n${r.stdout}${r.stderr}\n--- berthd:\n${d.logs().slice(-2000)}`);
    return r.stdout;
  }

  async function podConfig(name: string): Promise<string> {
    const file = join(dir, `${name}.pod.json`);
    await writeFile(file, JSON.stringify({
      metadata: { name, namespace: 'default', uid: `${name}-uid`, attempt: 0 }, hostname: name,
      log_directory: join(dir, 'logs', name), labels: { app: name }, linux: {},
    }));
    return file;
  }

  async function containerConfig(name: string, command: string[], extra: Record<string, unknown> = {}): Promise<string> {
    const file = join(dir, `${name}.ctr.json`);
    await writeFile(file, JSON.stringify({ metadata: { name }, image: { image }, command, log_path: `${name}/0.log`, ...extra }));
    return file;
  }

  /** runp + create + start; the pod is removed after the tests even when they fail. */
  async function runPod(name: string, command: string[]): Promise<{ pod: string; ctr: string; podFile: string }> {
    const podFile = await podConfig(name);
    const pod = (await crictl('runp', podFile)).trim();
    pods.push(pod);
    const ctr = (await crictl('create', pod, await containerConfig(`${name}-main`, command), podFile)).trim();
    await crictl('start', ctr);
    return { pod, ctr, podFile };
  }

  before(async () => {
    d = await startDaemon();
    dir = join(d.tmpDir, 'cri');
    await mkdir(join(dir, 'registry'), { recursive: true });
    reg = await startDockerRegistry(join(dir, 'registry'));
    await importBusybox(d);
    image = `${reg.host}/cri/busybox:1`;
    assert.equal((await d.berth(['tag', 'busybox', image])).code, 0);
    const push = await d.berth(['push', image]);
    assert.equal(push.code, 0, push.stderr);
    assert.equal((await d.berth(['rmi', image])).code, 0);
  });

  after(async () => {
    // The CRI's containers are out of the Docker API's default list, which the daemon helper's clean-up reads.
    for (const p of pods) await runCommand(CRICTL, ['--runtime-endpoint', `unix://${d.execRoot}/cri.sock`, 'rmp', '-f', p]).catch(() => undefined);
    await reg?.stop();
    const left = await d?.stop();
    if (left) assert.deepEqual(left.processes, [], 'berthd left processes behind');
  });

  test('version, info and the image service: pull from a registry, images, inspecti', async () => {
    assert.match(await crictl('version'), /RuntimeName:\s+berth\nRuntimeVersion:\s+\S+\nRuntimeApiVersion:\s+v1/);
    const info = JSON.parse(await crictl('info'));
    assert.deepEqual(info.status.conditions.map((c: { type: string; status: boolean }) => [c.type, c.status]), [['RuntimeReady', true], ['NetworkReady', true]]);
    await crictl('pull', image);
    assert.match(await crictl('images'), new RegExp(`${reg.host}/cri/busybox\\s+1\\s+[0-9a-f]{13}`));
    const status = JSON.parse(await crictl('inspecti', image));
    assert.ok(status.status.repoTags.includes(image), `repo tags ${status.status.repoTags}`);
  });

  test('runp, create, start, ps, inspect, logs, exec -s, stats, statsp, stop, rm, stopp, rmp', async () => {
    const { pod, ctr } = await runPod('web', ['sh', '-c', 'echo out-line; echo err-line >&2; printf partial; exec sleep 1000']);
    assert.match(await crictl('pods', '--id', pod), /Ready\s+web\s+default\s+0/);
    assert.match(await crictl('ps', '--pod', pod), new RegExp(`${ctr.slice(0, 13)}\\s+${reg.host}/cri/busybox:1\\s+.*Running\\s+web-main`));
    const inspect = JSON.parse(await crictl('inspect', ctr));
    assert.equal(inspect.status.state, 'CONTAINER_RUNNING');
    assert.equal(inspect.status.logPath, join(dir, 'logs', 'web', 'web-main', '0.log'));

    // The log at log_path is in the CRI's format, as kubelet and crictl read it; the last line has no newline yet: P.
    await waitFor(async () => (await readFile(inspect.status.logPath, 'utf8').catch(() => '')).includes('partial'), 10_000, 'the partial line');
    const lines = (await readFile(inspect.status.logPath, 'utf8')).split('\n').filter(Boolean).map((l) => CRI_LOG_LINE.exec(l));
    assert.ok(lines.every(Boolean), 'every log line is in the CRI format');
    assert.deepEqual(lines.map((m) => [m![2], m![3], m![4]]).sort(), [['stderr', 'F', 'err-line'], ['stdout', 'F', 'out-line'], ['stdout', 'P', 'partial']]);
    const logs = await runCommand(CRICTL, ['--runtime-endpoint', `unix://${d.execRoot}/cri.sock`, 'logs', ctr]);
    assert.match(logs.stdout, /out-line/);
    assert.match(logs.stderr, /err-line/);

    // exec -s is ExecSync: output and exit code; the container sees the pod's hostname.
    assert.equal((await crictl('exec', '-s', ctr, 'hostname')).trim(), 'web');
    const failing = await runCommand(CRICTL, ['--runtime-endpoint', `unix://${d.execRoot}/cri.sock`, 'exec', '-s', ctr, 'sh', '-c', 'echo to-err >&2; exit 3']);
    // crictl's client turns a non-zero exit into an error that carries the code and stderr.
    assert.equal(failing.code, 1);
    assert.match(failing.stderr, /exited with 3: to-err/);

    // stats and statsp: berth's cgroup sample, per container and per pod.
    assert.match(await crictl('stats', '--id', ctr), new RegExp(`${ctr.slice(0, 13)}\\s+web-main\\s+[\\d.]+\\s+[\\d.]+\\w?B`));
    const podStats = JSON.parse(await crictl('statsp', '-o', 'json', '--id', pod));
    assert.equal(podStats.stats[0].attributes.id, pod);
    assert.ok(Number(podStats.stats[0].linux.memory.workingSetBytes.value) > 0, JSON.stringify(podStats.stats[0].linux.memory));
    assert.equal(podStats.stats[0].linux.containers[0].attributes.id, ctr);

    // Docker's face: not in the default list, there under the namespace filter.
    const ps = await d.request('GET', '/containers/json?all=1');
    assert.deepEqual(ps.json<unknown[]>(), []);
    const filtered = await d.request('GET', `/containers/json?all=1&filters=${encodeURIComponent(JSON.stringify({ label: ['io.berth.namespace=k8s.io'] }))}`);
    assert.deepEqual(filtered.json<Array<{ Id: string }>>().map((c) => c.Id).sort(), [pod, ctr].sort());

    await crictl('stop', ctr);
    assert.match(await crictl('ps', '-a', '--id', ctr), /Exited/);
    // kubelet keeps exited containers (logs, restart counts): `docker container prune` is not to take them.
    assert.equal((await d.request('POST', '/containers/prune')).status, 200);
    assert.match(await crictl('ps', '-a', '--id', ctr), /Exited/);
    await crictl('rm', ctr);
    assert.equal((await crictl('ps', '-a', '-q', '--pod', pod)).trim(), '');
    await crictl('stopp', pod);
    assert.match(await crictl('pods', '--id', pod), /NotReady/);
    await crictl('rmp', pod);
    assert.equal((await crictl('pods', '-q', '--id', pod)).trim(), '');
    assert.deepEqual((await d.request('GET', `/containers/json?all=1&filters=${encodeURIComponent(JSON.stringify({ label: ['io.berth.namespace'] }))}`)).json<unknown[]>(), []);
  });

  test('two pods on the berth network reach each other; a pod\'s containers share its network namespace', async () => {
    const a = await runPod('alpha', ['sleep', '1000']);
    const b = await runPod('beta', ['sleep', '1000']);
    const ipOf = async (pod: string) => JSON.parse(await crictl('inspectp', pod)).status.network.ip as string;
    const [ipA, ipB] = [await ipOf(a.pod), await ipOf(b.pod)];
    assert.match(ipA, /^\d+\.\d+\.\d+\.\d+$/);
    assert.notEqual(ipA, ipB);
    // A listener in pod beta's first container, reached from pod alpha and from beta's second container on localhost.
    const server = (await crictl('create', b.pod, await containerConfig('beta-server', ['nc', '-ll', '-p', '8080', '-e', 'echo', 'from-beta']), b.podFile)).trim();
    await crictl('start', server);
    const fetch = (ctr: string, host: string) => runCommand(CRICTL, ['--runtime-endpoint', `unix://${d.execRoot}/cri.sock`, 'exec', '-s', ctr, 'nc', '-w', '2', host, '8080']);
    await waitFor(async () => (await fetch(a.ctr, ipB)).stdout.includes('from-beta'), 15_000, 'pod beta from pod alpha');
    assert.match((await fetch(b.ctr, '127.0.0.1')).stdout, /from-beta/);
    await crictl('rmp', '-f', a.pod);
    await crictl('rmp', '-f', b.pod);
  });

  test('kill -9 of berthd leaves pods running; the CRI lists them again after the restart, Ready, Running and reachable', async () => {
    const { pod, ctr } = await runPod('survivor', ['sleep', '1000']);
    const server = await runPod('server', ['nc', '-ll', '-p', '8080', '-e', 'echo', 'from-server']);
    const ip = JSON.parse(await crictl('inspectp', server.pod)).status.network.ip as string;
    const fetch = () => runCommand(CRICTL, ['--runtime-endpoint', `unix://${d.execRoot}/cri.sock`, 'exec', '-s', ctr, 'nc', '-w', '2', ip, '8080']);
    await waitFor(async () => (await fetch()).stdout.includes('from-server'), 15_000, 'pod server from pod survivor');
    const pids = await Promise.all([ctr, server.ctr].map(async (c) => JSON.parse(await crictl('inspect', c)).info.pid as number));
    await d.kill9();
    for (const pid of pids) process.kill(pid, 0); // still there
    await d.restart();
    // Exact states (the table's "Ready" would also match "NotReady").
    const podStates = JSON.parse(await crictl('pods', '-o', 'json')).items as Array<{ id: string; state: string }>;
    for (const p of [pod, server.pod]) assert.equal(podStates.find((x) => x.id === p)?.state, 'SANDBOX_READY', `pod ${p} after the restart`);
    const ctrStates = JSON.parse(await crictl('ps', '-a', '-o', 'json')).containers as Array<{ id: string; state: string }>;
    for (const c of [ctr, server.ctr]) assert.equal(ctrStates.find((x) => x.id === c)?.state, 'CONTAINER_RUNNING', `container ${c} after the restart`);
    for (const [i, c] of [ctr, server.ctr].entries()) assert.equal(JSON.parse(await crictl('inspect', c)).info.pid, pids[i]);
    assert.equal((await crictl('exec', '-s', ctr, 'echo', 'alive')).trim(), 'alive');
    // The pods' network came through too: survivor still reaches server by IP.
    assert.match((await fetch()).stdout, /from-server/);
    assert.equal(JSON.parse(await crictl('inspectp', server.pod)).status.network.ip, ip);
    await crictl('rmp', '-f', pod);
    await crictl('rmp', '-f', server.pod);
  });

  test('rmi removes the image with all its names; pulling it again brings it back', async () => {
    await crictl('rmi', image);
    assert.doesNotMatch(await crictl('images'), /cri\/busybox/);
    assert.equal((await d.request('GET', `/images/${encodeURIComponent(image)}/json`)).status, 404);
    await crictl('pull', image);
    assert.match(await crictl('images', image), /cri\/busybox\s+1/);
  });
});
