/**
 * Issue 11: `RUN --mount=type=cache` and `type=tmpfs` through the classic
 * API. A cache directory outlives the build and is shared by id (default:
 * the target); its content never lands in the RUN's layer; uid/gid/mode
 * apply when it is made; the id is hashed under the data root (an id such
 * as `../../x` names nothing outside it); the cache key holds the mount's
 * options, not its content. A tmpfs mount is a tmpfs and leaves nothing
 * behind. Unknown options and mount targets of `/` are refused.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { startDaemon, skipUnlessRoot, skipWithoutDocker, type Daemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';
import { apiBuild, steps, writeContext, type BuildOutcome } from './build-helpers.js';

let d!: Daemon;
let dir!: string;
let n = 0;

before(async () => {
  dir = await mkdtemp('/tmp/berth-test-run-mount-cache-');
  d = await startDaemon();
  await importBusybox(d);
}, { timeout: 120_000 });

after(async () => {
  await d?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function build(lines: string[], query: Record<string, string> = {}): Promise<BuildOutcome> {
  const ctx = join(dir, `ctx${n++}`);
  await writeContext(ctx, { Dockerfile: [...lines, ''].join('\n') });
  return apiBuild(d, ctx, query);
}

function ok(b: BuildOutcome): BuildOutcome {
  assert.equal(b.error, undefined, `${b.error}\n${b.text}`);
  assert.ok(b.imageId);
  return b;
}

/** Output of a command in a container of `image`. */
async function runIn(image: string, cmd: string): Promise<string> {
  const b = await build([`FROM ${image}`, `RUN ${cmd}`]);
  return ok(b).text;
}

describe('RUN --mount=type=cache', { skip: skipUnlessRoot() ?? skipWithoutDocker() }, () => {
  test('the cache persists across builds, is shared by id, and stays out of the layer', async () => {
    const first = ok(await build([
      'FROM busybox',
      'RUN --mount=type=cache,target=/cache,id=shared-one echo one-$((1+1)) >> /cache/log',
      'RUN test ! -e /cache/log && echo NOT-IN-LAYER',
    ]));
    assert.match(first.text, /\nNOT-IN-LAYER\n/);
    // Another build, another target, the same id: it sees what the first wrote.
    const second = ok(await build([
      'FROM busybox',
      'RUN --mount=type=cache,target=/data,id=shared-one,sharing=locked cat /data/log; echo READ-DONE',
    ]));
    assert.match(second.text, /one-2\nREAD-DONE/);
    // The final image of the first build holds no cache content, nor the empty mount point the runtime made.
    assert.match(await runIn(first.imageId!, 'test ! -e /cache && echo CLEAN'), /\nCLEAN\n/);
    // The directory is under the data root, named by the id's hash.
    const hash = createHash('sha256').update('shared-one').digest('hex');
    assert.equal(await readFile(join(d.dataRoot, 'build-cache', hash, 'log'), 'utf8'), 'one-2\n');
  });

  test('a mount point the image had stays', async () => {
    const b = ok(await build(['FROM busybox', 'RUN mkdir -p /keep/me', 'RUN --mount=type=cache,target=/keep/me,id=keep true']));
    assert.match(await runIn(b.imageId!, 'test -d /keep/me && echo KEPT'), /\nKEPT\n/);
  });

  test('the id defaults to the target', async () => {
    ok(await build(['FROM busybox', 'RUN --mount=type=cache,target=/var/cache/tool echo seen > /var/cache/tool/mark']));
    const b = ok(await build(['FROM busybox', 'WORKDIR /var', 'RUN --mount=type=cache,target=cache/tool cat /var/cache/tool/mark']));
    assert.match(b.text, /\nseen\n/);
  });

  test('uid, gid and mode apply to a new cache directory', async () => {
    const b = ok(await build(['FROM busybox', 'RUN --mount=type=cache,target=/owned,uid=1000,gid=1001,mode=0750 stat -c "owner=%u:%g mode=%a" /owned']));
    assert.match(b.text, /owner=1000:1001 mode=750/);
  });

  test('an id that names a path stays inside the cache directory', async () => {
    const before = new Set(await readdir(d.dataRoot));
    ok(await build(['FROM busybox', 'RUN --mount=type=cache,target=/c,id=../../../escape echo x > /c/f']));
    assert.deepEqual(new Set(await readdir(d.dataRoot)), new Set([...before, 'build-cache']));
    const hash = createHash('sha256').update('../../../escape').digest('hex');
    assert.equal(await readFile(join(d.dataRoot, 'build-cache', hash, 'f'), 'utf8'), 'x\n');
  });

  test('the cache key holds the mount options, not the cache content', async () => {
    const lines = (id: string) => ['FROM busybox', `RUN --mount=type=cache,target=/k,id=${id} date +%s%N >> /k/t; echo ran`];
    ok(await build(lines('key-a')));
    const again = ok(await build(lines('key-a')));
    assert.deepEqual(steps(again.text).slice(1).map((s) => s.cached), [true]);
    const other = ok(await build(lines('key-b')));
    assert.deepEqual(steps(other.text).slice(1).map((s) => s.cached), [false]);
    // The cache key of a RUN without mounts is unchanged by this feature: a plain RUN still caches against itself.
    const plain = ['FROM busybox', 'RUN echo plain'];
    ok(await build(plain));
    assert.deepEqual(steps(ok(await build(plain)).text).slice(1).map((s) => s.cached), [true]);
  });

  test('sharing=locked: a second RUN on the id waits until the first is done', async () => {
    const hash = createHash('sha256').update('locked-one').digest('hex');
    const marker = join(d.dataRoot, 'build-cache', hash, 'a-started');
    // A holds the cache and looks for B's mark for up to 3 s; B is started only once A runs.
    const a = build([
      'FROM busybox',
      'RUN --mount=type=cache,target=/c,id=locked-one,sharing=locked touch /c/a-started; ' +
        'i=0; while [ $i -lt 30 ] && [ ! -e /c/b-was-here ]; do sleep 0.1; i=$((i+1)); done; ' +
        '[ -e /c/b-was-here ] && echo A-SAW-B || echo A-ALONE; touch /c/a-done',
    ]);
    for (let i = 0; i < 600 && !(await readFile(marker).then(() => true, () => false)); i++) await new Promise((r) => setTimeout(r, 50));
    const b = build(['FROM busybox', 'RUN --mount=type=cache,target=/c,id=locked-one,sharing=locked test -e /c/a-done && echo B-AFTER-A; touch /c/b-was-here']);
    const [ra, rb] = await Promise.all([a, b]);
    assert.match(ok(ra).text, /\nA-ALONE\n/);
    assert.match(ok(rb).text, /\nB-AFTER-A\n/);
  });

  test('a tmpfs mount is a tmpfs and leaves nothing in the layer', async () => {
    const b = ok(await build([
      'FROM busybox',
      'RUN --mount=type=tmpfs,target=/scratch,size=1m grep " /scratch tmpfs" /proc/mounts && echo gone > /scratch/f',
      'RUN test ! -e /scratch/f && echo TMPFS-CLEAN',
    ]));
    assert.match(b.text, /\nTMPFS-CLEAN\n/);
  });

  test('bad mount options are refused with BuildKit\'s words', async () => {
    const unknown = await build(['FROM busybox', 'RUN --mount=type=cache,target=/x,bogus=1 true']);
    assert.match(unknown.error ?? '', /unexpected key 'bogus' in 'bogus=1'/);
    const sharing = await build(['FROM busybox', 'RUN --mount=type=cache,target=/x,sharing=all true']);
    assert.match(sharing.error ?? '', /unsupported sharing value "all"/);
    const root = await build(['FROM busybox', 'RUN --mount=type=cache,target=/ true']);
    assert.match(root.error ?? '', /root directory cannot be a mount target/);
    const noTarget = await build(['FROM busybox', 'RUN --mount=type=cache,id=x true']);
    assert.match(noTarget.error ?? '', /mount type=cache requires a target/);
  });
});
