/**
 * Legacy links on the default bridge (`--link`, docker-py's `links=`), as
 * dockerd gives them (daemon/links, container_operations_unix.go): the
 * parent's /etc/hosts names the child by alias, hostname and name; its
 * environment has <ALIAS>_NAME, <ALIAS>_PORT… and <ALIAS>_ENV_…; inspect
 * shows HostConfig.Links as "/child:/parent/alias"; a child's new address
 * reaches its running parents; `DELETE /containers/<parent>/<alias>?link=1`
 * removes a link (docker-py's test_create_with_links, LinkTest).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startDaemon, skipUnlessRoot, type Daemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';
import { createContainer, inspect, logs, remove, start, waitExit } from './api.js';

describe('legacy links on the default bridge', { skip: skipUnlessRoot() }, () => {
  let d!: Daemon;
  const made: string[] = [];
  before(async () => { d = await startDaemon(); await importBusybox(d); }, { timeout: 120_000 });
  after(async () => {
    try {
      for (const id of made) await remove(d, id);
    } finally {
      await d?.stop();
    }
  });

  async function make(name: string, body: Record<string, unknown>): Promise<string> {
    const id = await createContainer(d, body, name);
    made.push(id);
    return id;
  }

  async function exec(id: string, cmd: string[]): Promise<string> {
    const r = await d.berth(['exec', id, ...cmd], { timeoutMs: 20_000 });
    assert.equal(r.code, 0, r.stderr);
    return r.stdout;
  }
  const bridgeIp = async (id: string): Promise<string> => (await inspect(d, id)).NetworkSettings.Networks.bridge.IPAddress;

  test('hosts lines, environment and inspect of a parent with two links', async () => {
    const db = await make('links-db', {
      Cmd: ['sleep', '600'], Env: ['FOO=1', 'WITH_EQ=a=b'],
      ExposedPorts: { '5432/tcp': {}, '8000/tcp': {}, '8001/tcp': {}, '53/udp': {} },
    });
    const web = await make('links-web', { Cmd: ['sleep', '600'] });
    await start(d, db);
    await start(d, web);
    const app = await make('links-app', {
      Cmd: ['sh', '-c', 'cat /etc/hosts; echo ---; env'],
      HostConfig: { Links: ['links-db:db-1', 'links-web'], NetworkMode: 'bridge' },
    });
    const view = await inspect(d, app);
    assert.deepEqual(view.HostConfig.Links, ['/links-db:/links-app/db-1', '/links-web:/links-app/links-web']);
    await start(d, app);
    assert.equal(await waitExit(d, app), 0);
    const [hosts, envText] = (await logs(d, app)).split('---\n');
    const env = envText.trim().split('\n');

    const dbIp = await bridgeIp(db);
    const webIp = await bridgeIp(web);
    const dbHost = (await inspect(d, db)).Config.Hostname;
    const webHost = (await inspect(d, web)).Config.Hostname;
    assert.ok(hosts.split('\n').includes(`${dbIp}\tdb-1 ${dbHost} links-db`), hosts);
    // The alias is the name: it is not said twice.
    assert.ok(hosts.split('\n').includes(`${webIp}\tlinks-web ${webHost}`), hosts);

    for (const v of [
      `DB_1_NAME=/links-app/db-1`, `DB_1_ENV_FOO=1`, `DB_1_ENV_WITH_EQ=a=b`,
      // tcp first, by number: the first port is <ALIAS>_PORT.
      `DB_1_PORT=tcp://${dbIp}:5432`,
      `DB_1_PORT_5432_TCP=tcp://${dbIp}:5432`, `DB_1_PORT_5432_TCP_ADDR=${dbIp}`, `DB_1_PORT_5432_TCP_PORT=5432`, `DB_1_PORT_5432_TCP_PROTO=tcp`,
      `DB_1_PORT_8000_TCP=tcp://${dbIp}:8000`, `DB_1_PORT_8001_TCP=tcp://${dbIp}:8001`,
      // 8000 and 8001 are a range.
      `DB_1_PORT_8000_TCP_START=tcp://${dbIp}:8000`, `DB_1_PORT_8000_TCP_PORT_START=8000`,
      `DB_1_PORT_8000_TCP_END=tcp://${dbIp}:8001`, `DB_1_PORT_8000_TCP_PORT_END=8001`,
      `DB_1_PORT_53_UDP=udp://${dbIp}:53`, `DB_1_PORT_53_UDP_PROTO=udp`,
      `LINKS_WEB_NAME=/links-app/links-web`,
    ]) assert.ok(env.includes(v), `${v} missing from\n${envText}`);
    // The child's PATH and HOME are not passed on; the parent's own PATH is its own.
    assert.ok(!env.some((e) => e.startsWith('DB_1_ENV_PATH=')), envText);
    assert.equal(env.filter((e) => e.startsWith('PATH=')).length, 1);
  });

  test('the container\'s own Env wins over a link variable of the same name', async () => {
    const child = await make('links-own-child', { Cmd: ['sleep', '600'], Env: ['FOO=child'] });
    await start(d, child);
    const parent = await make('links-own-parent', {
      Cmd: ['sh', '-c', 'echo "$C_ENV_FOO"'], Env: ['C_ENV_FOO=mine'], HostConfig: { Links: ['links-own-child:c'] },
    });
    await start(d, parent);
    assert.equal(await waitExit(d, parent), 0);
    assert.equal((await logs(d, parent)).trim(), 'mine');
  });

  test('refusals: a missing child, a stopped child at start, bad formats, container network mode', async () => {
    const bad = async (links: unknown, extra: Record<string, unknown> = {}) => {
      const r = await d.request('POST', '/containers/create', { Image: 'busybox', HostConfig: { Links: links, ...extra } });
      return r;
    };
    let r = await bad(['nosuch:alias']);
    assert.equal(r.status, 400, r.text);
    assert.equal(r.json().message, 'could not get container for nosuch: No such container: nosuch');
    r = await bad(['a:b:c']);
    assert.equal(r.status, 400, r.text);
    assert.equal(r.json().message, 'bad format for links: a:b:c');

    const stopped = await make('links-stopped', { Cmd: ['true'] });
    r = await bad(['links-stopped:s'], { NetworkMode: 'container:links-stopped' });
    assert.equal(r.status, 400, r.text);
    assert.match(r.json().message, /container type network can't be used with links/);

    const parent = await make('links-to-stopped', { Cmd: ['true'], HostConfig: { Links: ['links-stopped:s'] } });
    const s = await d.request('POST', `/containers/${parent}/start`);
    assert.equal(s.status, 500, s.text);
    assert.equal(s.json().message, 'Cannot link to a non running container: /links-stopped AS /links-to-stopped/s');
    assert.match((await inspect(d, parent)).State.Error, /Cannot link to a non running container/);
    assert.equal((await inspect(d, stopped)).State.Status, 'created');
  });

  test('a child that starts again with a new address: its running parent\'s line follows', async () => {
    const child = await make('links-moving', { Cmd: ['sleep', '600'] });
    await start(d, child);
    const parent = await make('links-watcher', { Cmd: ['sleep', '600'], HostConfig: { Links: ['links-moving:mv'] } });
    await start(d, parent);
    const before = await bridgeIp(child);
    assert.match(await exec(parent, ['cat', '/etc/hosts']), new RegExp(`^${before.replaceAll('.', '\\.')}\\tmv `, 'm'));

    assert.equal((await d.request('POST', `/containers/${child}/stop?t=0`)).status, 204);
    // Someone else takes the freed address, so the child comes back on another.
    const taker = await make('links-taker', { Cmd: ['sleep', '600'] });
    await start(d, taker);
    await start(d, child);
    const after = await bridgeIp(child);
    assert.notEqual(after, before);
    const hosts = await exec(parent, ['cat', '/etc/hosts']);
    assert.match(hosts, new RegExp(`^${after.replaceAll('.', '\\.')}\\tmv `, 'm'));
    assert.doesNotMatch(hosts, new RegExp(`^${before.replaceAll('.', '\\.')}\\tmv `, 'm'));
  });

  test('DELETE /containers/<parent>/<alias>?link=1 removes the link and only the link', async () => {
    const child = await make('links-rm-child', { Cmd: ['sleep', '600'] });
    await start(d, child);
    const parent = await make('links-rm-parent', { Cmd: ['sleep', '600'], HostConfig: { Links: ['links-rm-child:gone', 'links-rm-child:kept'] } });
    await start(d, parent);
    assert.match(await exec(parent, ['cat', '/etc/hosts']), /\tgone /);

    const r = await d.request('DELETE', '/containers/links-rm-parent/gone?link=1');
    assert.equal(r.status, 204, r.text);
    assert.deepEqual((await inspect(d, parent)).HostConfig.Links, ['/links-rm-child:/links-rm-parent/kept']);
    const hosts = await exec(parent, ['cat', '/etc/hosts']);
    assert.doesNotMatch(hosts, /\tgone /);
    assert.match(hosts, /\tkept /);
    // Both containers are still there, still running.
    assert.equal((await inspect(d, child)).State.Running, true);
    assert.equal((await inspect(d, parent)).State.Running, true);

    const again = await d.request('DELETE', '/containers/links-rm-parent/gone?link=1');
    assert.equal(again.status, 404, again.text);
    assert.equal(again.json().message, 'No such container: links-rm-parent/gone');
    const own = await d.request('DELETE', '/containers/links-rm-parent?link=1');
    assert.equal(own.status, 409, own.text);
    assert.equal(own.json().message, 'Conflict, cannot remove the default link name of the container');
  });

  test('a rename carries the links of both ends', async () => {
    const child = await make('links-old-child', { Cmd: ['sleep', '600'] });
    await start(d, child);
    const parent = await make('links-old-parent', { Cmd: ['sh', '-c', 'echo "$L_NAME"'], HostConfig: { Links: ['links-old-child:l'] } });
    assert.equal((await d.request('POST', `/containers/${child}/rename?name=links-new-child`)).status, 204);
    assert.equal((await d.request('POST', `/containers/${parent}/rename?name=links-new-parent`)).status, 204);
    assert.deepEqual((await inspect(d, parent)).HostConfig.Links, ['/links-new-child:/links-new-parent/l']);
    await start(d, parent);
    assert.equal(await waitExit(d, parent), 0);
    assert.equal((await logs(d, parent)).trim(), '/links-new-parent/l');
  });

  test('the docker CLI: run --link, then rm --link', async () => {
    const child = await make('links-cli-child', { Cmd: ['sleep', '600'] });
    await start(d, child);
    const run = await d.docker(['run', '--rm', '--link', 'links-cli-child:svc', 'busybox', 'sh', '-c', 'echo "$SVC_NAME"; grep -c "	svc " /etc/hosts'], { timeoutMs: 60_000 });
    assert.equal(run.code, 0, run.stderr);
    const [name, count] = run.stdout.trim().split('\n');
    assert.match(name, /^\/[a-z]+_[a-z]+\/svc$/);
    assert.equal(count, '1');

    const parent = await make('links-cli-parent', { Cmd: ['sleep', '600'], HostConfig: { Links: ['links-cli-child:svc'] } });
    const rm = await d.docker(['rm', '--link', 'links-cli-parent/svc']);
    assert.equal(rm.code, 0, rm.stderr);
    assert.equal((await inspect(d, parent)).HostConfig.Links, null);
  });
});
