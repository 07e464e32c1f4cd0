/**
 * Issue 12, acceptance 3 and "one engine, two faces": pods made through the
 * CRI (the real crictl) are berth containers that `berth ps --namespace
 * k8s.io` lists and `berth fault` reaches by pod name, by the CRI
 * container's name, and by ID.
 *
 * Two pods on the berth network reach each other by IP (busybox ping and
 * wget); a pod's containers share its network namespace (localhost); a
 * partition made with `berth fault partition podA podB` holds until it is
 * healed.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCommand, skipUnlessRoot, startDaemon, waitFor, type Daemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';

const CRICTL = process.env.CRICTL ?? '/var/cache/berth-go-clients/crictl';
const skip = skipUnlessRoot() || (existsSync(CRICTL) ? false : `no crictl at ${CRICTL}: run shared/tools/build-go-clients.sh`);

describe('berth ps and berth fault on the CRI\'s pods', { skip }, () => {
  let d: Daemon;
  let dir: string;
  const pods: string[] = [];

  const crictlArgs = (args: string[]) => ['--runtime-endpoint', `unix://${d.execRoot}/cri.sock`, '--image-endpoint', `unix://${d.execRoot}/cri.sock`, '--timeout', '60s', ...args];

  async function crictl(...args: string[]): Promise<string> {
    const r = await runCommand(CRICTL, crictlArgs(args), { timeoutMs: 90_000 });
    assert.equal(r.code, 0, `crictl ${args.join(' ')} failed:\n${r.stdout}${r.stderr}\n--- berthd:\n${d.logs().slice(-2000)}`);
    return r.stdout;
  }

  async function berth(...args: string[]): Promise<string> {
    const r = await d.berth(args);
    assert.equal(r.code, 0, `berth ${args.join(' ')} failed:\n${r.stdout}${r.stderr}\n--- berthd:\n${d.logs().slice(-2000)}`);
    return r.stdout;
  }

  /** A pod with one container running `command`; the pod is removed after the tests even when they fail. */
  async function runPod(name: string, ctrName: string, command: string[]): Promise<{ pod: string; ctr: string; podFile: string }> {
    const podFile = join(dir, `${name}.pod.json`);
    await writeFile(podFile, JSON.stringify({ metadata: { name, namespace: 'default', uid: `${name}-uid`, attempt: 0 }, hostname: name, log_directory: join(dir, 'logs', name), linux: {} }));
    const pod = (await crictl('runp', podFile)).trim();
    pods.push(pod);
    const ctr = await addContainer(pod, podFile, ctrName, command);
    return { pod, ctr, podFile };
  }

  async function addContainer(pod: string, podFile: string, name: string, command: string[]): Promise<string> {
    const file = join(dir, `${name}.ctr.json`);
    await writeFile(file, JSON.stringify({ metadata: { name }, image: { image: 'busybox' }, command, log_path: `${name}/0.log` }));
    const ctr = (await crictl('create', pod, file, podFile)).trim();
    await crictl('start', ctr);
    return ctr;
  }

  before(async () => {
    d = await startDaemon();
    dir = join(d.tmpDir, 'cri-faults');
    await mkdir(dir, { recursive: true });
    await importBusybox(d);
  });

  after(async () => {
    await d?.berth(['fault', 'heal']).catch(() => undefined);
    for (const p of pods) await runCommand(CRICTL, crictlArgs(['rmp', '-f', p])).catch(() => undefined);
    const left = await d?.stop();
    if (left) assert.deepEqual(left.processes, [], 'berthd left processes behind');
  });

  test('two pods reach each other by IP, share localhost within a pod, and a berth fault partition between them holds', async () => {
    const httpd = (text: string) => ['sh', '-c', `mkdir -p /www && echo ${text} > /www/index.html && exec httpd -f -p 8080 -h /www`];
    const a = await runPod('alpha', 'alpha-main', ['sleep', '1000']);
    const b = await runPod('beta', 'beta-web', httpd('from-beta'));
    const bSide = await addContainer(b.pod, b.podFile, 'beta-side', ['sleep', '1000']);
    const ipOf = async (pod: string) => JSON.parse(await crictl('inspectp', pod)).status.network.ip as string;
    const [ipA, ipB] = [await ipOf(a.pod), await ipOf(b.pod)];
    assert.match(ipB, /^\d+\.\d+\.\d+\.\d+$/);
    assert.notEqual(ipA, ipB);

    // berth's face: the CRI's pods and containers are under the k8s.io namespace, not in the default list.
    assert.equal((await berth('ps', '-q')).trim(), '');
    const listed = (await berth('ps', '--namespace', 'k8s.io', '--no-trunc', '-q')).split('\n').filter(Boolean).sort();
    assert.deepEqual(listed, [a.pod, a.ctr, b.pod, b.ctr, bSide].sort());
    assert.deepEqual((await berth('ps', '--filter', 'label=io.berth.namespace=k8s.io', '--no-trunc', '-q')).split('\n').filter(Boolean).sort(), listed);

    const exec = (ctr: string, ...cmd: string[]) => runCommand(CRICTL, crictlArgs(['exec', '-s', ctr, ...cmd]), { timeoutMs: 60_000 });
    // busybox-static's wget -T crashes (SIGSEGV): busybox timeout bounds it instead.
    const wget = (ctr: string, host: string) => exec(ctr, 'timeout', '3', 'wget', '-q', '-O-', `http://${host}:8080/`);
    const ping = (ctr: string, host: string) => exec(ctr, 'ping', '-c', '1', '-W', '2', host);
    await waitFor(async () => (await wget(a.ctr, ipB)).stdout.includes('from-beta'), 15_000, 'pod beta from pod alpha');
    assert.equal((await ping(a.ctr, ipB)).code, 0, 'alpha pings beta');
    assert.equal((await ping(b.ctr, ipA)).code, 0, 'beta pings alpha');
    // A pod's containers share its network namespace.
    assert.match((await wget(bSide, '127.0.0.1')).stdout, /from-beta/);

    // By pod name: the fault lands on the pods' network namespace.
    const id = (await berth('fault', 'partition', 'alpha', 'beta')).trim();
    assert.match(id, /^[0-9a-f]{12}$/);
    assert.match(await berth('fault', 'ls', 'alpha'), new RegExp(`alpha\\s+${id}\\s+partition\\s+from beta \\(${ipB.replace(/\./g, '\\.')}\\)`));
    for (let i = 0; i < 3; i++) {
      assert.notEqual((await wget(a.ctr, ipB)).code, 0, `alpha still reached beta (attempt ${i + 1})`);
      assert.notEqual((await ping(a.ctr, ipB)).code, 0, 'alpha still pinged beta');
      assert.notEqual((await ping(bSide, ipA)).code, 0, 'beta\'s other container still pinged alpha');
    }
    // Within the pod nothing changed.
    assert.match((await wget(bSide, '127.0.0.1')).stdout, /from-beta/);
    await berth('fault', 'heal', 'alpha');
    assert.equal((await berth('fault', 'ls', '-q')).trim(), '');
    await waitFor(async () => (await wget(a.ctr, ipB)).stdout.includes('from-beta'), 15_000, 'beta after the heal');

    // By the CRI containers' names, and rejecting: connections fail at once, then heal from the other side.
    await berth('fault', 'partition', '--reject', 'alpha-main', 'beta-side');
    assert.notEqual((await wget(a.ctr, ipB)).code, 0);
    assert.notEqual((await ping(b.ctr, ipA)).code, 0);
    await berth('fault', 'rm', 'beta');
    await waitFor(async () => (await wget(a.ctr, ipB)).stdout.includes('from-beta'), 15_000, 'beta after rm');

    // By ID: a container's ID stands for its pod; the pod sandbox's ID is the pod.
    await berth('fault', 'partition', a.ctr.slice(0, 12), b.pod);
    assert.notEqual((await ping(a.ctr, ipB)).code, 0);
    await berth('fault', 'heal');
    assert.equal((await ping(a.ctr, ipB)).code, 0);
  });

  test('a name that matches no pod or container, or several pods, is an error that says so', async () => {
    const none = await d.berth(['fault', 'partition', 'no-such-pod', 'beta']);
    assert.notEqual(none.code, 0);
    assert.match(none.stderr, /No such container: no-such-pod/);
    // A second pod named alpha in another Kubernetes namespace makes the name ambiguous.
    const podFile = join(dir, 'alpha-other.pod.json');
    await writeFile(podFile, JSON.stringify({ metadata: { name: 'alpha', namespace: 'other', uid: 'alpha-other-uid', attempt: 0 }, linux: {} }));
    pods.push((await crictl('runp', podFile)).trim());
    const two = await d.berth(['fault', 'loss', 'alpha', '50%']);
    assert.notEqual(two.code, 0);
    assert.match(two.stderr, /pod "alpha" is ambiguous: it names 2 pods/);
  });
});
