/**
 * review1: what an API client can put into a network name, an alias, a link
 * or a link-local address never reaches a file, a command line or an
 * interface unchecked; berthd answers every such request (400s for what
 * cannot be a DNS name or an address) and stays up; and aardvark-dns's file
 * keeps every container's line while links on the network come and go at
 * the same time.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startDaemon, skipUnlessRoot, type Daemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';
import { createContainer, inspect, remove, start } from '../engine/api.js';

describe('review1: hostile network names, aliases, links and link-local addresses', { skip: skipUnlessRoot() }, () => {
  let d!: Daemon;
  before(async () => { d = await startDaemon(); await importBusybox(d); }, { timeout: 120_000 });
  after(async () => { await d?.stop(); });

  async function alive(): Promise<void> {
    assert.equal((await d.request('GET', '/_ping')).status, 200);
  }

  test('names with newlines, slashes, dot-dot, NUL or 4k characters are only names', async () => {
    const names = ['evil\n127.0.0.1 host', '../../../etc', 'a b,c', `nul\u0000x`, 'x'.repeat(4096)];
    const made: string[] = [];
    const ids: string[] = [];
    try {
      for (const name of names) {
        const r = await d.request('POST', '/networks/create', { Name: name });
        assert.equal(r.status, 201, r.text);
        made.push(r.json().Id);
        const id = await createContainer(d, { Image: 'busybox', Cmd: ['sleep', '60'], HostConfig: { NetworkMode: r.json().Id } });
        ids.push(id);
        await start(d, id);
        const nets = (await inspect(d, id)).NetworkSettings.Networks;
        assert.deepEqual(Object.keys(nets), [name]);
        const hosts = await readFile(join(d.dataRoot, 'containers', id, 'hosts'), 'utf8').catch(() => '');
        assert.ok(!hosts.includes('evil'), hosts);
      }
      await alive();
    } finally {
      for (const id of ids) await remove(d, id).catch(() => undefined);
      for (const id of made) await d.request('DELETE', `/networks/${id}`);
    }
  });

  test('aliases, links and link-local addresses that are not names or addresses are 400s', async () => {
    const r = await d.request('POST', '/networks/create', { Name: 'inj' });
    assert.equal(r.status, 201, r.text);
    try {
      const bad: Record<string, unknown>[] = [
        { Aliases: ['a\nb'] }, { Aliases: ['a b'] }, { Aliases: ['a,b'] }, { Aliases: ['../x'] }, { Aliases: ['x\u0000'] },
        { Links: ['t:a b'] }, { Links: ['t:a\nb'] }, { Links: ['t:a:b'] },
        { IPAMConfig: { LinkLocalIPs: ['169.254.1.1 dev lo'] } }, { IPAMConfig: { LinkLocalIPs: ['169.254.1.1/16'] } },
        { IPAMConfig: { LinkLocalIPs: ['fe80::1%lo'] } }, { IPAMConfig: { LinkLocalIPs: ['10.0.0.1'] } }, { IPAMConfig: { LinkLocalIPs: ['-h'] } },
        { IPAMConfig: { IPv6Address: 'fe80::1%eth0' } }, { IPAMConfig: { IPv4Address: '10.1.1.1 dev lo' } },
        { DriverOpts: { 'com.docker.network.endpoint.sysctls': 'net.ipv4.conf.IFNAME.forwarding=1;reboot' } },
      ];
      for (const ep of bad) {
        const c = await d.request('POST', '/containers/create', { Image: 'busybox', Cmd: ['true'], HostConfig: { NetworkMode: 'inj' }, NetworkingConfig: { EndpointsConfig: { inj: ep } } });
        if (c.status === 201) await remove(d, c.json().Id);
        // 501 only for the per-interface sysctls berth cannot apply (after dockerd's check of their form).
        assert.equal(c.status, ep.DriverOpts ? 501 : 400, `${JSON.stringify(ep)}: ${c.status} ${c.text}`);
      }
      await alive();
    } finally {
      await d.request('DELETE', '/networks/inj');
    }
  });

  test('aardvark-dns keeps every container and every link alias when links come up together', async () => {
    const r = await d.request('POST', '/networks/create', { Name: 'links' });
    assert.equal(r.status, 201, r.text);
    const netId: string = r.json().Id;
    const ids: string[] = [];
    try {
      const target = await createContainer(d, { Image: 'busybox', Cmd: ['sleep', '120'], HostConfig: { NetworkMode: 'links' } }, 'target');
      ids.push(target);
      await start(d, target);
      const linkers = await Promise.all([0, 1, 2, 3].map((i) => createContainer(d, {
        Image: 'busybox', Cmd: ['sleep', '120'], HostConfig: { NetworkMode: 'links' },
        NetworkingConfig: { EndpointsConfig: { links: { Links: [`target:alias${i}`] } } },
      }, `linker${i}`)));
      ids.push(...linkers);
      await Promise.all(linkers.map((id) => start(d, id)));
      const file = await readFile(join(d.execRoot, 'networks', 'aardvark-dns', `berth-${netId.slice(0, 12)}`), 'utf8');
      const lines = file.split('\n').slice(1).filter(Boolean);
      for (const id of [target, ...linkers]) assert.equal(lines.filter((l) => l.startsWith(`${id} `)).length, 1, file);
      const names = lines.find((l) => l.startsWith(`${target} `))!.split(' ')[3].split(',');
      for (const i of [0, 1, 2, 3]) assert.ok(names.includes(`alias${i}`), file);
      // A linker going away takes its alias with it, and only its own.
      await remove(d, linkers[0]);
      ids.splice(ids.indexOf(linkers[0]), 1);
      const after = await readFile(join(d.execRoot, 'networks', 'aardvark-dns', `berth-${netId.slice(0, 12)}`), 'utf8');
      const names2 = after.split('\n').find((l) => l.startsWith(`${target} `))!.split(' ')[3].split(',');
      assert.deepEqual(names2.filter((n) => n.startsWith('alias')).sort(), ['alias1', 'alias2', 'alias3'], after);
    } finally {
      for (const id of ids) await remove(d, id).catch(() => undefined);
      await d.request('DELETE', '/networks/links');
    }
  });
});
