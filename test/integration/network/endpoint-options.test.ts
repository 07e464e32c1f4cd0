/**
 * A container's endpoint options as dockerd takes them through the API and
 * the docker CLI: DriverOpts and LinkLocalIPs kept and shown in inspect (the
 * link-local address on the interface too), links given in EndpointsConfig
 * or with `network connect` answered by the network's DNS, and a second
 * disconnect — forced or not — an error.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startDaemon, skipUnlessRoot, skipWithoutDocker, type Daemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';
import { createContainer, inspect, remove, start } from '../engine/api.js';

describe('endpoint options', { skip: skipUnlessRoot() || skipWithoutDocker() }, () => {
  let d!: Daemon;
  before(async () => { d = await startDaemon(); await importBusybox(d); }, { timeout: 120_000 });
  after(async () => { await d?.stop(); });

  const docker = async (args: string[]) => {
    const r = await d.docker(args);
    assert.equal(r.code, 0, `docker ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const network = async (name: string) => {
    const r = await d.request('POST', '/networks/create', { Name: name });
    assert.equal(r.status, 201, r.text);
  };
  const execOut = async (id: string, cmd: string[]) => {
    const c = await d.request('POST', `/containers/${id}/exec`, { Cmd: cmd, AttachStdout: true, AttachStderr: true });
    assert.equal(c.status, 201, c.text);
    const s = await d.request('POST', `/exec/${c.json().Id}/start`, { Detach: false, Tty: true });
    const code = (await d.request('GET', `/exec/${c.json().Id}/json`)).json().ExitCode as number;
    return { code, out: s.text };
  };

  test('DriverOpts and LinkLocalIPs are kept, shown in inspect, and the link-local address is on the interface', async () => {
    const ids: string[] = [];
    try {
      const id = await createContainer(d, {
        Image: 'busybox', Cmd: ['sleep', '60'], HostConfig: { NetworkMode: 'bridge' },
        NetworkingConfig: { EndpointsConfig: { bridge: { DriverOpts: { 'com.docker-py.setting': 'on' }, IPAMConfig: { LinkLocalIPs: ['169.254.8.8'] } } } },
      });
      ids.push(id);
      await start(d, id);
      const ep = (await inspect(d, id)).NetworkSettings.Networks.bridge;
      assert.deepEqual(ep.DriverOpts, { 'com.docker-py.setting': 'on' });
      assert.deepEqual(ep.IPAMConfig, { LinkLocalIPs: ['169.254.8.8'] });
      const addr = await execOut(id, ['ip', '-4', 'addr', 'show', 'eth0']);
      assert.match(addr.out, /inet 169\.254\.8\.8\/16 /);

      // The docker CLI's --driver-opt and --link-local-ip reach the same fields.
      await docker(['network', 'create', 'ep-cli']);
      await docker(['run', '-d', '--name', 'ep-cli-c', '--network', 'name=ep-cli,driver-opt=key1=a', '--link-local-ip', 'fe80::8:8', 'busybox', 'sleep', '60']);
      ids.push('ep-cli-c');
      assert.equal((await docker(['inspect', '-f', '{{json .NetworkSettings.Networks}}', 'ep-cli-c'])).includes('"DriverOpts":{"key1":"a"}'), true);
      assert.equal((await docker(['inspect', '-f', '{{json (index .NetworkSettings.Networks "ep-cli").IPAMConfig.LinkLocalIPs}}', 'ep-cli-c'])).trim(), '["fe80::8:8"]');
      assert.match(await docker(['exec', 'ep-cli-c', 'ip', '-6', 'addr', 'show', 'eth0']), /inet6 fe80::8:8\/64 /);
    } finally {
      for (const id of ids) await remove(d, id).catch(() => undefined);
      await d.request('DELETE', '/networks/ep-cli');
    }
  });

  test('endpoint options are checked as dockerd checks them', async () => {
    await network('ep-check');
    try {
      for (const [cfg, status, message] of [
        [{ IPAMConfig: { LinkLocalIPs: ['10.0.0.1'] } }, 400, 'invalid link local IP address: 10.0.0.1'],
        [{ IPAMConfig: { LinkLocalIPs: ['bogus'] } }, 400, 'invalid endpoint settings:\ninvalid link-local IP address: bogus'],
        [{ DriverOpts: { 'com.docker.network.endpoint.sysctls': 'net.ipv4.conf.eth0.forwarding=1' } }, 400, /unrecognised network interface sysctl/],
        [{ DriverOpts: { 'com.docker.network.endpoint.sysctls': 'net.ipv4.conf.IFNAME.forwarding=1' } }, 501, /sysctls .* not supported by berth/],
        [{ Aliases: ['two words'] }, 400, /invalid network alias/],
        [{ IPAMConfig: { IPv6Address: '2001:db8::5' } }, 400, 'invalid endpoint settings:\nno configured subnet contains IP address 2001:db8::5'],
      ] as const) {
        const r = await d.request('POST', '/containers/create', { Image: 'busybox', Cmd: ['true'], HostConfig: { NetworkMode: 'ep-check' }, NetworkingConfig: { EndpointsConfig: { 'ep-check': cfg } } });
        assert.equal(r.status, status, `${JSON.stringify(cfg)}: ${r.text}`);
        if (typeof message === 'string') assert.equal(r.json().message, message);
        else assert.match(r.json().message, message);
      }
    } finally {
      await d.request('DELETE', '/networks/ep-check');
    }
  });

  test('a second disconnect is an error, forced or not, as in dockerd', async () => {
    await network('ep-disc');
    const id = await createContainer(d, { Image: 'busybox', Cmd: ['sleep', '60'] });
    try {
      await start(d, id);
      const connect = await d.request('POST', '/networks/ep-disc/connect', { Container: id });
      assert.equal(connect.status, 200, connect.text);
      const first = await d.request('POST', '/networks/ep-disc/disconnect', { Container: id, Force: true });
      assert.equal(first.status, 200, first.text);
      assert.deepEqual((await d.request('GET', '/networks/ep-disc')).json().Containers, {});
      for (const force of [true, false]) {
        const again = await d.request('POST', '/networks/ep-disc/disconnect', { Container: id, Force: force });
        assert.equal(again.status, 500, again.text);
        assert.equal(again.json().message, `container ${id} is not connected to network ep-disc`);
      }
      const cli = await d.docker(['network', 'disconnect', '-f', 'ep-disc', id]);
      assert.equal(cli.code, 1);
      assert.equal(cli.stderr.trim(), `Error response from daemon: container ${id} is not connected to network ep-disc`);
      await d.request('POST', `/containers/${id}/kill`);
      const stopped = await d.request('POST', '/networks/ep-disc/disconnect', { Container: id, Force: true });
      assert.equal(stopped.status, 500, stopped.text);
      assert.equal(stopped.json().message, `container ${id} is not connected to the network ep-disc`);
    } finally {
      await remove(d, id);
      await d.request('DELETE', '/networks/ep-disc');
    }
  });

  test('links in EndpointsConfig and in connect reach the network DNS, whichever starts first', async () => {
    await network('ep-links');
    const made: string[] = [];
    try {
      // The linker first, its target later (docker-py's order): the target comes up with the alias.
      const linker = await createContainer(d, {
        Image: 'busybox', Cmd: ['sleep', '60'], HostConfig: { NetworkMode: 'ep-links' },
        NetworkingConfig: { EndpointsConfig: { 'ep-links': { Links: ['ep-upstream:bar'] } } },
      });
      made.push(linker);
      await start(d, linker);
      assert.deepEqual((await inspect(d, linker)).NetworkSettings.Networks['ep-links'].Links, ['ep-upstream:bar']);
      const upstream = await createContainer(d, { Image: 'busybox', Cmd: ['sleep', '60'], HostConfig: { NetworkMode: 'ep-links' } }, 'ep-upstream');
      made.push(upstream);
      await start(d, upstream);
      const upIp = (await inspect(d, upstream)).NetworkSettings.Networks['ep-links'].IPAddress as string;
      const first = await execOut(linker, ['nslookup', 'bar']);
      assert.equal(first.code, 0, first.out);
      assert.match(first.out, new RegExp(`Address: ${upIp.replace(/\./g, '\\.')}`));

      // The target already up, the link given by connect: the running target gets the alias at once.
      const late = await createContainer(d, { Image: 'busybox', Cmd: ['sleep', '60'], HostConfig: { NetworkMode: 'ep-links' } });
      made.push(late);
      await start(d, late);
      assert.equal((await d.request('POST', '/networks/ep-links/disconnect', { Container: late })).status, 200);
      const c = await d.request('POST', '/networks/ep-links/connect', { Container: late, EndpointConfig: { Links: ['ep-upstream:baz'] } });
      assert.equal(c.status, 200, c.text);
      assert.deepEqual((await inspect(d, late)).NetworkSettings.Networks['ep-links'].Links, ['ep-upstream:baz']);
      const second = await execOut(late, ['nslookup', 'baz']);
      assert.equal(second.code, 0, second.out);
      assert.match(second.out, new RegExp(`Address: ${upIp.replace(/\./g, '\\.')}`));

      // A linker that goes takes its alias along.
      assert.equal((await d.request('POST', '/networks/ep-links/disconnect', { Container: late })).status, 200);
      const gone = await execOut(linker, ['nslookup', 'baz']);
      assert.notEqual(gone.code, 0, gone.out);
    } finally {
      for (const id of made) await remove(d, id).catch(() => undefined);
      await d.request('DELETE', '/networks/ep-links');
    }
  });
});
