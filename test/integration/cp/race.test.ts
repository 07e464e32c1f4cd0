/**
 * Issue 9, item 1 (CVE-2018-15664): a process inside a running container
 * swaps a directory on the copy path with a symlink to a host directory
 * (renameat2 RENAME_EXCHANGE in a loop) while `docker cp` copies in and out.
 * No copy may read a host file or write into the host directory.
 *
 * The racer is a tiny static C program compiled here (busybox has no
 * renameat2 applet) and copied into the test image by `berth build`.
 * The symlink points at the absolute host path of a canary directory; inside
 * the container the same path exists as a decoy, so a copy that follows the
 * link inside the container (the right thing) still succeeds.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { skipUnlessRoot, startDaemon, type Daemon } from '../../helpers/daemon.js';
import { buildBusyboxWith } from '../../helpers/busybox.js';
import { tarOf } from '../../helpers/layer-fixtures.js';

const RACER_C = String.raw`
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>
/* Exchanges two names for ever (RENAME_EXCHANGE = 2); the test removes the container. */
int main(int argc, char **argv) {
  if (argc != 3) return 2;
  for (;;) syscall(SYS_renameat2, AT_FDCWD, argv[1], AT_FDCWD, argv[2], 2);
}
`;

const SECRET = 'HOST-SECRET-must-never-leave-the-host';
/** Copies through the API (fast) and through the docker CLI (what users run). */
const API_ROUNDS = 300;
const CLI_ROUNDS = 15;

describe('docker cp against a container that races symlinks (CVE-2018-15664)', { skip: skipUnlessRoot() }, () => {
  let d!: Daemon;
  let work!: string;
  let canary!: string;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'berth-cp-race-'));
    canary = join(work, 'canary');
    await promisify(execFile)('mkdir', [canary]);
    await writeFile(join(canary, 'f'), SECRET);
    await writeFile(join(work, 'racer.c'), RACER_C);
    await promisify(execFile)('gcc', ['-static', '-O2', '-o', join(work, 'racer'), join(work, 'racer.c')]);
    d = await startDaemon();
    await buildBusyboxWith(d, 'racer:latest', { '/racer': join(work, 'racer') });
    const script = [
      `mkdir -p /w/d ${canary}`, 'echo inside > /w/d/f', `echo decoy > ${canary}/f`,
      `ln -s ${canary} /w/l`, 'exec /racer /w/d /w/l',
    ].join(' && ');
    const r = await d.docker(['run', '-d', '--name', 'racer', 'racer:latest', 'sh', '-c', script]);
    assert.equal(r.code, 0, r.stderr);
  }, { timeout: 180_000 });

  after(async () => {
    if (process.env.BERTH_TEST_SHOW_LOGS) console.error(d?.logs().slice(-4000));
    await d?.stop();
    await rm(work, { recursive: true, force: true });
  });

  /** The canary is as the test made it: one file, its content untouched. */
  async function assertCanaryUntouched(): Promise<void> {
    assert.deepEqual(await readdir(canary), ['f'], 'something was written into the host directory');
    assert.equal(await readFile(join(canary, 'f'), 'utf8'), SECRET);
  }

  test('hundreds of copies in and out never reach the host', { timeout: 300_000 }, async () => {
    const ok = { get: 0, put: 0 };
    const leaks: string[] = [];
    const failures: string[] = [];
    /** Every request gets a reply: a dropped connection is a failure too. */
    const request = async (what: string, ...args: Parameters<Daemon['request']>) => {
      try {
        return await d.request(...args);
      } catch (e) {
        failures.push(`${what}: ${(e as Error).message}`);
        return null;
      }
    };
    const one = async (i: number) => {
      // Out: the file below the swapped directory, and the directory itself.
      const path = i % 2 ? '/w/d/f' : '/w/d';
      const g = await request(`GET ${path}`, 'GET', `/containers/racer/archive?path=${encodeURIComponent(path)}`);
      if (!g) { /* recorded */ } else if (g.status === 200) {
        ok.get++;
        if (g.body.includes(SECRET)) leaks.push(`GET ${path} returned the host file`);
      } else if (![404, 400].includes(g.status)) {
        failures.push(`GET ${path}: ${g.status} ${g.text}`);
      }
      // In: into the swapped directory, and through it by an entry name.
      const put = i % 2
        ? { path: '/w/d', tar: tarOf([{ name: `pwned-${i}`, content: 'x' }]) }
        : { path: '/w', tar: tarOf([{ name: `d/pwned-${i}`, content: 'x' }]) };
      const p = await request(`PUT ${put.path}`, 'PUT', `/containers/racer/archive?path=${encodeURIComponent(put.path)}`, put.tar, { headers: { 'Content-Type': 'application/x-tar' } });
      if (!p) { /* recorded */ } else if (p.status === 200) ok.put++;
      else if (![404, 400].includes(p.status)) failures.push(`PUT ${put.path}: ${p.status} ${p.text}`);
    };
    for (let i = 0; i < API_ROUNDS; i += 4) await Promise.all([0, 1, 2, 3].map((k) => one(i + k)));
    const hostFile = join(work, 'in.txt');
    await writeFile(hostFile, 'from the cli');
    for (let i = 0; i < CLI_ROUNDS; i++) {
      const out = await d.docker(['cp', 'racer:/w/d/f', '-']);
      if (out.stdout.includes(SECRET)) leaks.push('docker cp out returned the host file');
      await d.docker(['cp', hostFile, `racer:/w/d/cli-${i}`]);
    }
    // The escapes first (what the race is about), then replies that were lost or wrong.
    await assertCanaryUntouched();
    assert.deepEqual(leaks, []);
    assert.deepEqual(failures, []);
    // The copies did happen (inside the container): the race did not just make every one fail.
    assert.ok(ok.get > API_ROUNDS / 10 && ok.put > API_ROUNDS / 10, `too few copies succeeded: ${JSON.stringify(ok)}`);
    // And the racer was still racing at the end.
    const st = await d.request('GET', '/containers/racer/json');
    assert.equal(st.json().State.Running, true);
  });
});
