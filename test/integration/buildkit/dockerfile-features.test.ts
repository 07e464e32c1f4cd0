/**
 * Issue 11, Dockerfile 1.x features and build flags, through the real
 * buildx (v0.17.1, the Docker 28 CLI's plugin) and the classic API alike:
 *
 * - `# syntax=docker/dockerfile:1…` is the built-in frontend; other images
 *   are refused by name; `# check=` skips and `error=true` are honoured;
 * - COPY `--parents` (with the `/./` pivot), `--exclude`, `--link` write the
 *   same files on both paths (and the same image with SOURCE_DATE_EPOCH);
 * - `--platform`: the host's works, BUILDPLATFORM/TARGETPLATFORM are set,
 *   other platforms are refused by name; `--pull` pulls the base again;
 * - `--output type=image,push=true`, `type=registry`, `--push` (with the
 *   session's credentials), `type=docker,dest=` (loadable by `docker load`),
 *   `type=oci,dest=` (an OCI layout); unknown types and attributes refused;
 * - a broken Dockerfile gives the classic API's `Dockerfile:N` error.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { startDaemon, skipUnlessRoot, skipWithoutDocker, type Daemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';
import { startRegistryServer, type RunningRegistry } from '../../../src/registry/server/index.js';
import { apiBuild, runIn, writeContext, type BuildOutcome } from '../build/build-helpers.js';
import { installBuildx, skipWithoutBuildx, buildxBuild } from './buildx.js';

let d!: Daemon;
let dir!: string;
let open!: RunningRegistry;
let locked!: RunningRegistry;
const EPOCH = '1700000000';

before(async () => {
  if (skipUnlessRoot() || skipWithoutDocker() || skipWithoutBuildx()) return;
  dir = await mkdtemp('/tmp/berth-test-dffeat-');
  d = await startDaemon();
  await importBusybox(d);
  await installBuildx(d);
  open = await startRegistryServer({ addr: '127.0.0.1:0', root: join(dir, 'registry-open') });
  locked = await startRegistryServer({ addr: '127.0.0.1:0', root: join(dir, 'registry-locked'), basicAuth: { builder: 's3cret' } });
}, { timeout: 120_000 });

after(async () => {
  await d?.stop();
  await open?.close();
  await locked?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

function buildx(cwd: string, args: string[], input?: string) {
  return buildxBuild(d, cwd, args, { timeoutMs: 300_000, ...(input !== undefined ? { input } : {}) });
}

async function ctx(name: string, files: Parameters<typeof writeContext>[1]): Promise<string> {
  const c = join(dir, name);
  await writeContext(c, files);
  return c;
}

const imageId = async (ref: string) => (await d.docker(['image', 'inspect', '-f', '{{.Id}}', ref])).stdout.trim();

function classicOk(r: BuildOutcome): string {
  assert.equal(r.error, undefined, `${r.error}\n${r.text}`);
  return r.imageId!;
}

describe('Dockerfile 1.x through buildx and the classic API', { skip: skipUnlessRoot() || skipWithoutDocker() || skipWithoutBuildx() }, () => {
  test('# syntax=docker/dockerfile:1… is the built-in frontend; another image is refused by name on both paths', async () => {
    for (const syntax of ['docker/dockerfile:1', 'docker.io/docker/dockerfile:1.7-labs', 'docker/dockerfile:1.9.0']) {
      const c = await ctx(`syntax-${syntax.replace(/[^a-z0-9]/g, '_')}`, { Dockerfile: `# syntax=${syntax}\nFROM busybox\nRUN echo syntax-ok\n` });
      const r = await buildx(c, ['-t', 'feat:syntax']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /syntax-ok/);
      classicOk(await apiBuild(d, c, { t: 'feat:syntax-classic' }));
    }
    const other = await ctx('syntax-other', { Dockerfile: '# syntax=example.com/my/frontend:2\nFROM busybox\n' });
    const r = await buildx(other, ['-t', 'feat:other']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Dockerfile:1: # syntax=example\.com\/my\/frontend:2: frontend image "example\.com\/my\/frontend:2" is not supported/);
    const classic = await apiBuild(d, other, { t: 'feat:other' });
    assert.equal(classic.status, 501);
    assert.match(classic.error ?? '', /frontend image "example\.com\/my\/frontend:2" is not supported/);
    // The build arg wins over the directive, as in BuildKit.
    const ok = await ctx('syntax-arg', { Dockerfile: '# syntax=docker/dockerfile:1\nFROM busybox\n' });
    const byArg = await buildx(ok, ['--build-arg', 'BUILDKIT_SYNTAX=tonistiigi/dockerfile:labs', '-t', 'feat:arg']);
    assert.notEqual(byArg.code, 0);
    assert.match(byArg.stderr, /BUILDKIT_SYNTAX=tonistiigi\/dockerfile:labs: frontend image/);
  });

  test('# check= skips berth\'s checks by name, error=true fails before any step, a malformed one is refused', async () => {
    const body = 'FROM busybox as Build\nRUN echo checked-build\n';
    const warn = await ctx('check-warn', { Dockerfile: body });
    const r = await buildx(warn, ['-t', 'feat:check']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /FromAsCasing: 'as' and 'FROM' keywords' casing do not match \(line 1\)/);
    assert.match(r.stderr, /StageNameCasing: Stage name 'Build' should be lowercase \(line 1\)/);
    const classicWarn = await apiBuild(d, warn, { t: 'feat:check-classic' });
    classicOk(classicWarn);
    assert.match(classicWarn.text, /\[Warning\] FromAsCasing/);

    // Shown when the build fails too, as BuildKit does.
    const failing = await ctx('check-warn-fail', { Dockerfile: 'FROM busybox as b\nRUN exit 2\n' });
    const f = await buildx(failing, []);
    assert.notEqual(f.code, 0);
    assert.match(f.stderr, /FromAsCasing: 'as' and 'FROM' keywords' casing do not match \(line 1\)/);

    const strict = await ctx('check-error', { Dockerfile: `# check=error=true\n${body}` });
    const failed = await buildx(strict, ['-t', 'feat:strict']);
    assert.notEqual(failed.code, 0);
    assert.match(failed.stderr, /lint violation found for rules: StageNameCasing, FromAsCasing/);
    assert.doesNotMatch(failed.stderr, /checked-build/, 'no step ran');
    const classicFailed = await apiBuild(d, strict, { t: 'feat:strict' });
    assert.match(classicFailed.error ?? '', /lint violation found for rules: StageNameCasing, FromAsCasing/);

    const skipped = await ctx('check-skip', { Dockerfile: `# check=skip=FromAsCasing,StageNameCasing;error=true\n${body}` });
    const s = await buildx(skipped, ['-t', 'feat:skipped']);
    assert.equal(s.code, 0, s.stderr);
    assert.doesNotMatch(s.stderr, /FromAsCasing/);
    classicOk(await apiBuild(d, skipped, { t: 'feat:skipped' }));

    const bad = await ctx('check-bad', { Dockerfile: '# check=skip=all;fail=1\nFROM busybox\n' });
    const b = await buildx(bad, ['-t', 'feat:bad']);
    assert.notEqual(b.code, 0);
    assert.match(b.stderr, /Dockerfile:1: failed to parse check options: invalid check option "fail"/);
    assert.match((await apiBuild(d, bad, {})).error ?? '', /Dockerfile:1: failed to parse check options: invalid check option "fail"/);
  });

  test('COPY --parents, --exclude and --link write the same files through buildx and the classic API', async () => {
    const c = await ctx('copyflags', {
      Dockerfile: [
        'FROM busybox',
        'COPY --parents src/a/b/c.txt x/./y/z.txt /p/',
        'COPY --parents src/*/d.md /q/',
        'COPY --exclude=*.md --exclude=**/*.md src/ /r/',
        'COPY --exclude=*.md --exclude=!keep.md src/ /s/',
        'COPY --link src/e.txt /l/',
        'RUN cd / && find p q r s l | sort | tr "\\n" " "',
        '',
      ].join('\n'),
      'src/a/b/c.txt': 'c\n', 'src/a/d.md': 'd\n', 'src/e.txt': 'e\n', 'src/keep.md': 'k\n', 'src/other.md': 'o\n', 'x/y/z.txt': 'z\n',
    });
    const expected = [
      'l', 'l/e.txt',
      'p', 'p/src', 'p/src/a', 'p/src/a/b', 'p/src/a/b/c.txt', 'p/y', 'p/y/z.txt',
      'q', 'q/src', 'q/src/a', 'q/src/a/d.md',
      'r', 'r/a', 'r/a/b', 'r/a/b/c.txt', 'r/e.txt',
      's', 's/a', 's/a/b', 's/a/b/c.txt', 's/a/d.md', 's/e.txt', 's/keep.md',
    ];
    const r = await buildx(c, ['--build-arg', `SOURCE_DATE_EPOCH=${EPOCH}`, '-t', 'feat:copy']);
    assert.equal(r.code, 0, r.stderr);
    const listing = (await runIn(d, 'feat:copy', ['sh', '-c', 'cd / && find p q r s l | sort'])).split('\n').filter(Boolean);
    assert.deepEqual(listing, expected);
    const viaBuildx = await imageId('feat:copy');
    const classic = classicOk(await apiBuild(d, c, { t: 'feat:copy-classic', buildargs: { SOURCE_DATE_EPOCH: EPOCH }, nocache: '1' }));
    assert.equal(classic, viaBuildx, 'the same image through both paths');
    assert.equal(await runIn(d, 'feat:copy', ['cat', '/p/y/z.txt']), 'z\n');

    // --link changes nothing in the files: the same image as without it.
    const link = await ctx('link', { Dockerfile: 'FROM busybox\nCOPY --link src/ /app/\n', 'src/f': 'f\n', 'src/sub/g': 'g\n' });
    const plain = await ctx('nolink', { Dockerfile: 'FROM busybox\nCOPY src/ /app/\n', 'src/f': 'f\n', 'src/sub/g': 'g\n' });
    const a = await buildx(link, ['--build-arg', `SOURCE_DATE_EPOCH=${EPOCH}`, '-t', 'feat:link']);
    assert.equal(a.code, 0, a.stderr);
    const b = classicOk(await apiBuild(d, plain, { buildargs: { SOURCE_DATE_EPOCH: EPOCH } }));
    assert.equal(await imageId('feat:link'), b);

    // Bad flags: BuildKit's words, with the line, on both paths.
    const bad = await ctx('copyflags-bad', { Dockerfile: 'FROM busybox\nCOPY --parents=maybe a /x/\n', a: 'a' });
    const e = await buildx(bad, []);
    assert.notEqual(e.code, 0);
    assert.match(e.stderr, /Dockerfile:2: expecting boolean value for flag --parents, not: maybe/);
    assert.match((await apiBuild(d, bad, {})).error ?? '', /^Dockerfile:2: expecting boolean value for flag --parents, not: maybe/);
    const addParents = await ctx('add-parents', { Dockerfile: 'FROM busybox\nADD --parents a /x/\n', a: 'a' });
    assert.match((await buildx(addParents, [])).stderr, /Dockerfile:2: unknown flag: --parents/);
  });

  test('--platform: the host\'s platform builds with BuildKit\'s platform args; another is refused by name', async () => {
    const c = await ctx('platform', {
      Dockerfile: [
        'FROM --platform=$BUILDPLATFORM busybox AS b',
        'ARG TARGETPLATFORM',
        'ARG BUILDPLATFORM',
        'ARG TARGETARCH',
        'RUN echo "t=$TARGETPLATFORM b=$BUILDPLATFORM a=$TARGETARCH" > /plat',
        'FROM --platform=$TARGETPLATFORM busybox',
        'COPY --from=b /plat /plat',
        '',
      ].join('\n'),
    });
    const r = await buildx(c, ['--platform', 'linux/amd64', '-t', 'feat:plat']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await runIn(d, 'feat:plat', ['cat', '/plat']), 't=linux/amd64 b=linux/amd64 a=amd64\n');
    const classic = classicOk(await apiBuild(d, c, { platform: 'linux/amd64', t: 'feat:plat-classic' }));
    assert.equal(await runIn(d, classic, ['cat', '/plat']), 't=linux/amd64 b=linux/amd64 a=amd64\n');

    const arm = await buildx(c, ['--platform', 'linux/arm64', '-t', 'feat:arm']);
    assert.notEqual(arm.code, 0);
    assert.match(arm.stderr, /--platform=linux\/arm64: building for linux\/arm64 is not supported/);
    const classicArm = await apiBuild(d, c, { platform: 'linux/arm64' });
    assert.equal(classicArm.status, 501);
    assert.match(classicArm.error ?? '', /building for linux\/arm64 is not supported/);
    const fromArm = await ctx('platform-from', { Dockerfile: 'FROM busybox\nFROM --platform=linux/s390x busybox\n' });
    assert.match((await buildx(fromArm, [])).stderr, /Dockerfile:2: FROM --platform=linux\/s390x: building for linux\/s390x is not supported/);
    assert.match((await apiBuild(d, fromArm, {})).error ?? '', /Dockerfile:2: FROM --platform=linux\/s390x/);
  });

  test('--pull pulls the base image again from the registry; without it the local one is used', async () => {
    const host = `127.0.0.1:${open.port}`;
    const base = `${host}/pull/base:1`;
    // The registry gets busybox with a /marker file under the name; the local name stays plain busybox.
    const marked = await ctx('pull-marked', { Dockerfile: 'FROM busybox\nRUN echo new > /marker\n' });
    classicOk(await apiBuild(d, marked, { t: base }));
    const push = await d.docker(['push', base]);
    assert.equal(push.code, 0, push.stderr);
    const retag = async () => assert.equal((await d.docker(['tag', 'busybox', base])).code, 0);
    await retag();
    const c = await ctx('pull', { Dockerfile: `FROM ${base}\nRUN if [ -e /marker ]; then cat /marker; else echo no-marker; fi > /seen\n` });
    const local = await buildx(c, ['-t', 'feat:nopull']);
    assert.equal(local.code, 0, local.stderr);
    assert.equal(await runIn(d, 'feat:nopull', ['cat', '/seen']), 'no-marker\n');
    const pulled = await buildx(c, ['--pull', '-t', 'feat:pull']);
    assert.equal(pulled.code, 0, pulled.stderr);
    assert.equal(await runIn(d, 'feat:pull', ['cat', '/seen']), 'new\n');
    await retag();
    const classic = classicOk(await apiBuild(d, c, { pull: '1', t: 'feat:pull-classic' }));
    assert.equal(await runIn(d, classic, ['cat', '/seen']), 'new\n');
  });

  test('--output type=image,push=true, type=registry and --push push to the registry, with the session\'s credentials (pulls too)', async () => {
    const c = await ctx('push', { Dockerfile: 'FROM busybox\nRUN echo pushed > /pushed\n' });
    const host = `127.0.0.1:${open.port}`;
    const r = await buildx(c, ['--output', `type=image,name=${host}/out/img:1,push=true`]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`pushing ${host.replace(/\./g, '\\.')}/out/img:1`));
    const reg = await buildx(c, ['-t', `${host}/out/img:2`, '--output', 'type=registry']);
    assert.equal(reg.code, 0, reg.stderr);
    const tags = await (await fetch(`${open.url}/v2/out/img/tags/list`)).json() as { tags: string[] };
    assert.deepEqual(tags.tags.sort(), ['1', '2']);
    // The pushed image is the built one: pulled back after removal, it runs.
    await d.docker(['rmi', `${host}/out/img:1`]);
    assert.equal((await d.docker(['pull', `${host}/out/img:1`])).code, 0);
    assert.equal(await runIn(d, `${host}/out/img:1`, ['cat', '/pushed']), 'pushed\n');

    // A registry that wants a login: buildx hands berthd the credentials `docker login` stored.
    const lhost = `127.0.0.1:${locked.port}`;
    const denied = await buildx(c, ['--push', '-t', `${lhost}/out/locked:1`]);
    assert.notEqual(denied.code, 0, 'no credentials yet');
    const login = await d.docker(['login', lhost, '-u', 'builder', '--password-stdin'], { input: 's3cret\n' });
    assert.equal(login.code, 0, login.stderr);
    const pushed = await buildx(c, ['--push', '-t', `${lhost}/out/locked:1`]);
    assert.equal(pushed.code, 0, pushed.stderr);
    const auth = `Basic ${Buffer.from('builder:s3cret').toString('base64')}`;
    const list = await (await fetch(`${locked.url}/v2/out/locked/tags/list`, { headers: { authorization: auth } })).json() as { tags: string[] };
    assert.deepEqual(list.tags, ['1']);
    // A base image from that registry is pulled with the same credentials.
    assert.equal((await d.docker(['rmi', `${lhost}/out/locked:1`])).code, 0);
    const from = await ctx('pull-locked', { Dockerfile: `FROM ${lhost}/out/locked:1\nRUN cat /pushed\n` });
    const built = await buildx(from, ['-t', 'feat:from-locked']);
    assert.equal(built.code, 0, built.stderr);
    assert.match(built.stderr, /#\d+ [\d.]+ pushed\n/);
  });

  test('--output type=docker,dest= writes an archive docker load reads; type=oci,dest= an OCI layout', async () => {
    const c = await ctx('archive', { Dockerfile: 'FROM busybox\nRUN echo archived > /archived\nCMD ["cat", "/archived"]\n' });
    const dockerTar = join(dir, 'image-docker.tar');
    const r = await buildx(c, ['-t', 'feat/archive:docker', '--output', `type=docker,dest=${dockerTar}`]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /exporting to docker image format/);
    assert.equal((await d.docker(['images', '-q', 'feat/archive:docker'])).stdout.trim(), '', 'the store is not tagged');
    const load = await d.docker(['load', '-i', dockerTar]);
    assert.equal(load.code, 0, load.stderr);
    assert.match(load.stdout, /Loaded image: feat\/archive:docker/);
    assert.equal((await d.docker(['run', '--rm', 'feat/archive:docker'])).stdout, 'archived\n');

    const ociTar = join(dir, 'image-oci.tar');
    const o = await buildx(c, ['-t', 'feat/archive:oci', '--output', `type=oci,dest=${ociTar}`]);
    assert.equal(o.code, 0, o.stderr);
    const names = execFileSync('tar', ['-tf', ociTar], { encoding: 'utf8' }).split('\n');
    assert.ok(names.includes('oci-layout') && names.includes('index.json'), names.join(' '));
    const index = JSON.parse(execFileSync('tar', ['-xOf', ociTar, 'index.json'], { encoding: 'utf8' }));
    assert.equal(index.manifests[0].annotations['org.opencontainers.image.ref.name'], 'oci');
    const manifest = JSON.parse(execFileSync('tar', ['-xOf', ociTar, `blobs/sha256/${index.manifests[0].digest.slice(7)}`], { encoding: 'utf8' }));
    // The same Dockerfile, so the same image as the one loaded above.
    assert.equal(manifest.config.digest, await imageId('feat/archive:docker'), 'the built image\'s config');
  });

  test('unknown output types and attributes are refused by name', async () => {
    const c = await ctx('outputs-bad', { Dockerfile: 'FROM busybox\n' });
    const foo = await buildx(c, ['--output', 'type=foo']);
    assert.notEqual(foo.code, 0);
    assert.match(foo.stderr, /exporter "foo" is not supported/);
    const attr = await buildx(c, ['--output', 'type=image,name=x:1,compression=zstd']);
    assert.notEqual(attr.code, 0);
    assert.match(attr.stderr, /attribute "compression" is not supported/);
    const ociDir = await buildx(c, ['--output', `type=oci,tar=false,dest=${join(dir, 'oci-dir')}`]);
    assert.notEqual(ociDir.code, 0);
    assert.match(ociDir.stderr, /tar=false is not supported/);
  });

  test('a broken Dockerfile gives the classic API\'s Dockerfile:N error through buildx, with BuildKit\'s excerpt', async () => {
    for (const [name, text] of [
      ['broken-args', 'FROM busybox\nRUN echo fine\nCOPY onlyone\n'],
      ['broken-instr', 'FROM busybox\n\nRUNN echo\n'],
      ['broken-flag', 'FROM busybox\nCOPY --chwon=1 a /b\n'],
      ['broken-run', 'FROM busybox\nRUN echo fine\nRUN exit 3\nRUN echo after\n'],
    ] as const) {
      const c = await ctx(name, { Dockerfile: text, a: 'a' });
      const classic = await apiBuild(d, c, {});
      assert.match(classic.error ?? '', /^Dockerfile:\d+: /, classic.text);
      const r = await buildx(c, []);
      assert.notEqual(r.code, 0);
      assert.ok(r.stderr.includes(classic.error!), `buildx shows "${classic.error}":\n${r.stderr}`);
      // BuildKit's excerpt of the Dockerfile, the offending line marked.
      const line = Number(/^Dockerfile:(\d+)/.exec(classic.error!)![1]);
      assert.match(r.stderr, new RegExp(`Dockerfile:${line}\n-{20}\n`));
      assert.match(r.stderr, new RegExp(`\\s${line} \\| >>> ${text.split('\n')[line - 1].replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\n`));
    }
  });
});
