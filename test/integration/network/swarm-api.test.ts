/**
 * berthd is a node outside any swarm: the swarm endpoints answer as a dockerd
 * that never joined one (503 with moby's `errNoSwarm` / `errNoManager`
 * wording, after the request's own 400s), `swarm init` and `join` fail with
 * a 501 that says berth has no swarm mode, and the docker CLI prints
 * Docker's own errors for `node ls`, `service ls` and `swarm leave`.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { dockerCliPath, skipUnlessRoot, startDaemon, type Daemon } from '../../helpers/daemon.js';

const NOT_IN_SWARM = 'This node is not part of a swarm';
const NOT_A_MANAGER = 'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.';

describe('swarm endpoints on a node outside a swarm', { skip: skipUnlessRoot() }, () => {
  let d!: Daemon;
  before(async () => { d = await startDaemon(); }, { timeout: 60_000 });
  after(async () => { await d?.stop(); });

  const expect = async (method: string, path: string, status: number, message: string | RegExp, body?: unknown) => {
    const r = await d.request(method, path, body as never);
    assert.equal(r.status, status, `${method} ${path}: ${r.text}`);
    assert.match(r.headers['content-type'] ?? '', /application\/json/);
    const m = r.json().message as string;
    if (typeof message === 'string') assert.equal(m, message, `${method} ${path}`);
    else assert.match(m, message, `${method} ${path}`);
  };

  test('leave, with or without force, is a 503 "not part of a swarm" (docker-py counts it as left)', async () => {
    await expect('POST', '/v1.50/swarm/leave?force=True', 503, NOT_IN_SWARM);
    await expect('POST', '/swarm/leave', 503, NOT_IN_SWARM);
  });

  test('what needs a manager is a 503 "not a swarm manager"', async () => {
    for (const [method, path, body] of [
      ['GET', '/swarm'], ['GET', '/swarm/unlockkey'], ['POST', '/swarm/unlock', { UnlockKey: 'x' }],
      ['POST', '/swarm/update?version=3', {}],
      ['GET', '/services'], ['GET', '/services/web'], ['POST', '/services/create', { Name: 'web' }],
      ['POST', '/services/web/update?version=1', {}], ['DELETE', '/services/web'],
      ['GET', '/services/web/logs?stdout=1'], ['GET', '/tasks/t1/logs?stderr=1'],
      ['GET', '/nodes'], ['GET', '/nodes/n1'], ['DELETE', '/nodes/n1?force=1'], ['POST', '/nodes/n1/update?version=2', {}],
      ['GET', '/tasks'], ['GET', '/tasks/t1'],
      ['GET', '/secrets'], ['GET', '/secrets/s1'], ['POST', '/secrets/create', { Name: 's' }], ['DELETE', '/secrets/s1'], ['POST', '/secrets/s1/update?version=1', {}],
      ['GET', '/configs'], ['GET', '/configs/c1'], ['POST', '/configs/create', { Name: 'c' }], ['DELETE', '/configs/c1'], ['POST', '/configs/c1/update?version=1', {}],
    ] as [string, string, unknown?][]) {
      await expect(method, path, 503, NOT_A_MANAGER, body);
    }
  });

  test("a request's own errors come first, as dockerd checks them before the cluster", async () => {
    await expect('POST', '/swarm/update', 400, `invalid swarm version '': strconv.ParseUint: parsing "": invalid syntax`, {});
    await expect('POST', '/swarm/update?version=1&rotateWorkerToken=maybe', 400, 'invalid value for rotateWorkerToken: maybe', {});
    await expect('POST', '/services/web/update?version=x', 400, `invalid service version 'x': strconv.ParseUint: parsing "x": invalid syntax`, {});
    await expect('POST', '/services/web/update?version=1&registryAuthFrom=elsewhere', 400, "invalid registryAuthFrom 'elsewhere'", {});
    await expect('POST', '/nodes/n1/update', 400, /^invalid node version '': /, {});
    await expect('POST', '/secrets/s1/update', 400, 'invalid secret version', {});
    await expect('POST', '/configs/c1/update?version=-1', 400, 'invalid config version', {});
    await expect('GET', '/services?status=sometimes', 400, 'invalid value for status: sometimes: strconv.ParseBool: parsing "sometimes": invalid syntax');
    await expect('GET', '/services/web?insertDefaults=perhaps', 400, /^invalid value for insertDefaults: perhaps/);
    await expect('GET', '/services/web/logs', 400, "must specify at least one of 'stdout' or 'stderr'");
    await expect('GET', '/nodes?filters=%7Bbad', 400, /invalid filter/);
    await expect('POST', '/services/create', 400, /^invalid JSON/, '{"Name":');
    await expect('GET', '/v1.24/secrets', 400, 'GET /secrets requires minimum API version 1.25');
    await expect('DELETE', '/v1.29/configs/c1', 400, 'DELETE /configs/{id} requires minimum API version 1.30');
    await expect('POST', '/v1.36/configs/create', 400, 'config templating is not supported on the specified API version: 1.36', { Templating: { Name: 'golang' } });
  });

  test('init and join fail loudly: berth cannot be a swarm node', async () => {
    await expect('POST', '/swarm/init', 501, /berth does not support swarm mode/, { ListenAddr: '127.0.0.1:2377', AdvertiseAddr: '127.0.0.1' });
    await expect('POST', '/swarm/join', 501, /berth does not support swarm mode/, { RemoteAddrs: ['10.0.0.1:2377'], JoinToken: 'SWMTKN-1-x' });
    // The node is still outside a swarm afterwards.
    await expect('POST', '/swarm/leave?force=1', 503, NOT_IN_SWARM);
    const info = (await d.request('GET', '/info')).json();
    assert.equal(info.Swarm.LocalNodeState, 'inactive');
  });

  test("the docker CLI prints Docker's own swarm errors", { skip: dockerCliPath() ? false : 'no docker CLI' }, async () => {
    const nodes = await d.docker(['node', 'ls']);
    assert.equal(nodes.code, 1, nodes.stderr);
    assert.equal(nodes.stderr.trim(), `Error response from daemon: ${NOT_A_MANAGER}`);
    const services = await d.docker(['service', 'ls']);
    assert.equal(services.code, 1, services.stderr);
    assert.equal(services.stderr.trim(), `Error response from daemon: ${NOT_A_MANAGER}`);
    const leave = await d.docker(['swarm', 'leave', '--force']);
    assert.equal(leave.code, 1, leave.stderr);
    assert.equal(leave.stderr.trim(), `Error response from daemon: ${NOT_IN_SWARM}`);
    const init = await d.docker(['swarm', 'init', '--advertise-addr', '127.0.0.1']);
    assert.equal(init.code, 1, init.stderr);
    assert.match(init.stderr, /^Error response from daemon: berth does not support swarm mode/);
    const info = await d.docker(['info', '--format', '{{.Swarm.LocalNodeState}}']);
    assert.equal(info.code, 0, info.stderr);
    assert.equal(info.stdout.trim(), 'inactive');
  });
});
