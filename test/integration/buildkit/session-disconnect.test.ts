/**
 * Issue 11, acceptance 5: a BuildKit client that goes away in the middle of
 * a RUN leaves nothing behind. The RUN holds every kind of mount berth
 * makes for it — a `sharing=locked` cache (a lock), a bind of the context
 * (an overlay mount), a secret (a file on the daemon's secrets tmpfs), an ssh-agent socket
 * with a connection open through the session, a tmpfs — when the client
 * drops its `/session` and `/grpc` connections (the hand-made client) or
 * is killed (the real buildx). Then: no container, no mount or process
 * under the daemon's roots, no secret file, socket or build directory, and
 * the next build that takes the same locked cache id runs.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import http2 from 'node:http2';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { formatLeftovers, isClean, startDaemon, skipUnlessRoot, skipWithoutDocker, waitFor, withTimeout, type Daemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';
import { frame } from '../../../src/buildkit/grpc-frames.js';
import { encode } from '../../../src/buildkit/messages.js';
import { apiBuild, tarOf, writeContext } from '../build/build-helpers.js';
import { installBuildx, skipWithoutBuildx } from './buildx.js';
import { fakeSession, upgradeH2c, type Entry } from './hand-made-client.js';
import { copySshAdd, skipWithoutOpenssh, startAgent } from './ssh-agent.js';

const skip = skipUnlessRoot() || skipWithoutOpenssh();

let d!: Daemon;
let dir!: string;

before(async () => {
  if (skip) return;
  dir = await mkdtemp('/tmp/berth-test-disconnect-');
  d = await startDaemon();
  await importBusybox(d);
  // An image with ssh-add in it, for a RUN that talks to its agent socket.
  const c = join(dir, 'sshadd');
  await copySshAdd(join(c, 'sshadd'));
  await writeContext(c, { Dockerfile: 'FROM busybox\nCOPY sshadd/ /\n' });
  const b = await apiBuild(d, c, { t: 'sshadd:1' });
  assert.equal(b.error, undefined, b.text);
}, { timeout: 180_000 });

after(async () => {
  await d?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The daemon's own secrets tmpfs (engine/build-secrets.ts). */
const secretFiles = async () => (await readdir(join(d.execRoot, 'build-secrets')).catch(() => [] as string[]));

/** What a build may leave: its directory, secret files, agent sockets. */
async function leftoverFiles(): Promise<string[]> {
  const tmp = (await readdir(join(d.dataRoot, 'tmp')).catch(() => [] as string[])).map((n) => `tmp/${n}`);
  const shm = (await secretFiles()).map((n) => `build-secrets/${n}`);
  const exec = (await readdir(d.execRoot).catch(() => [] as string[])).filter((n) => n.startsWith('ssh-agent-'));
  return [...tmp, ...shm, ...exec];
}

async function assertNothingLeft(): Promise<void> {
  await waitFor(async () => (await d.docker(['ps', '-aq'])).stdout.trim() === '', 60_000, 'the RUN container to go').catch(async (e: Error) => {
    throw new Error(`${e.message}:\n${(await d.docker(['ps', '-a'])).stdout}\n${d.logs().slice(-3000)}`);
  });
  let files: string[] = [];
  await waitFor(async () => (files = await leftoverFiles()).length === 0, 30_000, 'the build\'s files to go').catch((e: Error) => {
    throw new Error(`${e.message}: ${files.join(' ')}\n${d.logs().slice(-3000)}`);
  });
  // Mounts (the rootfs overlay, the bind's overlay) and processes (conmon, the RUN's) of this daemon's roots.
  await waitFor(async () => isClean(await d.leftovers()), 30_000, 'the mounts and processes to go');
  const l = await d.leftovers();
  assert.ok(isClean(l), formatLeftovers(l));
  assert.deepEqual(await leftoverFiles(), []);
}

/** The next build with the same locked cache id must get the lock (a guard, so a held lock fails instead of hanging). */
async function assertCacheUnlocked(id: string): Promise<void> {
  const c = join(dir, `next-${id}`);
  await writeContext(c, { Dockerfile: `FROM busybox\nRUN --mount=type=cache,id=${id},target=/cache,sharing=locked ls /cache && echo GOT-LOCK\n` });
  const b = await withTimeout(apiBuild(d, c, { nocache: '1' }), 90_000, `a build with cache id ${id} (sharing=locked) to get the lock`);
  assert.equal(b.error, undefined, b.text);
  assert.match(b.text, /was-here[\s\S]*GOT-LOCK/);
}

const RUN_ALL_MOUNTS = (cacheId: string, cmd: string) => [
  'FROM sshadd:1',
  `RUN --mount=type=cache,id=${cacheId},target=/cache,sharing=locked --mount=type=bind,target=/ctx,rw --mount=type=secret,id=tok,required ` +
    `--mount=type=ssh,required --mount=type=tmpfs,target=/scratch sh -c '${cmd}'`,
  '',
].join('\n');

describe('a client that disconnects mid-session', { skip }, () => {
  test('the hand-made client drops /session and /grpc while the RUN waits on its agent: nothing is left', async () => {
    let forwarded!: () => void;
    const agentCalled = new Promise<void>((resolve) => { forwarded = resolve; });
    const streams: http2.ServerHttp2Stream[] = [];
    const context: Entry[] = [{ path: 'f.txt', mode: 0o644, content: Buffer.from('x\n') }];
    const dockerfile = RUN_ALL_MOUNTS('drop', 'touch /cache/was-here /ctx/written && cat /run/secrets/tok >/dev/null && ssh-add -l');
    const closeSession = await fakeSession(d.socket, 'sessdrop', {
      dockerfile: [{ path: 'Dockerfile', mode: 0o644, content: Buffer.from(dockerfile) }], context,
    }, () => Buffer.from('tok-value'), {
      ids: ['default'],
      // The agent never answers: ssh-add waits, its connection and the ForwardAgent stream stay open.
      forward: (_id, stream) => { streams.push(stream); stream.resume(); forwarded(); },
    });
    const socket = await upgradeH2c(d.socket, '/grpc');
    const client = http2.connect('http://berth', { createConnection: () => socket });
    client.on('error', () => undefined);
    try {
      const req = client.request({ ':method': 'POST', ':path': '/moby.buildkit.v1.Control/Solve', 'content-type': 'application/grpc', te: 'trailers' });
      req.on('error', () => undefined);
      req.end(frame(encode('SolveRequest', {
        Ref: 'drop1', Session: 'sessdrop', Frontend: 'dockerfile.v0', FrontendAttrs: { filename: 'Dockerfile' },
        Exporters: [{ Type: 'moby', Attrs: { name: 'fake:drop1' } }],
      })));
      await withTimeout(agentCalled, 120_000, 'the RUN to connect to its agent socket');
      assert.equal((await d.docker(['ps', '-q'])).stdout.trim().split('\n').filter(Boolean).length, 1, 'the RUN container runs');
      // The /grpc connection first, and nothing but its FIN: berthd writes nothing on it meanwhile
      // (no Status call), so only reading the FIN as the end of the client can stop the build.
      client.destroy();
      socket.destroy();
      await waitFor(async () => (await d.docker(['ps', '-aq'])).stdout.trim() === '', 60_000, 'the RUN container to go while the session is still open');
    } finally {
      closeSession();
      client.destroy();
      socket.destroy();
    }
    await assertNothingLeft();
    assert.equal((await d.docker(['images', '-q', 'fake:drop1'])).stdout.trim(), '');
    await assertCacheUnlocked('drop');
    assert.equal((await d.request('GET', '/_ping')).status, 200);
  });

  test('a build waiting for a locked cache lets go of it and its files when its client is killed', { skip: skipWithoutDocker() || skipWithoutBuildx() }, async () => {
    await installBuildx(d).catch((e: NodeJS.ErrnoException) => { if (e.code !== 'EEXIST') throw e; });
    const buildDirs = async () => (await readdir(join(d.dataRoot, 'tmp')).catch(() => [] as string[])).filter((n) => n.startsWith('build-'));
    // The holder: a classic build whose RUN keeps the lock until its request is cut.
    const holder = join(dir, 'holder');
    await writeContext(holder, { Dockerfile: 'FROM busybox\nRUN --mount=type=cache,id=held,target=/cache,sharing=locked touch /cache/was-here && sleep 300\n' });
    const res = await d.requestStream('POST', '/build?nocache=1', await tarOf(holder), { headers: { 'Content-Type': 'application/x-tar' } });
    let held = '';
    res.on('data', (b: Buffer) => { held += b.toString(); });
    res.on('error', () => undefined);
    try {
      await waitFor(async () => (await d.docker(['ps', '-q'])).stdout.trim() !== '', 60_000, `the holder's RUN to start:\n${held}`);
      // The waiter: buildx, waiting for the same id.
      const waiter = join(dir, 'waiter');
      await writeContext(waiter, { Dockerfile: 'FROM busybox\nRUN --mount=type=cache,id=held,target=/cache,sharing=locked echo NEVER\n' });
      const cmd = d.dockerCommand(['buildx', 'build', '--progress=plain', '--no-cache', '.']);
      const env = { ...process.env };
      for (const [k, v] of Object.entries(cmd.env)) { if (v === undefined) delete env[k]; else env[k] = v; }
      const child = spawn(cmd.argv[0], cmd.argv.slice(1), { cwd: waiter, env, stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      child.stderr.on('data', (b: Buffer) => { err += b.toString(); });
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      try {
        await waitFor(async () => /\[2\/2\] RUN/.test(err) && (await buildDirs()).length === 2, 60_000, `the waiter's RUN step to wait:\n${err}`);
      } finally {
        child.kill('SIGKILL');
        await exited;
      }
      // The waiter's build directory goes while the holder still holds the lock.
      await waitFor(async () => (await buildDirs()).length === 1, 30_000, 'the waiting build\'s directory to go');
      assert.equal((await d.docker(['ps', '-q'])).stdout.trim().split('\n').filter(Boolean).length, 1, 'the holder still runs');
      assert.doesNotMatch(err, /#\d+ [\d.]+ NEVER/);
    } finally {
      res.destroy();
    }
    await assertNothingLeft();
    await assertCacheUnlocked('held');
  });

  test('killing buildx during a RUN with every mount leaves nothing', { skip: skipWithoutDocker() || skipWithoutBuildx() }, async () => {
    await installBuildx(d).catch((e: NodeJS.ErrnoException) => { if (e.code !== 'EEXIST') throw e; });
    const agent = await startAgent(join(dir, 'agent'), 'berth-disconnect-test');
    try {
      const c = join(dir, 'killed');
      await writeContext(c, {
        Dockerfile: RUN_ALL_MOUNTS('killed', 'touch /cache/was-here && ssh-add -l >/dev/null && echo STARTED && sleep 300'),
        'f.txt': 'x\n', 'tok.txt': 'tok-value',
      });
      const cmd = d.dockerCommand(['buildx', 'build', '--progress=plain', '--ssh', `default=${agent.sock}`, '--secret', `id=tok,src=${join(c, 'tok.txt')}`, '-t', 'killed:1', '--load', '.']);
      const env = { ...process.env };
      for (const [k, v] of Object.entries(cmd.env)) { if (v === undefined) delete env[k]; else env[k] = v; }
      const child = spawn(cmd.argv[0], cmd.argv.slice(1), { cwd: c, env, stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      child.stderr.on('data', (b: Buffer) => { err += b.toString(); });
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      try {
        // The RUN's own output line (`#8 0.42 STARTED`), not the step's name, which carries the word too and comes first.
        await waitFor(() => /^#\d+ [\d.]+ STARTED$/m.test(err), 120_000, `the RUN step to start:\n${err}`);
      } finally {
        child.kill('SIGKILL');
        await exited;
      }
      await assertNothingLeft();
      assert.equal((await d.docker(['images', '-q', 'killed:1'])).stdout.trim(), '');
      await assertCacheUnlocked('killed');
    } finally {
      await agent.stop();
    }
  });
});
