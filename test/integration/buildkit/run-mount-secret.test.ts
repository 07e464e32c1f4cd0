/**
 * Issue 11: `RUN --mount=type=secret` with the real buildx's `--secret`
 * (`src=` file and `env=` variable): berthd fetches the secret over the
 * client's session (moby.buildkit.secrets.v1.Secrets/GetSecret) and mounts
 * it read-only at /run/secrets/<id> (or its target, with its uid/mode). The
 * secret is in no layer (not even the empty mount point), not in the cache
 * key (another value still hits), and a missing required secret or one
 * over BuildKit's size limit fails the build. Through the classic API there
 * are no secrets: a required one fails, an optional one is absent.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { skipUnlessRoot, skipWithoutDocker, type Daemon } from '../../helpers/daemon.js';
import { apiBuild, writeContext } from '../build/build-helpers.js';
import { skipWithoutBuildx, buildxBuild, startBuildxDaemon } from './buildx.js';

const SECRET = 's3cr3t-file-value-7f1c';
const ENV_SECRET = 'env-secret-value-91ab';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

let d!: Daemon;
let dir!: string;
let ctx!: string;

before(async () => {
  if (skipUnlessRoot() || skipWithoutDocker() || skipWithoutBuildx()) return;
  dir = await mkdtemp('/tmp/berth-test-buildx-secret-');
  ctx = join(dir, 'ctx');
  d = await startBuildxDaemon();
  await writeContext(ctx, {
    Dockerfile: [
      'FROM busybox',
      // The Dockerfile names the secrets' hashes only (its RUN lines are in the image's history).
      `RUN --mount=type=secret,id=token sha256sum /run/secrets/token | grep -q ${sha(SECRET)} && echo FILE-SECRET-OK && stat -c "mode=%a uid=%u" /run/secrets/token`,
      `RUN --mount=type=secret,id=envtok,target=/etc/app/tok,uid=1000,mode=0440 sha256sum /etc/app/tok | grep -q ${sha(ENV_SECRET)} && stat -c "tok mode=%a uid=%u" /etc/app/tok`,
      'RUN --mount=type=secret,id=absent ls /run/secrets/absent 2>&1 || echo OPTIONAL-ABSENT',
      'CMD ["sh", "-c", "ls -a /run /etc/app 2>&1; echo END"]',
      '',
    ].join('\n'),
  });
  await writeFile(join(dir, 'token.txt'), SECRET);
}, { timeout: 120_000 });

after(async () => {
  await d?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const buildx = (args: string[], env: Record<string, string> = {}, cwd = ctx) => buildxBuild(d, cwd, args, { env, timeoutMs: 120_000 });

describe('buildx --secret and RUN --mount=type=secret', { skip: skipUnlessRoot() || skipWithoutDocker() || skipWithoutBuildx() }, () => {
  test('file and env secrets are mounted read-only, with their options, and stay out of the image', async () => {
    const r = await buildx(['--secret', `id=token,src=${join(dir, 'token.txt')}`, '--secret', 'id=envtok,env=MY_TOKEN', '-t', 'sec:1', '--load'], { MY_TOKEN: ENV_SECRET });
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stderr, /#\d+ [\d.]+ FILE-SECRET-OK\n/);
    assert.match(r.stderr, /mode=400 uid=0/);
    assert.match(r.stderr, /tok mode=440 uid=1000/);
    assert.match(r.stderr, /#\d+ [\d.]+ OPTIONAL-ABSENT\n/);
    // No mount point left behind: /run/secrets and /etc/app were made for the mounts only.
    const run = await d.docker(['run', '--rm', 'sec:1']);
    assert.doesNotMatch(run.stdout, /secrets/);
    assert.match(run.stdout, /ls: \/etc\/app: No such file or directory/);
    // No layer holds the secret's bytes.
    const tar = execFileSync('/usr/local/bin/docker', ['-H', d.host, 'image', 'save', 'sec:1'], { maxBuffer: 256 << 20 });
    assert.equal(tar.includes(SECRET), false);
    assert.equal(tar.includes(ENV_SECRET), false);
  });

  test('the cache key holds the secret\'s id, not its value', async () => {
    await writeFile(join(dir, 'other.txt'), 'another-value');
    const r = await buildx(['--secret', `id=token,src=${join(dir, 'other.txt')}`, '--secret', 'id=envtok,env=MY_TOKEN', '-t', 'sec:2', '--load'], { MY_TOKEN: 'changed' });
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stderr, /RUN --mount=type=secret,id=token[^\n]*\n#\d+ CACHED/);
  });

  test('a missing required secret and an oversized secret fail the build', async () => {
    const c = join(dir, 'req');
    await writeContext(c, { Dockerfile: 'FROM busybox\nRUN --mount=type=secret,id=needed,required true\n' });
    const missing = await buildx([], {}, c);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /secret needed: not found/);
    const big = join(dir, 'big.bin');
    await writeFile(big, Buffer.alloc(600 * 1024, 0x61));
    const c2 = join(dir, 'big');
    await writeContext(c2, { Dockerfile: 'FROM busybox\nRUN --mount=type=secret,id=big wc -c /run/secrets/big\n' });
    const tooBig = await buildx(['--secret', `id=big,src=${big}`], {}, c2);
    assert.notEqual(tooBig.code, 0);
    // buildx refuses it before sending (berthd's own cap, the same size, is for other clients).
    assert.match(tooBig.stderr, /secret big too big|secret big: larger than 512000 bytes/);
  });

  test('the classic API has no secrets: required fails, optional is absent', async () => {
    const c = join(dir, 'classic');
    await writeContext(c, { Dockerfile: 'FROM busybox\nRUN --mount=type=secret,id=x test ! -e /run/secrets/x && echo NO-SECRET\n' });
    const b = await apiBuild(d, c);
    assert.equal(b.error, undefined, b.text);
    assert.match(b.text, /\nNO-SECRET\n/);
    const c2 = join(dir, 'classic2');
    await writeContext(c2, { Dockerfile: 'FROM busybox\nRUN --mount=type=secret,id=x,required=true true\n' });
    const r = await apiBuild(d, c2);
    assert.match(r.error ?? '', /secret x: not found/);
  });
});
