/**
 * `rmi` removes the untagged parents only the image was keeping (a build's
 * intermediate images) like dockerd, stops at a tagged or used parent, and
 * keeps them all with `--no-prune`.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startDaemon, skipUnlessRoot, type Daemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';

describe('rmi and untagged parents', { skip: skipUnlessRoot() }, () => {
  let d!: Daemon;
  let dir!: string;
  let busybox!: string;
  before(async () => {
    d = await startDaemon();
    busybox = await importBusybox(d);
    dir = await mkdtemp('/tmp/berth-test-rmi-');
  }, { timeout: 120_000 });
  after(async () => { await d?.stop(); if (dir) await rm(dir, { recursive: true, force: true }); });

  async function berth(args: string[]): Promise<string> {
    const r = await d.berth(args);
    assert.equal(r.code, 0, `berth ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  }
  const allImages = async () => (await berth(['images', '-a', '-q', '--no-trunc'])).trim().split('\n').filter(Boolean).sort();

  async function build(tag: string, dockerfile: string): Promise<void> {
    const ctx = join(dir, tag);
    await rm(ctx, { recursive: true, force: true });
    await (await import('node:fs/promises')).mkdir(ctx);
    await writeFile(join(ctx, 'Dockerfile'), dockerfile);
    await berth(['build', '-q', '-t', tag, ctx]);
  }

  test('the intermediate images of a build go with it', async () => {
    await build('three', 'FROM busybox\nRUN echo 1 > /one\nENV A=1\nRUN echo 3 > /three\n');
    assert.ok((await allImages()).length >= 4, 'busybox, two intermediates and the image');
    const out = await berth(['rmi', 'three']);
    assert.match(out, /^Untagged: three:latest$/m);
    assert.equal(out.match(/^Deleted: /gm)?.length, 3, out);
    assert.deepEqual(await allImages(), [busybox]);
  });

  test('--no-prune keeps them; a tagged parent stops the walk', async () => {
    await build('keep', 'FROM busybox\nRUN echo 1 > /one\nRUN echo 2 > /two\n');
    const out = await berth(['rmi', '--no-prune', 'keep']);
    assert.equal(out.match(/^Deleted: /gm)?.length, 1, out);
    assert.ok((await allImages()).length >= 2, 'the intermediate image stays');
    await berth(['image', 'prune', '-f']);
    assert.deepEqual(await allImages(), [busybox], 'and image prune takes the dangling chain');

    await build('base', 'FROM busybox\nRUN echo b > /b\n');
    await build('top', 'FROM base\nRUN echo t > /t\n');
    await berth(['rmi', 'top']);
    const left = await berth(['images', '--format', '{{.Repository}}']);
    assert.deepEqual(left.trim().split('\n').sort(), ['base', 'busybox']);
    await berth(['rmi', 'base']);
    assert.deepEqual(await allImages(), [busybox]);
  });
});
