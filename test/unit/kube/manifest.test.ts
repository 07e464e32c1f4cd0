/** kube/manifest.ts: reading Pods, Deployments and Services for `berth kube play` (pure). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expandVars, readManifests } from '../../../src/kube/manifest.js';

const POD = `
apiVersion: v1
kind: Pod
metadata: {name: app, labels: {app: web}}
spec:
  containers:
  - name: main
    image: busybox
    command: ["sh", "-c", "echo $(GREETING) $$(not) $(UNSET)"]
    env: [{name: GREETING, value: hi}]
    ports: [{name: http, containerPort: 80}, {containerPort: 53, protocol: UDP, hostPort: 5353}]
`;

test('a Pod: containers, $(VAR) expansion, defaults, a container hostPort published', () => {
  const { pods, warnings } = readManifests(POD);
  assert.deepEqual(warnings, []);
  assert.equal(pods.length, 1);
  const [p] = pods;
  assert.equal(p.name, 'app');
  assert.equal(p.restartPolicy, 'Always');
  assert.deepEqual(p.containers[0].command, ['sh', '-c', 'echo hi $(not) $(UNSET)']);
  assert.deepEqual(p.containers[0].env, [['GREETING', 'hi']]);
  assert.deepEqual(p.publish, [{ containerPort: 53, protocol: 'UDP', hostPort: 5353, hostIP: '' }]);
});

test('a Service publishes its port (nodePort first) on the pod it selects, to a named targetPort', () => {
  const { pods } = readManifests(`${POD}---
apiVersion: v1
kind: Service
metadata: {name: s}
spec:
  selector: {app: web}
  ports: [{port: 8080, targetPort: http}, {port: 9000, targetPort: 90, nodePort: 30090}]
`);
  assert.deepEqual(pods[0].publish.slice(1), [
    { containerPort: 80, protocol: 'TCP', hostPort: 8080, hostIP: '' },
    { containerPort: 90, protocol: 'TCP', hostPort: 30090, hostIP: '' },
  ]);
});

test('a Deployment is replicas pods named <name>-pod-<i> with the template\'s labels; a Service over several of them is refused', () => {
  const dep = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 3
  strategy: {type: RollingUpdate}
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: c, image: busybox}]}
`;
  const { pods, warnings } = readManifests(dep);
  assert.deepEqual(pods.map((p) => p.name), ['web-pod-0', 'web-pod-1', 'web-pod-2']);
  assert.deepEqual(pods[2].labels, { app: 'web' });
  assert.deepEqual(warnings, ['Deployment[1].spec.strategy is ignored by berth']);
  assert.throws(() => readManifests(`${dep}---\napiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {selector: {app: web}, ports: [{port: 80}]}\n`),
    /service s selects 3 pods .*: a host port can be published for one pod only/);
  assert.throws(() => readManifests(dep.replace('matchLabels: {app: web}', 'matchLabels: {app: other}')), /does not match the template's labels/);
});

test('unknown kinds, unsupported fields and bad values are refused by name', () => {
  assert.throws(() => readManifests('apiVersion: v1\nkind: Secret\nmetadata: {name: s}\n'), /kind Secret is not supported by berth kube play/);
  assert.throws(() => readManifests(POD.replace('image: busybox', 'image: busybox\n    readinessProbe: {}')), /Pod\[1\]\.spec\.containers\[0\]\.readinessProbe: not supported/);
  assert.throws(() => readManifests(POD.replace('value: hi', 'valueFrom: {fieldRef: {fieldPath: x}}')), /env\[0\]\.valueFrom: not supported/);
  assert.throws(() => readManifests(POD.replace('containerPort: 80}', 'containerPort: 80, protocol: SCTP}')), /SCTP is not supported/);
  assert.throws(() => readManifests(POD.replace('name: main', 'name: Main_1')), /is not a valid name/);
  assert.throws(() => readManifests(POD.replace('apiVersion: v1', 'apiVersion: apps/v1')), /Pod needs apiVersion v1/);
  assert.throws(() => readManifests(`${POD}---${POD}`), /pod app is described twice/);
  assert.throws(() => readManifests(POD.replace('image: busybox', 'image: busybox\n    volumeMounts: [{name: nope, mountPath: /x}]')), /no volume "nope"/);
  assert.throws(() => readManifests(`${POD}  volumes: [{name: v, configMap: {name: c}}]\n`), /volume type configMap is not supported/);
  assert.throws(() => readManifests('a: [b\n'), /YAML document 1/);
});

test('output-only fields are ignored with a warning, empty ones silently', () => {
  const { warnings } = readManifests(POD.replace('metadata: {name: app,', 'status: {phase: Running}\nmetadata: {namespace: prod, creationTimestamp: null, name: app,'));
  assert.deepEqual(warnings, ['Pod[1].status is ignored by berth', 'Pod[1].metadata.namespace "prod" is ignored: berth has one namespace for kube play']);
});

test('$(VAR) expansion follows Kubernetes: $$ escapes, unknown names stay', () => {
  const env = new Map([['A', 'x']]);
  assert.equal(expandVars('$(A)-$$(A)-$(B)-$A', env), 'x-$(A)-$(B)-$A');
});
