/**
 * review1: a stopped container's view (docker cp, archive HEAD/GET/PUT) must
 * apply a volume mount's Subpath as the runtime does: /data is the
 * subpath's directory (or file), not the volume's root, and the subpath is
 * opened as a start opens it (engine/volume-subpath.ts): a symlink the
 * container planted in the volume is refused, never followed to the host.
 * The bind made for the call is gone afterwards.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startDaemon, skipUnlessRoot, type Daemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';
import { mountsUnder } from '../../helpers/host.js';
import { entriesOf, tarOf } from '../../helpers/layer-fixtures.js';
import { createContainer, logs, remove, start, waitExit } from '../engine/api.js';

describe('review1: Subpath in a stopped container\'s view', { skip: skipUnlessRoot() }, () => {
  let d!: Daemon;
  const ids: string[] = [];
  before(async () => {
    d = await startDaemon();
    await importBusybox(d);
    // The volume: sub/inside, a file at its root, and a symlink to the host's /etc (as a container could plant).
    const fill = await createContainer(d, {
      Image: 'busybox', Cmd: ['sh', '-c', 'mkdir -p /v/sub && echo in > /v/sub/inside && touch /v/rootfile && ln -s /etc /v/link'],
      HostConfig: { Binds: ['spvol:/v'] },
    });
    ids.push(fill);
    await start(d, fill);
    assert.equal(await waitExit(d, fill), 0);
  }, { timeout: 120_000 });
  after(async () => {
    for (const id of ids) await remove(d, id).catch(() => undefined);
    await d?.request('DELETE', '/volumes/spvol');
    await d?.stop();
  });

  const withSubpath = async (subpath: string, target: string) => {
    const id = await createContainer(d, {
      Image: 'busybox', Cmd: ['true'],
      HostConfig: { Mounts: [{ Type: 'volume', Source: 'spvol', Target: target, VolumeOptions: { Subpath: subpath } }] },
    });
    ids.push(id);
    return id;
  };
  /**
   * The Subpath binds still mounted once container `id`'s calls are over. A
   * GET's view is released after its last byte is sent, so a HEAD (queued
   * behind it on the container, and answered only after its own release)
   * comes first.
   */
  const subpathMounts = async (id: string) => {
    await d.request('HEAD', `/containers/${id}/archive?path=/`);
    return mountsUnder(join(d.execRoot, 'subpaths'));
  };

  test('archive of /data shows the subpath, not the whole volume', async () => {
    const c = await withSubpath('sub', '/data');
    assert.equal((await d.request('HEAD', `/containers/${c}/archive?path=/data/inside`)).status, 200);
    assert.equal((await d.request('HEAD', `/containers/${c}/archive?path=/data/rootfile`)).status, 404);
    const got = await d.request('GET', `/containers/${c}/archive?path=/data`);
    assert.equal(got.status, 200, got.text);
    assert.deepEqual((await entriesOf(got.body)).map((e) => e.header.name).sort(), ['data/', 'data/inside']);
    assert.deepEqual(await subpathMounts(c), [], 'the bind made for the view is released');
  });

  test('a PUT into /data lands in the subpath', async () => {
    const c = await withSubpath('sub', '/data');
    const put = await d.request('PUT', `/containers/${c}/archive?path=/data`, tarOf([{ name: 'put', content: 'p' }]),
      { headers: { 'Content-Type': 'application/x-tar' } });
    assert.equal(put.status, 200, put.text);
    const check = await createContainer(d, { Image: 'busybox', Cmd: ['sh', '-c', 'cat /v/sub/put && echo && ls /v'], HostConfig: { Binds: ['spvol:/v'] } });
    ids.push(check);
    await start(d, check);
    assert.equal(await waitExit(d, check), 0);
    assert.deepEqual((await logs(d, check)).split('\n').filter(Boolean), ['p', 'link', 'rootfile', 'sub']);
    assert.deepEqual(await subpathMounts(c), []);
  });

  test('a file Subpath is a file in the view', async () => {
    const c = await withSubpath('sub/inside', '/f');
    const got = await d.request('GET', `/containers/${c}/archive?path=/f`);
    assert.equal(got.status, 200, got.text);
    const entries = await entriesOf(got.body);
    assert.deepEqual(entries.map((e) => [e.header.name, e.content.toString()]), [['f', 'in\n']]);
  });

  test('a Subpath that is a symlink in the volume is refused, not followed to the host', async () => {
    const c = await withSubpath('link', '/data');
    const head = await d.request('HEAD', `/containers/${c}/archive?path=/data/passwd`);
    assert.equal(head.status, 404);
    const got = await d.request('GET', `/containers/${c}/archive?path=/data/passwd`);
    assert.equal(got.status, 404, got.text);
    assert.deepEqual(await subpathMounts(c), []);
  });
});
