/**
 * Request parsing as dockerd's handlers do it (moby v28 api/server/httputils
 * and the container, image and build routers): boolean query values,
 * `filters` (and their yes/no `dangling`), the JSON Content-Type check, resize sizes, logs' since/until/
 * tail, kill's signal and its error wrapping, stop's `t`, archive's `path`,
 * top's ps error, build's `version`, events' since/until and the
 * repository a lower-case error names. Each case is one berth answered
 * differently (status or words) before.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startDaemon, skipUnlessRoot, skipWithoutDocker, type Daemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';
import { createContainer, remove, start } from './api.js';
import { tarOf, writeContext } from '../build/build-helpers.js';
import { mkdtemp, rm } from 'node:fs/promises';

describe('handlers decode requests as dockerd\'s do', { skip: skipUnlessRoot() }, () => {
  let d!: Daemon;
  let running!: string;
  let stopped!: string;
  before(async () => {
    d = await startDaemon();
    await importBusybox(d);
    running = await createContainer(d, { Cmd: ['sh', '-c', 'echo one; echo two; exec sleep 1000'], HostConfig: { NetworkMode: 'none' } }, 'fid-running');
    await start(d, running);
    stopped = await createContainer(d, { Cmd: ['true'], HostConfig: { NetworkMode: 'none' } }, 'fid-created');
  }, { timeout: 120_000 });
  after(async () => { await d?.stop(); });

  async function answer(method: string, path: string, status: number, message?: string | RegExp, body?: string | Buffer, headers?: Record<string, string>): Promise<void> {
    const r = await d.request(method, path, body, headers ? { headers } : {});
    assert.equal(r.status, status, `${method} ${path}: ${r.text}`);
    if (message !== undefined) {
      const got = r.json<{ message: string }>().message;
      if (typeof message === 'string') assert.equal(got, message, `${method} ${path}`);
      else assert.match(got, message, `${method} ${path}`);
    }
  }

  const listed = async (query: string) => (await d.request('GET', `/containers/json?${query}`)).json<{ Id: string }[]>().map((c) => c.Id);

  test('boolean query values are trimmed, and "none" is false (BoolValue)', async () => {
    assert.ok((await listed('all=1')).includes(stopped));
    assert.ok(!(await listed(`all=${encodeURIComponent(' 0 ')}`)).includes(stopped), 'all=" 0 " is false');
    assert.ok(!(await listed('all=none')).includes(stopped), 'all=none is false');
    assert.ok((await listed('all=yes')).includes(stopped), 'all=yes is true');
    // force=none is no force: a running container is refused, not removed.
    await answer('DELETE', `/containers/${running}?force=none`, 409, /container is running: stop the container before removing or force remove/);
  });

  test('filters: malformed or oddly shaped JSON is a bare "invalid filter"; null is none; a set\'s keys count whatever their value', async () => {
    const f = (v: string) => `/containers/json?all=1&filters=${encodeURIComponent(v)}`;
    for (const bad of ['{bad', '123', '"status"', '["status"]', '{"status":"running"}', '{"status":[1]}', '{"status":{"running":1}}', '{"status":["running"],"id":{"x":true}}']) {
      await answer('GET', f(bad), 400, 'invalid filter');
    }
    await answer('GET', f('null'), 200);
    assert.ok((await listed(`all=1&filters=${encodeURIComponent('null')}`)).includes(stopped));
    // dockerd's Args.Get returns a set's keys, true or false.
    const byStatus = await listed(`all=1&filters=${encodeURIComponent('{"status":{"running":false}}')}`);
    assert.deepEqual(byStatus, [running]);
    await answer('GET', f('{"colour":["red"]}'), 400, "invalid filter 'colour'");
  });

  test('dangling filters: exactly one of true/1 or false/0 (GetBoolOrDefault; networks their own words)', async () => {
    const q = (v: unknown) => encodeURIComponent(JSON.stringify(v));
    await answer('GET', `/images/json?filters=${q({ dangling: ['bogus'] })}`, 400, "invalid filter 'dangling=[bogus]'");
    await answer('GET', `/volumes?filters=${q({ dangling: ['true', 'false'] })}`, 400, "invalid filter 'dangling=[true false]'");
    // Refused, not read as "dangling only" or "all": nothing is pruned on a typo.
    await answer('POST', `/images/prune?filters=${q({ dangling: ['True'] })}`, 400, "invalid filter 'dangling=[True]'");
    await answer('GET', `/networks?filters=${q({ dangling: ['TRUE'] })}`, 400, 'invalid value for filter \'dangling\', must be "true" (or "1"), or "false" (or "0")');
    await answer('GET', `/networks?filters=${q({ dangling: ['true', '0'] })}`, 400, 'got more than one value for filter key "dangling"');
    const images = await d.request('GET', `/images/json?filters=${q({ dangling: ['false'] })}`);
    assert.equal(images.status, 200, images.text);
    assert.ok(images.json<unknown[]>().length > 0, 'busybox is not dangling');
  });

  test('dangling through the docker CLI: the same words', { skip: skipWithoutDocker() }, async () => {
    const r = await d.docker(['images', '--filter', 'dangling=bogus']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Error response from daemon: invalid filter 'dangling=\[bogus\]'/);
  });

  test('volume create: the name, then the options, as the local driver checks them', async () => {
    await answer('POST', '/volumes/create', 400, 'create fid-vol: invalid option: "foo"', JSON.stringify({ Name: 'fid-vol', DriverOpts: { foo: 'x' } }), { 'Content-Type': 'application/json' });
    await answer('POST', '/volumes/create', 400, /^create a b: "a b" includes invalid characters for a local volume name/, JSON.stringify({ Name: 'a b', DriverOpts: { foo: 'x' } }), { 'Content-Type': 'application/json' });
    assert.equal((await d.request('GET', '/volumes/fid-vol')).status, 404);
  });

  test('volume create through the docker CLI: the same words', { skip: skipWithoutDocker() }, async () => {
    const r = await d.docker(['volume', 'create', '--opt', 'foo=x', 'fid-vol']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Error response from daemon: create fid-vol: invalid option: "foo"/);
  });

  test('a JSON body must say application/json (CheckForJSON)', async () => {
    const body = JSON.stringify({ Image: 'busybox', Cmd: ['true'], HostConfig: { NetworkMode: 'none' } });
    await answer('POST', '/containers/create', 400, "unsupported Content-Type header (text/plain): must be 'application/json'", body, { 'Content-Type': 'text/plain' });
    await answer('POST', '/containers/create', 400, "unsupported Content-Type header (application/x-www-form-urlencoded): must be 'application/json'", body, { 'Content-Type': 'application/x-www-form-urlencoded' });
    await answer('POST', '/containers/create', 400, 'malformed Content-Type header (): mime: no media type', body);
    await answer('POST', '/networks/create', 400, "unsupported Content-Type header (text/plain): must be 'application/json'", '{"Name":"fid-net"}', { 'Content-Type': 'text/plain' });
    await answer('POST', '/volumes/create', 400, "unsupported Content-Type header (text/plain): must be 'application/json'", '{"Name":"fid-vol"}', { 'Content-Type': 'text/plain' });
    await answer('POST', `/containers/${running}/exec`, 400, "unsupported Content-Type header (text/plain): must be 'application/json'", '{"Cmd":["true"]}', { 'Content-Type': 'text/plain' });
    // A parameter is fine, and so is no body without a type.
    const ok = await d.request('POST', '/containers/create', body, { headers: { 'Content-Type': 'Application/JSON; charset=utf-8' } });
    assert.equal(ok.status, 201, ok.text);
    await remove(d, ok.json<{ Id: string }>().Id);
    await answer('POST', `/containers/${stopped}/update`, 200);
  });

  test('resize: h and w are uint32s, refused in dockerd\'s words (container and exec)', async () => {
    await answer('POST', `/containers/${running}/resize`, 400, 'invalid resize height "": invalid syntax');
    await answer('POST', `/containers/${running}/resize?h=abc&w=10`, 400, 'invalid resize height "abc": invalid syntax');
    await answer('POST', `/containers/${running}/resize?h=-1&w=10`, 400, 'invalid resize height "-1": value out of range');
    await answer('POST', `/containers/${running}/resize?h=10&w=4294967296`, 400, 'invalid resize width "4294967296": value out of range');
    await answer('POST', `/containers/${running}/resize?h=10&w=%2B5`, 400, 'invalid resize width "+5": invalid syntax');
    const exec = await d.request('POST', `/containers/${running}/exec`, { Cmd: ['true'], Tty: true });
    assert.equal(exec.status, 201, exec.text);
    await answer('POST', `/exec/${exec.json<{ Id: string }>().Id}/resize?h=10`, 400, 'invalid resize width "": invalid syntax');
  });

  test('logs: a bad since or until is a 400 before the stream starts; a tail that is not a number is every line', async () => {
    await answer('GET', `/containers/${running}/logs?stdout=1&since=abc`, 400, 'invalid value for "since": strconv.ParseInt: parsing "abc": invalid syntax');
    await answer('GET', `/containers/${running}/logs?stdout=1&until=1.x`, 400, 'invalid value for "until": strconv.ParseInt: parsing "x": invalid syntax');
    const all = await d.request('GET', `/containers/${running}/logs?stdout=1&tail=abc`);
    assert.equal(all.status, 200, all.text);
    assert.match(all.text, /one[\s\S]*two/);
    const last = await d.request('GET', `/containers/${running}/logs?stdout=1&tail=1`);
    assert.doesNotMatch(last.text, /one/);
    assert.match(last.text, /two/);
  });

  test('logs: the streams are checked before the container; a log driver that cannot be read is 501', async () => {
    await answer('GET', '/containers/no-such-one/logs', 400, 'Bad parameters: you must choose at least one stream');
    const quiet = await createContainer(d, { Cmd: ['true'], HostConfig: { NetworkMode: 'none', LogConfig: { Type: 'none' } } });
    try {
      await answer('GET', `/containers/${quiet}/logs?stdout=1`, 501, 'configured logging driver does not support reading');
    } finally {
      await remove(d, quiet);
    }
  });

  test('start with a HostConfig body is refused, not started with the body ignored', async () => {
    const id = await createContainer(d, { Cmd: ['true'], HostConfig: { NetworkMode: 'none' } });
    try {
      await answer('POST', `/containers/${id}/start`, 400, 'starting container with non-empty request body was deprecated since API v1.22 and removed in v1.24',
        JSON.stringify({ Binds: ['/tmp:/host-tmp'] }), { 'Content-Type': 'application/json' });
      assert.equal((await d.request('GET', `/containers/${id}/json`)).json<{ State: { StartedAt: string } }>().State.StartedAt, '0001-01-01T00:00:00Z');
      await answer('POST', `/containers/${id}/start`, 204, undefined, '{}', { 'Content-Type': 'application/json' });
    } finally {
      await remove(d, id);
    }
  });

  test('kill: the signal is checked first, and every error says "cannot kill container: <name>:"', async () => {
    await answer('POST', '/containers/fid-running/kill?signal=SIGFOO', 400, 'cannot kill container: fid-running: Invalid signal: SIGFOO');
    await answer('POST', '/containers/fid-running/kill?signal=0', 400, 'cannot kill container: fid-running: Invalid signal: 0');
    await answer('POST', '/containers/fid-running/kill?signal=65', 400, 'cannot kill container: fid-running: the linux daemon does not support signal 65');
    await answer('POST', '/containers/fid-running/kill?signal=32', 400, 'cannot kill container: fid-running: the linux daemon does not support signal 32');
    await answer('POST', '/containers/no-such-one/kill?signal=SIGFOO', 400, 'cannot kill container: no-such-one: Invalid signal: SIGFOO');
    await answer('POST', '/containers/no-such-one/kill', 404, 'cannot kill container: no-such-one: No such container: no-such-one');
  });

  test('kill through the docker CLI prints dockerd\'s words', { skip: skipWithoutDocker() }, async () => {
    const r = await d.docker(['kill', '--signal', 'SIGFOO', 'fid-running']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Error response from daemon: cannot kill container: fid-running: Invalid signal: SIGFOO/);
  });

  test('stop and restart t, list limit: a number that is not one is Go\'s Atoi error', async () => {
    await answer('POST', `/containers/${running}/stop?t=abc`, 400, 'strconv.Atoi: parsing "abc": invalid syntax');
    await answer('POST', `/containers/${running}/restart?t=1.5`, 400, 'strconv.Atoi: parsing "1.5": invalid syntax');
    await answer('GET', '/containers/json?limit=abc', 400, 'strconv.Atoi: parsing "abc": invalid syntax');
  });

  test('archive without a path, top with ps arguments ps refuses', async () => {
    await answer('GET', `/containers/${running}/archive`, 400, 'bad parameter: path cannot be empty');
    await answer('GET', `/containers/${running}/top?ps_args=${encodeURIComponent('--no-such-option')}`, 500, /^ps: [^\n]+$/);
  });

  test('events: a since after the until is refused before the stream starts', async () => {
    await answer('GET', '/events?since=2000&until=1000', 400, '`since` time (2000) cannot be after `until` time (1000)');
    await answer('GET', '/events?since=1000&until=2000', 200);
  });

  test('events through the docker CLI: the same words', { skip: skipWithoutDocker() }, async () => {
    const r = await d.docker(['events', '--since', '2000', '--until', '1000']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Error response from daemon: `since` time \(2000[.0-9]*\) cannot be after `until` time \(1000[.0-9]*\)/);
  });

  test('a repository name in upper case is named as distribution names it', async () => {
    await answer('POST', '/images/create?fromImage=Busybox&tag=latest', 400, 'invalid reference format: repository name (library/Busybox) must be lowercase');
    await answer('POST', `/images/busybox/tag?repo=Team/App&tag=1`, 400, 'invalid reference format: repository name (App) must be lowercase');
  });

  test('commit without a container: GetContainer("")\'s words', async () => {
    await answer('POST', '/commit', 400, 'invalid name or ID supplied: ""');
    await answer('POST', '/commit?container=fid-created&changes=' + encodeURIComponent('run echo x'), 400, 'run is not a valid change command');
  });

  test('build: an unknown builder version is refused; an empty rm is rm', async () => {
    const dir = await mkdtemp('/tmp/berth-test-fid-build-');
    try {
      await writeContext(dir, { Dockerfile: 'FROM busybox\n' });
      const tar = await tarOf(dir);
      await answer('POST', '/build?version=3', 400, 'invalid version "3"', tar, { 'Content-Type': 'application/x-tar' });
      const r = await d.request('POST', '/build?rm=', tar, { headers: { 'Content-Type': 'application/x-tar' } });
      assert.equal(r.status, 200, r.text);
      assert.match(r.text, /Successfully built/);
      assert.doesNotMatch(r.text, /--rm=false/, 'rm= is dockerd\'s default (remove), not rm=false');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
