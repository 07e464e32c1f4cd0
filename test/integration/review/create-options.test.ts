/**
 * review1: create options a client may send that create accepts must also
 * start. `max-size` is checked at create with go-units' FromHumanSize
 * (engine/log-config.ts: `1.5m`, `10 MB`, `2kib`), so the start must read it
 * the same way, not with a narrower parser of its own.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startDaemon, skipUnlessRoot, type Daemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';
import { createContainer, inspect, logs, remove, start, waitExit } from '../engine/api.js';

describe('review1: create options that create accepts also start', { skip: skipUnlessRoot() }, () => {
  let d!: Daemon;
  before(async () => {
    d = await startDaemon();
    await importBusybox(d);
  }, { timeout: 120_000 });
  after(async () => { await d?.stop(); });

  for (const size of ['1.5m', '10 MB', '2kib', '3K']) {
    test(`--log-opt max-size=${size} is accepted at create and the container starts`, async () => {
      const id = await createContainer(d, { Image: 'busybox', Cmd: ['echo', 'hello'], HostConfig: { LogConfig: { Type: 'json-file', Config: { 'max-size': size, 'max-file': '2' } } } });
      try {
        await start(d, id);
        assert.equal(await waitExit(d, id), 0);
        assert.equal(await logs(d, id), 'hello\n');
      } finally {
        await remove(d, id);
      }
    });
  }

  // Char majors 240-254 are reserved for local use: no driver has them, so an open the device
  // cgroup allows fails with ENXIO ("No such device"), one it denies with EPERM.
  for (const runtime of ['crun', 'runc']) {
    test(`${runtime}: a type-a device rule grants what it says, not every device (the cgroup v1 kernel reads any "a" as all)`, async () => {
      const script = 'mknod /dev/other c 241 0 && mknod /dev/blk b 240 0 && mknod /dev/mine c 240 0; '
        + 'cat /dev/other; echo x > /dev/mine; cat /dev/blk; cat /dev/mine; true';
      const id = await createContainer(d, { Image: 'busybox', Cmd: ['sh', '-c', script], HostConfig: { Runtime: runtime, DeviceCgroupRules: ['a 240:0 r'] } });
      try {
        await start(d, id);
        await waitExit(d, id);
        const out = (await logs(d, id)).trim().split('\n');
        assert.equal(out.length, 4, out.join('\n'));
        assert.match(out[0], /dev\/other'?: Operation not permitted/, 'another device is opened');
        assert.match(out[1], /dev\/mine'?: Operation not permitted/, 'the device is written though the rule says r');
        assert.match(out[2], /dev\/blk'?: No such device/, 'the block device of the rule is not readable');
        assert.match(out[3], /dev\/mine'?: No such device/, 'the char device of the rule is not readable');
        assert.deepEqual((await inspect(d, id)).HostConfig.DeviceCgroupRules, ['a 240:0 r']);
      } finally {
        await remove(d, id);
      }
    });
  }

  test('a max-size past any byte count is refused at create, not at every start', async () => {
    const r = await d.request('POST', '/containers/create', { Image: 'busybox', Cmd: ['true'], HostConfig: { LogConfig: { Type: 'json-file', Config: { 'max-size': `${'9'.repeat(300)}p`, 'max-file': '2' } } } });
    assert.equal(r.status, 400, r.text);
    assert.match(r.text, /out of range/);
  });
});
