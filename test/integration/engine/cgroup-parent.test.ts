/**
 * `docker run --cgroup-parent` and build's `--cgroup-parent` against berthd
 * with the real docker CLI and runtimes: the container's processes are in
 * `<parent>/<id>` in every hierarchy (v1 controllers, or v2), its limits are
 * written there, stats, update, top, pause and a berthd restart find it, and
 * `rm` removes the container's own cgroup but not the parent. Parents that
 * would name a cgroup outside the hierarchy are refused with a 400. Every
 * container is removed in `finally`, and the parents the tests named are
 * removed after them.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { skipUnlessRoot, skipWithoutDocker, startDaemon, type Daemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';
import { cgroupExistsAnywhere, cgroupProcs, controllerDir, processHierarchies, removeCgroupTree } from '../../helpers/cgroup-dirs.js';
import { cgroupVersion } from '../../../src/runtime/cgroup-version.js';
import { apiBuild, writeContext } from '../build/build-helpers.js';
import { inspect } from './api.js';
import { buildxBuild, installBuildx, skipWithoutBuildx } from '../buildkit/buildx.js';

const MiB = 1024 * 1024;
const read = (path: string) => { try { return readFileSync(path, 'utf8').trim(); } catch { return ''; } };
const memoryLimit = (path: string) => read(join(controllerDir('memory', path), cgroupVersion() === 2 ? 'memory.max' : 'memory.limit_in_bytes'));
const pidsLimit = (path: string) => read(join(controllerDir('pids', path), 'pids.max'));
const frozen = (path: string) => cgroupVersion() === 2
  ? read(join(controllerDir('', path), 'cgroup.freeze')) === '1'
  : read(join(controllerDir('freezer', path), 'freezer.state')) === 'FROZEN';

describe('--cgroup-parent', { skip: skipUnlessRoot() || skipWithoutDocker() }, () => {
  let d!: Daemon;
  let dir!: string;
  /** Parents the tests name; each is removed (with anything left below it) at the end. */
  const parents: string[] = [];
  const parent = (what: string) => {
    const p = `/berth-test-cgp-${what}-${randomBytes(4).toString('hex')}`;
    parents.push(p);
    return p;
  };

  before(async () => {
    dir = await mkdtemp('/tmp/berth-test-cgroup-parent-');
    d = await startDaemon();
    await importBusybox(d);
    if (!skipWithoutBuildx()) await installBuildx(d);
  }, { timeout: 120_000 });
  after(async () => {
    const left = await d?.stop();
    for (const p of parents) removeCgroupTree(p);
    if (dir) await rm(dir, { recursive: true, force: true });
    if (left) assert.deepEqual(left.cgroups, [], 'berthd left cgroups behind');
  });

  async function stats(id: string): Promise<any> {
    const r = await d.request('GET', `/containers/${id}/stats?stream=0&one-shot=1`, undefined, { timeoutMs: 10_000 });
    assert.equal(r.status, 200, r.text);
    return r.json();
  }

  for (const runtime of ['runc', 'crun'] as const) {
    test(`${runtime}: the container's processes and limits are in <parent>/<id> in every hierarchy; stats, update, top, pause and a berthd restart find them; rm leaves the parent`, async () => {
      const p = parent(runtime);
      const r = await d.docker(['run', '-d', '--runtime', runtime, '--cgroup-parent', p, '--memory', '64m', '--memory-swap', '128m', 'busybox', 'sleep', '1000']);
      assert.equal(r.code, 0, r.stderr);
      const id = r.stdout.trim();
      const leaf = `${p}/${id}`;
      try {
        const c = await inspect(d, id);
        assert.equal(c.HostConfig.CgroupParent, p);
        const pid = c.State.Pid as number;
        for (const h of processHierarchies()) {
          assert.deepEqual(cgroupProcs(h, leaf), [pid], `${h}${leaf}/cgroup.procs`);
          assert.equal(cgroupProcs(h, `/berth/${id}`), null, `nothing under the default parent in ${h}`);
        }
        assert.equal(memoryLimit(leaf), String(64 * MiB));

        let s = await stats(id);
        assert.equal(s.memory_stats.limit, 64 * MiB);
        assert.ok(s.memory_stats.usage > 0);
        assert.equal(s.pids_stats.current, 1);

        const u = await d.docker(['update', '--memory', '48m', '--pids-limit', '50', id]);
        assert.equal(u.code, 0, u.stderr);
        assert.equal(memoryLimit(leaf), String(48 * MiB));
        assert.equal(pidsLimit(leaf), '50');

        const top = await d.docker(['top', id]);
        assert.equal(top.code, 0, top.stderr);
        assert.match(top.stdout, /sleep 1000/);

        assert.equal((await d.docker(['pause', id])).code, 0);
        assert.ok(frozen(leaf), 'paused: the container\'s own cgroup is frozen');
        assert.equal((await d.docker(['unpause', id])).code, 0);
        assert.ok(!frozen(leaf));

        // A berthd restart finds the running container's cgroup from its record.
        await d.restart();
        s = await stats(id);
        assert.equal(s.memory_stats.limit, 48 * MiB);
        assert.equal(s.pids_stats.limit, 50);
        assert.equal((await d.docker(['update', '--memory', '40m', id])).code, 0);
        assert.equal(memoryLimit(leaf), String(40 * MiB));

        // `stop` reaches the process directly when its cgroup names the container, else through the runtime: either way it stops.
        const stop = await d.docker(['stop', '-t', '1', id]);
        assert.equal(stop.code, 0, stop.stderr);
        // A stopped container starts again in the same place.
        assert.equal((await d.docker(['start', id])).code, 0);
        const again = (await inspect(d, id)).State.Pid as number;
        for (const h of processHierarchies()) assert.deepEqual(cgroupProcs(h, leaf), [again], `${h}${leaf} after start`);
      } finally {
        await d.docker(['rm', '-f', id]);
      }
      assert.ok(!cgroupExistsAnywhere(leaf), 'rm removes the container\'s own cgroup');
      assert.ok(existsSync(controllerDir('memory', p)), 'the parent stays: berth did not make it its own');
    });
  }

  test('two containers share a parent; after a kill -9 of berthd stats still find them; removing one leaves the other and the parent', async () => {
    const p = parent('shared');
    const ids: string[] = [];
    try {
      for (let i = 0; i < 2; i++) {
        const r = await d.docker(['run', '-d', '--cgroup-parent', p, 'busybox', 'sleep', '1000']);
        assert.equal(r.code, 0, r.stderr);
        ids.push(r.stdout.trim());
      }
      // The running containers outlive berthd under conmon; the restarted berthd finds their cgroups from the records.
      await d.kill9();
      await d.restart();
      for (const id of ids) assert.equal((await stats(id)).pids_stats.current, 1, `stats of ${id} after the restart`);
      assert.equal((await d.docker(['rm', '-f', ids[0]])).code, 0);
      assert.ok(!cgroupExistsAnywhere(`${p}/${ids[0]}`));
      const pid = (await inspect(d, ids[1])).State.Pid as number;
      for (const h of processHierarchies()) assert.deepEqual(cgroupProcs(h, `${p}/${ids[1]}`), [pid]);
    } finally {
      for (const id of ids) await d.docker(['rm', '-f', id]);
    }
  });

  test('a relative parent counts from the hierarchy root', async () => {
    const p = parent('relative');
    const r = await d.docker(['run', '-d', '--cgroup-parent', p.slice(1), 'busybox', 'sleep', '1000']);
    assert.equal(r.code, 0, r.stderr);
    const id = r.stdout.trim();
    try {
      assert.equal((await inspect(d, id)).HostConfig.CgroupParent, p.slice(1), 'inspect shows what was asked for');
      const pid = (await inspect(d, id)).State.Pid as number;
      for (const h of processHierarchies()) assert.deepEqual(cgroupProcs(h, `${p}/${id}`), [pid]);
    } finally {
      await d.docker(['rm', '-f', id]);
    }
  });

  test('a parent with .. (or inside /berth, or with a newline) is refused with a 400 before anything is made', async () => {
    for (const bad of ['/../../sys/fs/cgroup', '../escape', '/a/../b', '/berth/nested', '/a\nb']) {
      const api = await d.request('POST', '/containers/create', { Image: 'busybox', Cmd: ['true'], HostConfig: { CgroupParent: bad } });
      assert.equal(api.status, 400, `${JSON.stringify(bad)}: ${api.text}`);
      assert.match(api.json<{ message: string }>().message, /^invalid cgroup parent /);
    }
    const cli = await d.docker(['run', '--rm', '--cgroup-parent', '/../../x', 'busybox', 'true']);
    assert.equal(cli.code, 125);
    assert.match(cli.stderr, /invalid cgroup parent "\/\.\.\/\.\.\/x": '\.\.' is not allowed in a cgroup path/);
    assert.equal((await d.request('GET', '/containers/json?all=1')).json<unknown[]>().length, 0, 'no container was made');
  });

  test('update cannot change the cgroup parent', async () => {
    const r = await d.docker(['run', '-d', 'busybox', 'sleep', '1000']);
    assert.equal(r.code, 0, r.stderr);
    const id = r.stdout.trim();
    try {
      const u = await d.request('POST', `/containers/${id}/update`, { CgroupParent: '/elsewhere' });
      assert.equal(u.status, 501, u.text);
      assert.match(u.text, /the cgroup parent of a container cannot be updated/);
      for (const h of processHierarchies()) assert.ok(cgroupProcs(h, `/berth/${id}`)?.length, `still under /berth in ${h}`);
    } finally {
      await d.docker(['rm', '-f', id]);
    }
  });

  test('build --cgroup-parent (classic API and the docker CLI) runs every RUN container under the parent', async () => {
    const p = parent('build');
    const ctx = join(dir, 'build');
    await writeContext(ctx, { Dockerfile: 'FROM busybox\nRUN cat /proc/self/cgroup > /cgroup-of-run\n' });
    const b = await apiBuild(d, ctx, { t: 'cgp-build', nocache: '1', cgroupparent: p });
    assert.equal(b.error, undefined, b.text);
    // runc made the parent for the RUN container, whose own leaf went with it.
    assert.ok(existsSync(controllerDir('memory', p)), 'the parent was made for the RUN container');
    if (cgroupVersion() === 1) {
      // On v1 the container shares the host's cgroup namespace (Docker's default there), so it sees its full path.
      const out = await d.docker(['run', '--rm', 'cgp-build', 'cat', '/cgroup-of-run']);
      assert.equal(out.code, 0, out.stderr);
      assert.match(out.stdout, new RegExp(`:memory:${p}/[0-9a-f]{64}$`, 'm'));
    }
    const cli = await d.docker(['build', '--cgroup-parent', p, '--no-cache', '-q', '-t', 'cgp-build2', ctx], { env: { DOCKER_BUILDKIT: '0' } });
    assert.equal(cli.code, 0, cli.stderr);
    const bad = await apiBuild(d, ctx, { cgroupparent: '/../x' });
    assert.equal(bad.status, 400, bad.error);
    assert.match(bad.error ?? '', /invalid cgroup parent/);
    await d.docker(['rmi', 'cgp-build', 'cgp-build2']);
  });

  test('buildx build --cgroup-parent (the frontend\'s cgroup-parent attribute) runs RUN under the parent', { skip: skipWithoutBuildx() }, async () => {
    const p = parent('buildx');
    const ctx = join(dir, 'buildx');
    await writeContext(ctx, { Dockerfile: 'FROM busybox\nRUN cat /proc/self/cgroup\n' });
    const r = await buildxBuild(d, ctx, ['--no-cache', '--cgroup-parent', p]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(existsSync(controllerDir('memory', p)), 'the parent was made for the RUN container');
    if (cgroupVersion() === 1) assert.match(r.stderr, new RegExp(`:memory:${p}/[0-9a-f]{64}$`, 'm'));
    const bad = await buildxBuild(d, ctx, ['--cgroup-parent', '/a/../b']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /invalid cgroup parent/);
  });
});
