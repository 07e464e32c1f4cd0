/**
 * Issue 4, acceptances 4 and 5: with SOURCE_DATE_EPOCH, two builds on two
 * data roots give one image ID; `DOCKER_BUILDKIT=0 docker build` (the real
 * Docker 28 CLI) against berthd gives the same image as the same build sent
 * through the API.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { startDaemon, skipUnlessRoot, skipWithoutDocker, type Daemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';
import { apiBuild, inspectImage, steps, writeContext } from './build-helpers.js';

let a!: Daemon;
let b!: Daemon;
let dir!: string;
let ctx!: string;
const EPOCH = '1700000000';

before(async () => {
  dir = await mkdtemp('/tmp/berth-test-build-repro-');
  ctx = join(dir, 'ctx');
  [a, b] = await Promise.all([startDaemon(), startDaemon()]);
  await Promise.all([importBusybox(a), importBusybox(b)]);
  await writeContext(ctx, {
    Dockerfile: [
      'FROM busybox AS build',
      'RUN mkdir -p /out && echo built > /out/artifact && touch /out/stamp',
      'FROM busybox',
      'LABEL org.example.reproducible=yes',
      'ENV MODE=release',
      'WORKDIR /srv',
      'COPY src/ ./src/',
      'COPY --from=build /out/ /opt/',
      'ADD notes.txt /srv/',
      'RUN echo "$MODE" > mode && mkdir -p /var/cache/x && echo cached > /var/cache/x/when',
      'USER app',
      'CMD ["cat", "/srv/mode"]',
      '',
    ].join('\n'),
    'src/a.txt': 'a\n',
    'src/dir/b.txt': { content: 'b\n', mode: 0o600 },
    'src/run.sh': { content: '#!/bin/sh\n', mode: 0o755 },
    'notes.txt': 'notes\n',
  });
}, { timeout: 120_000 });

after(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('reproducible builds', { skip: skipUnlessRoot() || skipWithoutDocker() }, () => {
  let id = '';

  test('two SOURCE_DATE_EPOCH builds on two data roots give one image ID', async () => {
    const [ra, rb] = await Promise.all([
      apiBuild(a, ctx, { t: 'repro:1', buildargs: { SOURCE_DATE_EPOCH: EPOCH } }),
      apiBuild(b, ctx, { t: 'repro:1', buildargs: { SOURCE_DATE_EPOCH: EPOCH } }),
    ]);
    assert.equal(ra.error, undefined, ra.text);
    assert.equal(rb.error, undefined, rb.text);
    assert.ok(ra.imageId);
    assert.equal(rb.imageId, ra.imageId);
    id = ra.imageId!;
    const img = await inspectImage(a, 'repro:1');
    assert.equal(img.Created, '2023-11-14T22:13:20Z');
    const hist = (await a.request('GET', '/images/repro:1/history')).json<{ Created: number }[]>();
    assert.ok(hist.every((h) => h.Created <= Number(EPOCH)), 'every history timestamp is clamped');
    assert.doesNotMatch(ra.text, /not consumed/, 'SOURCE_DATE_EPOCH needs no ARG');
  });

  test('without SOURCE_DATE_EPOCH the image differs (timestamps are real)', async () => {
    const r = await apiBuild(a, ctx, { t: 'repro:now' });
    assert.equal(r.error, undefined, r.text);
    assert.notEqual(r.imageId, id);
  });

  test('DOCKER_BUILDKIT=0 docker build gives the same image as the API build', async () => {
    assert.ok(id, 'API build done');
    // On another data root, with --no-cache: a real rebuild by the CLI's request, not a cache hit.
    const cli = await b.docker(['build', '--no-cache', '--build-arg', `SOURCE_DATE_EPOCH=${EPOCH}`, '-t', 'repro:cli', '.'], {
      cwd: ctx, env: { DOCKER_BUILDKIT: '0' }, timeoutMs: 180_000,
    });
    assert.equal(cli.code, 0, `${cli.stdout}\n${cli.stderr}`);
    assert.match(cli.stdout, new RegExp(`Successfully built ${id.slice(7, 19)}\\nSuccessfully tagged repro:cli\\n`));
    assert.equal((await inspectImage(b, 'repro:cli')).Id, id);
    // And on the API's own daemon the CLI's build is all cache hits.
    const cached = await a.docker(['build', '--build-arg', `SOURCE_DATE_EPOCH=${EPOCH}`, '-t', 'repro:cli', '.'], {
      cwd: ctx, env: { DOCKER_BUILDKIT: '0' }, timeoutMs: 180_000,
    });
    assert.equal(cached.code, 0, cached.stderr);
    assert.ok(steps(cached.stdout).filter((s) => !s.step.startsWith('FROM')).every((s) => s.cached), cached.stdout);
    assert.equal((await inspectImage(a, 'repro:cli')).Id, id);
    const run = await a.docker(['run', '--rm', 'repro:cli'], { timeoutMs: 60_000 });
    assert.equal(run.stdout, 'release\n');
  });

  test('berth build gives the same image too', async () => {
    assert.ok(id, 'API build done');
    const r = await b.berth(['build', '--no-cache', '--build-arg', `SOURCE_DATE_EPOCH=${EPOCH}`, '-t', 'repro:berth', ctx], { timeoutMs: 180_000 });
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.equal((await inspectImage(b, 'repro:berth')).Id, id);
  });

  test('docker build -q prints only the image ID', async () => {
    const q = await a.docker(['build', '-q', '--build-arg', `SOURCE_DATE_EPOCH=${EPOCH}`, '.'], { cwd: ctx, env: { DOCKER_BUILDKIT: '0' }, timeoutMs: 180_000 });
    assert.equal(q.code, 0, q.stderr);
    assert.equal(q.stdout.trim(), id);
  });
});
