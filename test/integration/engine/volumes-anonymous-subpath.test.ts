/**
 * Volumes as dockerd keeps them (issue 10, docker-py's api_volume_test.py
 * and api_container_test.py): a volume made without a name is anonymous and
 * labelled so, `volume prune` follows API ≥ 1.42 (anonymous only unless
 * `all`), and a volume mount's `Subpath` mounts a part of the volume, never
 * anything outside it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startDaemon, skipUnlessRoot, type Daemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';
import { createContainer, logs, remove, start, waitExit } from './api.js';

const ANON = 'com.docker.volume.anonymous';

describe('anonymous volumes, prune and subpath mounts', { skip: skipUnlessRoot() }, () => {
  let d!: Daemon;
  before(async () => {
    d = await startDaemon();
    await importBusybox(d);
    await importBusybox(d, 'busybox-vol:latest', ['CMD ["sh"]', 'VOLUME /data']);
  }, { timeout: 120_000 });
  after(async () => { await d?.stop(); });

  async function volume(name: string): Promise<any> {
    const r = await d.request('GET', `/volumes/${name}`);
    assert.equal(r.status, 200, r.text);
    return r.json();
  }

  async function runIn(body: Record<string, unknown>): Promise<string> {
    const id = await createContainer(d, body);
    try {
      await start(d, id);
      await waitExit(d, id);
      return await logs(d, id);
    } finally {
      await remove(d, id);
    }
  }

  test('volumes made without a name carry the anonymous label; named ones do not', async () => {
    const made = await d.request('POST', '/volumes/create', {});
    assert.equal(made.status, 201, made.text);
    const named = await d.request('POST', '/volumes/create', { Name: 'named-one', Labels: { a: 'b' } });
    let id = '';
    try {
      id = await createContainer(d, {
        Image: 'busybox-vol', Cmd: ['true'],
        HostConfig: { Binds: ['/anon'], Mounts: [{ Type: 'volume', Target: '/mnt' }] },
      });
      assert.deepEqual(made.json().Labels, { [ANON]: '' });
      assert.deepEqual(named.json().Labels, { a: 'b' });
      const c = (await d.request('GET', `/containers/${id}/json`)).json();
      const vols = (c.Mounts as { Type: string; Name: string; Destination: string }[]).filter((m) => m.Type === 'volume');
      assert.deepEqual(vols.map((m) => m.Destination).sort(), ['/anon', '/data', '/mnt']);
      for (const m of vols) assert.equal((await volume(m.Name)).Labels[ANON], '', m.Destination);
    } finally {
      if (id) await remove(d, id);
      for (const n of [made.json().Name, 'named-one']) await d.request('DELETE', `/volumes/${n}?force=1`);
    }
  });

  test('rm -v removes a container\'s own anonymous volumes, not an unnamed one it mounted by name', async () => {
    const made = (await d.request('POST', '/volumes/create', {})).json().Name as string;
    try {
      const id = await createContainer(d, { Image: 'busybox-vol', Cmd: ['true'], HostConfig: { Binds: [`${made}:/byname`] } });
      const own = ((await d.request('GET', `/containers/${id}/json`)).json().Mounts as { Name: string; Destination: string }[])
        .find((m) => m.Destination === '/data')!.Name;
      await remove(d, id); // with v=1
      assert.equal((await d.request('GET', `/volumes/${own}`)).status, 404, 'the image VOLUME\'s volume goes with the container');
      assert.equal((await d.request('GET', `/volumes/${made}`)).status, 200, 'a volume mounted by name stays');
    } finally {
      await d.request('DELETE', `/volumes/${made}?force=1`);
    }
  });

  test('prune removes unused anonymous volumes only, unless all=true; API < 1.42 prunes all', async () => {
    const anon = (await d.request('POST', '/volumes/create', {})).json().Name as string;
    await d.request('POST', '/volumes/create', { Name: 'keep-me' });
    try {
      const r = await d.request('POST', '/volumes/prune');
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(r.json().VolumesDeleted, [anon]);
      assert.equal((await d.request('GET', '/volumes/keep-me')).status, 200);

      assert.equal((await d.request('POST', `/volumes/prune?filters=${encodeURIComponent('{"all":["maybe"]}')}`)).status, 400);
      assert.equal((await d.request('POST', `/volumes/prune?filters=${encodeURIComponent('{"dangling":["true"]}')}`)).status, 400);
      const old = await d.request('POST', '/v1.41/volumes/prune');
      assert.deepEqual(old.json().VolumesDeleted, ['keep-me']);
      await d.request('POST', '/volumes/create', { Name: 'keep-me' });
      const all = await d.request('POST', `/volumes/prune?filters=${encodeURIComponent('{"all":["true"]}')}`);
      assert.deepEqual(all.json().VolumesDeleted, ['keep-me']);
    } finally {
      for (const n of [anon, 'keep-me']) await d.request('DELETE', `/volumes/${n}?force=1`);
    }
  });

  test('a Subpath mounts that directory of the volume', async () => {
    await d.request('POST', '/volumes/create', { Name: 'subvol' });
    try {
      await runIn({ Cmd: ['sh', '-c', 'mkdir -p /vol/subdir && echo "test content" > /vol/subdir/testfile.txt'], HostConfig: { Binds: ['subvol:/vol'] } });
      const out = await runIn({
        Cmd: ['cat', '/mnt/testfile.txt'],
        HostConfig: { Mounts: [{ Type: 'volume', Source: 'subvol', Target: '/mnt', ReadOnly: true, VolumeOptions: { Subpath: 'subdir' } }] },
      });
      assert.equal(out, 'test content\n');
    } finally {
      await d.request('DELETE', '/volumes/subvol?force=1');
    }
  });

  test('a Subpath cannot leave the volume: .. and absolute paths are refused at create, symlinks at start', async () => {
    await d.request('POST', '/volumes/create', { Name: 'trap' });
    try {
      const mount = (Subpath: string, Source = 'trap') => ({ Cmd: ['ls', '/mnt'], HostConfig: { Mounts: [{ Type: 'volume', Source, Target: '/mnt', VolumeOptions: { Subpath } }] } });
      for (const bad of ['../../../../etc', '/etc', 'a/../../etc']) {
        const r = await d.request('POST', '/containers/create', { Image: 'busybox', ...mount(bad) });
        assert.equal(r.status, 400, `${bad}: ${r.text}`);
        assert.equal(r.json().message, 'invalid mount config for type "volume": subpath must be a relative path within the volume');
      }
      const anon = await d.request('POST', '/containers/create', { Image: 'busybox', ...mount('x', '') });
      assert.equal(anon.status, 400, anon.text);
      assert.equal(anon.json().message, 'invalid mount config for type "volume": must not set Subpath when using anonymous volumes');

      // A container plants symlinks in the volume: to the host's /etc, and through a directory.
      await runIn({ Cmd: ['sh', '-c', 'ln -s /etc /vol/out && mkdir /vol/d && ln -s ../../../../../../etc /vol/d/up'], HostConfig: { Binds: ['trap:/vol'] } });
      for (const sub of ['out', 'd/up', 'out/passwd']) {
        const id = await createContainer(d, mount(sub));
        try {
          const r = await d.request('POST', `/containers/${id}/start`);
          assert.equal(r.status, 404, `${sub}: ${r.text}`);
          assert.match(r.json().message, /^cannot access path .*\/trap\/_data\/.*: too many levels of symbolic links$/);
        } finally {
          await remove(d, id);
        }
      }
      const missing = await createContainer(d, mount('nope'));
      try {
        const r = await d.request('POST', `/containers/${missing}/start`);
        assert.equal(r.status, 404, r.text);
        assert.match(r.json().message, /^cannot access path .*\/trap\/_data\/nope: no such file or directory$/);
      } finally {
        await remove(d, missing);
      }
    } finally {
      await d.request('DELETE', '/volumes/trap?force=1');
    }
  });
});
