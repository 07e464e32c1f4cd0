/**
 * A pod's `linux.cgroup_parent` through the real crictl: `runp` with it in
 * the pod config JSON puts the sandbox's cgroup and its containers' below it
 * (`<parent>/<id>`, as containerd composes it for cgroupfs, the driver berth
 * reports in RuntimeConfig); `stats`, `statsp` and `update` find them; removing
 * the pod removes the containers' own cgroups and leaves kubelet's parent.
 * A parent with `..` is refused. The parents the test names are removed at
 * the end.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { runCommand, skipUnlessRoot, startDaemon, type Daemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';
import { cgroupExistsAnywhere, cgroupProcs, controllerDir, processHierarchies, removeCgroupTree } from '../../helpers/cgroup-dirs.js';
import { cgroupVersion } from '../../../src/runtime/cgroup-version.js';

const CRICTL = process.env.CRICTL ?? '/var/cache/berth-go-clients/crictl';
const skip = skipUnlessRoot() || (existsSync(CRICTL) ? false : `no crictl at ${CRICTL}: run shared/tools/build-go-clients.sh`);

describe('a pod\'s cgroup_parent (crictl)', { skip }, () => {
  let d: Daemon;
  let dir: string;
  const root = `/berth-test-kubepods-${randomBytes(4).toString('hex')}`;
  const pods: string[] = [];

  function crictlArgs(args: string[]): string[] {
    const sock = `unix://${d.execRoot}/cri.sock`;
    return ['--runtime-endpoint', sock, '--image-endpoint', sock, '--timeout', '60s', ...args];
  }
  async function crictl(...args: string[]): Promise<string> {
    const r = await runCommand(CRICTL, crictlArgs(args), { timeoutMs: 90_000 });
    assert.equal(r.code, 0, `crictl ${args.join(' ')} failed:\n${r.stdout}${r.stderr}\n--- berthd:\n${d.logs().slice(-2000)}`);
    return r.stdout;
  }

  async function podConfig(name: string, cgroupParent: string): Promise<string> {
    const file = join(dir, `${name}.pod.json`);
    await writeFile(file, JSON.stringify({
      metadata: { name, namespace: 'default', uid: `${name}-uid`, attempt: 0 }, hostname: name,
      log_directory: join(dir, 'logs', name), linux: { cgroup_parent: cgroupParent },
    }));
    return file;
  }

  before(async () => {
    d = await startDaemon();
    dir = join(d.tmpDir, 'cri-cgroup');
    await mkdir(dir, { recursive: true });
    await importBusybox(d);
  }, { timeout: 120_000 });

  after(async () => {
    for (const p of pods) await runCommand(CRICTL, crictlArgs(['rmp', '-f', p])).catch(() => undefined);
    const left = await d?.stop();
    removeCgroupTree(root);
    if (left) assert.deepEqual(left.processes, [], 'berthd left processes behind');
  });

  test('runp puts the sandbox and its containers under cgroup_parent; stats, statsp and update find them; rmp leaves the parent', async () => {
    const parent = `${root}/besteffort/podweb-uid`;
    const podFile = await podConfig('web', parent);
    const pod = (await crictl('runp', podFile)).trim();
    pods.push(pod);
    const ctrFile = join(dir, 'web-main.ctr.json');
    await writeFile(ctrFile, JSON.stringify({ metadata: { name: 'web-main' }, image: { image: 'busybox' }, command: ['sleep', '1000'], log_path: 'web-main/0.log' }));
    const ctr = (await crictl('create', pod, ctrFile, podFile)).trim();
    await crictl('start', ctr);

    const pidOf = async (id: string) => {
      const r = await d.request('GET', `/containers/${id}/json`);
      assert.equal(r.status, 200, r.text);
      return r.json<{ State: { Pid: number } }>().State.Pid;
    };
    for (const id of [pod, ctr]) {
      const pid = await pidOf(id);
      for (const h of processHierarchies()) {
        assert.deepEqual(cgroupProcs(h, `${parent}/${id}`), [pid], `${h}${parent}/${id}/cgroup.procs`);
        assert.equal(cgroupProcs(h, `/berth/${id}`), null);
      }
    }

    assert.match(await crictl('stats', '--id', ctr), new RegExp(`${ctr.slice(0, 13)}\\s+web-main\\s+[\\d.]+\\s+[\\d.]+\\w?B`));
    const podStats = JSON.parse(await crictl('statsp', '-o', 'json', '--id', pod));
    assert.ok(Number(podStats.stats[0].linux.memory.workingSetBytes.value) > 0, JSON.stringify(podStats.stats[0].linux.memory));
    assert.ok(Number(podStats.stats[0].linux.process.processCount.value) >= 2, 'the sandbox and the container are counted');

    // UpdateContainerResources writes the container's own cgroup below the parent.
    await crictl('update', '--memory', String(96 * 1024 * 1024), ctr);
    const limitFile = join(controllerDir('memory', `${parent}/${ctr}`), cgroupVersion() === 2 ? 'memory.max' : 'memory.limit_in_bytes');
    assert.equal(readFileSync(limitFile, 'utf8').trim(), String(96 * 1024 * 1024));

    await crictl('stopp', pod);
    await crictl('rmp', pod);
    pods.splice(pods.indexOf(pod), 1);
    for (const id of [pod, ctr]) assert.ok(!cgroupExistsAnywhere(`${parent}/${id}`), `${id}'s own cgroup went with the pod`);
    assert.ok(existsSync(controllerDir('memory', parent)), 'kubelet\'s pod cgroup stays: berth did not make it its own');
  });

  test('a cgroup_parent with .. is refused', async () => {
    const r = await runCommand(CRICTL, crictlArgs(['runp', await podConfig('escape', `${root}/../../sys`)]), { timeoutMs: 90_000 });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /InvalidArgument.*invalid cgroup parent .*'\.\.' is not allowed/s);
    const list = await crictl('pods', '-q');
    assert.equal(list.trim(), '', 'no sandbox was made');
  });
});
