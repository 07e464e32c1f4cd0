/**
 * Smoke test of the CLI surface (issue 2): a busybox image made with
 * `berth import`, then containers run in the foreground, with stdin, on a
 * terminal and in the background — first with berth's own CLI, then with
 * the real docker CLI pointed at berthd through DOCKER_HOST.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startDaemon, skipUnlessRoot, skipWithoutDocker, type Daemon, type RunResult } from '../helpers/daemon.js';
import { busyboxTar, importBusybox } from '../helpers/busybox.js';
import { spawnPty } from '../helpers/pty.js';

let d!: Daemon;
let scratch!: string;

/** Asserts a zero exit and returns stdout; the message carries stderr. */
function ok(r: RunResult, what: string): string {
  assert.equal(r.code, 0, `${what} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r.stdout;
}

before(async () => {
  scratch = await mkdtemp('/tmp/berth-smoke-');
  d = await startDaemon();
}, { timeout: 60_000 });

after(async () => {
  if (scratch) await rm(scratch, { recursive: true, force: true });
  await d?.stop();
});

describe('berth CLI', { skip: skipUnlessRoot() }, () => {
  test('berth import reads a root filesystem tar from stdin and tags the image', async () => {
    const r = await d.berth(['import', '--change', 'CMD ["sh"]', '-', 'busybox'], { inputFile: await busyboxTar(), timeoutMs: 120_000 });
    assert.match(ok(r, 'berth import'), /^sha256:[0-9a-f]{64}\s*$/);
    const inspect = await d.request('GET', '/images/busybox/json');
    assert.equal(inspect.status, 200, inspect.text);
    assert.deepEqual(inspect.json().Config.Cmd, ['sh']);
  });

  test('berth run passes the container\'s exit code through', async () => {
    const r = await d.berth(['run', '--rm', 'busybox', 'sh', '-c', 'exit 3']);
    assert.equal(r.code, 3, r.stderr);
  });

  test('berth run prints the container\'s output and --rm removes the container', async () => {
    const r = await d.berth(['run', '--rm', 'busybox', 'echo', 'Hello from berth']);
    assert.equal(ok(r, 'berth run'), 'Hello from berth\n');
    const list = (await d.request('GET', '/containers/json?all=1')).json<unknown[]>();
    assert.deepEqual(list, []);
  });

  test('berth run -i connects stdin to the container', async () => {
    const r = await d.berth(['run', '--rm', '-i', 'busybox', 'cat'], { input: 'hi\n' });
    assert.equal(ok(r, 'berth run -i'), 'hi\n');
  });

  test('berth run -it gives an interactive shell on a terminal', async (t) => {
    const c = d.berthCommand(['run', '-it', '--rm', 'busybox', 'sh']);
    const p = spawnPty(c.argv, { env: c.env });
    t.after(() => p.kill());
    await p.expect('# ', 30_000);
    p.write('echo $((6*7))\r');
    await p.expect(/^42$/m);
    p.write('exit\r');
    assert.equal((await p.exit()).code, 0, p.text());
  });
});

describe('docker CLI against berthd', { skip: skipUnlessRoot() || skipWithoutDocker() }, () => {
  before(async () => {
    // Independent of the berth CLI tests above: import through the API if they did not.
    if ((await d.request('GET', '/images/busybox/json')).status !== 200) await importBusybox(d);
  });

  test('docker run prints the container\'s output and exits with its code', async () => {
    assert.equal(ok(await d.docker(['run', '--rm', 'busybox', 'echo', 'hello']), 'docker run'), 'hello\n');
    const r = await d.docker(['run', '--rm', 'busybox', 'sh', '-c', 'echo to-stderr >&2; exit 3']);
    assert.equal(r.code, 3, r.stderr);
    assert.equal(r.stderr, 'to-stderr\n');
  });

  test('docker run -i passes stdin through', async () => {
    assert.equal(ok(await d.docker(['run', '--rm', '-i', 'busybox', 'cat'], { input: 'hi\n' }), 'docker run -i'), 'hi\n');
  });

  test('docker run -it gives an interactive shell on a terminal', async (t) => {
    const c = d.dockerCommand(['run', '-it', '--rm', 'busybox', 'sh']);
    const p = spawnPty(c.argv, { env: c.env });
    t.after(() => p.kill());
    await p.expect('# ', 30_000);
    p.write('echo $((6*7))\r');
    await p.expect(/^42$/m);
    p.write('exit\r');
    assert.equal((await p.exit()).code, 0, p.text());
  });

  test('docker run -d starts a background container that docker ps lists by name', async () => {
    const id = ok(await d.docker(['run', '-d', '--name', 'smoke-bg', 'busybox', 'sh', '-c', 'echo started; while true; do sleep 1; done']), 'docker run -d').trim();
    assert.match(id, /^[0-9a-f]{64}$/);
    const names = ok(await d.docker(['ps', '--format', '{{.Names}} {{.Image}}']), 'docker ps');
    assert.match(names, /^smoke-bg busybox$/m);
  });

  test('docker exec runs commands in a running container with their exit code and stdin', async () => {
    assert.equal(ok(await d.docker(['exec', 'smoke-bg', 'sh', '-c', 'echo $((6*7))']), 'docker exec'), '42\n');
    const r = await d.docker(['exec', 'smoke-bg', 'sh', '-c', 'exit 5']);
    assert.equal(r.code, 5, r.stderr);
    assert.equal(ok(await d.docker(['exec', '-i', 'smoke-bg', 'cat'], { input: 'via exec\n' }), 'docker exec -i'), 'via exec\n');
  });

  test('docker cp copies files into and out of a container', async () => {
    const src = join(scratch, 'to-container.txt');
    await writeFile(src, 'copied in\n');
    ok(await d.docker(['cp', src, 'smoke-bg:/tmp/copied.txt']), 'docker cp into');
    assert.equal(ok(await d.docker(['exec', 'smoke-bg', 'cat', '/tmp/copied.txt']), 'docker exec cat'), 'copied in\n');
    const dst = join(scratch, 'passwd');
    ok(await d.docker(['cp', 'smoke-bg:/etc/passwd', dst]), 'docker cp out of');
    assert.match(await readFile(dst, 'utf8'), /^app:x:1000:1000:/m);
  });

  test('docker logs shows what the container printed', async () => {
    assert.equal(ok(await d.docker(['logs', 'smoke-bg']), 'docker logs'), 'started\n');
  });

  test('docker stop kills a container that ignores SIGTERM once the timeout passes', async () => {
    const t0 = Date.now();
    assert.equal(ok(await d.docker(['stop', '-t', '1', 'smoke-bg']), 'docker stop').trim(), 'smoke-bg');
    assert.ok(Date.now() - t0 < 15_000, 'stop returned within 15 s');
    const state = ok(await d.docker(['inspect', '-f', '{{.State.Status}} {{.State.Running}} {{.State.ExitCode}} {{.Config.Image}}', 'smoke-bg']), 'docker inspect');
    // sh as pid 1 has no SIGTERM handler, so the kernel ignores SIGTERM and SIGKILL ends it.
    assert.equal(state.trim(), 'exited false 137 busybox');
  });

  test('docker ps -a lists the stopped container and docker rm removes it', async () => {
    assert.match(ok(await d.docker(['ps', '-a', '--format', '{{.Names}} {{.Status}}']), 'docker ps -a'), /^smoke-bg Exited \(137\)/m);
    assert.equal(ok(await d.docker(['rm', 'smoke-bg']), 'docker rm').trim(), 'smoke-bg');
    const r = await d.docker(['inspect', 'smoke-bg']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /No such object: smoke-bg/);
  });

  test('docker logs -f follows a container\'s output until it exits', async () => {
    const id = ok(await d.docker(['run', '-d', 'busybox', 'sh', '-c', 'for i in 1 2 3; do echo line$i; sleep 0.3; done']), 'docker run -d').trim();
    const r = await d.docker(['logs', '-f', id], { timeoutMs: 30_000 });
    assert.equal(ok(r, 'docker logs -f'), 'line1\nline2\nline3\n');
    ok(await d.docker(['rm', id]), 'docker rm');
  });

  test('docker volume create, ls, inspect and rm manage a named volume whose data outlives containers', async () => {
    assert.equal(ok(await d.docker(['volume', 'create', 'smokevol']), 'docker volume create').trim(), 'smokevol');
    assert.match(ok(await d.docker(['volume', 'ls', '--format', '{{.Driver}} {{.Name}}']), 'docker volume ls'), /^local smokevol$/m);
    const mountpoint = ok(await d.docker(['volume', 'inspect', '-f', '{{.Mountpoint}}', 'smokevol']), 'docker volume inspect').trim();
    assert.ok(mountpoint.startsWith(d.dataRoot + '/'), `${mountpoint} is under the data root ${d.dataRoot}`);
    ok(await d.docker(['run', '--rm', '-v', 'smokevol:/data', 'busybox', 'sh', '-c', 'echo persisted > /data/f']), 'docker run -v (write)');
    assert.equal(ok(await d.docker(['run', '--rm', '-v', 'smokevol:/data', 'busybox', 'cat', '/data/f']), 'docker run -v (read)'), 'persisted\n');
    assert.equal(ok(await d.docker(['volume', 'rm', 'smokevol']), 'docker volume rm').trim(), 'smokevol');
    assert.doesNotMatch(ok(await d.docker(['volume', 'ls', '-q']), 'docker volume ls -q'), /^smokevol$/m);
  });

  test('nothing is left running or mounted once the containers are gone', async () => {
    assert.deepEqual((await d.request('GET', '/containers/json?all=1')).json(), []);
    const left = await d.leftovers();
    assert.deepEqual(left.mounts, [], left.mounts.join('\n'));
    assert.deepEqual(left.processes.map((p) => `${p.pid} ${p.cmdline}`), []);
    assert.deepEqual(left.cgroups, []);
  });
});
