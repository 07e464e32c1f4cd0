import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const src = fileURLToPath(new URL('../../../src/', import.meta.url));
const recorder = new URL('../../helpers/module-recorder.js', import.meta.url).href;

/** The berth modules (paths under src/) that berthd's start loads: its whole static import graph (`--help` loads it, then exits). */
function berthdStartModules(): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'berth-start-modules-'));
  try {
    const log = join(dir, 'modules');
    const r = spawnSync(process.execPath, ['--import', recorder, join(src, 'daemon', 'main.js'), '--help'], {
      env: { ...process.env, BERTH_TEST_MODULE_LOG: log }, encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    return readFileSync(log, 'utf8').split('\n').filter((u) => u.startsWith('file:'))
      .map((u) => fileURLToPath(u)).filter((p) => p.startsWith(src)).map((p) => p.slice(src.length));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// Idle memory (bench figure 6): what only a build or a registry request needs is loaded by the first one.
test("berthd's start loads neither the classic builder nor the registry client", () => {
  const loaded = berthdStartModules();
  // The recorder sees the start graph at all:
  for (const m of ['daemon/main.js', 'engine/engine.js', 'engine/build.js', 'engine/distribution.js', 'api/server.js']) assert.ok(loaded.includes(m), `${m} not seen`);
  const builder = loaded.filter((m) => m.startsWith('build/') && !['build/errors.js', 'build/cache-mounts.js', 'build/ssh-mounts.js', 'build/parser/duration.js', 'build/parser/errors.js'].includes(m));
  assert.deepEqual(builder, [], 'classic builder modules loaded at start');
  const client = loaded.filter((m) => m.startsWith('registry/client/') && !['registry/client/endpoint.js', 'registry/client/digest.js', 'registry/client/media-types.js', 'registry/client/platform.js'].includes(m));
  assert.deepEqual(client, [], 'registry client modules loaded at start');
});
