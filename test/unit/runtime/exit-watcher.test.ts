import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readExitCode, watchExits } from '../../../src/runtime/exit-watcher.js';

const dir = mkdtempSync('/tmp/berth-exits-');
after(() => rmSync(dir, { recursive: true, force: true }));

/** As conmon does it (g_file_set_contents): a temp file renamed into place. */
function writeExit(id: string, code: number): void {
  writeFileSync(join(dir, `${id}.Ab12Cd`), String(code));
  renameSync(join(dir, `${id}.Ab12Cd`), join(dir, id));
}

const settle = (ms = 100): Promise<void> => new Promise((r) => setTimeout(r, ms));

test('readExitCode: the recorded code, or null', () => {
  writeFileSync(join(dir, 'r1'), '137');
  writeFileSync(join(dir, 'r2'), '');
  writeFileSync(join(dir, 'r3'), '-1');
  assert.equal(readExitCode(dir, 'r1'), 137);
  assert.equal(readExitCode(dir, 'r2'), null);
  assert.equal(readExitCode(dir, 'r3'), -1);
  assert.equal(readExitCode(dir, 'none'), null);
  for (const f of ['r1', 'r2', 'r3']) unlinkSync(join(dir, f));
});

test('exits from before the watch, then new ones, each once; temp files ignored', async () => {
  writeExit('old', 3);
  const seen: [string, number][] = [];
  const w = watchExits(dir, (id, code) => seen.push([id, code]));
  try {
    assert.deepEqual(seen, [['old', 3]]);
    writeExit('new', 0);
    writeFileSync(join(dir, 'other.XyZ123'), '9');
    await settle();
    assert.deepEqual(seen, [['old', 3], ['new', 0]]);
    // The engine consumes the file; the next run of the container exits again.
    unlinkSync(join(dir, 'new'));
    await settle();
    writeExit('new', 137);
    await settle();
    assert.deepEqual(seen, [['old', 3], ['new', 0], ['new', 137]]);
  } finally {
    w.close();
  }
});

test('a throwing handler does not stop the watcher', async () => {
  const seen: string[] = [];
  const w = watchExits(dir, (id) => { seen.push(id); throw new Error('boom'); });
  try {
    writeExit('t1', 1);
    writeExit('t2', 2);
    await settle();
    assert.ok(seen.includes('t1') && seen.includes('t2'));
  } finally {
    w.close();
  }
});

test('an exit dir that does not exist throws', () => {
  assert.throws(() => watchExits(join(dir, 'nope'), () => undefined), { code: 'ENOENT' });
});
