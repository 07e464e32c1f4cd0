import { test } from 'node:test';
import assert from 'node:assert/strict';
import { effectiveConfig, mergeEnv } from '../../../src/engine/container-config.js';

const id = 'f'.repeat(64);

test('the image Cmd is used when the request has none', () => {
  const e = effectiveConfig({ Image: 'bb' }, { Cmd: ['sh'] }, 'bb', id);
  assert.equal(e.Path, 'sh');
  assert.deepEqual(e.Args, []);
  assert.equal(e.Config.Hostname, id.slice(0, 12));
});

test('a request Entrypoint replaces the image\'s and drops the image Cmd', () => {
  const e = effectiveConfig({ Image: 'bb', Entrypoint: ['/bin/echo'] }, { Entrypoint: ['/init'], Cmd: ['x'] }, 'bb', id);
  assert.deepEqual([e.Path, ...e.Args], ['/bin/echo']);
});

test('--entrypoint "" clears the image entrypoint', () => {
  const e = effectiveConfig({ Image: 'bb', Entrypoint: [''], Cmd: ['ls'] }, { Entrypoint: ['/init'] }, 'bb', id);
  assert.deepEqual([e.Path, ...e.Args], ['ls']);
});

test('no command at all is a 400', () => {
  assert.throws(() => effectiveConfig({ Image: 'bb' }, {}, 'bb', id), /No command specified/);
});

test('env from the request overrides the image env by key', () => {
  assert.deepEqual(mergeEnv(['A=1', 'B=2'], ['B=3', 'C=4']), ['A=1', 'B=3', 'C=4']);
});

test('unsupported features fail loudly instead of being ignored', () => {
  assert.throws(() => effectiveConfig({ Image: 'bb', Cmd: ['x'], HostConfig: { LogConfig: { Type: 'syslog', Config: {} } } }, {}, 'bb', id), /logging driver "syslog"/);
});

test('links are kept as given: on a user-defined network for its DNS, elsewhere for the engine to register (engine/legacy-links.ts)', () => {
  const e = effectiveConfig({ Image: 'bb', Cmd: ['x'], HostConfig: { NetworkMode: 'proj_default', Links: ['proj_web_1:web'] } }, {}, 'bb', id);
  assert.deepEqual(e.HostConfig.Links, ['proj_web_1:web']);
  for (const NetworkMode of ['default', 'bridge', 'none']) {
    assert.deepEqual(effectiveConfig({ Image: 'bb', Cmd: ['x'], HostConfig: { NetworkMode, Links: ['a:b'] } }, {}, 'bb', id).HostConfig.Links, ['a:b'], NetworkMode);
  }
  // dockerd refuses links with host networking as invalid (runconfig validateNetMode), before anything else.
  assert.throws(() => effectiveConfig({ Image: 'bb', Cmd: ['x'], HostConfig: { NetworkMode: 'host', Links: ['a:b'] } }, {}, 'bb', id),
    /^InvalidParameterError: conflicting options: host type networking can't be used with links/);
});

test('restart policy validation follows Docker', () => {
  assert.throws(() => effectiveConfig({ Image: 'bb', Cmd: ['x'], HostConfig: { RestartPolicy: { Name: 'sometimes' } } }, {}, 'bb', id), /invalid restart policy/);
  assert.throws(() => effectiveConfig({ Image: 'bb', Cmd: ['x'], HostConfig: { AutoRemove: true, RestartPolicy: { Name: 'always' } } }, {}, 'bb', id), /AutoRemove/);
});

test('the default network is the bridge, as in dockerd', () => {
  for (const NetworkMode of ['default', '', undefined]) {
    const e = effectiveConfig({ Image: 'bb', Cmd: ['x'], HostConfig: { NetworkMode } }, {}, 'bb', id);
    assert.equal(e.HostConfig.NetworkMode, 'bridge');
  }
});

test('--add-host and --dns values are checked at create', () => {
  assert.throws(() => effectiveConfig({ Image: 'bb', Cmd: ['x'], HostConfig: { ExtraHosts: ['nohost'] } }, {}, 'bb', id), /add-host/);
  assert.throws(() => effectiveConfig({ Image: 'bb', Cmd: ['x'], HostConfig: { Dns: ['not-an-ip'] } }, {}, 'bb', id), /IP address is not correctly formatted/);
  const e = effectiveConfig({ Image: 'bb', Cmd: ['x'], HostConfig: { ExtraHosts: ['gw:host-gateway', 'a:1.2.3.4'], Dns: ['1.1.1.1'] } }, {}, 'bb', id);
  assert.deepEqual(e.HostConfig.ExtraHosts, ['gw:host-gateway', 'a:1.2.3.4']);
});
