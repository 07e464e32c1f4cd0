/**
 * Networking survives berthd: containers that keep running under conmon
 * while berthd is killed or restarted keep their addresses, names and
 * published ports; a restarted berthd still holds those ports, tears the
 * sandboxes down when the containers go, and cleans up after one that
 * exited while it was away.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { startDaemon, skipUnlessRoot, skipWithoutDocker, isClean, formatLeftovers, waitFor, type Daemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';
import { fetchText, freePort } from './net-helpers.js';

describe('networking across berthd restarts', { skip: skipUnlessRoot() || skipWithoutDocker() }, () => {
  let d!: Daemon;
  before(async () => { d = await startDaemon(); await importBusybox(d); }, { timeout: 120_000 });
  after(async () => { await d?.stop(); });

  const docker = async (args: string[]) => {
    const r = await d.docker(args);
    assert.equal(r.code, 0, `docker ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };

  test('kill -9 and restart: addresses, names and ports still work, and teardown is clean later', async () => {
    const port = await freePort();
    try {
      await docker(['network', 'create', 'keepnet']);
      await docker(['run', '-d', '--name', 'kept', '--network', 'keepnet', '-p', `${port}:80`, 'busybox', 'sh', '-c', 'mkdir /w; echo kept > /w/index.html; exec httpd -f -p 80 -h /w']);
      const ip = (await docker(['inspect', '-f', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}', 'kept'])).trim();
      assert.equal((await fetchText('127.0.0.1', port)).trim(), 'kept');

      await d.kill9();
      await d.restart();

      assert.equal((await fetchText('127.0.0.1', port)).trim(), 'kept');
      assert.equal((await docker(['inspect', '-f', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}', 'kept'])).trim(), ip);
      assert.equal((await docker(['port', 'kept', '80'])).trim(), `0.0.0.0:${port}`);
      assert.equal((await docker(['run', '--rm', '--network', 'keepnet', 'busybox', 'wget', '-qO-', 'http://kept/'])).trim(), 'kept');
      // The restarted berthd holds the port again: another container cannot take it.
      const r = await d.docker(['run', '--rm', '-p', `${port}:80`, 'busybox', 'true']);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /port is already allocated/);
      // A new container does not get the kept one's address.
      const other = (await docker(['run', '--rm', '--network', 'keepnet', 'busybox', 'sh', '-c', 'ip -o -4 addr show eth0'])).trim();
      assert.doesNotMatch(other, new RegExp(`inet ${ip.replace(/\./g, '\\.')}/`));

      await d.restart(); // a graceful restart as well
      assert.equal((await fetchText('127.0.0.1', port)).trim(), 'kept');
    } finally {
      await d.docker(['rm', '-f', 'kept']);
      await d.docker(['network', 'rm', 'keepnet']);
    }
    await waitFor(async () => isClean(await d.leftovers()), 10_000).catch(() => undefined);
    const left = await d.leftovers();
    assert.ok(isClean(left), `left behind:\n${formatLeftovers(left)}`);
  });

  test('a container that exits while berthd is away has its network torn down at restart', async () => {
    try {
      await docker(['run', '-d', '--name', 'brief', '-p', '80', 'busybox', 'sleep', '2']);
      const id = (await docker(['inspect', '-f', '{{.Id}}', 'brief'])).trim();
      const netns = `/run/netns/berth-${id.slice(0, 12)}`;
      assert.ok(existsSync(netns));
      await d.kill9();
      await new Promise((r) => setTimeout(r, 3000));
      await d.restart();
      assert.equal((await docker(['inspect', '-f', '{{.State.Status}}', 'brief'])).trim(), 'exited');
      assert.ok(!existsSync(netns), `${netns} should be gone`);
      const left = await d.leftovers();
      assert.ok(left.netns.length === 0 && left.iptables.length === 0 && left.links.length === 0, formatLeftovers(left));
      // It starts again with a fresh sandbox.
      await docker(['start', 'brief']);
      assert.ok(existsSync(netns));
    } finally {
      await d.docker(['rm', '-f', 'brief']);
    }
  });
});
