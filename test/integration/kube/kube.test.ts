/**
 * Issue 12, acceptance 5: `berth kube play`, `kube generate` and `kube down`
 * against a real berthd.
 *
 * - A two-container Pod (command, args, env, ports, workingDir, runAsUser,
 *   an emptyDir and a hostPath volume) plus a Service publishing its port:
 *   the containers share localhost and the emptyDir, the Service's port is
 *   published on the host, and `kube generate` gives back the same pod
 *   (compared by meaning); playing the generated YAML again and generating
 *   once more gives the same YAML.
 * - A Deployment is N pods named as Podman names them, on the network
 *   `--network` names; `berth fault` takes their pod names.
 * - Unknown kinds and unsupported fields are refused before anything is made.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { skipUnlessRoot, startDaemon, waitFor, type Daemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';
import { fetchText, freePort } from '../network/net-helpers.js';

type Obj = Record<string, any>;

/** What a Pod means, for comparing a played file with its generated YAML: volumes resolved, order and defaults normalised. */
function meaning(pod: Obj): Obj {
  const volumes = new Map<string, string>((pod.spec.volumes ?? []).map((v: Obj) => [v.name, v.hostPath ? `hostPath:${v.hostPath.path}` : v.emptyDir ? `emptyDir:${v.name}` : JSON.stringify(v)]));
  return {
    name: pod.metadata.name, labels: pod.metadata.labels ?? {},
    restartPolicy: pod.spec.restartPolicy ?? 'Always',
    containers: pod.spec.containers.map((c: Obj) => ({
      name: c.name, image: c.image, command: c.command ?? null, args: c.args ?? null,
      env: Object.fromEntries((c.env ?? []).map((e: Obj) => [e.name, e.value ?? ''])),
      workingDir: c.workingDir ?? '',
      ports: (c.ports ?? []).map((p: Obj) => `${p.containerPort}/${p.protocol ?? 'TCP'}`).sort(),
      mounts: (c.volumeMounts ?? []).map((m: Obj) => `${m.mountPath}=${volumes.get(m.name)}${m.readOnly ? ':ro' : ''}`).sort(),
      user: c.securityContext ?? null,
    })),
  };
}

describe('berth kube play / generate / down', { skip: skipUnlessRoot() }, () => {
  let d: Daemon;
  let dir: string;
  let hostDir: string;
  const played: string[] = [];

  async function berth(...args: string[]): Promise<string> {
    const r = await d.berth(args, { timeoutMs: 120_000 });
    assert.equal(r.code, 0, `berth ${args.join(' ')} failed:\n${r.stdout}${r.stderr}\n--- berthd:\n${d.logs().slice(-2000)}`);
    return r.stdout;
  }

  async function play(name: string, yaml: string, ...flags: string[]): Promise<string> {
    const file = join(dir, `${name}.yaml`);
    await writeFile(file, yaml);
    played.push(file);
    await berth('kube', 'play', ...flags, file);
    return file;
  }

  before(async () => {
    d = await startDaemon();
    dir = join(d.tmpDir, 'kube');
    hostDir = join(dir, 'host-data');
    await mkdir(hostDir, { recursive: true });
    await writeFile(join(hostDir, 'marker'), 'from-the-host\n');
    await importBusybox(d);
  });

  after(async () => {
    for (const f of played) await d.berth(['kube', 'down', f]).catch(() => undefined);
    const left = await d?.stop();
    if (left) assert.deepEqual(left.processes, [], 'berthd left processes behind');
  });

  test('a two-container pod shares localhost and an emptyDir; a Service publishes its port; generate round-trips it', async () => {
    const port = await freePort();
    const source = `
apiVersion: v1
kind: Pod
metadata:
  name: duo
  labels:
    app: duo
spec:
  restartPolicy: Never
  volumes:
  - name: shared
    emptyDir: {}
  - name: hostdir
    hostPath:
      path: ${hostDir}
      type: Directory
  containers:
  - name: server
    image: busybox
    command: ["sh", "-c"]
    args: ["echo $GREETING > /www/index.html && exec httpd -f -p 8080 -h /www"]
    env:
    - name: GREETING
      value: hello-from-duo
    ports:
    - name: http
      containerPort: 8080
    volumeMounts:
    - name: shared
      mountPath: /www
  - name: client
    image: busybox
    command: ["sleep"]
    args: ["1000"]
    workingDir: /work
    env:
    - name: MODE
      value: client
    securityContext:
      runAsUser: 1000
      runAsGroup: 1000
    volumeMounts:
    - name: shared
      mountPath: /shared
      readOnly: true
    - name: hostdir
      mountPath: /host
---
apiVersion: v1
kind: Service
metadata:
  name: duo
spec:
  selector:
    app: duo
  ports:
  - port: ${port}
    targetPort: http
`;
    const file = await play('duo', source);
    const names = (await berth('ps', '--format', '{{.Names}}')).split('\n').filter(Boolean).sort();
    assert.deepEqual(names, ['duo-client', 'duo-infra', 'duo-server']);

    // One network namespace: the client reaches the server on localhost; the emptyDir is one directory for both.
    await waitFor(async () => (await d.berth(['exec', 'duo-client', 'wget', '-qO-', 'http://127.0.0.1:8080/'])).stdout.includes('hello-from-duo'), 15_000, 'the server on localhost');
    assert.equal((await berth('exec', 'duo-client', 'cat', '/shared/index.html')).trim(), 'hello-from-duo');
    assert.equal((await berth('exec', 'duo-client', 'cat', '/host/marker')).trim(), 'from-the-host');
    assert.notEqual((await d.berth(['exec', 'duo-client', 'touch', '/shared/x'])).code, 0, 'the read-only mount refuses writes');
    assert.equal((await berth('exec', 'duo-client', 'sh', '-c', 'echo $(id -u):$(id -g) $MODE $(pwd)')).trim(), '1000:1000 client /work');
    // The Service's port is published on the host, to the pod's named container port.
    assert.equal((await fetchText('127.0.0.1', port)).trim(), 'hello-from-duo');

    const generated = await berth('kube', 'generate', 'duo');
    const pod = parse(generated) as Obj;
    assert.equal(pod.apiVersion, 'v1');
    assert.equal(pod.kind, 'Pod');
    assert.deepEqual(meaning(pod), meaning(parse(source.split('---')[0])));
    const server = pod.spec.containers.find((c: Obj) => c.name === 'server');
    assert.deepEqual(server.ports, [{ name: 'http', containerPort: 8080, hostPort: port, protocol: 'TCP' }]);
    // A container's name gives the same pod.
    assert.deepEqual(parse(await berth('kube', 'generate', 'duo-client')), pod);

    // The generated YAML plays as it is, and generates the same YAML again.
    await berth('kube', 'down', file);
    assert.equal((await berth('ps', '-a', '-q')).trim(), '');
    assert.deepEqual((await berth('volume', 'ls', '-q')).trim(), '');
    await play('duo-again', generated);
    await waitFor(async () => (await d.berth(['exec', 'duo-client', 'wget', '-qO-', 'http://127.0.0.1:8080/'])).stdout.includes('hello-from-duo'), 15_000, 'the replayed server');
    assert.equal(await berth('kube', 'generate', 'duo'), generated);
    await berth('kube', 'down', join(dir, 'duo-again.yaml'));
    assert.equal((await berth('ps', '-a', '-q')).trim(), '');
  });

  test('a Deployment is N pods named <deployment>-pod-<i> on the --network given; berth fault partitions them by pod name', async () => {
    await berth('network', 'create', 'kubenet');
    const file = await play('web', `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: web
        image: busybox
        command: ["sleep", "1000"]
`, '--network', 'kubenet');
    const names = (await berth('ps', '--format', '{{.Names}}')).split('\n').filter(Boolean).sort();
    assert.deepEqual(names, ['web-pod-0-infra', 'web-pod-0-web', 'web-pod-1-infra', 'web-pod-1-web']);
    const gen = parse(await berth('kube', 'generate', 'web-pod-1')) as Obj;
    assert.equal(gen.metadata.name, 'web-pod-1');
    assert.deepEqual(gen.metadata.labels, { app: 'web' });
    assert.deepEqual(gen.spec.containers[0].command, ['sleep', '1000']);

    assert.equal((await berth('inspect', '-f', '{{range $k, $v := .NetworkSettings.Networks}}{{$k}}{{end}}', 'web-pod-0-infra')).trim(), 'kubenet');
    const ipOf = async (c: string) => (await berth('inspect', '-f', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}', c)).trim();
    const ip1 = await ipOf('web-pod-1-infra');
    const ping = () => d.berth(['exec', 'web-pod-0-web', 'ping', '-c', '1', '-W', '2', ip1]);
    assert.equal((await ping()).code, 0, 'the pods reach each other');
    const faultId = (await berth('fault', 'partition', 'web-pod-0', 'web-pod-1')).trim();
    assert.match(faultId, /^[0-9a-f]{12}$/);
    assert.match(await berth('fault', 'ls', 'web-pod-0'), new RegExp(`${faultId}\\s+partition`));
    assert.notEqual((await ping()).code, 0, 'the partition holds');
    await berth('fault', 'heal', 'web-pod-0');
    assert.equal((await ping()).code, 0, 'healed');
    await berth('kube', 'down', file);
    assert.equal((await berth('ps', '-a', '-q')).trim(), '');
    await berth('network', 'rm', 'kubenet');
  });

  test('unknown kinds and unsupported fields are refused, and nothing is made', async () => {
    const bad = async (name: string, yaml: string, message: RegExp) => {
      const file = join(dir, `${name}.yaml`);
      await writeFile(file, yaml);
      const r = await d.berth(['kube', 'play', file]);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, message);
    };
    await bad('configmap', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: b}\n', /kind ConfigMap is not supported by berth kube play/);
    await bad('probe', `
apiVersion: v1
kind: Pod
metadata: {name: probed}
spec:
  containers:
  - name: a
    image: busybox
    livenessProbe: {exec: {command: ["true"]}}
`, /spec\.containers\[0\]\.livenessProbe: not supported by berth kube play/);
    // The second pod fails at its image: the first one, made already, goes again.
    await bad('half', `
apiVersion: v1
kind: Pod
metadata: {name: first}
spec:
  containers:
  - {name: a, image: busybox, command: ["sleep", "1000"]}
---
apiVersion: v1
kind: Pod
metadata: {name: second}
spec:
  containers:
  - {name: a, image: no-such-image-here, imagePullPolicy: Never}
`, /image no-such-image-here is not present/);
    assert.equal((await berth('ps', '-a', '-q')).trim(), '');
  });
});
