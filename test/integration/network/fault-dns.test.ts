/**
 * `berth fault dns CONTAINER NAME…`: the container's lookups of those names
 * go unanswered — its queries to the embedded DNS are lost on the wire, so
 * the lookup times out without a local error — while other names resolve
 * and the peer stays reachable by address.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startDaemon, skipUnlessRoot, type Daemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';

describe('DNS failure for a name', { skip: skipUnlessRoot() }, () => {
  let d!: Daemon;

  const berth = async (args: string[]) => {
    const r = await d.berth(args);
    assert.equal(r.code, 0, `berth ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  /** busybox nslookup through the container's resolver (the embedded DNS), given 3 s. */
  const lookup = async (from: string, name: string) => (await d.berth(['exec', from, 'sh', '-c', `timeout 3 nslookup ${name} 2>&1; echo "exit=$?"`])).stdout;

  before(async () => {
    d = await startDaemon();
    await importBusybox(d);
    await berth(['network', 'create', 'dnsnet']);
    for (const name of ['na', 'nb', 'nc']) await berth(['run', '-d', '--name', name, '--network', 'dnsnet', 'busybox', 'sleep', '600']);
  }, { timeout: 120_000 });

  after(async () => {
    await d?.request('DELETE', '/faults');
    await d?.berth(['rm', '-f', 'na', 'nb', 'nc']);
    await d?.berth(['network', 'rm', 'dnsnet']);
    await d?.stop();
  });

  test('lookups of the named container time out; other names still resolve; rm restores them', async () => {
    const nbIp = (await berth(['inspect', '-f', '{{.NetworkSettings.Networks.dnsnet.IPAddress}}', 'nb'])).trim();
    assert.match(await lookup('na', 'nb'), new RegExp(`Address: ${nbIp.replace(/\./g, '\\.')}[^]*exit=0\\n$`), 'the probe resolves without a fault');
    const id = (await berth(['fault', 'dns', 'na', 'NB'])).trim();
    try {
      assert.match(await berth(['fault', 'ls', 'na']), /dns +no answer for nb/);
      const lost = await lookup('na', 'nb');
      assert.doesNotMatch(lost, /Address: /, lost);
      assert.doesNotMatch(lost, /not permitted|unreachable/i, 'no local error');
      assert.doesNotMatch(lost, /exit=0/);
      assert.match(await lookup('na', 'nc'), /Address: [^]*exit=0\n$/, 'another name resolves');
      assert.match(await lookup('nc', 'nb'), /Address: [^]*exit=0\n$/, 'another container resolves nb');
      assert.equal((await d.berth(['exec', 'na', 'ping', '-c', '1', '-W', '1', nbIp])).code, 0, 'nb is reachable by address');
    } finally {
      await berth(['fault', 'rm', id]);
    }
    assert.match(await lookup('na', 'nb'), /Address: [^]*exit=0\n$/);
  });
});
