/**
 * Issue 11: `RUN --mount=type=secret,id=X,env=VAR` (Dockerfile 1.x: the
 * secret as an environment variable of the RUN, with or without a file),
 * fed by buildx's `--secret id=X,env=HOSTVAR` and `--secret id=X,src=file`.
 * The value reaches the RUN's process and nothing else: not the image's
 * config, history or layers (`docker save`), not the build's output, not
 * berthd's database or log (the RUN container's record never holds it).
 * An ENV of the same name is overridden for the RUN only. A missing
 * optional secret leaves the variable unset; a required one fails.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { skipUnlessRoot, skipWithoutDocker, type Daemon } from '../../helpers/daemon.js';
import { apiBuild, writeContext } from '../build/build-helpers.js';
import { skipWithoutBuildx, buildxBuild, startBuildxDaemon } from './buildx.js';

const ENV_VALUE = 'env-form-secret-3c9d0e';
const FILE_VALUE = 'file-form-secret-a77b21';
const sha = (s: string) => createHash('sha256').update(s).digest('hex');
/** A shell test that `$VAR` holds `value` (the Dockerfile names only the hash: RUN lines are in the history). */
const holds = (v: string, value: string) => `[ "$(printf %s "$${v}" | sha256sum | cut -d" " -f1)" = ${sha(value)} ]`;

const skip = skipUnlessRoot() || skipWithoutDocker() || skipWithoutBuildx();

let d!: Daemon;
let dir!: string;
let ctx!: string;

before(async () => {
  if (skip) return;
  dir = await mkdtemp('/tmp/berth-test-secret-env-');
  ctx = join(dir, 'ctx');
  d = await startBuildxDaemon();
  await writeContext(ctx, {
    Dockerfile: [
      'FROM busybox',
      'ENV TOKEN=public-value',
      `RUN --mount=type=secret,id=tok,env=TOKEN ${holds('TOKEN', ENV_VALUE)} && echo ENV-OK && test ! -e /run/secrets/tok && echo NO-FILE`,
      `RUN --mount=type=secret,id=filetok,env=FT,target=/etc/ft,required ${holds('FT', FILE_VALUE)} && [ "$(cat /etc/ft)" = "$FT" ] && echo BOTH-OK`,
      'RUN --mount=type=secret,id=absent,env=ABSENT [ -z "${ABSENT+set}" ] && echo ABSENT-UNSET',
      'RUN echo "after: $TOKEN"',
      '',
    ].join('\n'),
  });
  await writeFile(join(dir, 'file.txt'), FILE_VALUE);
}, { timeout: 120_000 });

after(async () => {
  await d?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const buildx = (args: string[], env: Record<string, string> = {}, cwd = ctx) => buildxBuild(d, cwd, args, { env, timeoutMs: 120_000 });

describe('RUN --mount=type=secret,env=', { skip }, () => {
  test('the env and src forms of --secret reach the RUN as variables, and nowhere else', async () => {
    const r = await buildx(['--secret', 'id=tok,env=HOST_TOKEN', '--secret', `id=filetok,src=${join(dir, 'file.txt')}`, '-t', 'senv:1', '--load'], { HOST_TOKEN: ENV_VALUE });
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stderr, /#\d+ [\d.]+ ENV-OK\n#\d+ [\d.]+ NO-FILE\n/);
    assert.match(r.stderr, /#\d+ [\d.]+ BOTH-OK\n/);
    assert.match(r.stderr, /#\d+ [\d.]+ ABSENT-UNSET\n/);
    // The ENV is the image's again after the RUN, and in its config.
    assert.match(r.stderr, /#\d+ [\d.]+ after: public-value\n/);
    const env = await d.docker(['image', 'inspect', 'senv:1', '--format', '{{json .Config.Env}}']);
    assert.match(env.stdout, /"TOKEN=public-value"/);
    const history = await d.docker(['history', '--no-trunc', 'senv:1']);
    const tar = execFileSync('/usr/local/bin/docker', ['-H', d.host, 'image', 'save', 'senv:1'], { maxBuffer: 256 << 20 });
    const db = Buffer.concat(await Promise.all((await readdir(d.dataRoot)).filter((n) => n.startsWith('berth.db')).map((n) => readFile(join(d.dataRoot, n)))));
    for (const value of [ENV_VALUE, FILE_VALUE]) {
      assert.equal(r.stderr.includes(value) || r.stdout.includes(value), false, 'the build output has the secret');
      assert.equal(env.stdout.includes(value) || history.stdout.includes(value), false, 'the config or history has the secret');
      assert.equal(tar.includes(value), false, 'docker save output has the secret');
      assert.equal(db.includes(value), false, 'berthd\'s database has the secret');
      assert.equal(d.logs().includes(value), false, 'berthd\'s log has the secret');
    }
  });

  test('the cache key holds the secret\'s id and variable name, not its value', async () => {
    const r = await buildx(['--secret', 'id=tok,env=HOST_TOKEN', '--secret', `id=filetok,src=${join(dir, 'file.txt')}`, '-t', 'senv:2'], { HOST_TOKEN: 'another-value' });
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stderr, /RUN --mount=type=secret,id=tok,env=TOKEN[^\n]*\n#\d+ CACHED/);
  });

  test('a required env secret that is missing fails the build', async () => {
    const c = join(dir, 'req');
    await writeContext(c, { Dockerfile: 'FROM busybox\nRUN --mount=type=secret,id=needed,env=NEEDED,required true\n' });
    const r = await buildx([], {}, c);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /secret needed: not found/);
  });

  test('the classic API has no secrets: an optional env secret is unset, a required one fails', async () => {
    const c = join(dir, 'classic');
    await writeContext(c, { Dockerfile: 'FROM busybox\nRUN --mount=type=secret,id=x,env=X [ -z "${X+set}" ] && echo X-UNSET\n' });
    const b = await apiBuild(d, c);
    assert.equal(b.error, undefined, b.text);
    assert.match(b.text, /\nX-UNSET\n/);
    const c2 = join(dir, 'classic2');
    await writeContext(c2, { Dockerfile: 'FROM busybox\nRUN --mount=type=secret,id=x,env=X,required true\n' });
    assert.match((await apiBuild(d, c2)).error ?? '', /secret x: not found/);
  });
});
