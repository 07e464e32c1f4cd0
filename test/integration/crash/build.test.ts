/**
 * Crash points of `build` (issue 9): berthd is killed -9 at random instants
 * of a multi-step Dockerfile (RUN and COPY, no cache). After the restart no
 * half image, layer, blob or build container is left (the build's RUN
 * containers belonged to a berthd that is gone), tmp/ is empty, a bystander
 * container still runs, and the same build succeeds.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { startDaemon, skipUnlessRoot, type Daemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';
import { createContainer, start } from '../engine/api.js';
import { tarOf, writeContext } from '../build/build-helpers.js';
import { assertStreamOk, assertSystemDf, killAndRedo, withDaemonLog } from './crash-harness.js';

/** The label berthd puts on a build's RUN containers (engine/build.ts). */
const BUILD_LABEL = 'io.berth.build.container';

const DOCKERFILE = `FROM busybox
RUN head -c 1048576 /dev/urandom > /r1
COPY one /one
RUN echo two > /r2 && cat /one > /r3
COPY dir /dir
RUN ls -R /dir > /listing
`;

describe('kill -9 during build', { skip: skipUnlessRoot() }, () => {
  let d!: Daemon;
  let dir = '';
  let context!: Buffer;
  const seen = new Set<string>();
  let bystander = '';
  const tag = 'crash/build:1';

  before(async () => {
    dir = await mkdtemp('/tmp/berth-test-crashbuild-');
    const files: Record<string, Buffer | string> = { Dockerfile: DOCKERFILE, one: randomBytes(512 * 1024) };
    for (let i = 0; i < 40; i++) files[`dir/sub${i % 4}/f${i}`] = randomBytes(8 * 1024);
    await writeContext(dir, files);
    context = await tarOf(dir);
    d = await startDaemon();
    await importBusybox(d);
    bystander = await createContainer(d, { Cmd: ['sh', '-c', 'while true; do sleep 0.1; done'] }, 'bystander');
    seen.add(bystander);
    await start(d, bystander);
  }, { timeout: 120_000 });
  after(async () => {
    await d?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const build = () => d.request('POST', `/build?nocache=1&rm=1&forcerm=1&t=${encodeURIComponent(tag)}`, context,
    { headers: { 'Content-Type': 'application/x-tar' }, timeoutMs: 120_000 });
  const rmi = async () => {
    const r = await d.request('DELETE', `/images/${tag}`);
    assert.ok(r.status === 200 || r.status === 404, r.text);
  };

  test('no half image, layer or build container stays, and the build succeeds again', { timeout: 600_000 }, () => withDaemonLog(d, async () => {
    await killAndRedo(d, {
      name: 'build', defaultRounds: 8, op: build, undo: rmi, expect: { running: [bystander], seen },
      succeeded: (r, what) => { assert.equal(r.status, 200, `${what}: ${r.text}`); assertStreamOk(r.text, what); },
      check: async (round) => {
        const builders = (await d.request('GET', `/containers/json?all=1&filters=${encodeURIComponent(JSON.stringify({ label: [BUILD_LABEL] }))}`)).json<{ Id: string }[]>();
        assert.deepEqual(builders.map((c) => c.Id), [], `${round.what}: RUN containers of the killed build are still listed`);
      },
      checkRedo: async () => assert.equal((await d.request('GET', `/images/${tag}/json`)).status, 200),
    });
    const run = await d.berth(['run', '--rm', tag, 'cat', '/r2']);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout.trim(), 'two');
    await assertSystemDf(d);
  }));
});
