/**
 * Review 5, trust: the Engine API boundary against dockerd's handlers. What
 * a client could send that berthd took wrongly:
 *
 * - `GET /events?until=` more than 24.8 days ahead ended the stream at
 *   once (Node's setTimeout fires a longer delay immediately), so a
 *   `docker events --until <next month>` got nothing;
 * - events' `since`/`until` went through Date.parse, which reads `-5` as
 *   May 2001 and `1.2.3` as 2003: dockerd takes unix seconds only, each
 *   part a Go int64, and says what is wrong;
 * - request headers over Node's 16 KiB were refused (431), where dockerd
 *   takes up to Go's 1 MiB: a build's X-Registry-Config carries the
 *   client's credentials for every registry it knows;
 * - tag/commit stored repository names longer than distribution's 255
 *   characters, which no registry takes;
 * - update stored negative CPU shares, which create refuses;
 * - a create losing a name race to a create still in flight was told the
 *   name is used "by container \"\"";
 * - a `volume rm` (or prune) while a container create that mounts the
 *   volume was in flight removed it: the container was created mounting a
 *   volume that no longer existed (its record, which makes the volume in
 *   use, is written at the create's end);
 * - `Mounts` entries with another type's options (`BindOptions` on a
 *   volume, `VolumeOptions` on a bind, a tmpfs `Source`), a made-up bind
 *   propagation (handed to the runtime as a mount option at start) or an
 *   unknown type were taken or answered 501; `Binds` took `:/dst`,
 *   `ro,rw` and `/host:/dst:nocopy`. dockerd refuses all of them with 400.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startDaemon, skipUnlessRoot, withTimeout, type Daemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';
import { createContainer, inspect, remove } from '../engine/api.js';

describe('review5: API boundary', { skip: skipUnlessRoot() }, () => {
  let d!: Daemon;
  before(async () => {
    d = await startDaemon();
    await importBusybox(d);
  }, { timeout: 120_000 });
  after(async () => { await d?.stop(); });

  test('events with an until weeks ahead stay open and deliver what happens', { timeout: 60_000 }, async () => {
    const until = Math.floor(Date.now() / 1000) + 40 * 86_400;
    const filters = encodeURIComponent(JSON.stringify({ type: ['volume'], volume: ['review5-events'] }));
    const stream = await d.requestStream('GET', `/events?until=${until}&filters=${filters}`);
    assert.equal(stream.statusCode, 200);
    try {
      const seen = withTimeout((async () => {
        let text = '';
        for await (const chunk of stream as AsyncIterable<Buffer>) {
          text += chunk.toString();
          if (text.includes('"Action":"create"')) return text;
        }
        return `the stream ended before the event: ${JSON.stringify(text)}`;
      })(), 30_000, 'the volume create event');
      const r = await d.request('POST', '/volumes/create', { Name: 'review5-events' });
      assert.equal(r.status, 201, r.text);
      assert.match(await seen, /"Action":"create"/);
    } finally {
      stream.destroy();
      await d.request('DELETE', '/volumes/review5-events');
    }
  });

  test("events' since and until are unix seconds, as dockerd parses them", async () => {
    const get = async (q: string) => {
      const r = await d.request('GET', `/events?${q}`);
      return { status: r.status, message: r.status === 200 ? '' : r.json().message as string };
    };
    assert.deepEqual(await get('since=-5&until=1'), { status: 200, message: '' });
    assert.deepEqual(await get('since=1.2.3&until=1'), { status: 400, message: 'strconv.ParseInt: parsing "2.3": invalid syntax' });
    assert.deepEqual(await get('since=2020-01-01T00:00:00Z&until=1'),
      { status: 400, message: 'strconv.ParseInt: parsing "2020-01-01T00:00:00Z": invalid syntax' });
    assert.deepEqual(await get('since=1&until=99999999999999999999'),
      { status: 400, message: 'strconv.ParseInt: parsing "99999999999999999999": value out of range' });
    assert.deepEqual(await get('since=1700000000.5&until=1700000001'), { status: 200, message: '' });
  });

  test('request headers up to 1 MiB are read, as dockerd reads them; more is a 431', async () => {
    const auth = Buffer.from(JSON.stringify({ auths: { 'r.example': { auth: 'x'.repeat(48 << 10) } } })).toString('base64');
    const ok = await d.request('GET', '/_ping', undefined, { headers: { 'X-Registry-Config': auth } });
    assert.equal(ok.status, 200, ok.text);
    const big = await d.request('GET', '/_ping', undefined, { headers: { 'X-Registry-Config': 'x'.repeat(1100 << 10) } }).catch((e: Error) => e);
    // The 431 may lose the race with the client's own write of its headers: then the connection is cut.
    if (!(big instanceof Error)) assert.equal(big.status, 431, big.text);
    assert.equal((await d.request('GET', '/_ping')).status, 200);
  });

  test('tag and commit refuse repository names over 255 characters', async () => {
    const tooLong = 'a'.repeat(300);
    const tag = await d.request('POST', `/images/busybox/tag?repo=${tooLong}&tag=x`);
    assert.equal(tag.status, 400, tag.text);
    assert.equal(tag.json().message, 'repository name must not be more than 255 characters');
    // `library/` counts: 8 + 247 is the most a Docker Hub name may have.
    const longest = 'b'.repeat(247);
    assert.equal((await d.request('POST', `/images/busybox/tag?repo=${longest}&tag=x`)).status, 201);
    assert.equal((await d.request('POST', `/images/busybox/tag?repo=${longest}b&tag=x`)).status, 400);
    const id = await createContainer(d, { Cmd: ['true'] });
    try {
      const commit = await d.request('POST', `/commit?container=${id}&repo=${tooLong}`);
      assert.equal(commit.status, 400, commit.text);
      assert.equal(commit.json().message, 'repository name must not be more than 255 characters');
    } finally {
      await remove(d, id);
    }
    const tags = (await d.request('GET', '/images/json')).json().flatMap((i: { RepoTags: string[] }) => i.RepoTags ?? []) as string[];
    assert.ok(!tags.some((t) => t.startsWith(tooLong)), `a name over the limit was stored: ${tags.join(', ')}`);
    assert.equal((await d.request('DELETE', `/images/${longest}:x`)).status, 200);
  });

  test('update refuses negative CPU shares, as create does, and keeps the old value', async () => {
    const id = await createContainer(d, { Cmd: ['true'], HostConfig: { CpuShares: 512 } });
    try {
      const r = await d.request('POST', `/containers/${id}/update`, { CpuShares: -2 });
      assert.equal(r.status, 400, r.text);
      assert.equal(r.json().message, 'invalid CPU shares (-2): value must be a positive integer');
      assert.equal((await inspect(d, id)).HostConfig.CpuShares, 512);
    } finally {
      await remove(d, id);
    }
  });

  test('creates racing for one name: each loser is told which container has it', async () => {
    const rs = await Promise.all(Array.from({ length: 12 }, () =>
      d.request('POST', '/containers/create?name=review5-race', { Image: 'busybox', Cmd: ['true'] })));
    const won = rs.filter((r) => r.status === 201);
    assert.equal(won.length, 1, rs.map((r) => `${r.status} ${r.text}`).join('\n'));
    const id = won[0].json().Id as string;
    try {
      for (const r of rs.filter((x) => x.status !== 201)) {
        assert.equal(r.status, 409, r.text);
        assert.equal(r.json().message,
          `Conflict. The container name "/review5-race" is already in use by container "${id}". You have to remove (or rename) that container to be able to reuse that name.`);
      }
    } finally {
      await remove(d, id);
    }
  });

  test('a volume removed while a create that mounts it is in flight: the container never outlives its volume', { timeout: 120_000 }, async () => {
    for (let i = 0; i < 8; i++) {
      const vol = `review5-held-${i}`;
      assert.equal((await d.request('POST', '/volumes/create', { Name: vol })).status, 201);
      const [created, removed] = await Promise.all([
        d.request('POST', `/containers/create?name=review5-held-${i}`, { Image: 'busybox', Cmd: ['true'], HostConfig: { Binds: [`${vol}:/data`] } }),
        d.request('DELETE', `/volumes/${vol}`),
      ]);
      try {
        assert.equal(created.status, 201, created.text);
        assert.ok(removed.status === 204 || removed.status === 409, removed.text);
        if (removed.status === 409) assert.match(removed.json().message, new RegExp(`^remove ${vol}: volume is in use - \\[${created.json().Id}\\]$`));
        const v = await d.request('GET', `/volumes/${vol}`);
        assert.equal(v.status, 200, `round ${i}: the container was created, its volume is gone (remove answered ${removed.status})`);
      } finally {
        if (created.status === 201) await remove(d, created.json().Id);
        await d.request('DELETE', `/volumes/${vol}`);
      }
    }
  });

  test('create refuses mounts dockerd refuses, in its words, and leaves nothing behind', async () => {
    const refused: [unknown, string][] = [
      [{ Mounts: [{ Type: 'volume', Source: 'review5-m', Target: '/x', BindOptions: { Propagation: 'shared' } }] },
        'invalid mount config for type "volume": field BindOptions must not be specified'],
      [{ Mounts: [{ Type: 'bind', Source: '/tmp', Target: '/x', BindOptions: { Propagation: 'bogus' } }] },
        'invalid mount config for type "bind": invalid propagation mode: bogus'],
      [{ Mounts: [{ Type: 'bind', Source: '/tmp', Target: '/x', VolumeOptions: {} }] },
        'invalid mount config for type "bind": field VolumeOptions must not be specified'],
      [{ Mounts: [{ Type: 'tmpfs', Source: '/tmp', Target: '/x' }] }, 'invalid mount config for type "tmpfs": field Source must not be specified'],
      [{ Mounts: [{ Type: 'bogus', Target: '/x' }] }, 'invalid mount config for type "bogus": mount type unknown'],
      [{ Binds: [':/x'] }, "invalid volume specification: ':/x'"],
      [{ Binds: ['/tmp:/x:ro,rw'] }, 'invalid mode: ro,rw'],
      [{ Binds: ['/tmp:/x:nocopy'] },
        'invalid volume specification: \'/tmp:/x:nocopy\': invalid mount config for type "bind": field VolumeOptions must not be specified'],
    ];
    const before = (await d.request('GET', '/containers/json?all=1')).json().length as number;
    for (const [hostConfig, message] of refused) {
      const r = await d.request('POST', '/containers/create', { Image: 'busybox', Cmd: ['true'], HostConfig: hostConfig });
      assert.equal(r.status, 400, `${JSON.stringify(hostConfig)}: ${r.text}`);
      assert.equal(r.json().message, message);
    }
    assert.equal((await d.request('GET', '/containers/json?all=1')).json().length, before);
    assert.equal((await d.request('GET', '/volumes/review5-m')).status, 404);
    // What the docker CLI sends for these options still works.
    const ok = await d.request('POST', '/containers/create', {
      Image: 'busybox', Cmd: ['true'],
      HostConfig: { Binds: ['/tmp:/a:ro,rshared'], Mounts: [{ Type: 'bind', Source: '/tmp', Target: '/b', BindOptions: { Propagation: 'rslave' } }, { Type: 'tmpfs', Target: '/t', TmpfsOptions: { SizeBytes: 1 << 20 } }] },
    });
    assert.equal(ok.status, 201, ok.text);
    await remove(d, ok.json().Id);
  });
});
