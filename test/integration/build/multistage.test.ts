/**
 * Issue 4, acceptance 2: a multi-stage build copies a program made in a
 * build stage into `scratch`, and the result runs; `--target` stops at a
 * stage; stages are found by name and by index.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { startDaemon, skipUnlessRoot, skipWithoutDocker, type Daemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';
import { apiBuild, inspectImage, runIn, steps, writeContext } from './build-helpers.js';

let d!: Daemon;
let dir!: string;

before(async () => {
  dir = await mkdtemp('/tmp/berth-test-build-ms-');
  d = await startDaemon();
  await importBusybox(d);
}, { timeout: 120_000 });

after(async () => {
  await d?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const DOCKERFILE = `FROM busybox AS build
WORKDIR /out
RUN cp /bin/busybox ./busybox && printf '#!/bin/busybox sh\\necho "hello from $(/bin/busybox basename $0) in scratch"\\n' > hello && chmod 0755 hello
COPY greeting.txt .

FROM busybox AS unused
RUN echo the classic builder builds every stage up to the target

FROM scratch
COPY --from=build /out/busybox /bin/busybox
COPY --from=0 /out/hello /usr/local/bin/hello
COPY --from=build --chown=1000:1000 /out/greeting.txt /
ENTRYPOINT ["/usr/local/bin/hello"]
`;

describe('multi-stage builds', { skip: skipUnlessRoot() || skipWithoutDocker() }, () => {
  test('a program built in one stage runs from scratch', async () => {
    const ctx = join(dir, 'ctx');
    await writeContext(ctx, { Dockerfile: DOCKERFILE, 'greeting.txt': 'hi\n' });
    const b = await apiBuild(d, ctx, { t: 'hello:scratch' });
    assert.equal(b.error, undefined, b.text);
    assert.deepEqual(steps(b.text).map((s) => s.step.split(' ')[0]), ['FROM', 'WORKDIR', 'RUN', 'COPY', 'FROM', 'RUN', 'FROM', 'COPY', 'COPY', 'COPY', 'ENTRYPOINT']);
    assert.equal((await runIn(d, 'hello:scratch', [])).trim(), 'hello from hello in scratch');
    const listing = await runIn(d, 'hello:scratch', ['sh', '-c', 'stat -c "%u:%g %a" /greeting.txt; ls /'], ['--entrypoint', '/bin/busybox']);
    assert.match(listing, /^1000:1000 644\n/);
    assert.deepEqual(listing.split('\n').slice(1).filter(Boolean).filter((n) => !['dev', 'etc', 'proc', 'sys'].includes(n)), ['bin', 'greeting.txt', 'usr'],
      'only what was copied (dev, etc, proc, sys are mount points)');
    const img = await inspectImage(d, 'hello:scratch');
    assert.equal(img.RootFS.Layers.length, 3, 'one layer per COPY, nothing from busybox');
  });

  test('COPY --from takes files from an image by reference', async () => {
    const ctx = join(dir, 'fromimage');
    await writeContext(ctx, { Dockerfile: 'FROM scratch\nCOPY --from=busybox /bin/busybox /bin/sh\nENTRYPOINT ["/bin/sh", "-c"]\nCMD ["echo copied from an image"]\n' });
    const b = await apiBuild(d, ctx, { t: 'fromimage:1' });
    assert.equal(b.error, undefined, b.text);
    assert.equal(await runIn(d, 'fromimage:1', []), 'copied from an image\n');
  });

  test('--target stops at a stage', async () => {
    const ctx = join(dir, 'ctx');
    const b = await apiBuild(d, ctx, { t: 'hello:build', target: 'build' });
    assert.equal(b.error, undefined, b.text);
    assert.equal(steps(b.text).length, 4);
    assert.ok(steps(b.text).slice(1).every((s) => s.cached), 'the build stage is cached from the full build');
    assert.equal((await runIn(d, 'hello:build', ['cat', '/out/greeting.txt'])).trim(), 'hi');
    const bad = await apiBuild(d, ctx, { target: 'nope' });
    assert.match(bad.error ?? '', /failed to reach build target nope in Dockerfile/);
  });
});
