/**
 * `berthd --userns-remap default` through a private berthd, the real runc
 * and the Docker CLI: container root is the `berth` user's first subuid on
 * the host (a file it writes in a bind mount or a volume belongs to it),
 * `/proc/self/uid_map` shows the mapping, `--userns=host` opts out, two
 * containers share the image's layers through idmapped mounts (no copy),
 * the chowned-copies fallback works, a commit writes owners as the
 * container saw them, and dockerd's refusals and start-up check hold.
 *
 * The test creates the `berth` remap user when it is missing (as berthd
 * does) and removes it again afterwards (userdel drops its subordinate
 * ranges); one that existed before is left alone.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, chmodSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon, type Daemon } from '../../helpers/daemon.js';
import { lockHostUsers } from '../../helpers/host-users-lock.js';
import { importBusybox } from '../../helpers/busybox.js';
import { Readable } from 'node:stream';
import { readTar } from '../../../src/image/tar-format.js';

function userExists(name: string): boolean {
  try { execFileSync('id', ['-u', name], { stdio: 'pipe' }); return true; } catch { return false; }
}

/** The first range of `name` in /etc/subuid or /etc/subgid. */
function firstRange(file: string, name: string): { start: number; count: number } {
  const line = readFileSync(file, 'utf8').split('\n').find((l) => l.split(':')[0] === name);
  assert.ok(line, `${name} has a range in ${file}`);
  const [, start, count] = line.split(':');
  return { start: Number(start), count: Number(count) };
}

/** Maps as the kernel prints them, blanks squeezed: "0 100000 65536". */
function squeeze(text: string): string[] {
  return text.trim().split('\n').map((l) => l.trim().split(/\s+/).join(' '));
}

async function ok(d: Daemon, args: string[]): Promise<string> {
  const r = await d.berth(args);
  assert.equal(r.code, 0, `berth ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

const hadRemapUser = userExists('berth');

test('--userns-remap default', async (t) => {
  // berthd adds the `berth` user: no fuzzer may fingerprint the host's users meanwhile (t.after runs last-in first, so the lock goes after userdel).
  t.after(await lockHostUsers());
  t.after(() => {
    if (!hadRemapUser && userExists('berth')) execFileSync('userdel', ['berth'], { stdio: 'pipe' });
  });
  const d = await startDaemon({ runtime: 'runc', args: ['--userns-remap', 'default'], traversableRoots: true });
  t.after(() => d.stop());
  await importBusybox(d);
  const sub = firstRange('/etc/subuid', 'berth');
  const subg = firstRange('/etc/subgid', 'berth');
  assert.equal(sub.count, 65536);

  await t.test('berthd created the berth user with a range in /etc/subuid and /etc/subgid', () => {
    assert.ok(userExists('berth'));
    assert.ok(sub.start >= 100000 && subg.start >= 100000);
  });

  await t.test('docker info lists name=userns among the security options', async () => {
    const r = await d.docker(['info', '--format', '{{json .SecurityOptions}}']);
    assert.equal(r.code, 0, r.stderr);
    assert.ok((JSON.parse(r.stdout) as string[]).includes('name=userns'), r.stdout);
  });

  await t.test('/proc/self/uid_map and gid_map show the subordinate ranges (runc and crun)', async () => {
    for (const runtime of ['runc', 'crun']) {
      const out = await ok(d, ['run', '--rm', '--runtime', runtime, 'busybox', 'sh', '-c', 'cat /proc/self/uid_map /proc/self/gid_map; id -u']);
      assert.deepEqual(squeeze(out), [`0 ${sub.start} 65536`, `0 ${subg.start} 65536`, '0'], runtime);
    }
  });

  await t.test('a file root writes in a bind mount belongs to the first subuid on the host', async (st) => {
    const dir = mkdtempSync('/tmp/berth-userns-bind-');
    st.after(() => rmSync(dir, { recursive: true, force: true }));
    chmodSync(dir, 0o777);
    await ok(d, ['run', '--rm', '-v', `${dir}:/data`, 'busybox', 'sh', '-c', 'echo hi > /data/f && mkdir /data/sub']);
    const fst = statSync(join(dir, 'f'));
    assert.deepEqual([fst.uid, fst.gid], [sub.start, subg.start]);
    assert.equal(statSync(join(dir, 'sub')).uid, sub.start);
    // A host file owned by root shows as the overflow ID inside, and root there cannot change it.
    execFileSync('sh', ['-c', `echo host > ${dir}/hostfile && chmod 644 ${dir}/hostfile`]);
    const r = await d.berth(['run', '--rm', '-v', `${dir}:/data`, 'busybox', 'sh', '-c', 'stat -c %u /data/hostfile; echo x >> /data/hostfile']);
    assert.notEqual(r.code, 0, 'container root could write a host root file');
    assert.equal(r.stdout.trim(), '65534');
    assert.equal(readFileSync(join(dir, 'hostfile'), 'utf8'), 'host\n');
  });

  await t.test('a new named volume is container root\'s, its files the subuid\'s on the host', async () => {
    await ok(d, ['run', '--rm', '-v', 'uvol:/v', 'busybox', 'touch', '/v/x']);
    const data = join(d.dataRoot, 'volumes', 'uvol', '_data');
    assert.equal(statSync(data).uid, sub.start);
    assert.equal(statSync(join(data, 'x')).uid, sub.start);
    await ok(d, ['volume', 'rm', 'uvol']);
  });

  await t.test('--userns=host runs on the host\'s user namespace (identity map, root is root)', async (st) => {
    const dir = mkdtempSync('/tmp/berth-userns-host-');
    st.after(() => rmSync(dir, { recursive: true, force: true }));
    const out = await ok(d, ['run', '--rm', '--userns=host', '-v', `${dir}:/data`, 'busybox', 'sh', '-c', 'cat /proc/self/uid_map; touch /data/f']);
    assert.deepEqual(squeeze(out), ['0 0 4294967295']);
    assert.equal(statSync(join(dir, 'f')).uid, 0);
    // The host's namespace admits what a remapped container may not.
    await ok(d, ['run', '--rm', '--userns=host', '--privileged', 'busybox', 'true']);
  });

  await t.test('two containers of one image share its layers without copies (idmapped mounts)', async (st) => {
    const a = (await ok(d, ['run', '-d', 'busybox', 'sleep', '300'])).trim();
    const b = (await ok(d, ['run', '-d', 'busybox', 'sleep', '300'])).trim();
    st.after(async () => { await d.berth(['rm', '-f', a, b]); });
    for (const id of [a, b]) {
      const out = await ok(d, ['exec', id, 'sh', '-c', 'stat -c %u:%g /bin/busybox; touch /bin/new && stat -c %u /bin/new']);
      assert.deepEqual(squeeze(out), ['0:0', '0']);
    }
    assert.equal(existsSync(join(d.dataRoot, 'remapped')), false, 'no chowned copy of a layer was made');
    // The layer on disk is unchanged (owned by container IDs); each container's own change is its own.
    const layers = readdirSync(join(d.dataRoot, 'layers'));
    assert.ok(layers.length >= 1);
    for (const l of layers) assert.equal(statSync(join(d.dataRoot, 'layers', l, 'diff', 'bin', 'busybox')).uid, 0);
    for (const id of [a, b]) assert.equal(statSync(join(d.dataRoot, 'containers', id, 'upper', 'bin', 'new')).uid, sub.start);
  });

  await t.test('a commit writes owners as the container saw them', async (st) => {
    await ok(d, ['run', '--name', 'maker', 'busybox', 'sh', '-c', 'touch /made && chown 1000:1000 /made && touch /root-made']);
    st.after(async () => { await d.berth(['rm', '-f', 'maker']); await d.berth(['rmi', '-f', 'userns-commit']); });
    await ok(d, ['commit', 'maker', 'userns-commit']);
    const out = await ok(d, ['run', '--rm', '--userns=host', 'userns-commit', 'stat', '-c', '%u:%g', '/made', '/root-made']);
    assert.deepEqual(squeeze(out), ['1000:1000', '0:0']);
  });

  await t.test('a build step runs remapped and its layer has the owners the step saw', async (st) => {
    const ctx = mkdtempSync('/tmp/berth-userns-build-');
    st.after(async () => { rmSync(ctx, { recursive: true, force: true }); await d.berth(['rmi', '-f', 'userns-built']); });
    writeFileSync(join(ctx, 'Dockerfile'), 'FROM busybox\nRUN cat /proc/self/uid_map > /map && touch /built && chown 7:7 /built\n');
    await ok(d, ['build', '-q', '-t', 'userns-built', ctx]);
    const out = await ok(d, ['run', '--rm', '--userns=host', 'userns-built', 'sh', '-c', 'cat /map; stat -c %u:%g /built /map']);
    assert.deepEqual(squeeze(out), [`0 ${sub.start} 65536`, '7:7', '0:0']);
  });

  await t.test('cp and export carry owners as the container sees them', async (st) => {
    await ok(d, ['run', '-d', '--name', 'cpbox', 'busybox', 'sh', '-c', 'touch /made && chown 1000:1000 /made && sleep 300']);
    st.after(async () => { await d.berth(['rm', '-f', 'cpbox']); });
    const dir = mkdtempSync('/tmp/berth-userns-cp-');
    st.after(() => rmSync(dir, { recursive: true, force: true }));
    execFileSync('sh', ['-c', `echo in > ${dir}/in && chown 0:0 ${dir}/in`]);
    await ok(d, ['cp', join(dir, 'in'), 'cpbox:/in']);
    assert.deepEqual(squeeze(await ok(d, ['exec', 'cpbox', 'stat', '-c', '%u:%g', '/in'])), ['0:0']);
    const id = (await d.request('GET', '/containers/cpbox/json')).json<{ Id: string }>().Id;
    assert.equal(statSync(join(d.dataRoot, 'containers', id, 'upper', 'in')).uid, sub.start);
    const owners = async (path: string, want: string[]) => {
      const res = await d.request('GET', path, undefined, { timeoutMs: 60_000 });
      assert.equal(res.status, 200, res.text.slice(0, 200));
      const seen = new Map<string, string>();
      for await (const e of readTar(Readable.from([res.body]))) {
        seen.set(e.header.name.replace(/^\.?\//, ''), `${e.header.uid}:${e.header.gid}`);
        for await (const _ of e.body) { /* drain */ }
      }
      return want.map((n) => seen.get(n));
    };
    assert.deepEqual(await owners('/containers/cpbox/archive?path=/made', ['made']), ['1000:1000']);
    assert.deepEqual(await owners('/containers/cpbox/export', ['made', 'in', 'bin/busybox']), ['1000:1000', '0:0', '0:0']);
  });

  await t.test('dockerd\'s refusals: --privileged, --network host, --pid host; an unknown --userns mode', async () => {
    for (const [args, msg] of [
      [['--privileged'], /privileged mode is incompatible with user namespaces/],
      [['--network', 'host'], /cannot share the host's network namespace when user namespaces are enabled/],
      [['--pid', 'host'], /cannot share the host PID namespace when user namespaces are enabled/],
    ] as const) {
      const r = await d.docker(['create', ...args, 'busybox']);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, msg);
    }
    const bad = await d.request('POST', '/containers/create', { Image: 'busybox', HostConfig: { UsernsMode: 'bogus' } });
    assert.equal(bad.status, 400, bad.text);
    assert.match(bad.text, /--userns: invalid USER mode/);
    const list = (await d.request('GET', '/containers/json?all=1')).json<unknown[]>();
    assert.equal(list.length, 0, 'a refused create leaves no container');
  });
});

test('--userns-remap with chowned layer copies where idmapped mounts are not used', async (t) => {
  // berthd adds the `berth` user: no fuzzer may fingerprint the host's users meanwhile (t.after runs last-in first, so the lock goes after userdel).
  t.after(await lockHostUsers());
  t.after(() => {
    if (!hadRemapUser && userExists('berth')) execFileSync('userdel', ['berth'], { stdio: 'pipe' });
  });
  const d = await startDaemon({
    runtime: 'runc', args: ['--userns-remap', 'default'], traversableRoots: true, env: { BERTH_USERNS_LAYER_COPIES: '1' },
  });
  t.after(() => d.stop());
  await importBusybox(d);
  const sub = firstRange('/etc/subuid', 'berth');
  const subg = firstRange('/etc/subgid', 'berth');
  const out = await ok(d, ['run', '--rm', 'busybox', 'sh', '-c', 'cat /proc/self/uid_map; stat -c %u:%g /bin/busybox']);
  assert.deepEqual(squeeze(out), [`0 ${sub.start} 65536`, '0:0']);
  const copies = join(d.dataRoot, 'remapped', `${sub.start}.${subg.start}`);
  const layers = readdirSync(copies);
  assert.equal(layers.length, 1);
  assert.equal(statSync(join(copies, layers[0], 'diff', 'bin', 'busybox')).uid, sub.start);
  // The shared layer itself is untouched; the copy goes with its image.
  assert.equal(statSync(join(d.dataRoot, 'layers', layers[0], 'diff', 'bin', 'busybox')).uid, 0);
  await ok(d, ['rmi', 'busybox']);
  assert.deepEqual(readdirSync(copies), []);
});

test('--userns-remap refuses a data root the remapped root cannot pass through', async (t) => {
  t.after(await lockHostUsers());
  await assert.rejects(
    startDaemon({ runtime: 'runc', args: ['--userns-remap', 'default'] }),
    /restricts access to the remapped root uid\/gid; please fix by allowing 'o\+x' permissions/,
  );
  if (!hadRemapUser && userExists('berth')) execFileSync('userdel', ['berth'], { stdio: 'pipe' });
});
