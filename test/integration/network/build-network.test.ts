/**
 * RUN's network in builds: the default bridge unless the build says
 * otherwise (`--network none|host|<user network>`), as in the classic builder.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { startDaemon, skipUnlessRoot, isClean, formatLeftovers, waitFor, type Daemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';
import { apiBuild, writeContext } from '../build/build-helpers.js';

describe('RUN networking in builds', { skip: skipUnlessRoot() }, () => {
  let d!: Daemon;
  let dir = '';
  before(async () => {
    d = await startDaemon();
    await importBusybox(d);
    dir = await mkdtemp('/tmp/berth-test-buildnet-');
    await writeContext(dir, { Dockerfile: 'FROM busybox\nRUN echo "ifs:$(ls /sys/class/net | tr \'\\n\' \',\')" && (ip -o -4 addr | grep -v " lo " || true)\n' });
  }, { timeout: 120_000 });
  after(async () => {
    await d?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('RUN is on the default bridge unless --network says otherwise', async () => {
    const bridged = await apiBuild(d, dir, { nocache: '1' });
    assert.equal(bridged.error, undefined, bridged.text);
    assert.match(bridged.text, /^ifs:eth0,lo,$/m);
    assert.match(bridged.text, new RegExp(`inet ${d.net.bip.split('.').slice(0, 3).join('\\.')}\\.\\d+/`));

    const none = await apiBuild(d, dir, { nocache: '1', networkmode: 'none' });
    assert.equal(none.error, undefined, none.text);
    assert.match(none.text, /^ifs:lo,$/m);

    const r = await d.request('POST', '/networks/create', { Name: 'buildnet', IPAM: { Config: [{ Subnet: d.net.userSubnet(20) }] } });
    assert.equal(r.status, 201, r.text);
    try {
      const user = await apiBuild(d, dir, { nocache: '1', networkmode: 'buildnet' });
      assert.equal(user.error, undefined, user.text);
      assert.match(user.text, new RegExp(`inet ${d.net.userSubnet(20).replace(/\.0\/24$/, '').replace(/\./g, '\\.')}\\.\\d+/`));
      const missing = await apiBuild(d, dir, { nocache: '1', networkmode: 'nosuchnet' });
      assert.match(missing.error ?? '', /network nosuchnet not found/);
    } finally {
      await d.request('DELETE', '/networks/buildnet');
    }
    await waitFor(async () => isClean(await d.leftovers()), 10_000).catch(() => undefined);
    const left = await d.leftovers();
    assert.ok(isClean(left), `left behind:\n${formatLeftovers(left)}`);
  });
});
