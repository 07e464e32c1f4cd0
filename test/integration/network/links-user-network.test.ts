/**
 * `docker run --link target:alias` on a user-defined network, through the
 * real docker CLI. In dockerd the alias is the linking container's own name
 * for the target (its sandbox's embedded DNS answers it for that container
 * only) and it follows the target: a target that is down answers nothing, a
 * target back on another address answers with that one. Other containers on
 * the network never resolve the alias.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startDaemon, skipUnlessRoot, skipWithoutDocker, type Daemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';

/** busybox httpd serving `text` at / on port 80. */
const httpd = (text: string) => ['sh', '-c', `mkdir -p /www && echo ${text} > /www/index.html && exec httpd -f -p 80 -h /www`];

const escape = (ip: string) => ip.replace(/\./g, '\\.');

describe('link aliases on a user network belong to the linking container', { skip: skipUnlessRoot() || skipWithoutDocker() }, () => {
  let d!: Daemon;
  before(async () => {
    d = await startDaemon();
    await importBusybox(d);
  }, { timeout: 120_000 });
  after(async () => { await d?.stop(); });

  const docker = async (args: string[]) => {
    const r = await d.docker(args);
    assert.equal(r.code, 0, `docker ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const ipOf = async (name: string) => (await docker(['inspect', '-f', '{{.NetworkSettings.Networks.lnet.IPAddress}}', name])).trim();
  /** The address `name` resolves to inside `container` through its resolver (/etc/hosts, then DNS), or null. */
  const resolve = async (container: string, name: string): Promise<string | null> => {
    const r = await d.docker(['exec', container, 'ping', '-c', '1', '-W', '1', name]);
    const m = /^PING \S+ \(([0-9.]+)\)/m.exec(r.stdout);
    return m ? m[1] : null;
  };

  test('c1 --link tgt:db resolves db to tgt, c2 on the same network does not, and db follows tgt to a new address', async () => {
    try {
      await docker(['network', 'create', 'lnet']);
      await docker(['run', '-d', '--name', 'tgt', '--network', 'lnet', 'busybox', ...httpd('served-by-t')]);
      await docker(['run', '-d', '--name', 'c1', '--network', 'lnet', '--link', 'tgt:db', 'busybox', 'sleep', '600']);
      await docker(['run', '-d', '--name', 'c2', '--network', 'lnet', 'busybox', 'sleep', '600']);
      const first = await ipOf('tgt');

      assert.equal(await resolve('c1', 'db'), first);
      assert.equal((await docker(['exec', 'c1', 'wget', '-qO-', 'http://db/'])).trim(), 'served-by-t');
      // c2 shares the network but made no link: neither its resolver nor the network's DNS knows db.
      assert.equal(await resolve('c2', 'db'), null);
      const dns = await d.docker(['exec', 'c2', 'nslookup', 'db']);
      assert.doesNotMatch(dns.stdout, new RegExp(`Address: ${escape(first)}`), 'the network DNS answers db for a container that did not link');
      // The target's own name stays a network name for everyone.
      assert.equal(await resolve('c2', 'tgt'), first);

      // t goes down and a newcomer takes its address: db must not lead to the newcomer.
      await docker(['stop', '-t', '0', 'tgt']);
      await docker(['run', '-d', '--name', 'squatter', '--network', 'lnet', 'busybox', 'sleep', '600']);
      assert.equal(await ipOf('squatter'), first, 'the newcomer got the stopped target\'s address');
      assert.equal(await resolve('c1', 'db'), null);
      assert.doesNotMatch(await docker(['exec', 'c1', 'cat', '/etc/hosts']), /\tdb tgt$/m);

      // t back on another address: c1 reaches it by the alias again, c2 still does not know the alias.
      await docker(['start', 'tgt']);
      const moved = await ipOf('tgt');
      assert.notEqual(moved, first);
      assert.equal(await resolve('c1', 'db'), moved);
      assert.equal((await docker(['exec', 'c1', 'cat', '/etc/hosts'])).split('\n').filter((l) => l.endsWith('\tdb tgt')).length, 1);
      assert.equal((await docker(['exec', 'c1', 'wget', '-qO-', 'http://db/'])).trim(), 'served-by-t');
      assert.equal(await resolve('c2', 'db'), null);

      // Disconnected from the network the target is out of c1's reach by the alias; connected again, it is back.
      await docker(['network', 'disconnect', 'lnet', 'tgt']);
      assert.equal(await resolve('c1', 'db'), null);
      await docker(['network', 'connect', 'lnet', 'tgt']);
      assert.equal(await resolve('c1', 'db'), await ipOf('tgt'));
      assert.equal(await resolve('c2', 'db'), null);

      // The linker restarted finds its alias again.
      await docker(['restart', '-t', '0', 'c1']);
      assert.equal(await resolve('c1', 'db'), await ipOf('tgt'));
    } finally {
      await d.docker(['rm', '-f', 'tgt', 'c1', 'c2', 'squatter']);
      await d.docker(['network', 'rm', 'lnet']);
    }
  });

  test('a linker that leaves the network takes its alias lines along', async () => {
    try {
      await docker(['network', 'create', 'lnet']);
      await docker(['run', '-d', '--name', 'tgt', '--network', 'lnet', 'busybox', 'sleep', '600']);
      await docker(['run', '-d', '--name', 'c1', '--network', 'lnet', '--link', 'tgt:db', 'busybox', 'sleep', '600']);
      assert.equal(await resolve('c1', 'db'), await ipOf('tgt'));
      await docker(['network', 'connect', 'bridge', 'c1']);
      await docker(['network', 'disconnect', 'lnet', 'c1']);
      assert.equal(await resolve('c1', 'db'), null);
    } finally {
      await d.docker(['rm', '-f', 'tgt', 'c1']);
      await d.docker(['network', 'rm', 'lnet']);
    }
  });
});
