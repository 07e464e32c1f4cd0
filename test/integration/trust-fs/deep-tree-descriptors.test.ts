/**
 * A walk of a container's tree (commit, diff, cp, export, a build's commit)
 * held a descriptor for every directory it was in, and a resolution of a
 * path one for every directory on it. A container nests directories at the
 * cost of one rename per thousand levels (`mv x y/a/…/a/`), so a tree
 * deeper than berthd's descriptor limit was minutes of shell away: the walk
 * ran berthd out of descriptors, everything else it did failed meanwhile,
 * and the walk's paths alone took memory in the square of the depth. Walks
 * and resolutions now stop MAX_DEPTH (2048) directories down — no path
 * deeper fits PATH_MAX, so dockerd copies none either — with a 400.
 * berthd's limit is pinned here (prlimit) so the test does not depend on
 * the machine's.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { skipUnlessRoot, startDaemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';
import { createContainer, start, waitExit } from '../engine/api.js';
import { tarOf } from '../../helpers/layer-fixtures.js';

const LIMIT = 8192;
// Chunks of 1000 levels wrapped around each other: 11 of them, ~11,000 levels.
const DEEP = [
  'p=a', 'i=1', 'while [ $i -lt 1000 ]; do p="$p/a"; i=$((i+1)); done',
  'mkdir /t', 'cd /t', 'mkdir -p x/$p', 'k=0',
  'while [ $k -lt 10 ]; do mkdir -p y/$p && mv x y/$p/ && mv y x || exit 1; k=$((k+1)); done',
].join(' && ');

test('a tree nested deeper than the descriptor limit is refused, not walked', { skip: skipUnlessRoot(), timeout: 300_000 }, async (t) => {
  const d = await startDaemon();
  t.after(() => d.stop());
  await importBusybox(d);
  await promisify(execFile)('prlimit', ['--pid', String(d.pid), `--nofile=${LIMIT}:${LIMIT}`]);
  const id = await createContainer(d, { Cmd: ['sh', '-c', DEEP], WorkingDir: '/' }, 'deep-descriptors');
  await start(d, id);
  assert.equal(await waitExit(d, id), 0);

  // `docker diff` walks the whole tree (the old walk: EMFILE at 8192 levels, with berthd at its limit).
  const diff = await d.request('GET', `/containers/${id}/changes`, undefined, { timeoutMs: 240_000 });
  assert.equal(diff.status, 400, diff.text.slice(0, 300));
  assert.match(diff.text, /more than 2048 directories deep/);
  const commit = await d.request('POST', `/commit?container=${id}&repo=deep`, {}, { timeoutMs: 240_000 });
  assert.equal(commit.status, 400, commit.text.slice(0, 300));
  assert.match(commit.text, /more than 2048 directories deep/);
  assert.doesNotMatch(d.logs(), /EMFILE/);
  assert.equal((await d.request('GET', '/_ping')).status, 200);
});

test('a copy that replaces a directory nested deeper than the descriptor limit is refused, not removed level by level', { skip: skipUnlessRoot(), timeout: 300_000 }, async (t) => {
  const d = await startDaemon();
  t.after(() => d.stop());
  await importBusybox(d);
  await promisify(execFile)('prlimit', ['--pid', String(d.pid), `--nofile=${LIMIT}:${LIMIT}`]);
  const id = await createContainer(d, { Cmd: ['sh', '-c', DEEP], WorkingDir: '/' }, 'deep-replaced');
  await start(d, id);
  assert.equal(await waitExit(d, id), 0);
  // The API's default (the CLI asks otherwise): a file may replace a directory.
  const tar = tarOf([{ name: 't/x', content: 'replacement' }]);
  const put = await d.request('PUT', `/containers/${id}/archive?path=/`, tar, { headers: { 'Content-Type': 'application/x-tar' }, timeoutMs: 240_000 });
  assert.equal(put.status, 400, put.text.slice(0, 300));
  assert.match(put.text, /more than 2048 directories deep/);
  assert.doesNotMatch(d.logs(), /EMFILE/);
  assert.equal((await d.request('GET', '/_ping')).status, 200);
});
