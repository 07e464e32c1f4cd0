/**
 * `network create/ls/inspect/connect/disconnect/rm/prune` through both
 * CLIs: berth's own and the real docker CLI (Docker 28) against berthd.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startDaemon, skipUnlessRoot, skipWithoutDocker, type Daemon, type RunOptions, type RunResult } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';

describe('network commands of both CLIs', { skip: skipUnlessRoot() }, () => {
  let d!: Daemon;
  before(async () => { d = await startDaemon(); await importBusybox(d); }, { timeout: 120_000 });
  after(async () => { await d?.stop(); });

  const clis: [string, (args: string[], o?: RunOptions) => Promise<RunResult>, string | false][] = [
    ['berth', (a, o) => d.berth(a, o), false],
    ['docker', (a, o) => d.docker(a, o), skipWithoutDocker()],
  ];

  for (const [name, cli, skip] of clis) {
    test(`${name}: network create, ls, inspect, connect, disconnect, rm`, { skip }, async () => {
      const ok = async (args: string[]) => {
        const r = await cli(args);
        assert.equal(r.code, 0, `${name} ${args.join(' ')}: ${r.stderr}`);
        return r.stdout;
      };
      const net = `cli-${name}`;
      const subnet = d.net.userSubnet(name === 'berth' ? 10 : 11);
      const ctr = `cli-${name}-c`;
      try {
        const id = (await ok(['network', 'create', '--subnet', subnet, '--label', `by=${name}`, net])).trim();
        assert.match(id, /^[0-9a-f]{64}$/);
        const table = await ok(['network', 'ls']);
        assert.match(table.split('\n')[0], /^NETWORK ID\s+NAME\s+DRIVER\s+SCOPE$/);
        assert.match(table, new RegExp(`^${id.slice(0, 12)}\\s+${net}\\s+bridge\\s+local$`, 'm'));
        const rows = (await ok(['network', 'ls', '--format', 'json'])).trim().split('\n').map((l) => JSON.parse(l) as { Name: string; Driver: string; ID: string });
        assert.deepEqual(rows.map((r) => r.Name).sort(), ['bridge', 'host', net, 'none'].sort());
        assert.equal(rows.find((r) => r.Name === net)?.ID, id.slice(0, 12));
        assert.equal((await ok(['network', 'ls', '-q', '--filter', `label=by=${name}`])).trim(), id.slice(0, 12));
        assert.equal((await ok(['network', 'inspect', '-f', '{{range .IPAM.Config}}{{.Subnet}}{{end}} {{.Driver}}', net])).trim(), `${subnet} bridge`);

        await ok(['run', '-d', '--name', ctr, 'busybox', 'sleep', '300']);
        await ok(['network', 'connect', '--alias', 'extra', net, ctr]);
        const addrs = await ok(['exec', ctr, 'ip', '-o', '-4', 'addr']);
        assert.match(addrs, new RegExp(`eth1\\s+inet ${subnet.replace(/0\/24$/, '')}\\d+/24`));
        const nets = JSON.parse(await ok(['inspect', '-f', '{{json .NetworkSettings.Networks}}', ctr])) as Record<string, { Aliases: string[] | null; IPAddress: string }>;
        assert.deepEqual(Object.keys(nets).sort(), ['bridge', net]);
        assert.deepEqual(nets[net].Aliases, ['extra']);
        const again = await cli(['network', 'connect', net, ctr]);
        assert.notEqual(again.code, 0);
        assert.match(again.stderr, new RegExp(`endpoint with name ${ctr} already exists in network ${net}`));
        const members = await ok(['network', 'inspect', '-f', '{{range .Containers}}{{.Name}}{{end}}', net]);
        assert.equal(members.trim(), ctr);
        // As in dockerd, the container's /etc/hosts names it at its new address too, until it disconnects.
        const hostname = (await ok(['inspect', '-f', '{{.Config.Hostname}}', ctr])).trim();
        const newLine = new RegExp(`^${nets[net].IPAddress.replace(/\./g, '\\.')}\t${hostname}$`, 'm');
        assert.match(await ok(['exec', ctr, 'cat', '/etc/hosts']), newLine);

        await ok(['network', 'disconnect', net, ctr]);
        assert.doesNotMatch(await ok(['exec', ctr, 'ip', '-o', '-4', 'addr']), /eth1/);
        const after = await ok(['exec', ctr, 'cat', '/etc/hosts']);
        assert.doesNotMatch(after, newLine);
        assert.match(after, new RegExp(`^${nets.bridge.IPAddress.replace(/\./g, '\\.')}\t${hostname}$`, 'm'));

        assert.equal((await ok(['network', 'rm', net])).trim(), net);
        const gone = await cli(['network', 'inspect', net]);
        assert.notEqual(gone.code, 0);
        assert.match(gone.stderr, new RegExp(`network ${net} not found|No such network: ${net}`));
      } finally {
        await cli(['rm', '-f', ctr]);
        await cli(['network', 'rm', net]);
      }
    });

    test(`${name}: network prune removes unused networks`, { skip }, async () => {
      const r1 = await cli(['network', 'create', `prune-${name}`]);
      assert.equal(r1.code, 0, r1.stderr);
      const r = await cli(['network', 'prune', '-f']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`Deleted Networks:\\nprune-${name}\\n`));
      const ls = await cli(['network', 'ls', '--format', '{{.Name}}']);
      assert.deepEqual(ls.stdout.trim().split('\n').sort(), ['bridge', 'host', 'none']);
    });
  }

  test('berth: rm of a predefined network fails with Docker\'s message', async () => {
    const r = await d.berth(['network', 'rm', 'bridge']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /bridge is a pre-defined network and cannot be removed/);
  });
});
