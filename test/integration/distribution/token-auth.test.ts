/**
 * Issue 3, acceptance 4: a token-auth registry — Debian's docker-registry
 * with `auth.token` behind a small token server (test/helpers/token-server.ts)
 * — works through berthd with `login`, push and pull, from the berth CLI and
 * from the real docker CLI (which sends the credentials in X-Registry-Auth);
 * wrong credentials give `unauthorized` and nothing else: no config entry,
 * no image, no layer, no blob, no temp file.
 *
 * Each client gets a fresh DOCKER_CONFIG, and berthd one of its own with no
 * credentials in it, so nothing but what the test logged in with reaches the
 * registry. The token server gives anonymous requests no access at all, as a
 * private repository on Docker Hub does.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { startDaemon, skipUnlessRoot, skipWithoutDocker, type Daemon, type RunResult } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';
import { startTokenAuthRegistry, type TokenAuthRegistry } from '../../helpers/token-server.js';

const USER = 'tester';
const PASSWORD = 'secret';

function skipWithoutTools(): string | false {
  return existsSync('/usr/bin/docker-registry') && existsSync('/usr/bin/openssl') ? false : 'needs docker-registry and openssl';
}

interface DataRootState { images: string[]; layers: string[]; blobs: string[]; tmp: string[] }

describe('a token-auth registry through berthd', { skip: skipUnlessRoot() || skipWithoutTools() }, () => {
  let d!: Daemon;
  let dir = '';
  let reg: TokenAuthRegistry | undefined;
  let host = '';
  let configs = 0;

  before(async () => {
    dir = await mkdtemp('/tmp/berth-test-tokenauth-');
    reg = await startTokenAuthRegistry(dir, { [USER]: PASSWORD });
    host = reg.host;
    const daemonConfig = join(dir, 'berthd-docker-config');
    await mkdir(daemonConfig);
    d = await startDaemon({ env: { DOCKER_CONFIG: daemonConfig } });
    await importBusybox(d);
  }, { timeout: 120_000 });

  after(async () => {
    await d?.stop();
    await reg?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** A new, empty client configuration directory. */
  async function freshConfig(): Promise<string> {
    const c = join(dir, `client-config-${++configs}`);
    await mkdir(c);
    return c;
  }

  const berth = (config: string, args: string[]) => d.berth(args, { env: { DOCKER_CONFIG: config }, timeoutMs: 120_000 });
  const docker = (config: string, args: string[]) => d.docker(args, { env: { DOCKER_CONFIG: config }, timeoutMs: 120_000 });

  function ok(r: RunResult, what: string): RunResult {
    assert.equal(r.code, 0, `${what}: exit ${r.code}\n--- stdout:\n${r.stdout}\n--- stderr:\n${r.stderr}`);
    return r;
  }

  async function configJson(config: string): Promise<{ auths?: Record<string, Record<string, string>> } | undefined> {
    try {
      return JSON.parse(await readFile(join(config, 'config.json'), 'utf8'));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  }

  async function state(): Promise<DataRootState> {
    const list = async (p: string) => (await readdir(join(d.dataRoot, p)).catch(() => [] as string[])).sort();
    const images = (await d.request('GET', '/images/json?all=1')).json<Array<{ Id: string }>>().map((i) => i.Id).sort();
    return { images, layers: await list('layers'), blobs: await list('blobs/sha256'), tmp: await list('tmp') };
  }

  /** Tags busybox as `ref` in berthd. */
  async function tagBusybox(repo: string): Promise<void> {
    const r = await d.request('POST', `/images/busybox/tag?repo=${host}/${repo}&tag=1`);
    assert.equal(r.status, 201, r.text);
  }

  /** login → config.json → push → rmi → pull → run → logout, with one CLI. */
  async function roundTrip(cli: typeof berth, repo: string): Promise<void> {
    const config = await freshConfig();
    const ref = `${host}/${repo}:1`;
    const login = ok(await cli(config, ['login', host, '-u', USER, '-p', PASSWORD]), 'login');
    assert.match(login.stdout, /Login Succeeded/);
    const saved = await configJson(config);
    const entry = saved?.auths?.[host];
    assert.ok(entry, `config.json has an auths entry for ${host}: ${JSON.stringify(saved)}`);
    // The token server handed out a refresh token at login: Docker keeps it instead of the password.
    assert.match(entry.identitytoken ?? '', /^refresh-/, JSON.stringify(entry));
    assert.ok(!JSON.stringify(saved).includes(PASSWORD), 'the password itself is not stored');
    assert.equal((await stat(join(config, 'config.json'))).mode & 0o777, 0o600);

    await tagBusybox(repo);
    const push = ok(await cli(config, ['push', ref]), 'push');
    assert.match(push.stdout, /1: digest: sha256:[0-9a-f]{64} size: \d+/);
    ok(await cli(config, ['rmi', ref]), 'rmi');
    const pull = ok(await cli(config, ['pull', ref]), 'pull');
    assert.match(pull.stdout, /Downloaded newer image|Image is up to date/);
    const run = ok(await cli(config, ['run', '--rm', ref, 'echo', 'pulled-with-a-token']), 'run');
    assert.equal(run.stdout.trim(), 'pulled-with-a-token');

    ok(await cli(config, ['logout', host]), 'logout');
    assert.equal((await configJson(config))?.auths?.[host], undefined, 'logout removed the credentials');
    // Logged out: the same pull is refused again.
    ok(await cli(config, ['rmi', ref]), 'rmi after logout');
    const again = await cli(config, ['pull', ref]);
    assert.equal(again.code, 1, `pull after logout: ${again.stdout}${again.stderr}`);
    assert.match(again.stderr, /^Error response from daemon: unauthorized: authentication required$/m, again.stderr);
  }

  test('berth login, push, rmi, pull, run and logout against the token-auth registry', async () => {
    await roundTrip(berth, 'tok/berth');
  });

  test('docker login, push, pull and logout through berthd (X-Registry-Auth)', { skip: skipWithoutDocker() }, async () => {
    await roundTrip(docker, 'tok/docker');
  });

  for (const [name, cli, skip] of [['berth', berth, false], ['docker', docker, skipWithoutDocker()]] as const) {
    test(`${name} login with a wrong password fails with unauthorized and writes nothing`, { skip }, async () => {
      const config = await freshConfig();
      const r = await cli(config, ['login', host, '-u', USER, '-p', 'wrong']);
      assert.equal(r.code, 1, `${r.stdout}${r.stderr}`);
      assert.match(r.stderr, /^Error response from daemon: unauthorized: incorrect username or password$/m);
      assert.equal(r.stdout, '');
      assert.equal(await configJson(config), undefined, 'no config.json written');
    });

    test(`${name} pull and push without login fail with unauthorized and leave no image, layer, blob or temp file`, { skip }, async () => {
      const config = await freshConfig();
      // Something to pull: pushed with credentials first.
      const ref = `${host}/tok/private-${name}:1`;
      await tagBusybox(`tok/private-${name}`);
      const berthConfig = await freshConfig();
      ok(await berth(berthConfig, ['login', host, '-u', USER, '-p', PASSWORD]), 'login');
      ok(await berth(berthConfig, ['push', ref]), 'push');
      ok(await berth(berthConfig, ['rmi', ref]), 'rmi');
      const before = await state();

      const pull = await cli(config, ['pull', ref]);
      assert.equal(pull.code, 1, `${pull.stdout}${pull.stderr}`);
      assert.match(pull.stderr, /^Error response from daemon: unauthorized: authentication required$/m, pull.stderr);
      assert.doesNotMatch(pull.stdout, /Pulling from|Download/, 'refused before anything was pulled');
      assert.deepEqual(await state(), before);

      const other = `${host}/tok/unpushed-${name}:1`;
      await tagBusybox(`tok/unpushed-${name}`);
      const push = await cli(config, ['push', other]);
      assert.equal(push.code, 1, `${push.stdout}${push.stderr}`);
      assert.match(push.stderr, /^unauthorized: authentication required$/m, push.stderr);
      ok(await berth(config, ['rmi', other]), 'rmi');
      assert.deepEqual(await state(), before);
      assert.equal(await configJson(config), undefined, 'no config.json written');
    });
  }
});
