/**
 * Issue 11: `RUN --mount=type=bind` through the classic API: from the build
 * context (the default), from an earlier stage, from an image; read-only by
 * default; `rw` writes are discarded (the context, the stage and the layer
 * never see them); a source cannot climb out of its root (`..`, symlinks);
 * the cache key follows the source's content.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startDaemon, skipUnlessRoot, skipWithoutDocker, type Daemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';
import { apiBuild, steps, writeContext, type BuildOutcome } from './build-helpers.js';

let d!: Daemon;
let dir!: string;
let n = 0;

before(async () => {
  dir = await mkdtemp('/tmp/berth-test-run-mount-bind-');
  d = await startDaemon();
  await importBusybox(d);
}, { timeout: 120_000 });

after(async () => {
  await d?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function context(lines: string[], files: Record<string, string> = {}): Promise<string> {
  const ctx = join(dir, `ctx${n++}`);
  await writeContext(ctx, { Dockerfile: [...lines, ''].join('\n'), ...files });
  return ctx;
}

function ok(b: BuildOutcome): BuildOutcome {
  assert.equal(b.error, undefined, `${b.error}\n${b.text}`);
  return b;
}

describe('RUN --mount=type=bind', { skip: skipUnlessRoot() ?? skipWithoutDocker() }, () => {
  test('the build context, read-only by default, not in the layer', async () => {
    const ctx = await context([
      'FROM busybox',
      'RUN --mount=target=/src cat /src/app/main.txt && (touch /src/new 2>/dev/null && echo WRITABLE || echo READ-ONLY)',
      'RUN --mount=type=bind,source=app,target=/only cat /only/main.txt',
      'RUN test ! -e /src/app/main.txt && test ! -e /only/main.txt && echo NOT-IN-LAYER',
    ], { 'app/main.txt': 'main-content\n' });
    const b = ok(await apiBuild(d, ctx));
    assert.match(b.text, /main-content\nREAD-ONLY/);
    assert.match(b.text, /\nNOT-IN-LAYER\n/);
  });

  test('rw writes are discarded: the context and the next build see nothing', async () => {
    const ctx = await context([
      'FROM busybox',
      'RUN --mount=type=bind,target=/src,rw echo changed > /src/app/main.txt && echo added > /src/added && cat /src/app/main.txt',
      'RUN --mount=type=bind,target=/again cat /again/app/main.txt && test ! -e /again/added && echo DISCARDED',
    ], { 'app/main.txt': 'original\n' });
    const b = ok(await apiBuild(d, ctx));
    assert.match(b.text, /\nchanged\n/);
    assert.match(b.text, /original\nDISCARDED/);
    assert.equal(await readFile(join(ctx, 'app/main.txt'), 'utf8'), 'original\n');
  });

  test('from an earlier stage and from an image', async () => {
    const ctx = await context([
      'FROM busybox AS tools',
      'RUN mkdir /out && echo from-stage > /out/tool',
      'FROM busybox',
      'RUN --mount=type=bind,from=tools,source=/out,target=/t,rw cat /t/tool && echo x > /t/tool',
      'RUN --mount=from=tools,source=out/tool,target=/tool.txt cat /tool.txt',
      'RUN --mount=from=busybox,source=/bin,target=/bb /bb/busybox echo from-image',
    ]);
    const b = ok(await apiBuild(d, ctx));
    assert.match(b.text, /from-stage\n/);
    assert.equal((b.text.match(/from-stage\n/g) ?? []).length, 2, 'the rw write to the stage was discarded');
    assert.match(b.text, /\nfrom-image\n/);
  });

  test('a source cannot leave its root', async () => {
    const ctx = await context([
      'FROM busybox',
      'RUN --mount=source=../../../../app,target=/e cat /e/main.txt && echo CONTEXT-ROOT',
      'RUN --mount=source=link/app,target=/l cat /l/main.txt',
    ], { 'app/main.txt': 'inside\n' });
    await symlink('/', join(ctx, 'link'));
    const b = ok(await apiBuild(d, ctx));
    // `..` stops at the context's root; the absolute symlink resolves inside the context.
    assert.match(b.text, /inside\nCONTEXT-ROOT/);
    assert.match(b.text, /\ninside\n/);
    const missing = await apiBuild(d, await context(['FROM busybox', 'RUN --mount=source=nope,target=/n true']));
    assert.match(missing.error ?? '', /"\/nope" not found in build context/);
  });

  test('the cache key follows the bound content', async () => {
    const ctx = await context(['FROM busybox', 'RUN --mount=target=/s cat /s/data.txt'], { 'data.txt': 'v1\n' });
    ok(await apiBuild(d, ctx));
    assert.deepEqual(steps(ok(await apiBuild(d, ctx)).text).slice(1).map((s) => s.cached), [true]);
    await writeFile(join(ctx, 'data.txt'), 'v2\n');
    const changed = ok(await apiBuild(d, ctx));
    assert.deepEqual(steps(changed.text).slice(1).map((s) => s.cached), [false]);
    assert.match(changed.text, /\nv2\n/);
  });

  test('a tmpfs or bind target of / is refused; unknown types are refused', async () => {
    const root = await apiBuild(d, await context(['FROM busybox', 'RUN --mount=type=bind,target=/ true']));
    assert.match(root.error ?? '', /root directory cannot be a mount target/);
    const bad = await apiBuild(d, await context(['FROM busybox', 'RUN --mount=type=volume,target=/v true']));
    assert.match(bad.error ?? '', /unsupported mount type "volume"/);
  });

  test('no scratch overlay of a bind mount is left mounted', async () => {
    const mountinfo = await readFile('/proc/self/mountinfo', 'utf8');
    assert.equal(mountinfo.split('\n').filter((l) => l.includes(join(d.dataRoot, 'tmp'))).join('\n'), '');
  });
});
