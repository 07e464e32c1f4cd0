/**
 * `--network container:<a>`: the joining container gets copies of a's
 * /etc/hosts and /etc/resolv.conf, read by berthd from a's directory. Those
 * files are a's to write: a sparse `truncate -s 64M /etc/hosts` (no disk)
 * made berthd read all of it into memory, twice over as text, and write it
 * out again — up to the 2 GiB a read allows, once for every container that
 * joins. The copy is read bounded (1 MiB, as a hosts file's edits are) and
 * a bigger file refuses the join instead.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { skipUnlessRoot, startDaemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';

test('joining a container whose /etc/hosts it made huge is refused, not copied', { skip: skipUnlessRoot(), timeout: 180_000 }, async (t) => {
  const d = await startDaemon();
  t.after(() => d.stop());
  await importBusybox(d);
  const a = await d.docker(['run', '-d', '--name', 'net-owner', 'busybox', 'sleep', '600']);
  assert.equal(a.code, 0, a.stderr);

  // An ordinary join still gets a's files.
  const ok = await d.docker(['run', '--rm', '--network', 'container:net-owner', 'busybox', 'cat', '/etc/hosts']);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /localhost/);

  const grow = await d.docker(['exec', 'net-owner', 'truncate', '-s', '64M', '/etc/hosts']);
  assert.equal(grow.code, 0, grow.stderr);
  const joined = await d.docker(['run', '--rm', '--network', 'container:net-owner', 'busybox', 'stat', '-c', '%s', '/etc/hosts']);
  assert.notEqual(joined.code, 0, `the join copied a ${joined.stdout.trim()}-byte /etc/hosts`);
  assert.match(joined.stderr, /hosts.*larger than/);

  const rm = await d.docker(['rm', '-f', 'net-owner']);
  assert.equal(rm.code, 0, rm.stderr);
});

test('connecting a container whose /etc/hosts it made huge leaves the file unread', { skip: skipUnlessRoot(), timeout: 180_000 }, async (t) => {
  const d = await startDaemon();
  t.after(() => d.stop());
  await importBusybox(d);
  const c = await d.docker(['run', '-d', '--name', 'grown', 'busybox', 'sleep', '600']);
  assert.equal(c.code, 0, c.stderr);
  const grow = await d.docker(['exec', 'grown', 'truncate', '-s', '64M', '/etc/hosts']);
  assert.equal(grow.code, 0, grow.stderr);
  const n = await d.docker(['network', 'create', 'grown-net']);
  assert.equal(n.code, 0, n.stderr);
  const connect = await d.docker(['network', 'connect', 'grown-net', 'grown']);
  assert.equal(connect.code, 0, connect.stderr);
  // berthd read the whole file and wrote it back with the new address appended (64 MiB of memory and disk).
  const size = await d.docker(['exec', 'grown', 'stat', '-c', '%s', '/etc/hosts']);
  assert.equal(size.stdout.trim(), String(64 << 20));
  assert.equal((await d.docker(['rm', '-f', 'grown'])).code, 0);
  assert.equal((await d.docker(['network', 'rm', 'grown-net'])).code, 0);
});
