/**
 * The writable-layer size walk (SizeRw, container prune's SpaceReclaimed)
 * runs over a tree a running container changes. A directory swapped for a
 * symlink between its listing and its reading must not lead the walk out
 * of the layer: outside lies a 1 TiB sparse file, which the total would
 * show at once. The swapper is a separate process (real concurrency, as a
 * container's); the walk is repeated a bounded number of times. Also:
 * symlink loops are not followed and a hard-linked file counts once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { link, mkdir, mkdtemp, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { writableLayerSize } from '../../../src/engine/container-size.js';

const TIB = 2 ** 40;

test('a directory swapped for a symlink during the walk never leads outside the layer', { timeout: 120_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-review2-size-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const outside = join(dir, 'outside');
  const upper = join(dir, 'upper');
  await mkdir(outside);
  await writeFile(join(outside, 'big'), '');
  await truncate(join(outside, 'big'), TIB);
  await mkdir(upper);
  // Many directories, so each walk has many windows between a listing and a read.
  for (let i = 0; i < 50; i++) {
    await mkdir(join(upper, `d${i}`));
    await writeFile(join(upper, `d${i}`, 'f'), 'x');
    await symlink(outside, join(upper, `s${i}`));
  }
  const swapper = spawn('python3', ['-c', `
import os, sys
u = sys.argv[1]
while True:
    for i in range(50):
        d, s, tmp = f"{u}/d{i}", f"{u}/s{i}", f"{u}/t{i}"
        try:
            os.rename(d, tmp); os.rename(s, d); os.rename(d, s); os.rename(tmp, d)
        except OSError:
            pass
`, upper], { stdio: 'ignore' });
  const exited = new Promise((resolve) => swapper.once('exit', resolve));
  let max = 0;
  try {
    for (let i = 0; i < 300 && max < TIB; i++) max = Math.max(max, await writableLayerSize(upper));
  } finally {
    // Before the directory goes: a swapper still renaming would race the removal.
    swapper.kill('SIGKILL');
    await exited;
  }
  assert.ok(max < TIB, `the walk followed a swapped symlink out of the layer (saw ${max} bytes)`);
});

test('symlink loops are not followed; a hard-linked file counts once; a missing layer is 0', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-review2-size-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await mkdir(join(dir, 'a'));
  await symlink('..', join(dir, 'a', 'up'));
  await symlink('loop', join(dir, 'loop'));
  await writeFile(join(dir, 'a', 'f'), 'hello');
  await link(join(dir, 'a', 'f'), join(dir, 'g'));
  const size = await writableLayerSize(dir);
  // The file once (5) and the two symlinks' own sizes (2 and 4).
  assert.equal(size, 5 + 2 + 4);
  assert.equal(await writableLayerSize(join(dir, 'nope')), 0);
});
