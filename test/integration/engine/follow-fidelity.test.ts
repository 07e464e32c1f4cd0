/**
 * What dockerd shows and does that berth did differently (issue 10's
 * follow-ups): a legacy link child's link names in ps's Names; a restart
 * back-off inspected as Running and Restarting (container/state.go
 * SetRestarting); SizeRw/SizeRootFs of list ?size=1 and system df from the
 * one size walker; an endpoint's Links on the default bridge kept (no 501)
 * and inert; start-up restarts with link children first and only of
 * containers that ran (daemon.go restore); log max-size in 1000s with
 * go-units' syntax and the local driver's 20 MiB × 5 defaults.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon, skipUnlessRoot, waitFor, type Daemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';
import { createContainer, inspect, remove, start, waitExit } from './api.js';

describe('dockerd fidelity follow-ups', { skip: skipUnlessRoot() }, () => {
  let d!: Daemon;
  const made: string[] = [];
  before(async () => { d = await startDaemon(); await importBusybox(d); }, { timeout: 120_000 });
  after(async () => {
    try {
      for (const id of made.reverse()) await remove(d, id).catch(() => undefined);
    } finally {
      await d?.stop();
    }
  });

  async function make(name: string, body: Record<string, unknown>): Promise<string> {
    const id = await createContainer(d, body, name);
    made.push(id);
    return id;
  }

  async function list(query: string): Promise<any[]> {
    const r = await d.request('GET', `/containers/json?${query}`);
    assert.equal(r.status, 200, r.text);
    return r.json();
  }

  /** The argv of the conmon watching container `id`. */
  function conmonArgv(id: string): string[] {
    const pid = Number(readFileSync(join(d.execRoot, 'c', id, 'conmon.pid'), 'utf8').trim());
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  }

  test('ps lists a link child under its link names too, in name order', async () => {
    const db = await make('fl-db', { Cmd: ['sleep', '600'] });
    await make('fl-app', { Cmd: ['true'], HostConfig: { Links: ['fl-db:db', 'fl-db:zz'] } });
    const row = (await list('all=1')).find((c) => c.Id === db);
    assert.deepEqual(row.Names, ['/fl-app/db', '/fl-app/zz', '/fl-db']);
    // docker ps shows the plain name; --no-trunc all of them.
    const r = await d.docker(['ps', '-a', '--no-trunc', '--filter', `id=${db}`, '--format', '{{.Names}}']);
    assert.equal(r.stdout.trim(), 'fl-app/db,fl-app/zz,fl-db', r.stderr);
  });

  test('inspect shows a restart back-off as running and restarting', async () => {
    const id = await make('fl-backoff', { Cmd: ['sh', '-c', 'exit 3'], HostConfig: { RestartPolicy: { Name: 'always' } } });
    await start(d, id);
    const state = await waitFor(async () => {
      const s = (await inspect(d, id)).State;
      return s.Restarting ? s : undefined;
    }, 30_000, 'a restart back-off', 10);
    assert.equal(state.Status, 'restarting');
    assert.equal(state.Running, true);
    assert.equal(state.Paused, false);
    assert.equal(state.Pid, 0);
    assert.equal(state.ExitCode, 3);
    const r = await d.request('POST', `/containers/${id}/stop`);
    assert.ok(r.status === 204 || r.status === 304, r.text);
    await waitFor(async () => !(await inspect(d, id)).State.Running, 20_000, 'the stop');
  });

  test('list ?size=1 and system df report the writable layer as inspect ?size=1 does', async () => {
    const id = await make('fl-size', { Cmd: ['sh', '-c', 'head -c 123456 /dev/zero > /big'] });
    await start(d, id);
    assert.equal(await waitExit(d, id), 0);
    const r = await d.request('GET', `/containers/${id}/json?size=1`);
    const { SizeRw, SizeRootFs } = r.json();
    assert.ok(SizeRw >= 123456, `SizeRw ${SizeRw}`);
    const image = (await d.request('GET', '/images/busybox/json')).json();
    assert.equal(SizeRootFs, SizeRw + image.Size);

    const row = (await list('all=1&size=1')).find((c) => c.Id === id);
    assert.equal(row.SizeRw, SizeRw);
    assert.equal(row.SizeRootFs, SizeRootFs);
    const plain = (await list('all=1')).find((c) => c.Id === id);
    assert.equal(plain.SizeRw, undefined, 'no size unless asked');

    const df = (await d.request('GET', '/system/df')).json();
    const dfRow = df.Containers.find((c: any) => c.Id === id);
    assert.equal(dfRow.SizeRw, SizeRw);
    assert.equal(dfRow.SizeRootFs, SizeRootFs);
    assert.deepEqual(dfRow.Names, ['/fl-size']);
    assert.ok(Array.isArray(dfRow.Mounts) && dfRow.NetworkSettings, 'df rows are ps rows');
  });

  test('an endpoint\'s Links on the default bridge are kept, shown, and change nothing', async () => {
    const target = await make('fl-target', { Cmd: ['sleep', '600'] });
    await start(d, target);
    const id = await make('fl-eplinks', {
      Cmd: ['cat', '/etc/hosts'],
      HostConfig: { NetworkMode: 'bridge' },
      NetworkingConfig: { EndpointsConfig: { bridge: { Links: ['fl-target:tgt'] } } },
    });
    assert.deepEqual((await inspect(d, id)).NetworkSettings.Networks.bridge.Links, ['fl-target:tgt']);
    await start(d, id);
    assert.equal(await waitExit(d, id), 0);
    const hosts = (await d.docker(['logs', id])).stdout;
    assert.doesNotMatch(hosts, /\btgt\b/, 'no DNS on the default bridge for an endpoint link to answer by');
  });

  test('log max-size counts in 1000s with go-units syntax; local defaults to 20 MiB files', async () => {
    const sized = await make('fl-logsize', { Cmd: ['sleep', '600'], HostConfig: { LogConfig: { Type: 'json-file', Config: { 'max-size': '1.5k', 'max-file': '2' } } } });
    await start(d, sized);
    const argv = conmonArgv(sized);
    assert.equal(argv[argv.indexOf('--log-size-max') + 1], '1500');
    const spaced = await make('fl-logspace', { Cmd: ['sleep', '600'], HostConfig: { LogConfig: { Type: 'json-file', Config: { 'max-size': '10 m' } } } });
    await start(d, spaced);
    const argv2 = conmonArgv(spaced);
    assert.equal(argv2[argv2.indexOf('--log-size-max') + 1], '10000000');
    const local = await make('fl-loglocal', { Cmd: ['sleep', '600'], HostConfig: { LogConfig: { Type: 'local', Config: {} } } });
    await start(d, local);
    const argv3 = conmonArgv(local);
    assert.equal(argv3[argv3.indexOf('--log-size-max') + 1], String(20 * 1024 * 1024));
    // local compresses by default, which one file cannot (dockerd's words).
    const r = await d.request('POST', '/containers/create', { Image: 'busybox', HostConfig: { LogConfig: { Type: 'local', Config: { 'max-file': '1' } } } });
    assert.equal(r.status, 400, r.text);
    assert.match(r.json().message, /compression cannot be enabled when max file count is 1/);
  });

  test('berthd\'s start-up restarts link children before their parents, and only containers that ran', async () => {
    // The parent is made (and listed) first: the child's name sorts after it too.
    const child = await make('fl-zchild', { Cmd: ['sleep', '600'], HostConfig: { RestartPolicy: { Name: 'always' } } });
    const parent = await make('fl-parent', { Cmd: ['sleep', '600'], HostConfig: { Links: ['fl-zchild:db'], RestartPolicy: { Name: 'always' } } });
    const never = await make('fl-never', { Cmd: ['sleep', '600'], HostConfig: { RestartPolicy: { Name: 'always' } } });
    // Stopped by hand: `always` comes back when the daemon starts (Docker's documented rule), `unless-stopped` does not.
    const always = await make('fl-always', { Cmd: ['sleep', '600'], StopTimeout: 1, HostConfig: { RestartPolicy: { Name: 'always' } } });
    const unless = await make('fl-unless', { Cmd: ['sleep', '600'], StopTimeout: 1, HostConfig: { RestartPolicy: { Name: 'unless-stopped' } } });
    for (const id of [always, unless]) {
      await start(d, id);
      assert.equal((await d.request('POST', `/containers/${id}/stop?t=0`)).status, 204);
    }
    await start(d, child);
    await start(d, parent);
    const pids = [(await inspect(d, parent)).State.Pid, (await inspect(d, child)).State.Pid];
    // Both die while berthd is away: conmon records the exits.
    await d.kill9();
    for (const pid of pids) process.kill(pid, 'SIGKILL');
    await waitFor(() => [parent, child].every((id) => existsSync(join(d.execRoot, 'exits', id))), 20_000, 'the exit files');
    await d.restart();
    for (const id of [child, parent, always]) {
      await waitFor(async () => (await inspect(d, id)).State.Status === 'running', 20_000, `${id} restarted`);
    }
    const hosts = await d.berth(['exec', parent, 'cat', '/etc/hosts']);
    assert.match(hosts.stdout, /\tdb /, hosts.stdout);
    assert.equal((await inspect(d, never)).State.Status, 'created', 'a container that never ran is not started');
    assert.equal((await inspect(d, unless)).State.Status, 'exited', 'unless-stopped stays stopped');
  });
});
