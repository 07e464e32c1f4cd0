/**
 * Issue 4, acceptance 6: a broken Dockerfile — unknown instruction, bad
 * JSON form, missing COPY source, failing RUN — gives an error naming the
 * file and line, and leaves no image, container, mount, upper dir or
 * temporary directory behind (the steps it had built are undone too). A
 * client that goes away mid-RUN cancels the build the same way.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startDaemon, skipUnlessRoot, skipWithoutDocker, isClean, formatLeftovers, waitFor, type Daemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';
import { allImages, apiBuild, tarOf, writeContext } from './build-helpers.js';

let d!: Daemon;
let dir!: string;

before(async () => {
  dir = await mkdtemp('/tmp/berth-test-build-err-');
  d = await startDaemon();
  await importBusybox(d);
}, { timeout: 120_000 });

after(async () => {
  await d?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const ls = (p: string) => readdir(p).catch(() => [] as string[]);

/** What a failed build must not change or leave. */
async function snapshot(): Promise<Record<string, unknown>> {
  const containers = (await d.request('GET', '/containers/json?all=1')).json<unknown[]>();
  return {
    images: await allImages(d), containers: containers.length,
    containerDirs: await ls(join(d.dataRoot, 'containers')), tmp: await ls(join(d.dataRoot, 'tmp')),
    layers: (await ls(join(d.dataRoot, 'layers'))).sort(), bundles: await ls(join(d.execRoot, 'c')),
  };
}

async function expectNothingLeft(before: Record<string, unknown>): Promise<void> {
  assert.deepEqual(await snapshot(), before);
  const l = await d.leftovers();
  assert.ok(isClean(l), formatLeftovers(l));
}

const CASES: { name: string; dockerfile: string; http?: number; message: RegExp; code?: number }[] = [
  {
    name: 'an unknown instruction', http: 400,
    dockerfile: 'FROM busybox\nRUN echo ok > /ok\nRUNN echo typo\n', message: /^Dockerfile:3: unknown instruction: RUNN$/,
  },
  {
    name: 'a bad JSON form', http: 400,
    dockerfile: 'FROM busybox\nRUN echo ok > /ok\nSHELL /bin/bash -c\n', message: /^Dockerfile:3: SHELL requires the arguments to be in JSON form$/,
  },
  {
    name: 'a missing COPY source',
    dockerfile: 'FROM busybox\nRUN echo ok > /ok\n\nCOPY missing.txt /\n',
    message: /^Dockerfile:4: COPY failed: file not found in build context or excluded by \.dockerignore: stat missing\.txt: file does not exist$/,
  },
  {
    name: 'a base image that is neither here nor pullable',
    dockerfile: 'FROM busybox AS first\nRUN echo ok > /ok\nFROM berth-test/no-such-image:never\n',
    message: /^Dockerfile:3: pull access denied or image not available for berth-test\/no-such-image:never: /,
  },
  {
    name: 'a command that does not exist',
    dockerfile: 'FROM busybox\nRUN echo ok > /ok\nRUN ["/no/such/program"]\n',
    message: /^Dockerfile:3: .*\/no\/such\/program.*(not found|no such file)/i,
  },
  {
    name: 'a failing RUN',
    dockerfile: 'FROM busybox\nRUN echo ok > /ok\nRUN echo about to fail && exit 7\n',
    message: /^Dockerfile:3: The command '\/bin\/sh -c echo about to fail && exit 7' returned a non-zero code: 7$/, code: 7,
  },
];

describe('broken Dockerfiles', { skip: skipUnlessRoot() || skipWithoutDocker() }, () => {
  for (const c of CASES) {
    test(`${c.name}: an error with file and line, nothing left behind`, async () => {
      const ctx = join(dir, c.name.replace(/\W+/g, '-'));
      await writeContext(ctx, { Dockerfile: c.dockerfile });
      const before = await snapshot();
      const b = await apiBuild(d, ctx, { t: 'broken:1' });
      assert.equal(b.status, c.http ?? 200);
      assert.match(b.error ?? '', c.message, b.text);
      if (c.code !== undefined) assert.equal(b.errorCode, c.code);
      assert.equal(b.imageId, undefined);
      await expectNothingLeft(before);
      assert.equal((await d.request('GET', '/images/broken:1/json')).status, 404);
    });
  }

  test('docker build exits with the failing RUN\'s code and prints the line', async () => {
    const ctx = join(dir, 'cli');
    await writeContext(ctx, { Dockerfile: 'FROM busybox\nRUN exit 7\n' });
    const before = await snapshot();
    const r = await d.docker(['build', '-t', 'broken:cli', '.'], { cwd: ctx, env: { DOCKER_BUILDKIT: '0' }, timeoutMs: 120_000 });
    assert.equal(r.code, 7, r.stderr);
    assert.match(r.stderr, /Dockerfile:2: The command '\/bin\/sh -c exit 7' returned a non-zero code: 7/);
    await expectNothingLeft(before);
  });

  test('unsupported and malformed options are refused, not ignored', async () => {
    const ctx = join(dir, 'opts');
    await writeContext(ctx, { Dockerfile: 'FROM busybox\n' });
    for (const [q, re] of [
      [{ cachefrom: 'not json' }, /error reading cache-from/], [{ networkmode: 'container:x' }, /--network container:<name> is not supported for builds/],
      [{ platform: 'linux/s390x' }, /building for linux\/s390x is not supported/],
      [{ version: '2' }, /BuildKit/], [{ t: 'Bad:Tag:x' }, /invalid tag/],
    ] as const) {
      const b = await apiBuild(d, ctx, q as Record<string, string | string[]>);
      assert.ok(b.status === 501 || b.status === 400, `${JSON.stringify(q)}: ${b.status}`);
      assert.match(b.error ?? '', re);
    }
  });

  test('a client that goes away cancels the build and removes its container', async () => {
    const ctx = join(dir, 'cancel');
    await writeContext(ctx, { Dockerfile: 'FROM busybox\nRUN echo before > /before\nRUN sleep 60\n' });
    const before = await snapshot();
    const res = await d.requestStream('POST', '/build?t=cancelled', await tarOf(ctx), { headers: { 'Content-Type': 'application/x-tar' } });
    let text = '';
    await new Promise<void>((resolve, reject) => {
      res.on('data', (c: Buffer) => { text += c.toString(); if (text.includes('Running in') && text.includes('sleep 60')) resolve(); });
      res.on('error', reject);
      res.on('end', () => reject(new Error(`build ended early: ${text}`)));
    });
    await sleep(300);
    res.destroy();
    await waitFor(async () => JSON.stringify(await snapshot()) === JSON.stringify(before), 20_000, 'the cancelled build to clean up');
    await expectNothingLeft(before);
  });

  test('a RUN container left by a daemon killed mid-build is removed when berthd starts again', async () => {
    const ctx = join(dir, 'crash');
    await writeContext(ctx, { Dockerfile: 'FROM busybox\nRUN sleep 60\n' });
    const res = await d.requestStream('POST', '/build', await tarOf(ctx), { headers: { 'Content-Type': 'application/x-tar' } });
    let text = '';
    await new Promise<void>((resolve, reject) => {
      res.on('data', (c: Buffer) => { text += c.toString(); if (text.includes('Running in')) resolve(); });
      res.on('error', () => undefined);
      res.on('end', () => reject(new Error(`build ended early: ${text}`)));
    });
    await d.kill9();
    res.destroy();
    await d.restart();
    assert.deepEqual((await d.request('GET', '/containers/json?all=1')).json<unknown[]>(), [], 'start-up removes the interrupted build\'s RUN container');
    const ok = join(dir, 'after-crash');
    await writeContext(ok, { Dockerfile: 'FROM busybox\nRUN true\n' });
    const b = await apiBuild(d, ok);
    assert.equal(b.error, undefined, b.text);
    assert.deepEqual((await d.request('GET', '/containers/json?all=1')).json<unknown[]>(), []);
    assert.deepEqual(await ls(join(d.dataRoot, 'tmp')), []);
    const l = await d.leftovers();
    assert.ok(isClean(l), formatLeftovers(l));
  });
});
