/**
 * A container's tree decides how much a walk of it holds: the tree walk
 * (image/tree-walk.ts) lists a directory's next subdirectories and reads its
 * next files ahead of the consumer, and every level it descends through kept
 * what it had read ahead for siblings not yet visited. A container that
 * nests `a/` deep, each level beside `b/`, `c/`, `d/` full of 1 MiB files
 * (hard links to one sparse file: no disk), made `docker cp`, `export`,
 * `commit` and a build's commit hold megabytes and descriptors per level:
 * berthd's memory grew by gigabytes for a tree that costs the container
 * nothing. What a walk holds ahead must not grow with the tree's depth.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { skipUnlessRoot, startDaemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';
import { createContainer, start, waitExit } from '../engine/api.js';

const DEPTH = 48;
// Every level: its own four 1 MiB files, three siblings with four each, and `a/`, the next level.
const TREE = [
  'truncate -s 1048576 /big', 'mkdir /t', 'cd /t', 'i=0',
  `while [ $i -lt ${DEPTH} ]; do for s in b c d; do mkdir $s && ln /big $s/1 && ln /big $s/2 && ln /big $s/3 && ln /big $s/4 || exit 1; done; ln /big f1 && ln /big f2 && ln /big f3 && ln /big f4 && mkdir a && cd a || exit 1; i=$((i+1)); done`,
].join(' && ');

function peakRssMiB(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m![1]) / 1024;
}

test('a deep tree of read-ahead bait does not grow berthd by the depth', { skip: skipUnlessRoot(), timeout: 300_000 }, async (t) => {
  const d = await startDaemon();
  t.after(() => d.stop());
  await importBusybox(d);
  const id = await createContainer(d, { Cmd: ['sh', '-c', TREE], WorkingDir: '/' }, 'walk-ahead-bait');
  await start(d, id);
  assert.equal(await waitExit(d, id), 0);

  const before = peakRssMiB(d.pid!);
  const res = await d.requestStream('GET', `/containers/${id}/archive?path=/t`);
  assert.equal(res.statusCode, 200);
  let bytes = 0;
  for await (const chunk of res) bytes += (chunk as Buffer).length;
  const after = peakRssMiB(d.pid!);
  console.error(`tar ${bytes} bytes, peak RSS ${before.toFixed(0)} -> ${after.toFixed(0)} MiB`);
  assert.ok(bytes > 1 << 20, 'the tar carries the file once');
  assert.ok(after - before < 256, `berthd's peak RSS grew by ${(after - before).toFixed(0)} MiB for a ${DEPTH}-level tree`);
});
