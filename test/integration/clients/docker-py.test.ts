/**
 * docker-py (Debian's python3-docker, 5.x) drives berthd unchanged: each
 * test runs a small Python script with DOCKER_HOST pointing at a private
 * daemon and checks what it printed (one JSON document). Everything the
 * scripts create is named `dpy-…`; each script removes what it made in a
 * `finally`, and each test sweeps the `dpy-` leftovers through the API
 * afterwards, so a failing test leaves nothing behind either.
 */
import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCommand, skipUnlessRoot, startDaemon, type Daemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';

/** Debian's interpreter, whose dist-packages hold python3-docker (another python3 in PATH may carry another docker-py). */
const PYTHON = '/usr/bin/python3';

function skipWithoutDockerPy(): string | false {
  if (!existsSync('/usr/lib/python3/dist-packages/docker/__init__.py') || !existsSync(PYTHON)) {
    return 'docker-py is not installed: apt-get install -y --no-install-recommends python3-docker';
  }
  return false;
}

const PRELUDE = `
import docker, io, json, sys, tarfile, time
client = docker.from_env(timeout=120)
def out(value):
    print(json.dumps(value, default=str))
def tar_of(files):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode='w') as t:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    buf.seek(0)
    return buf
`;

describe('docker-py against berthd', { skip: skipUnlessRoot() || skipWithoutDockerPy() }, () => {
  let d!: Daemon;
  let scratch!: string;
  let scriptNo = 0;

  before(async () => {
    scratch = await mkdtemp('/tmp/berth-docker-py-');
    d = await startDaemon();
    await importBusybox(d);
  }, { timeout: 120_000 });

  after(async () => {
    await d?.stop();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  /** Runs PRELUDE + `body` under docker-py and returns the JSON it printed last. */
  async function py<T = any>(body: string, timeoutMs = 120_000): Promise<T> {
    const file = join(scratch, `script-${++scriptNo}.py`);
    await writeFile(file, PRELUDE + body);
    const r = await runCommand(PYTHON, [file], {
      env: { DOCKER_HOST: d.host, DOCKER_CONFIG: join(scratch, 'docker-config'), DOCKER_TLS_VERIFY: undefined, DOCKER_CERT_PATH: undefined, DOCKER_API_VERSION: undefined },
      timeoutMs,
    });
    assert.equal(r.code, 0, `docker-py script failed (exit ${r.code}):\n${r.stderr}\nstdout:\n${r.stdout}\nberthd:\n${d.logs().split('\n').slice(-20).join('\n')}`);
    const last = r.stdout.trim().split('\n').pop() ?? '';
    try {
      return JSON.parse(last) as T;
    } catch {
      throw new Error(`docker-py script printed no JSON:\n${r.stdout}\n${r.stderr}`);
    }
  }

  /** Removes whatever a test left named dpy-… (containers, networks, volumes, image tags). */
  async function sweep(): Promise<void> {
    const list = async (path: string) => { const r = await d.request('GET', path); return r.status === 200 ? r.json() : []; };
    for (const c of await list('/containers/json?all=1') as { Id: string; Names: string[] }[]) {
      if (c.Names.some((n) => n.startsWith('/dpy-'))) await d.request('DELETE', `/containers/${c.Id}?force=1&v=1`);
    }
    for (const n of await list('/networks') as { Name: string }[]) if (n.Name.startsWith('dpy-')) await d.request('DELETE', `/networks/${n.Name}`);
    for (const v of (await list('/volumes') as { Volumes: { Name: string }[] }).Volumes ?? []) if (v.Name.startsWith('dpy-')) await d.request('DELETE', `/volumes/${v.Name}?force=1`);
    for (const i of await list('/images/json') as { RepoTags: string[] | null }[]) {
      for (const tag of i.RepoTags ?? []) if (tag.startsWith('dpy-')) await d.request('DELETE', `/images/${encodeURIComponent(tag)}?force=1`);
    }
  }
  const sweeping = (t: TestContext) => t.after(sweep);

  test('version, info and ping; "auto" negotiates the daemon\'s API version and 1.41 is served too', async () => {
    const r = await py(`
v = client.version()
old = docker.from_env(version='1.41', timeout=120)
out({'docker_py': docker.__version__, 'api': client.api.api_version, 'version': v['ApiVersion'], 'min': v['MinAPIVersion'],
     'components': [c['Name'] for c in v.get('Components', [])], 'ping': client.ping(), 'info_images': client.info()['Images'],
     'info_driver': client.info()['Driver'], 'old_api': old.api.api_version, 'old_ping': old.ping(), 'old_version': old.version()['ApiVersion']})
`);
    assert.match(r.docker_py, /^\d+\./);
    assert.equal(r.api, '1.50');
    assert.equal(r.version, '1.50');
    assert.equal(r.min, '1.24');
    assert.deepEqual(r.components, ['Engine']);
    assert.equal(r.ping, true);
    assert.equal(r.info_images, 1);
    assert.equal(r.info_driver, 'overlay2');
    assert.deepEqual([r.old_api, r.old_ping, r.old_version], ['1.41', true, '1.50']);
  });

  test('images.list, get, tag and remove', async (t) => {
    sweeping(t);
    const r = await py(`
try:
    img = client.images.get('busybox')
    tagged = img.tag('dpy-img', 'v1')
    again = client.images.get('dpy-img:v1')
    listed = sorted(t for i in client.images.list() for t in i.tags)
    by_name = [i.tags for i in client.images.list(name='dpy-img')]
    client.images.remove('dpy-img:v1')
    try:
        client.images.get('dpy-img:v1')
        gone = False
    except docker.errors.ImageNotFound:
        gone = True
    out({'id': img.id, 'tags': img.tags, 'tagged': tagged, 'again': again.id, 'listed': listed, 'by_name': by_name, 'gone': gone,
         'cmd': img.attrs['Config']['Cmd'], 'history': len(img.history())})
finally:
    try: client.images.remove('dpy-img:v1')
    except docker.errors.ImageNotFound: pass
`);
    assert.match(r.id, /^sha256:[0-9a-f]{64}$/);
    assert.deepEqual(r.tags, ['busybox:latest']);
    assert.equal(r.tagged, true);
    assert.equal(r.again, r.id);
    assert.deepEqual(r.listed, ['busybox:latest', 'dpy-img:v1']);
    assert.deepEqual(r.by_name, [['busybox:latest', 'dpy-img:v1']]);
    assert.equal(r.gone, true);
    assert.deepEqual(r.cmd, ['sh']);
    assert.ok(r.history >= 1);
  });

  test('containers.run in the foreground returns the output, raises ContainerError with stderr, and remove=True leaves nothing', async (t) => {
    sweeping(t);
    const r = await py(`
output = client.containers.run('busybox', ['sh', '-c', 'echo hello; echo to-stderr >&2'], remove=True, name='dpy-fg')
only_err = client.containers.run('busybox', ['sh', '-c', 'echo o; echo e >&2'], stdout=False, stderr=True, remove=True)
try:
    client.containers.run('busybox', ['sh', '-c', 'echo failing >&2; exit 4'], remove=True, name='dpy-fail')
    error = None
except docker.errors.ContainerError as e:
    error = {'exit_status': e.exit_status, 'stderr': e.stderr.decode()}
left = [c.name for c in client.containers.list(all=True)]
out({'output': output.decode(), 'only_err': only_err.decode(), 'error': error, 'left': left})
`);
    assert.equal(r.output, 'hello\n');
    assert.equal(r.only_err, 'e\n');
    assert.deepEqual(r.error, { exit_status: 4, stderr: 'failing\n' });
    assert.deepEqual(r.left, []);
  });

  test('a detached container: attrs of inspect, logs, exec_run, stop, wait, remove', async (t) => {
    sweeping(t);
    const r = await py(`
c = client.containers.run('busybox', ['sh', '-c', 'echo started; echo warn >&2; trap "exit 0" TERM; while true; do sleep 0.1; done'], detach=True,
                          name='dpy-det', environment={'FOO': 'bar'}, labels={'dpy': 'yes'}, working_dir='/tmp',
                          volumes={'dpy-vol': {'bind': '/data', 'mode': 'rw'}}, ports={'8080/tcp': None})
try:
    for _ in range(100):
        if b'started' in c.logs(): break
        time.sleep(0.05)
    c.reload()
    a = c.attrs
    ports = c.ports
    got = client.containers.get('dpy-det')
    listed = [x.name for x in client.containers.list(filters={'label': 'dpy=yes'})]
    execs = [c.exec_run(['sh', '-c', 'echo out-%d; echo err-%d >&2; exit %d' % (i, i, i % 3)], demux=True) for i in range(30)]
    plain = c.exec_run('sh -c "echo $X in $(pwd) as $(id -u)"', environment={'X': 'x-value'}, workdir='/etc', user='nobody')
    missing = c.exec_run('no-such-command')
    streamed = [chunk.decode() for chunk in c.exec_run(['sh', '-c', 'echo a; sleep 0.3; echo b'], stream=True).output]
    c.stop(timeout=5)
    c.reload()
    status = c.status
    waited = c.wait()
    result = {
        'name': got.name, 'id_matches': got.id == c.id, 'short_id': c.short_id, 'image_tags': c.image.tags,
        'env': [e for e in a['Config']['Env'] if e.startswith('FOO=')], 'labels': c.labels, 'workdir': a['Config']['WorkingDir'],
        'running': a['State']['Running'], 'mounts': [(m['Type'], m['Name'], m['Destination'], m['RW']) for m in a['Mounts']],
        'ports': list(ports.keys()), 'host_port': bool(ports['8080/tcp'][0]['HostPort']), 'ports_stopped': c.ports,
        'logs': c.logs().decode(), 'stdout_logs': c.logs(stderr=False).decode(), 'tail': c.logs(tail=1).decode(),
        'listed': listed,
        'execs': [(e.exit_code, e.output[0].decode() if e.output[0] else None, e.output[1].decode() if e.output[1] else None) for e in execs],
        'plain': [plain.exit_code, plain.output.decode()], 'missing': [missing.exit_code, missing.output.decode()],
        'streamed': streamed, 'status': status, 'waited': waited,
    }
    c.remove(v=True)
    result['left'] = [x.name for x in client.containers.list(all=True)]
    out(result)
finally:
    try: c.remove(force=True)
    except docker.errors.NotFound: pass
    try: client.volumes.get('dpy-vol').remove(force=True)
    except docker.errors.NotFound: pass
`);
    assert.equal(r.name, 'dpy-det');
    assert.equal(r.id_matches, true);
    assert.equal(r.short_id.length, 10);
    assert.deepEqual(r.image_tags, ['busybox:latest']);
    assert.deepEqual(r.env, ['FOO=bar']);
    assert.deepEqual(r.labels, { dpy: 'yes' });
    assert.equal(r.workdir, '/tmp');
    assert.equal(r.running, true);
    assert.deepEqual(r.mounts, [['volume', 'dpy-vol', '/data', true]]);
    assert.deepEqual(r.ports, ['8080/tcp']);
    assert.equal(r.host_port, true);
    assert.deepEqual(r.ports_stopped, {});
    assert.match(r.logs, /started\n/);
    assert.match(r.logs, /warn\n/);
    assert.equal(r.stdout_logs, 'started\n');
    assert.deepEqual(r.listed, ['dpy-det']);
    // Every exec's output arrives whole, however fast the process writes it after the upgrade.
    assert.deepEqual(r.execs, Array.from({ length: 30 }, (_, i) => [i % 3, `out-${i}\n`, `err-${i}\n`]));
    assert.deepEqual(r.plain, [0, 'x-value in /etc as 65534\n']);
    assert.equal(r.missing[0], 127);
    assert.match(r.missing[1], /no-such-command/);
    assert.deepEqual(r.streamed.join(''), 'a\nb\n');
    assert.equal(r.status, 'exited');
    assert.deepEqual(r.waited, { StatusCode: 0, Error: null });
    assert.deepEqual(r.left, []);
  });

  test('attach_socket carries stdin to a container started after the attach, and its output back', async (t) => {
    sweeping(t);
    const r = await py(`
c = client.containers.create('busybox', 'cat', stdin_open=True, name='dpy-att')
try:
    s = c.attach_socket(params={'stdin': 1, 'stdout': 1, 'stream': 1})
    c.start()
    s._sock.sendall(b'ping\\n')
    s._sock.shutdown(1)
    got = b''
    while True:
        chunk = s._sock.recv(4096)
        if not chunk: break
        got += chunk
    out({'frames': got.hex(), 'wait': c.wait(timeout=30)})
finally:
    c.remove(force=True)
`);
    assert.equal(r.frames, Buffer.concat([Buffer.from([1, 0, 0, 0, 0, 0, 0, 5]), Buffer.from('ping\n')]).toString('hex'));
    assert.deepEqual(r.wait, { StatusCode: 0, Error: null });
  });

  test('attaching right after start to a container that already ended waits like a stopped container\'s attach, until removal', async (t) => {
    sweeping(t);
    // docker-compose run without the docker CLI (dockerpty) attaches only after start: a short-lived
    // container may be gone before berthd handled its exit, which must not be a 500.
    const r = await py(`
results = []
for i in range(10):
    c = client.containers.run('busybox', ['sh', '-c', 'exit 3'], detach=True, name='dpy-quick-%d' % i)
    try:
        s = c.attach_socket(params={'stdout': 1, 'stderr': 1, 'stream': 1})
        status = c.wait(timeout=30)['StatusCode']
        c.remove(force=True)
        s._sock.settimeout(30)
        results.append([status, s._sock.recv(100).hex()])
    except docker.errors.APIError as e:
        results.append([None, str(e)])
    finally:
        try: c.remove(force=True)
        except docker.errors.NotFound: pass
out(results)
`);
    assert.deepEqual(r, Array.from({ length: 10 }, () => [3, '']));
  });

  test('attach with logs=True: what the container wrote before, alone (stream=False) or followed by the live output', async (t) => {
    sweeping(t);
    const r = await py(`
c = client.containers.run('busybox', ['sh', '-c', 'echo before; echo err-before >&2; sleep 2; echo after'], detach=True, name='dpy-logs-attach')
try:
    time.sleep(1)
    past = c.attach(stdout=True, stderr=True, logs=True, stream=False)
    only_out = c.attach(stdout=True, stderr=False, logs=True, stream=False)
    both = b''.join(c.attach(stdout=True, stderr=True, logs=True, stream=True))
    c.wait(timeout=30)
    ended = c.attach(stdout=True, stderr=True, logs=True, stream=False)
    out({'past': past.decode(), 'only_out': only_out.decode(), 'both': both.decode(), 'ended': ended.decode()})
finally:
    c.remove(force=True)
`);
    assert.equal(r.past, 'before\nerr-before\n');
    assert.equal(r.only_out, 'before\n');
    assert.equal(r.both, 'before\nerr-before\nafter\n');
    assert.equal(r.ended, 'before\nerr-before\nafter\n');
    // The same through a plain (not hijacked) request: stdout and stderr frames.
    const id = (await d.request('POST', '/containers/create?name=dpy-logs-plain', { Image: 'busybox', Cmd: ['sh', '-c', 'echo one; echo two >&2'] })).json().Id as string;
    await d.request('POST', `/containers/${id}/start`);
    await d.request('POST', `/containers/${id}/wait`, undefined, { timeoutMs: 30_000 });
    const plain = await d.request('POST', `/containers/${id}/attach?logs=1&stdout=1&stderr=1`);
    assert.equal(plain.status, 200);
    assert.deepEqual([...plain.body], [...Buffer.concat([
      Buffer.from([1, 0, 0, 0, 0, 0, 0, 4]), Buffer.from('one\n'), Buffer.from([2, 0, 0, 0, 0, 0, 0, 4]), Buffer.from('two\n'),
    ])]);
  });

  test('volumes create, list with filters, get and remove; prune spares named volumes from API 1.42 on', async (t) => {
    sweeping(t);
    const r = await py(`
try:
    v = client.volumes.create('dpy-v1', labels={'dpy': 'one'})
    client.volumes.create('dpy-v2')
    result = {
        'name': v.name, 'driver': v.attrs['Driver'], 'labels': v.attrs['Labels'], 'mountpoint': bool(v.attrs['Mountpoint']),
        'listed': sorted(x.name for x in client.volumes.list()), 'by_label': [x.name for x in client.volumes.list(filters={'label': 'dpy=one'})],
        'got': client.volumes.get('dpy-v1').name,
    }
    client.volumes.get('dpy-v1').remove()
    result['after_remove'] = sorted(x.name for x in client.volumes.list())
    result['prune_150'] = client.volumes.prune()['VolumesDeleted']
    old = docker.from_env(version='1.41', timeout=120)
    result['prune_141'] = old.volumes.prune()['VolumesDeleted']
    result['left'] = [x.name for x in client.volumes.list()]
    out(result)
finally:
    for name in ('dpy-v1', 'dpy-v2'):
        try: client.volumes.get(name).remove(force=True)
        except docker.errors.NotFound: pass
`);
    assert.equal(r.name, 'dpy-v1');
    assert.equal(r.driver, 'local');
    assert.deepEqual(r.labels, { dpy: 'one' });
    assert.equal(r.mountpoint, true);
    assert.deepEqual(r.listed, ['dpy-v1', 'dpy-v2']);
    assert.deepEqual(r.by_label, ['dpy-v1']);
    assert.equal(r.got, 'dpy-v1');
    assert.deepEqual(r.after_remove, ['dpy-v2']);
    assert.ok(!(r.prune_150 ?? []).includes('dpy-v2'), 'API 1.50 prune must spare a named volume');
    assert.deepEqual(r.prune_141, ['dpy-v2']);
    assert.deepEqual(r.left, []);
  });

  test('networks create, connect with an alias that resolves, disconnect and remove', async (t) => {
    sweeping(t);
    const r = await py(`
n = client.networks.create('dpy-net', driver='bridge', labels={'dpy': 'net'})
server = client.containers.run('busybox', ['sleep', '300'], detach=True, name='dpy-server')
peer = None
try:
    n.connect(server, aliases=['dpy-alias'])
    peer = client.containers.run('busybox', ['sleep', '300'], detach=True, name='dpy-peer', network='dpy-net')
    n.reload()
    server.reload()
    resolved = peer.exec_run(['ping', '-c', '1', '-W', '2', 'dpy-alias'])
    by_name = peer.exec_run(['ping', '-c', '1', '-W', '2', 'dpy-server'])
    result = {
        'id': n.id, 'name': n.name, 'labels': n.attrs['Labels'], 'driver': n.attrs['Driver'],
        'members': sorted(c.name for c in n.containers), 'listed': [x.name for x in client.networks.list(names=['dpy-net'])],
        'by_label': [x.name for x in client.networks.list(filters={'label': 'dpy=net'})],
        'server_nets': sorted(server.attrs['NetworkSettings']['Networks'].keys()),
        'aliases': server.attrs['NetworkSettings']['Networks']['dpy-net']['Aliases'],
        'resolved': resolved.exit_code, 'by_name': by_name.exit_code, 'ping_out': resolved.output.decode(),
    }
    n.disconnect(server)
    server.reload()
    result['after_disconnect'] = sorted(server.attrs['NetworkSettings']['Networks'].keys())
    peer.remove(force=True)
    peer = None
    n.remove()
    result['left'] = [x.name for x in client.networks.list()]
    out(result)
finally:
    server.remove(force=True)
    if peer: peer.remove(force=True)
    try: client.networks.get('dpy-net').remove()
    except docker.errors.NotFound: pass
`);
    assert.match(r.id, /^[0-9a-f]{64}$/);
    assert.equal(r.name, 'dpy-net');
    assert.deepEqual(r.labels, { dpy: 'net' });
    assert.equal(r.driver, 'bridge');
    assert.deepEqual(r.members, ['dpy-peer', 'dpy-server']);
    assert.deepEqual(r.listed, ['dpy-net']);
    assert.deepEqual(r.by_label, ['dpy-net']);
    assert.deepEqual(r.server_nets, ['bridge', 'dpy-net']);
    assert.ok(r.aliases.includes('dpy-alias'), JSON.stringify(r.aliases));
    assert.equal(r.resolved, 0, r.ping_out);
    assert.equal(r.by_name, 0);
    assert.deepEqual(r.after_disconnect, ['bridge']);
    assert.deepEqual(r.left.sort(), ['bridge', 'host', 'none']);
  });

  test('api.build streams a classic build from a context tar on busybox; images.build returns the image', async (t) => {
    sweeping(t);
    const r = await py(`
try:
    ctx = tar_of({'Dockerfile': b'FROM busybox\\nCOPY hello.txt /hello.txt\\nRUN echo built-by-run > /run.txt\\nCMD cat /hello.txt /run.txt\\n',
                  'hello.txt': b'hello from the context\\n'})
    messages = list(client.api.build(fileobj=ctx, custom_context=True, tag='dpy-built:1', rm=True, decode=True))
    ran = client.containers.run('dpy-built:1', remove=True).decode()
    image, logs = client.images.build(fileobj=io.BytesIO(b'FROM dpy-built:1\\nENV DPY=2\\n'), tag='dpy-built:2', rm=True)
    try:
        client.images.build(fileobj=io.BytesIO(b'FROM busybox\\nRUN exit 7\\n'), tag='dpy-built:fail', rm=True)
        failure = None
    except docker.errors.BuildError as e:
        failure = e.msg
    out({'streams': ''.join(m.get('stream', '') for m in messages), 'errors': [m for m in messages if 'error' in m],
         'ids': [m['aux']['ID'] for m in messages if 'ID' in m.get('aux', {})], 'ran': ran,
         'image_tags': image.tags, 'image_env': [e for e in image.attrs['Config']['Env'] if e.startswith('DPY=')],
         'failure': failure, 'left': [c.name for c in client.containers.list(all=True)]})
finally:
    for tag in ('dpy-built:2', 'dpy-built:1'):
        try: client.images.remove(tag)
        except docker.errors.ImageNotFound: pass
`);
    assert.deepEqual(r.errors, []);
    assert.match(r.streams, /Step 1\/4 : FROM busybox/);
    assert.match(r.streams, /Successfully built [0-9a-f]{12}\n/);
    assert.match(r.streams, /Successfully tagged dpy-built:1\n/);
    assert.equal(r.ids.length, 1);
    assert.match(r.ids[0], /^sha256:[0-9a-f]{64}$/);
    assert.equal(r.ran, 'hello from the context\nbuilt-by-run\n');
    assert.deepEqual(r.image_tags, ['dpy-built:2']);
    assert.deepEqual(r.image_env, ['DPY=2']);
    assert.match(r.failure, /returned a non-zero code: 7/);
    assert.deepEqual(r.left, []);
  });
});
