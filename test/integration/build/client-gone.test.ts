/**
 * A build whose client has gone runs no more containers. docker-py's
 * `build()` returns a generator its proxy tests never read: the client
 * closes the connection at the first answer, while berthd makes the first
 * RUN's container. berthd used to start that container anyway (a second or
 * more on a busy machine), then kill it, wait for it and remove it, so it
 * was still listed seconds after the test ended, and the suite's next
 * container test (ListContainersTest::test_list_containers) saw it leave
 * between its two lists. dockerd's builder removes a cancelled build's
 * container at once; berthd now never starts it (or stops its start at the
 * next step) and removes it straight away.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { IncomingMessage } from 'node:http';
import { startDaemon, skipUnlessRoot, isClean, formatLeftovers, waitFor, type Daemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';
import { allImages, tarOf, writeContext } from './build-helpers.js';

let d!: Daemon;
let dir!: string;

before(async () => {
  dir = await mkdtemp('/tmp/berth-test-build-gone-');
  d = await startDaemon();
  await importBusybox(d);
}, { timeout: 120_000 });

after(async () => {
  await d?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const DOCKERFILE = 'FROM busybox\nRUN echo ran > /ran\nRUN echo again > /again\n';

/**
 * Container events (type and action) from now until `marker`'s volume
 * event, which berthd sends after everything the caller did before.
 */
async function containerEvents(during: () => Promise<void>): Promise<string[]> {
  const marker = `gone-marker-${Date.now()}`;
  const filters = encodeURIComponent(JSON.stringify({ type: ['container', 'volume'] }));
  const stream: IncomingMessage = await d.requestStream('GET', `/events?filters=${filters}`);
  const seen: string[] = [];
  let text = '';
  const ended = new Promise<void>((resolve, reject) => {
    stream.on('data', (c: Buffer) => {
      text += c.toString();
      let nl;
      while ((nl = text.indexOf('\n')) >= 0) {
        const ev = JSON.parse(text.slice(0, nl)) as { Type: string; Action: string; Actor: { ID: string } };
        text = text.slice(nl + 1);
        if (ev.Type === 'volume' && ev.Actor.ID === marker) { resolve(); return; }
        if (ev.Type === 'container') seen.push(ev.Action);
      }
    });
    stream.on('error', reject);
  });
  try {
    await during();
    const v = await d.request('POST', '/volumes/create', { Name: marker });
    assert.equal(v.status, 201, v.text);
    await ended;
  } finally {
    stream.destroy();
    await d.request('DELETE', `/volumes/${marker}`);
  }
  return seen;
}

const buildDirs = async () => (await readdir(join(d.dataRoot, 'tmp')).catch(() => [] as string[])).filter((n) => n.startsWith('build-'));

describe('a build whose client has gone', { skip: skipUnlessRoot(), timeout: 180_000 }, () => {
  test('a client that leaves once the RUN container is made: the container is removed without being started', async () => {
    const ctx = join(dir, 'at-run');
    await writeContext(ctx, { Dockerfile: DOCKERFILE });
    const imagesBefore = await allImages(d);
    const events = await containerEvents(async () => {
      const res = await d.requestStream('POST', '/build?rm=False&t=gone-at-run', await tarOf(ctx), { headers: { 'Content-Type': 'application/x-tar' } });
      assert.equal(res.statusCode, 200);
      let text = '';
      // " ---> Running in <id>" is written when the container exists, before it is started.
      await new Promise<void>((resolve, reject) => {
        res.on('data', (c: Buffer) => { text += c.toString(); if (text.includes('Running in')) resolve(); });
        res.on('error', reject);
        res.on('end', () => reject(new Error(`build ended early: ${text}`)));
      });
      res.destroy();
      // The build's directory goes when the build has ended.
      await waitFor(async () => (await buildDirs()).length === 0, 60_000, 'the abandoned build to end');
    });
    assert.deepEqual(events.filter((e) => e !== 'attach'), ['create', 'destroy'], 'the abandoned build\'s container was never started');
    assert.deepEqual((await d.request('GET', '/containers/json?all=1')).json<unknown[]>(), []);
    assert.deepEqual(await allImages(d), imagesBefore, 'the abandoned build left no image');
    assert.equal((await d.request('GET', '/images/gone-at-run/json')).status, 404);
    const l = await d.leftovers();
    assert.ok(isClean(l), formatLeftovers(l));
  });

  test('a client that stays gets its build, RUN and all (the check stops only abandoned builds)', async () => {
    const ctx = join(dir, 'stays');
    await writeContext(ctx, { Dockerfile: DOCKERFILE });
    const res = await d.request('POST', '/build?t=stays', await tarOf(ctx), { headers: { 'Content-Type': 'application/x-tar' }, timeoutMs: 120_000 });
    assert.equal(res.status, 200);
    assert.match(res.text, /Successfully tagged stays:latest/);
    assert.equal((await d.request('GET', '/containers/json?all=1')).json<unknown[]>().length, 0);
    assert.equal((await d.request('DELETE', '/images/stays')).status, 200);
  });
});
