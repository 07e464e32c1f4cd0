/**
 * Issue 4, acceptance 1: a Dockerfile that uses every instruction builds
 * through `POST /build`, and a container from the image shows each effect —
 * env, user, workdir, copied files with owners and modes, ADD's archives and
 * URL, heredocs, the volume, exposed ports, labels, healthcheck, stop
 * signal, ONBUILD triggers in a child build — and .dockerignore is applied
 * by the daemon too.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { startDaemon, skipUnlessRoot, skipWithoutDocker, type Daemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';
import { apiBuild, apiRun, inspectImage, run, runIn, steps, writeContext } from './build-helpers.js';

let d!: Daemon;
let dir!: string;
let server!: http.Server;
let port = 0;
const REMOTE = 'fetched over http\n';

before(async () => {
  dir = await mkdtemp('/tmp/berth-test-build-instr-');
  server = http.createServer((req, res) => {
    if (req.url === '/remote.txt') {
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Last-Modified': 'Tue, 14 Nov 2023 22:13:20 GMT' });
      res.end(REMOTE);
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  d = await startDaemon();
  await importBusybox(d);
}, { timeout: 120_000 });

after(async () => {
  server?.close();
  await d?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

function dockerfile(): string {
  return `# syntax=docker/dockerfile:1
ARG BASE=busybox
FROM \${BASE} AS base
MAINTAINER berth tests <tests@example.com>
LABEL org.example.kind="every instruction" version=1
ENV APP_HOME=/srv/app GREETING="hello world"
ARG VERSION=0.1
WORKDIR $APP_HOME
SHELL ["/bin/sh", "-c"]
COPY --chown=app:app --chmod=0640 config.txt conf/
COPY app/ ./
ADD files.tar.gz /opt/gz/
ADD files.tar.bz2 /opt/bz2/
ADD files.tar.xz /opt/xz/
ADD --checksum=sha256:${sha(REMOTE)} http://127.0.0.1:${port}/remote.txt /opt/remote.txt
COPY . /ctxcopy/
RUN echo "version=$VERSION" > /srv/app/version && mkdir -p /data && echo seeded > /data/seed
RUN <<EOT
set -e
echo "heredoc ran as $(id -u)" > /srv/app/heredoc.txt
EOT
RUN <<EOT
#!/bin/sh
echo script > /srv/app/script.txt
EOT
COPY <<EOT /srv/app/inline.txt
greeting=\${GREETING}
EOT
USER app:app
RUN id -u > /tmp/run-uid
VOLUME /data
EXPOSE 8080/tcp 53/udp
HEALTHCHECK --interval=30s --timeout=5s --retries=3 CMD test -f /srv/app/version
STOPSIGNAL SIGINT
ONBUILD RUN echo triggered > /tmp/onbuild
ENTRYPOINT ["/bin/sh", "-c"]
CMD ["cat /srv/app/version"]
`;
}

describe('every Dockerfile instruction', { skip: skipUnlessRoot() || skipWithoutDocker() }, () => {
  let image = '';

  test('builds through POST /build', async () => {
    const ctx = join(dir, 'ctx');
    await writeContext(ctx, {
      Dockerfile: dockerfile(),
      '.dockerignore': 'secret.txt\n*.tmp\n!keep.tmp\n',
      'config.txt': 'key=value\n',
      'app/bin/tool.sh': { content: '#!/bin/sh\necho tool\n', mode: 0o755 },
      'app/data.txt': { content: 'data\n', mode: 0o644 },
      'secret.txt': 'do not copy',
      'scratch.tmp': 'ignored',
      'keep.tmp': 'kept',
    });
    const arch = join(dir, 'arch');
    await writeContext(arch, { 'f.txt': 'from an archive\n' });
    for (const [flag, name] of [['-z', 'files.tar.gz'], ['-j', 'files.tar.bz2'], ['-J', 'files.tar.xz']]) {
      await run('tar', ['-C', arch, '--owner=1234', '--group=1234', '--numeric-owner', flag, '-cf', join(ctx, name), 'f.txt']);
    }
    const b = await apiBuild(d, ctx, { t: 'every:1', buildargs: { VERSION: '2.0' }, labels: { 'from.api': 'yes' } });
    assert.equal(b.status, 200, b.error);
    assert.equal(b.error, undefined, b.text);
    assert.match(b.text, /Successfully built [0-9a-f]{12}\nSuccessfully tagged every:1\n/);
    assert.ok(b.imageId);
    const s = steps(b.text);
    assert.equal(s.length, 28, 'FROM, 26 instructions and the --label step');
    assert.equal(s.at(-1)?.step, 'LABEL "from.api"="yes"');
    assert.match(b.text, / ---> Running in [0-9a-f]{12}\n/);
    assert.match(b.text, /Removing intermediate container [0-9a-f]{12}\n/);
    image = b.imageId!;
  });

  test('the image config carries every metadata instruction', async () => {
    assert.ok(image, 'built');
    const i = await inspectImage(d, 'every:1');
    const c = i.Config;
    assert.equal(i.Author, 'berth tests <tests@example.com>');
    assert.ok(c.Env.includes('APP_HOME=/srv/app') && c.Env.includes('GREETING=hello world'), c.Env.join(' '));
    assert.equal(c.User, 'app:app');
    assert.equal(c.WorkingDir, '/srv/app');
    assert.deepEqual(c.Volumes, { '/data': {} });
    assert.deepEqual(c.ExposedPorts, { '53/udp': {}, '8080/tcp': {} });
    assert.deepEqual(c.Labels, { 'from.api': 'yes', 'org.example.kind': 'every instruction', version: '1' });
    assert.deepEqual(c.Healthcheck, { Test: ['CMD-SHELL', 'test -f /srv/app/version'], Interval: 30e9, Timeout: 5e9, Retries: 3 });
    assert.equal(c.StopSignal, 'SIGINT');
    assert.deepEqual(c.OnBuild, ['RUN echo triggered > /tmp/onbuild']);
    assert.deepEqual(c.Entrypoint, ['/bin/sh', '-c']);
    assert.deepEqual(c.Cmd, ['cat /srv/app/version']);
    assert.deepEqual(c.Shell, ['/bin/sh', '-c']);
    const hist = (await d.request('GET', '/images/every:1/history')).json<{ CreatedBy: string }[]>();
    assert.ok(hist.some((h) => h.CreatedBy === '|1 VERSION=2.0 /bin/sh -c echo "version=$VERSION" > /srv/app/version && mkdir -p /data && echo seeded > /data/seed'),
      hist.map((h) => h.CreatedBy).join('\n'));
  });

  test('a container from the image shows the effects', async () => {
    assert.ok(image, 'built');
    const script = [
      'echo pwd=$(pwd)', 'echo greeting=$GREETING',
      'echo conf=$(stat -c "%u:%g %a" conf/config.txt) confdir=$(stat -c "%u:%g %a" conf)',
      'echo tool=$(stat -c "%u:%g %a" bin/tool.sh) data=$(stat -c "%a" data.txt)',
      'echo version=$(cat version) heredoc=$(cat heredoc.txt | tr " " _) script=$(cat script.txt)',
      'echo inline=$(cat inline.txt | tr " " _) runuid=$(cat /tmp/run-uid)',
      'echo gz=$(stat -c "%u" /opt/gz/f.txt) bz2=$(cat /opt/bz2/f.txt | tr " " _) xz=$(cat /opt/xz/f.txt | tr " " _)',
      'echo remote=$(cat /opt/remote.txt | tr " " _) remotemode=$(stat -c "%a" /opt/remote.txt)',
      'echo seed=$(cat /data/seed) volume=$(grep -c " /data " /proc/mounts)',
      'echo ctx=$(ls /ctxcopy | tr "\\n" ,)',
    ].join('; ');
    // As root: /opt/remote.txt is 0600 root-owned, as Docker leaves downloaded files.
    const out = await runIn(d, 'every:1', [script], ['--user', '0']);
    const kv = Object.fromEntries(out.split(/\s+/).filter((w) => w.includes('=')).map((w) => [w.slice(0, w.indexOf('=')), w.slice(w.indexOf('=') + 1)]));
    assert.deepEqual(kv, {
      pwd: '/srv/app', greeting: 'hello',
      conf: '1000:1000', confdir: '1000:1000',
      tool: '0:0', data: '644',
      version: 'version=2.0', heredoc: 'heredoc_ran_as_0', script: 'script',
      inline: 'greeting=hello_world', runuid: '1000',
      gz: '1234', bz2: 'from_an_archive', xz: 'from_an_archive',
      remote: 'fetched_over_http', remotemode: '600',
      seed: 'seeded', volume: '1',
      ctx: 'Dockerfile,app,config.txt,files.tar.bz2,files.tar.gz,files.tar.xz,keep.tmp,',
    }, out);
    // `stat` printed "uid:gid mode" as two words; check the modes separately.
    assert.match(out, /conf=1000:1000 640 confdir=1000:1000 755/);
    assert.match(out, /tool=0:0 755/);
    assert.equal((await runIn(d, 'every:1', [])).trim(), 'version=2.0', 'ENTRYPOINT + CMD');
  });

  test('a container runs as the image USER', async () => {
    assert.ok(image, 'built');
    const r = await apiRun(d, 'every:1', ['echo $(id -u):$(id -g)']);
    assert.deepEqual(r, { code: 0, stdout: '1000:1000\n' });
  });

  test('docker run from the CLI runs as the image USER', async () => {
    assert.equal((await runIn(d, 'every:1', ['echo $(id -u):$(id -g)'])).trim(), '1000:1000');
  });

  test('ONBUILD triggers run in a child build, once', async () => {
    assert.ok(image, 'built');
    const ctx = join(dir, 'child');
    await mkdir(ctx, { recursive: true });
    await writeContext(ctx, { Dockerfile: 'FROM every:1\nRUN cat /tmp/onbuild\n' });
    const b = await apiBuild(d, ctx, { t: 'child:1' });
    assert.equal(b.error, undefined, b.text);
    assert.match(b.text, /# Executing 1 build trigger\n/);
    assert.match(b.text, /triggered\n/);
    const c = (await inspectImage(d, 'child:1')).Config;
    assert.equal(c.OnBuild, null, 'a grandchild does not run them again');
  });
});
