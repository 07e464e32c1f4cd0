import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const berthd = fileURLToPath(new URL('../../../../bin/berthd', import.meta.url));
const probe = new URL('../../helpers/young-generation-probe.js', import.meta.url).href;

// Idle memory (bench figure 6): bin/berthd keeps V8's young generation at its start size. Loading berthd's
// modules alone (`--help` loads them all, then exits) would grow it to 16 MiB otherwise.
test("berthd's young generation stays at its start size while its modules load", () => {
  const r = spawnSync(process.execPath, ['--import', probe, berthd, '--help'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const line = r.stderr.split('\n').find((l) => l.startsWith('{"youngGeneration'));
  assert.ok(line, r.stderr);
  const sizes = JSON.parse(line) as { youngGenerationAtStart: number; youngGenerationAtExit: number };
  assert.ok(sizes.youngGenerationAtStart > 0);
  // Before its first scavenge V8 counts one semi-space of the two; a grown young generation would be 4× or more.
  assert.ok(sizes.youngGenerationAtExit <= 2 * sizes.youngGenerationAtStart, JSON.stringify(sizes));
});
