/**
 * Legacy links against a hostile parent: its /etc/hosts is the container's
 * to write, and berthd rewrites it when a linked child restarts. A parent
 * that grows the file past berthd's 1 MiB cap (or fills it with anything)
 * must not stop the child's restart nor disturb berthd, and the file is
 * then left as the parent made it. The child's environment reaches the
 * parent as values, newlines and '=' included.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startDaemon, skipUnlessRoot } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';
import { createContainer, inspect, remove, start } from '../engine/api.js';

test('a parent with a huge /etc/hosts neither blocks a linked child\'s restart nor is rewritten', { skip: skipUnlessRoot(), timeout: 180_000 }, async (t) => {
  const d = await startDaemon();
  t.after(() => d.stop());
  await importBusybox(d);
  const made: string[] = [];
  t.after(async () => { for (const id of made) await remove(d, id).catch(() => undefined); });

  const child = await createContainer(d, { Cmd: ['sleep', '600'], Env: ['MULTI=line1\nline2', 'EQ=a=b=c'] }, 'r2-child');
  made.push(child);
  await start(d, child);
  const parent = await createContainer(d, { Cmd: ['sleep', '600'], HostConfig: { Links: ['r2-child:kid'], NetworkMode: 'bridge' } }, 'r2-parent');
  made.push(parent);
  await start(d, parent);

  const env = (await d.berth(['exec', parent, 'sh', '-c', 'printf "%s|" "$KID_ENV_MULTI" "$KID_ENV_EQ"'], { timeoutMs: 20_000 }));
  assert.equal(env.code, 0, env.stderr);
  assert.equal(env.stdout, 'line1\nline2|a=b=c|');

  // 2 MiB of lines naming the alias, the kind of line a restart rewrites.
  const grow = await d.berth(['exec', parent, 'sh', '-c',
    'i=0; while [ $i -lt 65536 ]; do echo "9.9.9.9 kid x y z padding-padding"; i=$((i+1)); done >> /etc/hosts; wc -c < /etc/hosts; md5sum /etc/hosts'], { timeoutMs: 60_000 });
  assert.equal(grow.code, 0, grow.stderr);
  const [sizeLine, sumLine] = grow.stdout.trim().split('\n');
  assert.ok(Number(sizeLine) > 1024 * 1024, sizeLine);

  const restart = await d.request('POST', `/containers/${child}/restart?t=0`, undefined, { timeoutMs: 60_000 });
  assert.equal(restart.status, 204, restart.text);
  assert.equal((await inspect(d, child)).State.Running, true);
  assert.equal((await d.request('GET', '/_ping')).status, 200);
  const after = await d.berth(['exec', parent, 'md5sum', '/etc/hosts'], { timeoutMs: 20_000 });
  assert.equal(after.stdout.trim(), sumLine.trim(), 'the oversized file was left as the parent made it');
});
