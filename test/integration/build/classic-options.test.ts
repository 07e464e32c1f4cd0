/**
 * Classic-builder options docker-py and the Docker CLI send, done as
 * dockerd does: RUN's stderr comes in red (`ESC[91m…ESC[0m`) in the stream;
 * `extrahosts` become /etc/hosts lines of RUN containers; `cachefrom`
 * limits cache hits to the named images' chains and rebuilds steps from an
 * image's history when it has no local cache (a loaded or pulled image).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { startDaemon, skipUnlessRoot, type Daemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';
import { apiBuild, inspectImage, steps, writeContext } from './build-helpers.js';

describe('classic build options', { skip: skipUnlessRoot() }, () => {
  let d!: Daemon;
  let dir!: string;
  before(async () => {
    dir = await mkdtemp('/tmp/berth-test-build-options-');
    d = await startDaemon();
    await importBusybox(d);
  }, { timeout: 120_000 });
  after(async () => {
    await d?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const context = async (name: string, lines: string[]) => {
    const ctx = join(dir, name);
    await writeContext(ctx, { Dockerfile: lines.join('\n') + '\n' });
    return ctx;
  };

  test('what RUN writes to stderr is streamed in red, stdout as is', async () => {
    const ctx = await context('stderr', ['FROM busybox', `RUN sh -c ">&2 echo 'to stderr'; echo 'to stdout'"`]);
    const b = await apiBuild(d, ctx, { nocache: '1' });
    assert.equal(b.error, undefined, b.text);
    const streams = b.messages.map((m) => m.stream);
    assert.ok(streams.includes('\x1b[91mto stderr\n\x1b[0m'), JSON.stringify(streams));
    assert.ok(streams.includes('to stdout\n'), JSON.stringify(streams));
  });

  test('extrahosts become lines of the RUN containers\' /etc/hosts', async () => {
    const ctx = await context('hosts', ['FROM busybox', 'RUN ping -c1 -W1 hello.world.test', 'RUN cp /etc/hosts /hosts-file']);
    const b = await apiBuild(d, ctx, { t: 'hosts-build', extrahosts: ['extrahost.local.test:127.0.0.1', 'hello.world.test:127.0.0.1'] });
    assert.equal(b.error, undefined, b.text);
    const c = await d.request('POST', '/containers/create', { Image: 'hosts-build', Cmd: ['cat', '/hosts-file'] });
    assert.equal(c.status, 201, c.text);
    const id = c.json<{ Id: string }>().Id;
    try {
      const r = await d.berth(['start', '-a', id]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^127\.0\.0\.1\textrahost\.local\.test$/m);
      assert.match(r.stdout, /^127\.0\.0\.1\thello\.world\.test$/m);
    } finally {
      await d.request('DELETE', `/containers/${id}?force=1`);
    }
  });

  test('an extrahosts entry that is not host:ip fails the RUN that would use it', async () => {
    const ctx = await context('bad-hosts', ['FROM busybox', 'RUN true']);
    const b = await apiBuild(d, ctx, { nocache: '1', extrahosts: ['nohost'] });
    assert.match(b.error ?? '', /invalid IP address in add-host/);
  });

  const cacheLines = ['FROM busybox', 'ENV FOO=bar', 'RUN touch baz', 'RUN touch bax'];

  test('cachefrom: a build of the same Dockerfile hits on the named image; with no such image nothing hits', async () => {
    const ctx = await context('cache-from', cacheLines);
    const first = await apiBuild(d, ctx, { t: 'build1' });
    assert.equal(first.error, undefined, first.text);
    const second = await apiBuild(d, ctx, { t: 'build2', cachefrom: JSON.stringify(['build1']) });
    assert.equal(second.error, undefined, second.text);
    assert.deepEqual(steps(second.text).slice(1).map((s) => s.cached), [true, true, true]);
    assert.equal(second.imageId, first.imageId);
    assert.equal((await d.request('DELETE', '/images/build2')).status, 200);
    // The local cache still has every step, but none of it is on a named image's chain.
    const third = await apiBuild(d, ctx, { t: 'build2', cachefrom: JSON.stringify(['nosuchtag']) });
    assert.equal(third.error, undefined, third.text);
    assert.equal((third.text.match(/Using cache/g) ?? []).length, 0, third.text);
    assert.notEqual(third.imageId, first.imageId);
  });

  test('cachefrom: an image with no local cache and no parents (loaded from a save) gives hits from its history, and the same image', async () => {
    const ctx = await context('cache-from-loaded', [...cacheLines, 'RUN echo loaded > /x']);
    const first = await apiBuild(d, ctx, { t: 'saved:1' });
    assert.equal(first.error, undefined, first.text);
    const saved = await d.request('GET', '/images/saved:1/get');
    assert.equal(saved.status, 200);
    // Forget the image, its intermediates and every cache entry; then load it back alone.
    assert.equal((await d.request('DELETE', '/images/saved:1?force=1')).status, 200);
    assert.equal((await d.request('POST', '/build/prune')).status, 200);
    const load = await d.request('POST', '/images/load', saved.body, { headers: { 'Content-Type': 'application/x-tar' } });
    assert.equal(load.status, 200, load.text);
    assert.equal((await inspectImage(d, 'saved:1')).Parent, '');

    const plain = await apiBuild(d, ctx, { t: 'plain', nocache: '0' });
    assert.equal(plain.error, undefined, plain.text);
    assert.equal((plain.text.match(/Using cache/g) ?? []).length, 0, 'without cachefrom the loaded image gives no hits');
    assert.equal((await d.request('DELETE', '/images/plain?force=1')).status, 200);
    assert.equal((await d.request('POST', '/build/prune')).status, 200);

    const again = await apiBuild(d, ctx, { t: 'again', cachefrom: JSON.stringify(['saved:1']) });
    assert.equal(again.error, undefined, again.text);
    assert.deepEqual(steps(again.text).slice(1).map((s) => s.cached), [true, true, true, true], again.text);
    assert.doesNotMatch(again.text, /Running in/);
    assert.equal(again.imageId, first.imageId);
    // The steps' images now exist, so an ordinary rebuild hits too.
    const local = await apiBuild(d, ctx, {});
    assert.deepEqual(steps(local.text).slice(1).map((s) => s.cached), [true, true, true, true], local.text);
  });

  test('cachefrom: a source whose history differs at a step stops giving hits from that step on', async () => {
    const ctx = await context('cache-from-diverge', ['FROM busybox', 'ENV FOO=bar', 'RUN touch other', 'RUN touch bax']);
    const b = await apiBuild(d, ctx, { cachefrom: JSON.stringify(['build1']) });
    assert.equal(b.error, undefined, b.text);
    assert.deepEqual(steps(b.text).slice(1).map((s) => s.cached), [true, false, false], b.text);
  });

  test('cachefrom must be a JSON list of strings', async () => {
    const ctx = await context('cache-from-bad', cacheLines);
    const b = await apiBuild(d, ctx, { cachefrom: '[1]' });
    assert.equal(b.status, 400);
  });
});
