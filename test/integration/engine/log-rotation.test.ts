/**
 * json-file rotation as Docker does it (issue 10): `max-size` with
 * `max-file=N` keeps at most N files of at most max-size bytes, drops the
 * oldest, and `logs` (whole, or a tail) reads across the kept files in order.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDaemon, skipUnlessRoot, waitFor, type Daemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';
import { createContainer, logs, remove, start, waitExit } from './api.js';

/** Lines `line-001`…`line-<n>`, five at a time with a pause, so each burst stays well under max-size. */
function printer(n: number): string[] {
  return ['sh', '-c', `i=1; while [ $i -le ${n} ]; do printf 'line-%03d\\n' $i; [ $((i % 5)) -eq 0 ] && usleep 30000; i=$((i+1)); done`];
}

/**
 * `max-size=2k`: 2000 bytes as Docker counts (go-units FromHumanSize), 2048
 * as conmon is given it today; the checks hold for either. Each burst of
 * the printer is far below it, so the rotator keeps up even on a busy host.
 */
const MAX_SIZE = '2k';
const MAX_BYTES = 2048;
/** How many `line-NNN` records surely fit in one file. */
const PER_FILE = Math.floor(2000 / (`${new Date().toISOString().replace('Z', '000000+00:00')} stdout F line-000`.length + 1));

function numbers(out: string): number[] {
  return out.split('\n').filter(Boolean).map((l) => {
    assert.match(l, /^line-\d{3}$/);
    return Number(l.slice(5));
  });
}

describe('json-file log rotation', { skip: skipUnlessRoot() }, () => {
  let d!: Daemon;
  before(async () => { d = await startDaemon(); await importBusybox(d); }, { timeout: 120_000 });
  after(async () => { await d?.stop(); });

  test('max-size with max-file keeps that many files and logs reads across them, whole or as a tail', async () => {
    const id = await createContainer(d, { Cmd: printer(250), HostConfig: { LogConfig: { Type: 'json-file', Config: { 'max-size': MAX_SIZE, 'max-file': '3' } } } });
    try {
      await start(d, id);
      assert.equal(await waitExit(d, id), 0);
      const dir = join(d.dataRoot, 'containers', id);
      const files = readdirSync(dir).filter((f) => f.startsWith('ctr.log')).map((f) => join(dir, f));
      const withContent = files.filter((f) => statSync(f).size > 0);
      const inodes = new Set(withContent.map((f) => statSync(f).ino));
      assert.ok(inodes.size <= 3, `at most 3 log files: ${withContent.join(' ')}`);
      assert.ok(inodes.size >= 2, `the log was rotated: ${files.join(' ')}`);
      for (const f of withContent) assert.ok(statSync(f).size <= MAX_BYTES, `${f} is ${statSync(f).size} bytes`);

      const all = numbers(await logs(d, id));
      // The oldest lines are gone, the rest is whole and in order, and spans more than one file.
      assert.equal(all.at(-1), 250);
      assert.ok(all[0] > 1, `the oldest file was dropped (first line ${all[0]})`);
      assert.deepEqual(all, Array.from({ length: all.length }, (_, i) => all[0] + i));
      const perFile = PER_FILE;
      assert.ok(all.length > perFile, `read across files: ${all.length} lines`);

      const r = await d.request('GET', `/containers/${id}/logs?stdout=1&tail=${perFile + 5}`);
      assert.equal(r.status, 200, r.text);
      const tail: number[] = [];
      for (let b = r.body; b.length >= 8; b = b.subarray(8 + b.readUInt32BE(4))) tail.push(...numbers(b.subarray(8, 8 + b.readUInt32BE(4)).toString()));
      assert.deepEqual(tail, all.slice(-(perFile + 5)));
    } finally {
      await remove(d, id);
    }
  });

  test('without max-size, max-file changes nothing: one file, every line', async () => {
    const id = await createContainer(d, { Cmd: printer(40), HostConfig: { LogConfig: { Type: 'json-file', Config: { 'max-file': '2' } } } });
    try {
      await start(d, id);
      assert.equal(await waitExit(d, id), 0);
      assert.deepEqual(numbers(await logs(d, id)), Array.from({ length: 40 }, (_, i) => i + 1));
      const dir = join(d.dataRoot, 'containers', id);
      assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('ctr.log')), ['ctr.log']);
    } finally {
      await remove(d, id);
    }
  });

  test('rotation goes on for a running container after berthd restarts', async () => {
    const gate = mkdtempSync(join(tmpdir(), 'berth-test-gate-'));
    const script = `${printer(60)[2]}; while [ ! -e /gate/go ]; do usleep 50000; done; i=61; while [ $i -le 250 ]; do printf 'line-%03d\\n' $i; [ $((i % 5)) -eq 0 ] && usleep 30000; i=$((i+1)); done`;
    const id = await createContainer(d, {
      Cmd: ['sh', '-c', script],
      HostConfig: { Binds: [`${gate}:/gate`], LogConfig: { Type: 'json-file', Config: { 'max-size': MAX_SIZE, 'max-file': '3' } } },
    });
    try {
      await start(d, id);
      await waitFor(async () => (await logs(d, id)).includes('line-060'), 30_000, 'the first 60 lines');
      await d.restart();
      writeFileSync(join(gate, 'go'), '');
      assert.equal(await waitExit(d, id), 0);
      const all = numbers(await logs(d, id));
      assert.equal(all.at(-1), 250);
      assert.deepEqual(all, Array.from({ length: all.length }, (_, i) => all[0] + i), 'whole and in order');
      assert.ok(all.length > 2 * PER_FILE, `three files kept: ${all.length} lines`);
    } finally {
      await remove(d, id);
      rmSync(gate, { recursive: true, force: true });
    }
  });

  test('the docker CLI\'s --log-opt max-size/max-file rotate, and docker logs reads across the files', async () => {
    const name = 'rotating-cli';
    const r = await d.docker(['run', '--name', name, '--log-opt', `max-size=${MAX_SIZE}`, '--log-opt', 'max-file=2', 'busybox', ...printer(160)]);
    try {
      assert.equal(r.code, 0, r.stderr);
      const out = await d.docker(['logs', name]);
      assert.equal(out.code, 0, out.stderr);
      const all = numbers(out.stdout);
      assert.equal(all.at(-1), 160);
      assert.ok(all[0] > 1 && all.length > PER_FILE, `two files' worth, the oldest dropped: ${all[0]}…${all.at(-1)}`);
      assert.deepEqual(all, Array.from({ length: all.length }, (_, i) => all[0] + i));
      const tail = await d.docker(['logs', '--tail', String(PER_FILE + 2), name]);
      assert.deepEqual(numbers(tail.stdout), all.slice(-(PER_FILE + 2)));
    } finally {
      await d.docker(['rm', '-f', name]);
    }
  });
});
