/**
 * `berth ps` against a real berthd: the default table is the Docker CLI's,
 * row for row, although the berth CLI asks for brief rows (`brief=1`, which
 * leaves out HostConfig, NetworkSettings and Mounts); formats that need those
 * fields still get them.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { skipUnlessRoot, skipWithoutDocker, startDaemon, type Daemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';
import { createContainer, remove } from './api.js';

/**
 * A table's cells (split where the tabwriter padded), the CREATED column
 * ("2 seconds ago") made one value: it may tick between two CLI runs, and
 * with it the column's width.
 */
function withoutCreated(table: string): string[][] {
  return table.trimEnd().split('\n').map((line) => line.split(/ {2,}/).map((cell) => (/ ago$/.test(cell) ? 'AGO' : cell)));
}

describe('berth ps', { skip: skipUnlessRoot() || skipWithoutDocker() }, () => {
  let d!: Daemon;
  const ids: string[] = [];
  before(async () => {
    d = await startDaemon();
    await importBusybox(d);
    ids.push(await createContainer(d, { Image: 'busybox', Cmd: ['sh', '-c', 'echo "a b"'], Labels: { tier: 'web' }, HostConfig: { NetworkMode: 'none' } }, 'ps-first'));
    ids.push(await createContainer(d, {
      Image: 'busybox', Cmd: ['true'],
      HostConfig: { NetworkMode: 'none', Mounts: [{ Type: 'volume', Source: 'ps-vol', Target: '/data' }] },
    }, 'ps-second'));
  }, { timeout: 120_000 });
  after(async () => {
    for (const id of ids) await remove(d, id).catch(() => undefined);
    await d?.request('DELETE', '/volumes/ps-vol');
    await d?.stop();
  });

  test('brief=1 leaves out HostConfig, NetworkSettings and Mounts; the full answer has them', async () => {
    const full = (await d.request('GET', '/containers/json?all=1')).json<Record<string, unknown>[]>();
    const brief = (await d.request('GET', '/containers/json?all=1&brief=1')).json<Record<string, unknown>[]>();
    assert.equal(full.length, 2);
    for (const row of full) for (const k of ['HostConfig', 'NetworkSettings', 'Mounts']) assert.ok(k in row, `${k} in the full row`);
    assert.deepEqual(brief, full.map(({ HostConfig: _h, NetworkSettings: _n, Mounts: _m, ...rest }) => rest));
  });

  test('the default table and -q are the Docker CLI\'s, row for row', async () => {
    for (const args of [['ps', '-a'], ['ps', '-aq'], ['ps', '-a', '--no-trunc'], ['ps', '-a', '--filter', 'label=tier=web']]) {
      const berth = await d.berth(args);
      const docker = await d.docker(args);
      assert.equal(berth.code, 0, berth.stderr);
      assert.equal(docker.code, 0, docker.stderr);
      assert.deepEqual(withoutCreated(berth.stdout), withoutCreated(docker.stdout), args.join(' '));
    }
    const table = (await d.berth(['ps', '-a'])).stdout.split('\n');
    assert.match(table[0], /^CONTAINER ID +IMAGE +COMMAND +CREATED +STATUS +PORTS +NAMES$/);
    assert.match(table[1], /^[0-9a-f]{12} +busybox +"true" +.* ago +Created +ps-second$/);
    assert.match(table[2], /^[0-9a-f]{12} +busybox +"sh -c 'echo \\"a b\\"'" +.* ago +Created +ps-first$/);
  });

  test('formats that show networks, mounts or everything get the full rows', async () => {
    const r = await d.berth(['ps', '-a', '--format', '{{.Names}} {{.Networks}} {{.Mounts}} {{.LocalVolumes}}']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n'), ['ps-second none ps-vol 1', 'ps-first none  0']);
    const json = await d.berth(['ps', '-a', '--format', 'json']);
    assert.equal(json.code, 0, json.stderr);
    const rows = json.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, string>);
    assert.deepEqual(rows.map((x) => [x.Names, x.Networks, x.Mounts]), [['ps-second', 'none', 'ps-vol'], ['ps-first', 'none', '']]);
  });
});
