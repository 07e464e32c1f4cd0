/** kube/generate.ts over fake records: what a berth container says becomes a Pod (pure). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { KubeGenerator, kubeName } from '../../../src/kube/generate.js';
import type { Engine } from '../../../src/engine/engine.js';
import type { ContainerRecord } from '../../../src/store/container-store.js';
import { NotFoundError } from '../../../src/errors.js';

const IMAGE = { Env: ['PATH=/bin'], Cmd: ['sh'], WorkingDir: '' };

function engineWith(records: ContainerRecord[]): Engine {
  return {
    containers: {
      lookup: (ref: string) => {
        const c = records.find((r) => r.Id === ref || r.Name === ref);
        if (!c) throw new NotFoundError(`No such container: ${ref}`);
        return c;
      },
      store: { all: () => records },
    },
    images: { tryResolve: () => ({ config: { config: IMAGE } }) },
    volumes: { list: () => [] },
  } as unknown as Engine;
}

const plain = {
  Id: 'a'.repeat(64), Name: 'My_App.1', Image: 'sha256:x', ImageRef: 'busybox',
  Config: { Image: 'busybox', Entrypoint: null, Cmd: ['sleep', '5'], Env: ['PATH=/bin', 'A=b=c'], WorkingDir: '/srv', User: 'nobody', Labels: {}, ExposedPorts: { '80/tcp': {} } },
  HostConfig: { NetworkMode: 'bridge', RestartPolicy: { Name: 'unless-stopped' }, PortBindings: { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '8080' }] } },
  Mounts: [
    { Type: 'bind', Source: '/srv/a_b', Destination: '/x', RW: true, Mode: '', Propagation: '' },
    { Type: 'bind', Source: '/srv/a-b', Destination: '/y', RW: false, Mode: '', Propagation: '' },
    { Type: 'bind', Source: '/srv/a_b', Destination: '/z', RW: true, Mode: '', Propagation: '' },
  ],
} as unknown as ContainerRecord;

test('a plain container is a Pod of its own: names made DNS labels, only what differs from the image, a user by name left out', () => {
  const pod = parse(new KubeGenerator(engineWith([plain])).generate(['My_App.1']));
  assert.deepEqual(pod, {
    apiVersion: 'v1', kind: 'Pod', metadata: { name: 'my-app-1-pod' },
    spec: {
      restartPolicy: 'Always',
      containers: [{
        name: 'my-app-1', image: 'busybox', args: ['sleep', '5'], env: [{ name: 'A', value: 'b=c' }], workingDir: '/srv',
        ports: [{ containerPort: 80, hostPort: 8080, hostIP: '127.0.0.1', protocol: 'TCP' }],
        volumeMounts: [{ name: 'srv-a-b-host', mountPath: '/x' }, { name: 'srv-a-b-host-2', mountPath: '/y', readOnly: true }, { name: 'srv-a-b-host', mountPath: '/z' }],
      }],
      volumes: [{ name: 'srv-a-b-host', hostPath: { path: '/srv/a_b' } }, { name: 'srv-a-b-host-2', hostPath: { path: '/srv/a-b' } }],
    },
  });
});

test('an unknown name is Not Found; names Kubernetes refuses are made acceptable', () => {
  assert.throws(() => new KubeGenerator(engineWith([plain])).generate(['nope']), /No such container or pod: nope/);
  assert.equal(kubeName('__A.b__'), 'a-b');
  assert.equal(kubeName('___'), 'container');
  assert.equal(kubeName('x'.repeat(70)).length, 63);
});
