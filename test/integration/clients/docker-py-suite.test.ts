/**
 * docker-py's own integration suite (the tree in ../shared/tools/) against a
 * private berthd, through scripts/compat-docker-py.mjs (`npm run compat`):
 * at least MIN_PASS of its tests pass, dockerd 20.10's own count on this
 * machine. The tests no daemon here can pass are listed, with their reasons,
 * in test/compat/docker-py-unpassable.txt and the README.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { runCommand, skipUnlessRoot } from '../../helpers/daemon.js';
import { repoRoot, scriptsDir } from '../../helpers/paths.js';

const MIN_PASS = 245;
const TARBALL = join(repoRoot, '..', 'shared', 'tools', 'docker-py-afc6d1ee.tar.gz');

function skipWithoutTree(): string | false {
  return existsSync(TARBALL) ? false : `docker-py's tree is not at ${TARBALL}`;
}

test(`docker-py's integration suite: at least ${MIN_PASS} pass`, { skip: skipUnlessRoot() || skipWithoutTree(), timeout: 900_000 }, async () => {
  const r = await runCommand(process.execPath, [join(scriptsDir, 'compat-docker-py.mjs'), '--min-pass', String(MIN_PASS)], {
    // SIGINT first: the script stops pytest, its berthd and its registry (SIGKILL would leave them on the host).
    timeoutMs: 800_000, timeoutSignal: 'SIGINT', graceMs: 60_000,
  });
  const summary = r.stdout.trim().split('\n').pop() ?? '';
  process.stdout.write(`# ${summary}\n`);
  const failures = r.stdout.split('\n').filter((l) => /^(FAILED|ERROR) /.test(l)).join('\n');
  assert.equal(r.code, 0, `${summary}\n${failures}\n${r.stderr.slice(-4000)}`);
});
