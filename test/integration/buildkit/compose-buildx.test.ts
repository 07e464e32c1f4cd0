/**
 * Issue 11: docker-compose 1.29 (Debian's) with `COMPOSE_DOCKER_CLI_BUILD=1
 * DOCKER_BUILDKIT=1` builds through the docker CLI, which hands the build
 * to buildx (the plugin in the test's DOCKER_CONFIG) and so to berthd's
 * BuildKit API: the service's image is built by berth's builder (BuildKit
 * progress, a Dockerfile 1.x feature that the classic path of an old
 * dockerd would refuse), tagged with compose's name, and runs.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { runCommand, skipUnlessRoot, skipWithoutDocker, startDaemon, type Daemon, type RunResult } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';
import { writeContext } from '../build/build-helpers.js';
import { installBuildx, skipWithoutBuildx } from './buildx.js';

const COMPOSE = '/usr/bin/docker-compose';
const PROJECT = 'bkcompose';

const skipWithoutCompose = (): string | false => (existsSync(COMPOSE) ? false : 'docker-compose is not installed');

let d!: Daemon;
let dir!: string;

before(async () => {
  if (skipUnlessRoot() || skipWithoutDocker() || skipWithoutBuildx() || skipWithoutCompose()) return;
  dir = await mkdtemp('/tmp/berth-test-bkcompose-');
  d = await startDaemon();
  await importBusybox(d);
  await installBuildx(d);
  await writeContext(dir, {
    'docker-compose.yml': [
      'version: "3"',
      'services:',
      '  app:',
      '    build:',
      '      context: ./app',
      '      args:',
      '        GREETING: hello-from-compose',
      `    image: ${PROJECT}-app:latest`,
      '    command: ["sh", "-c", "cat /srv/greeting /srv/conf/app.conf"]',
      '',
    ].join('\n'),
    'app/Dockerfile': [
      '# syntax=docker/dockerfile:1',
      'FROM busybox',
      'ARG GREETING',
      'RUN --mount=type=cache,target=/cache echo "$GREETING" > /srv-greeting && mkdir -p /srv && mv /srv-greeting /srv/greeting',
      'COPY --parents conf/app.conf /srv/',
      '',
    ].join('\n'),
    'app/conf/app.conf': 'conf-ok\n',
  });
}, { timeout: 120_000 });

after(async () => {
  if (d) await compose(['down', '--rmi', 'all']).catch(() => undefined);
  await d?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

function compose(args: string[]): Promise<RunResult> {
  const docker = d.dockerCommand([]);
  return runCommand(COMPOSE, ['-p', PROJECT, ...args], {
    cwd: dir, timeoutMs: 300_000,
    env: {
      ...docker.env, COMPOSE_PROJECT_NAME: undefined, COMPOSE_FILE: undefined, COMPOSE_API_VERSION: undefined,
      COMPOSE_DOCKER_CLI_BUILD: '1', DOCKER_BUILDKIT: '1',
    },
  });
}

describe('docker-compose 1.29 builds through buildx', { skip: skipUnlessRoot() || skipWithoutDocker() || skipWithoutBuildx() || skipWithoutCompose() }, () => {
  test('compose build with COMPOSE_DOCKER_CLI_BUILD=1 DOCKER_BUILDKIT=1 uses berth\'s BuildKit API', async () => {
    const r = await compose(['build', '--progress', 'plain']);
    assert.equal(r.code, 0, `stdout: ${r.stdout}\nstderr: ${r.stderr}\nberthd:\n${d.logs().split('\n').slice(-20).join('\n')}`);
    const out = r.stdout + r.stderr;
    // BuildKit's progress (buildx), not the classic builder's "Step 1/4".
    assert.match(out, /\[internal\] load build definition from Dockerfile/);
    assert.match(out, /COPY --parents conf\/app\.conf \/srv\//);
    assert.doesNotMatch(out, /Step \d+\/\d+ :/);
    const run = await compose(['run', '--rm', '-T', 'app']);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout.replace(/\r/g, ''), 'hello-from-compose\nconf-ok\n');
    // A rebuild is all cache.
    const again = await compose(['build', '--progress', 'plain']);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout + again.stderr, /CACHED/);
  });
});
