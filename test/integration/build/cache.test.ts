/**
 * Issue 4, acceptance 3: the build cache. An unchanged rebuild hits every
 * step; touching a copied file still hits; one changed byte rebuilds from
 * the COPY on and names the file; a changed --build-arg misses only from
 * the RUN that uses it and names the arg; the cache survives a daemon
 * restart; `builder prune` empties it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startDaemon, skipUnlessRoot, skipWithoutDocker, type Daemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';
import { apiBuild, steps, writeContext, type BuildOutcome } from './build-helpers.js';

let d!: Daemon;
let dir!: string;
let ctx!: string;

before(async () => {
  dir = await mkdtemp('/tmp/berth-test-build-cache-');
  ctx = join(dir, 'ctx');
  d = await startDaemon();
  await importBusybox(d);
  await writeContext(ctx, {
    Dockerfile: [
      'FROM busybox',
      'ENV APP=/app',
      'COPY app/ /app/',
      'RUN cat /app/main.c > /copied',
      'ARG VERSION=1',
      'RUN echo "v$VERSION" > /version',
      'RUN echo done',
      '',
    ].join('\n'),
    'app/main.c': 'int main(void) { return 0; }\n',
    'app/util.c': 'int util;\n',
  });
}, { timeout: 120_000 });

after(async () => {
  await d?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

function hits(b: BuildOutcome): boolean[] {
  assert.equal(b.error, undefined, b.text);
  return steps(b.text).slice(1).map((s) => s.cached);
}

describe('build cache', { skip: skipUnlessRoot() || skipWithoutDocker() }, () => {
  let first = '';

  test('a first build misses every step and says so', async () => {
    const b = await apiBuild(d, ctx, { t: 'cached:1' });
    assert.deepEqual(hits(b), [false, false, false, false, false, false]);
    assert.ok(steps(b.text).slice(1).every((s) => s.miss === 'not built before'), b.text);
    first = b.imageId!;
  });

  test('an unchanged rebuild hits every step and gives the same image', async () => {
    const b = await apiBuild(d, ctx, { t: 'cached:1' });
    assert.deepEqual(hits(b), [true, true, true, true, true, true]);
    assert.equal(b.imageId, first);
    assert.deepEqual(b.misses, []);
  });

  test('touching a copied file without changing it still hits', async () => {
    const later = new Date(Date.now() + 3600_000);
    await utimes(join(ctx, 'app/main.c'), later, later);
    const b = await apiBuild(d, ctx, { t: 'cached:1' });
    assert.deepEqual(hits(b), [true, true, true, true, true, true]);
    assert.equal(b.imageId, first);
  });

  test('one changed byte rebuilds from that COPY on and names the file', async () => {
    await writeFile(join(ctx, 'app/main.c'), 'int main(void) { return 1; }\n');
    const b = await apiBuild(d, ctx, { t: 'cached:1' });
    assert.deepEqual(hits(b), [true, false, false, false, false, false]);
    assert.match(b.text, /Step 3\/7 : COPY app\/ \/app\/\n ---> Cache miss: file app\/main\.c changed \(content\)\n/);
    assert.deepEqual(b.misses[0], {
      step: 'COPY app/ /app/', line: 3, reason: 'file', path: 'app/main.c', changes: ['content'], message: 'file app/main.c changed (content)',
    });
    assert.equal(b.misses[1].reason, 'parent', 'later steps name the changed parent');
    assert.notEqual(b.imageId, first);
  });

  test('a changed mode is a miss that says so', async () => {
    await chmod(join(ctx, 'app/util.c'), 0o600);
    const b = await apiBuild(d, ctx, { t: 'cached:1' });
    assert.deepEqual(hits(b), [true, false, false, false, false, false]);
    assert.equal(b.misses[0].message, 'file app/util.c changed (mode)');
  });

  test('a changed --build-arg misses only from the RUN that uses it, and names it', async () => {
    const b = await apiBuild(d, ctx, { t: 'cached:1', buildargs: { VERSION: '2' } });
    assert.deepEqual(hits(b), [true, true, true, true, false, false]);
    assert.match(b.text, /Step 6\/7 : RUN echo "v\$VERSION" > \/version\n ---> Cache miss: build arg VERSION changed\n/);
    assert.deepEqual(b.misses[0], { step: 'RUN echo "v$VERSION" > /version', line: 6, reason: 'build-arg', name: 'VERSION', message: 'build arg VERSION changed' });
    assert.ok(!b.text.includes('"2"'), 'build arg values are not printed');
  });

  test('the cache survives a daemon restart', async () => {
    await d.restart();
    const b = await apiBuild(d, ctx, { t: 'cached:1', buildargs: { VERSION: '2' } });
    assert.deepEqual(hits(b), [true, true, true, true, true, true]);
  });

  test('a new base image misses from the first step and names both digests', async () => {
    const old = (await d.request('GET', '/images/busybox/json')).json<{ Id: string }>().Id;
    const fresh = await importBusybox(d, 'busybox:latest', ['CMD ["sh"]', 'ENV BASE_VERSION=2']);
    assert.notEqual(fresh, old);
    const b = await apiBuild(d, ctx, { t: 'cached:1', buildargs: { VERSION: '2' } });
    assert.deepEqual(hits(b), [false, false, false, false, false, false]);
    assert.equal(b.misses[0].reason, 'base');
    assert.equal(b.misses[0].message, `base image busybox changed (${old.slice(7, 19)} → ${fresh.slice(7, 19)})`);
    assert.deepEqual([b.misses[0].previous, b.misses[0].current], [old, fresh]);
  });

  test('builder prune empties the cache and frees the intermediate layers', async () => {
    const r = await d.docker(['builder', 'prune', '-f'], { timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Total reclaimed space: /);
    const again = await d.request('POST', '/build/prune');
    assert.deepEqual(again.json(), { CachesDeleted: [], SpaceReclaimed: 0 });
    const b = await apiBuild(d, ctx, { t: 'cached:1', buildargs: { VERSION: '2' } });
    assert.deepEqual(hits(b), [false, false, false, false, false, false]);
    const tagged = await d.request('GET', '/images/cached:1/json');
    assert.equal(tagged.status, 200, 'the tagged image is still there');
  });
});
