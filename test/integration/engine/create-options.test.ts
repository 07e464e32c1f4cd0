/**
 * Create options that clients send and dockerd takes (issue 10, docker-py's
 * api_container_test.py): device cgroup rules applied to the container,
 * isolation, log drivers and options checked in dockerd's words, Env kept
 * as given, a VolumeDriver kept until a volume would need it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startDaemon, skipUnlessRoot, type Daemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';
import { createContainer, inspect, logs, remove, start, waitExit } from './api.js';

describe('container create options', { skip: skipUnlessRoot() }, () => {
  let d!: Daemon;
  before(async () => {
    d = await startDaemon();
    await importBusybox(d);
    await importBusybox(d, 'busybox-env:latest', ['CMD ["sh"]', 'ENV FROM_IMAGE=1 Foo=image']);
  }, { timeout: 120_000 });
  after(async () => { await d?.stop(); });

  /** Runs a container to its end; its output, and its id for inspect (removed after `fn`). */
  async function run(body: Record<string, unknown>, fn: (out: string, id: string) => Promise<void> | void): Promise<void> {
    const id = await createContainer(d, body);
    try {
      await start(d, id);
      await waitExit(d, id);
      await fn(await logs(d, id), id);
    } finally {
      await remove(d, id);
    }
  }

  async function createFails(body: Record<string, unknown>, status: number, message: string): Promise<void> {
    const r = await d.request('POST', '/containers/create', { Image: 'busybox', Cmd: ['true'], ...body });
    if (r.status === 201) await remove(d, r.json().Id);
    assert.equal(r.status, status, r.text);
    assert.equal(r.json().message, message);
  }

  for (const runtime of ['crun', 'runc']) {
    test(`${runtime}: a device cgroup rule lets the container open a device node the defaults deny`, async () => {
      // char 240 is reserved for local use: no driver has it, so an allowed
      // open fails with ENXIO, a denied one with EPERM (the device cgroup).
      const script = 'mknod /dev/probe c 240 0 && cat /dev/probe; true';
      await run({ Cmd: ['sh', '-c', script], HostConfig: { Runtime: runtime } }, (out) => assert.match(out, /Operation not permitted/));
      await run({ Cmd: ['sh', '-c', script], HostConfig: { Runtime: runtime, DeviceCgroupRules: ['c 240:* rwm'] } }, async (out, id) => {
        assert.doesNotMatch(out, /Operation not permitted/);
        assert.match(out, /No such device/);
        assert.deepEqual((await inspect(d, id)).HostConfig.DeviceCgroupRules, ['c 240:* rwm']);
      });
    });
  }

  test('a malformed device cgroup rule is refused at create in dockerd\'s words', async () => {
    await createFails({ HostConfig: { DeviceCgroupRules: ['c 7:128'] } }, 400, "invalid device cgroup rule format: 'c 7:128'");
    await createFails({ HostConfig: { DeviceCgroupRules: ['x 1:2 rwm'] } }, 400, "invalid device cgroup rule format: 'x 1:2 rwm'");
    await createFails({ HostConfig: { DeviceCgroupRules: ['c 99999999999999999999:1 r'] } }, 400,
      "invalid major value in device cgroup rule format: 'c 99999999999999999999:1 r'");
  });

  test('isolation "default" is taken in any letter case; any other is refused', async () => {
    for (const isolation of ['default', 'DEFAULT', '']) {
      const id = await createContainer(d, { Cmd: ['true'], HostConfig: { Isolation: isolation } });
      try {
        assert.equal((await inspect(d, id)).HostConfig.Isolation, isolation);
      } finally {
        await remove(d, id);
      }
    }
    await createFails({ HostConfig: { Isolation: 'hyperv' } }, 400, "invalid isolation (hyperv): linux only supports 'default'");
  });

  test('Env entries are kept as given, a bare name unsets the image\'s variable, the image\'s others follow', async () => {
    await run({ Image: 'busybox-env', Cmd: ['env'], Env: ['Foo', 'Other=one', 'Blank='] }, async (out, id) => {
      const env = (await inspect(d, id)).Config.Env as string[];
      assert.deepEqual(env.slice(0, 3), ['Foo', 'Other=one', 'Blank=']);
      assert.ok(env.includes('FROM_IMAGE=1'), env.join(' '));
      assert.ok(!env.includes('Foo=image'), env.join(' '));
      const seen = out.split('\n');
      assert.ok(seen.includes('Other=one') && seen.includes('Blank=') && seen.includes('FROM_IMAGE=1'), out);
      assert.ok(!seen.some((l) => l.startsWith('Foo')), out);
    });
  });

  test('an unknown log driver gets dockerd\'s words; Docker-only drivers are refused loudly', async () => {
    await createFails({ HostConfig: { LogConfig: { Type: 'asdf', Config: {} } } }, 400, "logger: no log driver named 'asdf' is registered");
    const r = await d.request('POST', '/containers/create', { Image: 'busybox', Cmd: ['true'], HostConfig: { LogConfig: { Type: 'syslog' } } });
    assert.equal(r.status, 501, r.text);
  });

  test('json-file takes max-file (alone or with max-size); "" is json-file; options are checked as dockerd checks them', async () => {
    for (const type of ['json-file', '']) {
      await run({ Cmd: ['echo', 'hi'], HostConfig: { LogConfig: { Type: type, Config: { 'max-file': '100' } } } }, async (out, id) => {
        assert.equal(out, 'hi\n');
        assert.deepEqual((await inspect(d, id)).HostConfig.LogConfig, { Type: 'json-file', Config: { 'max-file': '100' } });
      });
    }
    const lc = (Config: Record<string, string>, Type = 'json-file') => ({ HostConfig: { LogConfig: { Type, Config } } });
    await createFails(lc({ 'max-fil': '3' }), 400, "unknown log opt 'max-fil' for json-file log driver");
    await createFails(lc({ 'max-file': '0' }), 400, 'max-file cannot be less than 1');
    await createFails(lc({ 'max-file': 'x' }), 400, 'strconv.Atoi: parsing "x": invalid syntax');
    await createFails(lc({ 'max-size': '0' }), 400, 'max-size must be a positive number');
    await createFails(lc({ 'max-size': '10q' }), 400, "invalid suffix: 'q'");
    await createFails(lc({ 'compress': 'true', 'max-file': '1' }), 400, 'compress cannot be true when max-file is less than 2 or max-size is not set');
    await createFails(lc({ mode: 'fast' }), 400, 'logger: logging mode not supported: fast');
    await createFails(lc({ foo: '1' }, 'local'), 400, "unknown log opt 'foo' for log driver local");
  });

  test('a VolumeDriver is kept when no volume needs it, and refused as dockerd refuses a missing plugin when one does', async () => {
    const id = await createContainer(d, { Cmd: ['true'], HostConfig: { VolumeDriver: 'foo' } });
    try {
      assert.equal((await inspect(d, id)).HostConfig.VolumeDriver, 'foo');
    } finally {
      await remove(d, id);
    }
    await createFails({ HostConfig: { VolumeDriver: 'foo', Binds: ['dpyvol:/v'] } }, 404,
      'create dpyvol: error looking up volume plugin foo: plugin "foo" not found');
    assert.equal((await d.request('GET', '/volumes/dpyvol')).status, 404, 'a refused create leaves no volume');
    const local = await createContainer(d, { Cmd: ['true'], HostConfig: { VolumeDriver: 'local', Binds: ['dpyvol:/v'] } });
    await remove(d, local);
    await d.request('DELETE', '/volumes/dpyvol');
  });

  test('HostConfig.Runtime is honoured and shown; no runtime means the daemon\'s default; an unknown one is refused in dockerd\'s words', async () => {
    for (const runtime of ['runc', 'crun']) {
      await run({ Cmd: ['echo', runtime], HostConfig: { Runtime: runtime } }, async (out, id) => {
        assert.equal(out, `${runtime}\n`);
        assert.equal((await inspect(d, id)).HostConfig.Runtime, runtime);
      });
    }
    const info = (await d.request('GET', '/info')).json();
    const id = await createContainer(d, { Cmd: ['true'] });
    try {
      assert.equal((await inspect(d, id)).HostConfig.Runtime, info.DefaultRuntime);
    } finally {
      await remove(d, id);
    }
    await createFails({ HostConfig: { Runtime: 'nope' } }, 400, 'unknown or invalid runtime name: nope');
  });
});
