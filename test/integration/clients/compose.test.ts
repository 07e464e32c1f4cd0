/**
 * docker-compose 1.29 (Debian's, Python, on docker-py) drives berthd
 * unchanged: a version "3" project whose `web` service is built from a
 * Dockerfile on busybox and serves files with `busybox httpd`, and whose
 * `client` service depends on it and reaches it by its service name on the
 * project network (and by the alias of its `links:` entry); a named volume, an environment variable and a published
 * port. The tests walk it through `up -d --build`, `ps`, `port`, `logs`,
 * `exec`, `run --rm`, `restart`, `build` and `down -v`, after which nothing
 * of the project may be left, on berthd or on the host.
 *
 * Compose hands `build`, `run` and `exec` to the docker CLI when it finds
 * one (COMPOSE_DOCKER_CLI_BUILD, COMPOSE_INTERACTIVE_NO_CLI); the tests use
 * both ways, so docker-py's own build and attach requests are covered too.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  isClean, formatLeftovers, runCommand, skipUnlessRoot, skipWithoutDocker, startDaemon, type Daemon, type RunResult,
} from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';

const COMPOSE = '/usr/bin/docker-compose';
const PROJECT = 'bcompose';
const NETWORK = `${PROJECT}_default`;
const VOLUME = `${PROJECT}_data`;
const WEB_IMAGE = `${PROJECT}-web:latest`;

function skipWithoutCompose(): string | false {
  return existsSync(COMPOSE) ? false : 'docker-compose is not installed: apt-get install -y --no-install-recommends docker-compose';
}

const COMPOSE_FILE = `version: "3"
services:
  web:
    build: ./web
    image: ${WEB_IMAGE}
    environment:
      GREETING: hello-from-env
    ports:
      - "8080"
    volumes:
      - data:/data
    stop_grace_period: 1s
  client:
    image: busybox
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]
    depends_on:
      - web
    links:
      - "web:frontend"
volumes:
  data:
`;

const WEB_DOCKERFILE = `FROM busybox
COPY index.html /www/index.html
CMD ["sh", "-c", "echo \\"$GREETING\\" > /www/env.txt; date > /data/started; echo web starting; exec busybox httpd -f -p 8080 -h /www"]
`;

/** A second project for the attached `up`: one service ends, the other is stopped. */
const ONCE_FILE = `version: "3"
services:
  one:
    image: busybox
    command: ["sh", "-c", "echo one-says-hi; sleep 1; echo one-bye; exit 4"]
  two:
    image: busybox
    command: ["sh", "-c", "trap 'exit 0' TERM; echo two-up; while true; do sleep 0.2; done"]
`;

describe('docker-compose against berthd', { skip: skipUnlessRoot() || skipWithoutCompose() || skipWithoutDocker() }, () => {
  let d!: Daemon;
  let dir!: string;

  before(async () => {
    dir = await mkdtemp('/tmp/berth-compose-');
    await mkdir(join(dir, 'web'));
    await writeFile(join(dir, 'docker-compose.yml'), COMPOSE_FILE);
    await writeFile(join(dir, 'once.yml'), ONCE_FILE);
    await writeFile(join(dir, 'web', 'Dockerfile'), WEB_DOCKERFILE);
    await writeFile(join(dir, 'web', 'index.html'), '<h1>served by berth</h1>\n');
    d = await startDaemon();
    await importBusybox(d);
  }, { timeout: 120_000 });

  after(async () => {
    if (d && dir) {
      // Whatever a failed test left: both projects down, then the built image.
      await compose(['down', '-v', '-t', '1']).catch(() => undefined);
      await compose(['-f', 'once.yml', '-p', `${PROJECT}-once`, 'down', '-v', '-t', '1'], {}, true).catch(() => undefined);
      await d.request('DELETE', `/images/${encodeURIComponent(WEB_IMAGE)}?force=1`).catch(() => undefined);
    }
    await d?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** `docker-compose -p bcompose args…` in the project directory (`raw`: no -p). */
  function compose(args: string[], env: Record<string, string | undefined> = {}, raw = false): Promise<RunResult> {
    const docker = d.dockerCommand([]);
    return runCommand(COMPOSE, raw ? args : ['-p', PROJECT, ...args], {
      cwd: dir, timeoutMs: 180_000,
      env: { ...docker.env, COMPOSE_PROJECT_NAME: undefined, COMPOSE_FILE: undefined, COMPOSE_API_VERSION: undefined, ...env },
    });
  }

  async function ok(args: string[], env: Record<string, string | undefined> = {}): Promise<string> {
    const r = await compose(args, env);
    assert.equal(r.code, 0, `docker-compose ${args.join(' ')} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}\nberthd:\n${d.logs().split('\n').slice(-20).join('\n')}`);
    return r.stdout;
  }

  const projectFilter = (...labels: string[]) => encodeURIComponent(JSON.stringify({ label: [`com.docker.compose.project=${PROJECT}`, ...labels] }));

  async function projectContainers(...labels: string[]): Promise<Array<{ Names: string[]; State: string; Labels: Record<string, string> }>> {
    const r = await d.request('GET', `/containers/json?all=1&filters=${projectFilter(...labels)}`);
    assert.equal(r.status, 200, r.text);
    return r.json();
  }

  async function webPort(): Promise<number> {
    const out = (await ok(['port', 'web', '8080'])).trim();
    const m = /^0\.0\.0\.0:(\d+)$/.exec(out);
    assert.ok(m, `docker-compose port web 8080 printed ${JSON.stringify(out)}`);
    return Number(m[1]);
  }

  async function curl(port: number, path: string): Promise<string> {
    const r = await runCommand('curl', ['-sSf', '--max-time', '10', `http://127.0.0.1:${port}${path}`]);
    assert.equal(r.code, 0, `curl ${path}: ${r.stderr}`);
    return r.stdout;
  }

  test('up -d --build builds web, creates the network and the volume, and starts web before client', async () => {
    const r = await compose(['up', '-d', '--build']);
    assert.equal(r.code, 0, `up: ${r.stdout}\n${r.stderr}`);
    const log = r.stdout + r.stderr;
    assert.match(log, new RegExp(`Creating network "${NETWORK}" with the default driver`));
    assert.match(log, new RegExp(`Creating volume "${VOLUME}" with default driver`));
    assert.match(log, new RegExp(`Successfully tagged ${WEB_IMAGE}`));
    assert.ok(log.indexOf(`Creating ${PROJECT}_web_1`) < log.indexOf(`Creating ${PROJECT}_client_1`), `depends_on: web first\n${log}`);

    const list = await projectContainers('com.docker.compose.oneoff=False');
    assert.deepEqual(list.map((c) => [c.Names[0], c.State, c.Labels['com.docker.compose.service']]).sort(),
      [[`/${PROJECT}_client_1`, 'running', 'client'], [`/${PROJECT}_web_1`, 'running', 'web']]);
    const net = await d.request('GET', `/networks/${NETWORK}`);
    assert.equal(net.status, 200, net.text);
    assert.equal(net.json().Labels['com.docker.compose.project'], PROJECT);
    assert.equal(net.json().Labels['com.docker.compose.network'], 'default');
    const vol = await d.request('GET', `/volumes/${VOLUME}`);
    assert.equal(vol.status, 200, vol.text);
    assert.equal(vol.json().Labels['com.docker.compose.volume'], 'data');
    // The service name is a network alias: that is how `client` finds `web`.
    const client = (await d.request('GET', `/containers/${PROJECT}_client_1/json`)).json();
    assert.ok(client.NetworkSettings.Networks[NETWORK].Aliases.includes('client'), JSON.stringify(client.NetworkSettings.Networks));
  });

  test('ps lists both services up, with web\'s published port', async () => {
    const out = await ok(['ps']);
    assert.match(out, new RegExp(`^${PROJECT}_client_1\\s.*\\sUp\\s*$`, 'm'));
    assert.match(out, new RegExp(`^${PROJECT}_web_1\\s.*\\sUp\\s+0\\.0\\.0\\.0:\\d+->8080/tcp\\s*$`, 'm'));
    assert.deepEqual((await ok(['ps', '--services'])).trim().split('\n').sort(), ['client', 'web']);
  });

  test('the published port is reachable from the host, and web got its environment variable', async () => {
    const port = await webPort();
    assert.equal(await curl(port, '/'), '<h1>served by berth</h1>\n');
    assert.equal(await curl(port, '/env.txt'), 'hello-from-env\n');
  });

  test('client reaches web by its service name on the project network, and by its link alias (exec)', async () => {
    assert.equal(await ok(['exec', '-T', 'client', 'wget', '-qO-', 'http://web:8080/']), '<h1>served by berth</h1>\n');
    assert.equal(await ok(['exec', '-T', 'client', 'wget', '-qO-', 'http://frontend:8080/']), '<h1>served by berth</h1>\n');
    assert.equal(await ok(['exec', '-T', 'web', 'sh', '-c', 'echo "$GREETING"']), 'hello-from-env\n');
  });

  test('the named volume holds what web wrote into it', async () => {
    const inContainer = await ok(['exec', '-T', 'web', 'cat', '/data/started']);
    assert.ok(inContainer.trim().length > 0);
    const vol = (await d.request('GET', `/volumes/${VOLUME}`)).json();
    const r = await runCommand('cat', [join(vol.Mountpoint, 'started')]);
    assert.equal(r.stdout, inContainer);
  });

  test('logs shows what web printed', async () => {
    const out = await ok(['logs', '--no-color', 'web']);
    assert.match(out, /web_1\s+\| web starting/);
  });

  test('run --rm prints the one-off container\'s output, passes its exit code through and leaves nothing', async () => {
    const r = await compose(['run', '--rm', '-T', 'client', 'sh', '-c', 'wget -qO- http://web:8080/env.txt; echo to-stderr >&2; exit 3']);
    assert.equal(r.code, 3, `run: ${r.stdout}\n${r.stderr}`);
    assert.equal(r.stdout, 'hello-from-env\n');
    assert.match(r.stderr, /to-stderr/);
    // Without the docker CLI: docker-py attaches to the started container (compose's dockerpty).
    const viaPy = await compose(['run', '--rm', '-T', 'client', 'sh', '-c', 'sleep 1; wget -qO- http://web:8080/; exit 5'], { COMPOSE_INTERACTIVE_NO_CLI: '1' });
    assert.equal(viaPy.code, 5, `run (docker-py): ${viaPy.stdout}\n${viaPy.stderr}`);
    assert.equal(viaPy.stdout, '<h1>served by berth</h1>\n');
    assert.deepEqual(await projectContainers('com.docker.compose.oneoff=True'), []);
  });

  test('restart restarts both services and web serves again', async () => {
    const started = async () => Promise.all(['web', 'client'].map(async (s) => (await d.request('GET', `/containers/${PROJECT}_${s}_1/json`)).json().State.StartedAt as string));
    const before = await started();
    await ok(['restart', '-t', '1']);
    const after = await started();
    assert.notEqual(after[0], before[0]);
    assert.notEqual(after[1], before[1]);
    const port = await webPort();
    assert.equal(await curl(port, '/'), '<h1>served by berth</h1>\n');
    assert.equal(await ok(['exec', '-T', 'client', 'wget', '-qO-', 'http://web:8080/env.txt']), 'hello-from-env\n');
  });

  test('up -d again leaves the services alone; --force-recreate replaces web and keeps its named volume', async () => {
    const again = await compose(['up', '-d']);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, new RegExp(`${PROJECT}_web_1 is up-to-date`));
    assert.match(again.stderr, new RegExp(`${PROJECT}_client_1 is up-to-date`));
    await ok(['exec', '-T', 'web', 'sh', '-c', 'echo kept > /data/marker']);
    const oldId = (await d.request('GET', `/containers/${PROJECT}_web_1/json`)).json().Id;
    // Recreating reads the image's ContainerConfig (docker-compose 1.29 fails without it).
    const r = await compose(['up', '-d', '--force-recreate', '--no-deps', '-t', '1', 'web']);
    assert.equal(r.code, 0, `up --force-recreate: ${r.stdout}\n${r.stderr}`);
    assert.match(r.stderr, new RegExp(`Recreating ${PROJECT}_web_1`));
    const now = (await d.request('GET', `/containers/${PROJECT}_web_1/json`)).json();
    assert.notEqual(now.Id, oldId);
    assert.equal(now.State.Running, true);
    assert.equal(await ok(['exec', '-T', 'web', 'cat', '/data/marker']), 'kept\n');
    assert.equal(await ok(['exec', '-T', 'client', 'wget', '-qO-', 'http://web:8080/']), '<h1>served by berth</h1>\n');
    assert.deepEqual((await projectContainers()).map((c) => c.Names[0]).sort(), [`/${PROJECT}_client_1`, `/${PROJECT}_web_1`]);
  });

  test('build through docker-py (COMPOSE_DOCKER_CLI_BUILD=0) uses the cache and gives the same image', async () => {
    const idBefore = (await d.request('GET', `/images/${encodeURIComponent(WEB_IMAGE)}/json`)).json().Id;
    const out = await ok(['build', 'web'], { COMPOSE_DOCKER_CLI_BUILD: '0' });
    assert.match(out, /Using cache/);
    assert.match(out, new RegExp(`Successfully tagged ${WEB_IMAGE}`));
    assert.equal((await d.request('GET', `/images/${encodeURIComponent(WEB_IMAGE)}/json`)).json().Id, idBefore);
  });

  test('attached up --exit-code-from streams both services\' logs and returns the exit code', async () => {
    const once = ['-f', 'once.yml', '-p', `${PROJECT}-once`];
    try {
      const r = await compose([...once, 'up', '--no-color', '--exit-code-from', 'one', '-t', '1'], {}, true);
      assert.equal(r.code, 4, `up: ${r.stdout}\n${r.stderr}`);
      assert.match(r.stdout, /one_1\s+\| one-says-hi/);
      assert.match(r.stdout, /one_1\s+\| one-bye/);
      assert.match(r.stdout, /two_1\s+\| two-up/);
    } finally {
      const down = await compose([...once, 'down', '-v', '-t', '1'], {}, true);
      assert.equal(down.code, 0, down.stderr);
    }
  });

  test('down -v removes the containers, the project network and the volume, and leaves nothing on the host', async () => {
    const r = await compose(['down', '-v', '-t', '1']);
    assert.equal(r.code, 0, `down: ${r.stdout}\n${r.stderr}`);
    assert.match(r.stderr, new RegExp(`Removing network ${NETWORK}`));
    assert.match(r.stderr, new RegExp(`Removing volume ${VOLUME}`));
    assert.deepEqual(await projectContainers(), []);
    assert.deepEqual((await d.request('GET', '/containers/json?all=1')).json(), []);
    assert.equal((await d.request('GET', `/networks/${NETWORK}`)).status, 404);
    assert.deepEqual((await d.request('GET', '/networks')).json().map((n: { Name: string }) => n.Name).sort(), ['bridge', 'host', 'none']);
    assert.equal((await d.request('GET', `/volumes/${VOLUME}`)).status, 404);
    assert.deepEqual((await d.request('GET', '/volumes')).json().Volumes, []);
    const left = await d.leftovers();
    assert.ok(isClean(left), `left on the host after down -v:\n${formatLeftovers(left)}`);
  });
});
