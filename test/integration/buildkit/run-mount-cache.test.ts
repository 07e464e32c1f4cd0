/**
 * Issue 11: `RUN --mount=type=cache` through the real buildx on berthd: the
 * same builder and the same cache directories as the classic API, so a
 * cache filled by `POST /build` is seen by `buildx build`, and its content
 * stays out of the image.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { startDaemon, skipUnlessRoot, skipWithoutDocker, type Daemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';
import { apiBuild, writeContext } from '../build/build-helpers.js';
import { installBuildx, skipWithoutBuildx } from './buildx.js';


let d!: Daemon;
let dir!: string;

before(async () => {
  if (skipUnlessRoot() || skipWithoutDocker() || skipWithoutBuildx()) return;
  dir = await mkdtemp('/tmp/berth-test-buildx-mount-');
  d = await startDaemon();
  await importBusybox(d);
  await installBuildx(d);
}, { timeout: 120_000 });

after(async () => {
  await d?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('buildx: RUN --mount=type=cache', { skip: skipUnlessRoot() || skipWithoutDocker() || skipWithoutBuildx() }, () => {
  test('a cache filled through the classic API is read through buildx, and stays out of the image', async () => {
    const fill = join(dir, 'fill');
    await writeContext(fill, { Dockerfile: 'FROM busybox\nRUN --mount=type=cache,target=/root/.cache,id=pkgs echo from-classic > /root/.cache/entry\n' });
    const b = await apiBuild(d, fill);
    assert.equal(b.error, undefined, b.text);
    const read = join(dir, 'read');
    await writeContext(read, {
      Dockerfile: [
        'FROM busybox',
        'RUN --mount=type=cache,target=/c,id=pkgs,sharing=locked cat /c/entry && echo from-buildx >> /c/entry',
        'CMD ["sh", "-c", "ls /c/entry 2>&1 || echo NO-CACHE-IN-IMAGE"]',
        '',
      ].join('\n'),
    });
    const r = await d.docker(['buildx', 'build', '--progress=plain', '-t', 'mnt:1', '--load', '.'], { cwd: read });
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stderr, /#\d+ [\d.]+ from-classic/);
    assert.match(r.stderr, /RUN --mount=type=cache,target=\/c,id=pkgs,sharing=locked cat \/c\/entry/);
    const run = await d.docker(['run', '--rm', 'mnt:1']);
    assert.match(run.stdout, /NO-CACHE-IN-IMAGE/);
    // And the classic API sees what buildx's RUN appended.
    const again = join(dir, 'again');
    await writeContext(again, { Dockerfile: 'FROM busybox\nRUN --mount=type=cache,target=/x,id=pkgs cat /x/entry\n' });
    const c = await apiBuild(d, again);
    assert.equal(c.error, undefined, c.text);
    assert.match(c.text, /from-classic\nfrom-buildx\n/);
  });

  test('buildx du lists the cache directory; buildx prune removes it and the next RUN starts empty', async () => {
    const du = await d.docker(['buildx', 'du', '--verbose']);
    assert.equal(du.code, 0, du.stderr);
    assert.match(du.stdout, /cached mount pkgs/);
    assert.match(du.stdout, /exec\.cachemount/);
    const prune = await d.docker(['buildx', 'prune', '--force']);
    assert.equal(prune.code, 0, prune.stderr);
    assert.match(prune.stdout, /cachemount-[0-9a-f]{12}/);
    assert.deepEqual((await readdir(join(d.dataRoot, 'build-cache'))).filter((n) => !n.startsWith('.')), []);
    const after = join(dir, 'after');
    await writeContext(after, { Dockerfile: 'FROM busybox\nRUN --mount=type=cache,target=/x,id=pkgs ls -A /x | wc -l\n' });
    const b = await apiBuild(d, after);
    assert.equal(b.error, undefined, b.text);
    assert.match(b.text, /\n0\n/);
  });
});
