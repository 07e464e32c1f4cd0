/**
 * Issue 11: the real buildx (v0.17.1, as the Docker 28 CLI's plugin, on its
 * default `docker` driver) builds on berthd through the BuildKit API
 * (`/grpc`, `/session`): the context and Dockerfile come over the client's
 * session, berth's own builder runs the Dockerfile, the image lands in
 * berth's store under its tag, and the progress is BuildKit's.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, readlink, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { skipUnlessRoot, skipWithoutDocker, waitFor, type Daemon } from '../../helpers/daemon.js';
import { apiBuild, writeContext } from '../build/build-helpers.js';
import { skipWithoutBuildx, startBuildxDaemon } from './buildx.js';


let d!: Daemon;
let dir!: string;
let ctx!: string;
const EPOCH = '1700000000';

before(async () => {
  if (skipUnlessRoot() || skipWithoutDocker() || skipWithoutBuildx()) return;
  dir = await mkdtemp('/tmp/berth-test-buildx-');
  ctx = join(dir, 'ctx');
  d = await startBuildxDaemon();
  await writeContext(ctx, {
    Dockerfile: [
      'FROM busybox AS build',
      'RUN mkdir -p /out && echo built > /out/artifact',
      'FROM busybox',
      'WORKDIR /srv',
      'COPY src/ ./src/',
      'COPY --from=build /out/ /opt/',
      'RUN echo "hello from RUN" && cat /srv/src/a.txt',
      'CMD ["cat", "/opt/artifact"]',
      '',
    ].join('\n'),
    'src/a.txt': 'a-content\n',
    'src/dir/b.txt': { content: 'b\n', mode: 0o600 },
    'ignored.txt': 'never sent\n',
    '.dockerignore': 'ignored.txt\n',
  });
}, { timeout: 120_000 });

after(async () => {
  await d?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('docker buildx build on berthd', { skip: skipUnlessRoot() || skipWithoutDocker() || skipWithoutBuildx() }, () => {
  test('_ping advertises BuildKit (Builder-Version: 2)', async () => {
    const r = await d.request('GET', '/_ping');
    assert.equal(r.headers['builder-version'], '2');
  });

  test('buildx build --load builds with berth\'s builder; the image lands in the store with plain progress', async () => {
    const r = await d.docker(['buildx', 'build', '--progress=plain', '-t', 'bk:1', '--load', '.'], { cwd: ctx });
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const out = r.stderr;
    assert.match(out, /\[internal\] load build definition from Dockerfile/);
    assert.match(out, /\[internal\] load build context/);
    assert.match(out, /\[build 1\/2\] FROM docker\.io\/library\/busybox:latest/);
    assert.match(out, /\[build 2\/2\] RUN mkdir -p \/out && echo built > \/out\/artifact/);
    assert.match(out, /\[stage-1 3\/5\] COPY src\/ \.\/src\//);
    assert.match(out, /#\d+ [\d.]+ hello from RUN/);
    assert.match(out, /#\d+ [\d.]+ a-content/);
    assert.match(out, /exporting to image/);
    assert.match(out, /naming to docker\.io\/library\/bk:1/);
    const run = await d.docker(['run', '--rm', 'bk:1']);
    assert.equal(run.stdout, 'built\n');
    const ls = await d.docker(['run', '--rm', 'bk:1', 'ls', '/srv/src', '/srv']);
    assert.match(ls.stdout, /a\.txt/);
    assert.doesNotMatch(ls.stdout, /ignored|berth-dockerfile/);
  });

  test('a rebuild shows every step CACHED and gives the same image', async () => {
    const first = (await d.docker(['image', 'inspect', '-f', '{{.Id}}', 'bk:1'])).stdout.trim();
    const r = await d.docker(['buildx', 'build', '--progress=plain', '-t', 'bk:2', '--load', '.'], { cwd: ctx });
    assert.equal(r.code, 0, r.stderr);
    for (const step of ['RUN mkdir -p /out', 'COPY src/ ./src/', 'RUN echo "hello from RUN"']) {
      const re = new RegExp(`#(\\d+) \\[[^\\]]+\\] ${step.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`);
      const m = re.exec(r.stderr);
      assert.ok(m, `step ${step} shown:\n${r.stderr}`);
      assert.match(r.stderr, new RegExp(`#${m[1]} CACHED`), `step ${step} is CACHED`);
    }
    assert.equal((await d.docker(['image', 'inspect', '-f', '{{.Id}}', 'bk:2'])).stdout.trim(), first);
  });

  test('docker build (through buildx) with SOURCE_DATE_EPOCH gives the classic API\'s image ID', async () => {
    const r = await d.docker(['build', '--progress=plain', '--build-arg', `SOURCE_DATE_EPOCH=${EPOCH}`, '-t', 'bk:repro', '.'], { cwd: ctx });
    assert.equal(r.code, 0, r.stderr);
    const viaBuildx = (await d.docker(['image', 'inspect', '-f', '{{.Id}}', 'bk:repro'])).stdout.trim();
    await d.docker(['rmi', 'bk:repro']);
    const classic = await apiBuild(d, ctx, { t: 'bk:classic', buildargs: { SOURCE_DATE_EPOCH: EPOCH } });
    assert.equal(classic.error, undefined, classic.text);
    assert.equal(viaBuildx, classic.imageId);
  });

  test('a broken Dockerfile fails with its line through buildx', async () => {
    const bad = join(dir, 'bad');
    await writeContext(bad, { Dockerfile: 'FROM busybox\nRUNN echo\n' });
    const r = await d.docker(['buildx', 'build', '--progress=plain', '-t', 'bk:bad', '--load', '.'], { cwd: bad });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Dockerfile:2/);
  });

  test('a failing RUN fails the build with its exit code and leaves no container', async () => {
    const bad = join(dir, 'fail');
    await writeContext(bad, { Dockerfile: 'FROM busybox\nRUN echo about to fail && exit 3\n' });
    const r = await d.docker(['buildx', 'build', '--progress=plain', '-t', 'bk:fail', '--load', '.'], { cwd: bad });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /about to fail/);
    assert.match(r.stderr, /exit code: 3|returned a non-zero code: 3/);
    const ps = await d.docker(['ps', '-aq']);
    assert.equal(ps.stdout.trim(), '');
  });

  test('a client that goes away mid-build leaves no container and no temporary files', async () => {
    const slow = join(dir, 'slow');
    await writeContext(slow, { Dockerfile: 'FROM busybox\nRUN echo started && sleep 60\n', 'f.txt': 'x\n' });
    const c = d.dockerCommand(['buildx', 'build', '--progress=plain', '-t', 'bk:slow', '--load', '.']);
    const env = { ...process.env };
    for (const [k, v] of Object.entries(c.env)) { if (v === undefined) delete env[k]; else env[k] = v; }
    const child = spawn(c.argv[0], c.argv.slice(1), { cwd: slow, env, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (b: Buffer) => { err += b.toString(); });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    try {
      await waitFor(() => /^#\d+ [\d.]+ started$/m.test(err), 60_000, `the RUN step to start:\n${err}`);
    } finally {
      child.kill('SIGKILL');
      await exited;
    }
    await waitFor(async () => (await d.docker(['ps', '-aq'])).stdout.trim() === '', 30_000, 'the RUN container to go');
    await waitFor(async () => (await readdir(join(d.dataRoot, 'tmp'))).filter((n) => n.startsWith('build-')).length === 0, 30_000, 'the build directory to go');
    assert.equal((await d.docker(['images', '-q', 'bk:slow'])).stdout.trim(), '');
    // berthd builds on.
    const r = await d.docker(['buildx', 'build', '--progress=plain', '-t', 'bk:after', '--load', '.'], { cwd: ctx });
    assert.equal(r.code, 0, r.stderr);
  });

  test('a context with empty files and an empty directory builds (berthd asks for no bytes of an empty file)', async () => {
    const c = join(dir, 'empty-files');
    await writeContext(c, {
      Dockerfile: 'FROM busybox\nCOPY . /ctx/\nRUN test -f /ctx/empty.txt && ! test -s /ctx/empty.txt && test -d /ctx/nothing && cat /ctx/full.txt\n',
      'empty.txt': '', 'full.txt': 'full\n', 'sub/also-empty': '',
    });
    await mkdir(join(c, 'nothing'));
    const r = await d.docker(['buildx', 'build', '--progress=plain', '--no-cache', '-t', 'bk:empty', '--load', '.'], { cwd: c, timeoutMs: 120_000 });
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stderr, /#\d+ [\d.]+ full$/m);
    const ls = await d.docker(['run', '--rm', 'bk:empty', 'stat', '-c', '%n %s', '/ctx/empty.txt', '/ctx/sub/also-empty']);
    assert.equal(ls.stdout, '/ctx/empty.txt 0\n/ctx/sub/also-empty 0\n');
  });

  test('buildx du lists berth\'s build cache and buildx prune empties it', async () => {
    const du = await d.docker(['buildx', 'du']);
    assert.equal(du.code, 0, du.stderr);
    const rows = du.stdout.split('\n').filter((l) => /^[0-9a-f]{64}\s/.test(l));
    assert.ok(rows.length >= 3, du.stdout);
    assert.match(du.stdout, /Total:/);
    const pr = await d.docker(['buildx', 'prune', '-f']);
    assert.equal(pr.code, 0, pr.stderr);
    assert.match(pr.stdout, /Total:/);
    const after = await d.docker(['buildx', 'du']);
    assert.equal(after.stdout.split('\n').filter((l) => /^[0-9a-f]{64}\s/.test(l)).length, 0, after.stdout);
    const r = await d.docker(['buildx', 'build', '--progress=plain', '-t', 'bk:pruned', '--load', '.'], { cwd: ctx });
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /CACHED/, 'nothing is cached after the prune');
  });

  test('--output type=local and type=tar write the final stage\'s files', async () => {
    const out = join(dir, 'outputs');
    await writeContext(out, {
      Dockerfile: 'FROM busybox AS b\nRUN mkdir -p /out/sub && echo hello > /out/sub/f && ln -s sub/f /out/link\nFROM scratch\nCOPY --from=b /out/ /\n',
    });
    const local = await d.docker(['buildx', 'build', '--progress=plain', '--output', `type=local,dest=${join(dir, 'local-out')}`, '.'], { cwd: out });
    assert.equal(local.code, 0, local.stderr);
    assert.match(local.stderr, /exporting to client directory/);
    assert.equal(await readFile(join(dir, 'local-out', 'sub', 'f'), 'utf8'), 'hello\n');
    assert.equal(await readlink(join(dir, 'local-out', 'link')), 'sub/f');
    const tarPath = join(dir, 'out.tar');
    const tar = await d.docker(['buildx', 'build', '--progress=plain', '--output', `type=tar,dest=${tarPath}`, '.'], { cwd: out });
    assert.equal(tar.code, 0, tar.stderr);
    const listing = execFileSync('tar', ['-tvf', tarPath], { encoding: 'utf8' });
    assert.match(listing, /sub\/f/);
    assert.match(listing, /link -> sub\/f/);
    assert.equal(execFileSync('tar', ['-xOf', tarPath, 'sub/f'], { encoding: 'utf8' }), 'hello\n');
  });

  test('-f names a Dockerfile in a subdirectory or on stdin, with its own .dockerignore', async () => {
    const c = join(dir, 'dashf');
    await writeContext(c, {
      'sub/Dev.dockerfile': 'FROM busybox\nCOPY . /c/\nRUN ls /c | tr "\\n" " "\n',
      'sub/Dev.dockerfile.dockerignore': 'secret.txt\n',
      '.dockerignore': 'other.txt\n',
      'secret.txt': 's\n', 'other.txt': 'o\n', 'kept.txt': 'k\n',
    });
    const r = await d.docker(['buildx', 'build', '--progress=plain', '-f', 'sub/Dev.dockerfile', '-t', 'bk:dashf', '--load', '.'], { cwd: c });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /\[internal\] load build definition from Dev\.dockerfile/);
    const ls = (await d.docker(['run', '--rm', 'bk:dashf', 'ls', '/c'])).stdout.split('\n').filter(Boolean).sort();
    assert.deepEqual(ls, ['kept.txt', 'other.txt', 'sub'], 'the Dockerfile\'s own ignore file wins over the context\'s');
    const stdin = await d.docker(['build', '--progress=plain', '-f', '-', '-t', 'bk:stdin', '.'], { cwd: c, input: 'FROM busybox\nRUN echo from-stdin\n' });
    assert.equal(stdin.code, 0, stdin.stderr);
    assert.match(stdin.stderr, /from-stdin/);
  });

  test('--network none and --network host reach RUN', async () => {
    const c = join(dir, 'net');
    await writeContext(c, { Dockerfile: 'FROM busybox\nRUN echo "ifaces: $(ls /sys/class/net | tr \'\\n\' \' \')"\n' });
    const none = await d.docker(['buildx', 'build', '--progress=plain', '--network', 'none', '-t', 'bk:netnone', '--load', '.'], { cwd: c });
    assert.equal(none.code, 0, none.stderr);
    assert.match(none.stderr, /ifaces: lo \n/);
    const host = await d.docker(['buildx', 'build', '--progress=plain', '--no-cache', '--network', 'host', '-t', 'bk:nethost', '--load', '.'], { cwd: c });
    assert.equal(host.code, 0, host.stderr);
    const seen = /#\d+ [\d.]+ ifaces: (.*)\n/.exec(host.stderr)?.[1].trim().split(' ') ?? [];
    const hostOnes = (await readdir('/sys/class/net')).filter((n) => n !== 'lo');
    assert.ok(seen.some((n) => hostOnes.includes(n)), `the host's interfaces (${hostOnes.join(' ')}) in RUN: ${seen.join(' ')}`);
  });

  test('--add-host reaches RUN\'s /etc/hosts', async () => {
    const c = join(dir, 'addhost');
    await writeContext(c, { Dockerfile: 'FROM busybox\nRUN grep -w extra.example /etc/hosts\n' });
    const r = await d.docker(['buildx', 'build', '--progress=plain', '--no-cache', '--add-host', 'extra.example:10.9.8.7', '-t', 'bk:addhost', '--load', '.'], { cwd: c });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /10\.9\.8\.7\s+extra\.example/);
  });
});
