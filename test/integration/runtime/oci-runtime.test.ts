import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { findRuntime, OciRuntime } from '../../../src/runtime/oci-runtime.js';

const dir = mkdtempSync('/tmp/berth-oci-');
after(() => rmSync(dir, { recursive: true, force: true }));

test('findRuntime resolves the installed binaries', () => {
  assert.equal(findRuntime('runc').path, '/usr/sbin/runc');
  assert.equal(findRuntime('crun').path, '/usr/bin/crun');
  assert.equal(findRuntime('crun').stateRoot, undefined);
});

test('state is null, delete and pids are fine, for a container the runtime never heard of', async () => {
  for (const name of ['runc', 'crun']) {
    const r = new OciRuntime(name, findRuntime(name).path, join(dir, `state-${name}`));
    assert.equal(await r.state('berth-never-existed'), null);
    await r.delete('berth-never-existed');
    await r.delete('berth-never-existed', true);
    assert.deepEqual(await r.pids('berth-never-existed'), []);
    await assert.rejects(r.start('berth-never-existed'), (e: Error & { argv?: string[] }) =>
      e.name === 'SystemError' && e.argv?.[1] === `--root=${join(dir, `state-${name}`)}`);
  }
});
