/**
 * Issue 11: `docker buildx build --ssh default=$SSH_AUTH_SOCK` and
 * `RUN --mount=type=ssh` on berthd. A real ssh-agent holds a fresh key; the
 * RUN runs the host's ssh-add (copied into a busybox image with its
 * libraries) against the socket berthd mounts, and must list the very key
 * the host's agent holds — so the test fails unless the bytes really travel
 * RUN → berthd → buildx's session → the agent and back. The socket, its
 * mount point and the agent's keys stay out of the image, its history and
 * the cache key; the socket file is gone after the RUN. Without `--ssh`
 * (and through the classic API, which has no session) a required mount
 * fails with BuildKit's error and an optional one is absent.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { startDaemon, skipUnlessRoot, skipWithoutDocker, waitFor, type Daemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';
import { apiBuild, writeContext } from '../build/build-helpers.js';
import { installBuildx, skipWithoutBuildx, buildxBuild } from './buildx.js';
import { solveDockerfile } from './hand-made-client.js';
import { copySshAdd, skipWithoutOpenssh, startAgent, type TestAgent } from './ssh-agent.js';

const skip = skipUnlessRoot() || skipWithoutDocker() || skipWithoutBuildx() || skipWithoutOpenssh();

let d!: Daemon;
let dir!: string;
let agent!: TestAgent;
let other!: TestAgent;

/** A context whose image has ssh-add; `lines` follow `FROM busybox` and the COPY. */
async function sshContext(name: string, lines: string[]): Promise<string> {
  const c = join(dir, name);
  await copySshAdd(join(c, 'sshadd'));
  await writeContext(c, { Dockerfile: ['FROM busybox', 'COPY sshadd/ /', ...lines, ''].join('\n') });
  return c;
}

const buildx = (cwd: string, args: string[]) => buildxBuild(d, cwd, args);

/** Agent sockets berthd made that are still there (build dirs, exec root). */
/**
 * What a finished build left: nothing, once its clean-up ran. A built image's answer does not wait for the
 * removal of its context copy (api/grpc/dockerfile-frontend.ts), so a successful build's is waited for.
 */
async function nothingLeft(): Promise<void> {
  let left: string[] = [];
  await waitFor(async () => { left = await leftoverSockets(); return left.length === 0 || null; }, 10_000, 'the build\'s temporary files and agent sockets to go').catch(() => undefined);
  assert.deepEqual(left, []);
}

async function leftoverSockets(): Promise<string[]> {
  const out: string[] = [];
  for (const n of await readdir(join(d.dataRoot, 'tmp')).catch(() => [] as string[])) {
    if (n.startsWith('build-')) out.push(n);
  }
  for (const n of await readdir(d.execRoot).catch(() => [] as string[])) if (n.startsWith('ssh-agent-')) out.push(n);
  return out;
}

before(async () => {
  if (skip) return;
  dir = await mkdtemp('/tmp/berth-test-ssh-');
  agent = await startAgent(join(dir, 'agent1'), 'berth-ssh-test-default');
  other = await startAgent(join(dir, 'agent2'), 'berth-ssh-test-other');
  d = await startDaemon();
  await importBusybox(d);
  await installBuildx(d);
}, { timeout: 120_000 });

after(async () => {
  await d?.stop();
  await agent?.stop();
  await other?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('buildx --ssh and RUN --mount=type=ssh', { skip }, () => {
  test('the RUN lists the host agent\'s key through the forwarded socket; nothing of it is in the image', async () => {
    const c = await sshContext('default', [
      'RUN --mount=type=ssh echo "sock=$SSH_AUTH_SOCK" && stat -c "mode=%a uid=%u type=%F" "$SSH_AUTH_SOCK" && ssh-add -l | sed "s/^/KEY: /"',
      'CMD ["sh", "-c", "ls -a /run; env"]',
    ]);
    const r = await buildx(c, ['--ssh', `default=${agent.sock}`, '-t', 'ssh:1', '--load']);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stderr, /sock=\/run\/buildkit\/ssh_agent\.0\n/);
    assert.match(r.stderr, /mode=600 uid=0 type=socket\n/);
    const keys = [...r.stderr.matchAll(/#\d+ [\d.]+ KEY: (.*)\n/g)].map((m) => m[1].trim());
    assert.deepEqual(keys, [agent.fingerprint]);
    // Neither the mount point nor the variable is in the image.
    const run = await d.docker(['run', '--rm', 'ssh:1']);
    assert.equal(run.code, 0, run.stderr);
    assert.doesNotMatch(run.stdout, /buildkit|SSH_AUTH_SOCK/);
    const inspect = await d.docker(['image', 'inspect', 'ssh:1', '--format', '{{json .Config.Env}}']);
    assert.doesNotMatch(inspect.stdout, /SSH_AUTH_SOCK/);
    const tar = execFileSync('/usr/local/bin/docker', ['-H', d.host, 'image', 'save', 'ssh:1'], { maxBuffer: 256 << 20 });
    // No layer or config holds the client's socket path, berthd's socket, or the key's fingerprint or comment.
    const hash = agent.fingerprint.split(' ')[1];
    for (const s of [agent.sock, 'ssh-agent-', hash, 'berth-ssh-test-default']) assert.equal(tar.includes(s), false, `docker save output has ${s}`);
    await nothingLeft();
  });

  test('a named agent at a target with uid and mode; the rebuild is CACHED whatever agent is behind the id', async () => {
    const c = await sshContext('named', [
      'RUN --mount=type=ssh,id=deploy,target=/tmp/agent.sock,uid=1000,gid=1000,mode=0660,required echo "sock=$SSH_AUTH_SOCK" && stat -c "mode=%a uid=%u gid=%g" /tmp/agent.sock && ssh-add -l | sed "s/^/KEY: /"',
    ]);
    const r = await buildx(c, ['--ssh', `deploy=${other.sock}`, '-t', 'ssh:2']);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stderr, /sock=\/tmp\/agent\.sock\n/);
    assert.match(r.stderr, /mode=660 uid=1000 gid=1000\n/);
    const keys = [...r.stderr.matchAll(/#\d+ [\d.]+ KEY: (.*)\n/g)].map((m) => m[1].trim());
    assert.deepEqual(keys, [other.fingerprint]);
    // The cache key holds the id and options, not the client's socket or keys (as BuildKit's).
    const again = await buildx(c, ['--ssh', `deploy=${agent.sock}`, '-t', 'ssh:2']);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /RUN --mount=type=ssh,id=deploy[^\n]*\n#\d+ CACHED/);
  });

  test('a required agent the client does not forward fails with BuildKit\'s error; an optional one is absent', async () => {
    const c = await sshContext('missing', ['RUN --mount=type=ssh,required=true ssh-add -l']);
    // buildx serves the ssh service even without --ssh: its session answers that the id is unset, with the step's line.
    const none = await buildx(c, ['--no-cache']);
    assert.notEqual(none.code, 0);
    assert.match(none.stderr, /ERROR: failed to solve: Dockerfile:3: unset ssh forward key default\n/);
    const wrong = await buildx(c, ['--no-cache', '--ssh', `other=${other.sock}`]);
    assert.notEqual(wrong.code, 0);
    assert.match(wrong.stderr, /Dockerfile:3: unset ssh forward key default/);
    const c2 = await sshContext('optional', ['RUN --mount=type=ssh test ! -e "$SSH_AUTH_SOCK" && echo "NO-AGENT $SSH_AUTH_SOCK"']);
    const opt = await buildx(c2, []);
    assert.equal(opt.code, 0, opt.stderr);
    assert.match(opt.stderr, /NO-AGENT \/run\/buildkit\/ssh_agent\.0\n/);
    await nothingLeft();
  });

  test('a session that serves no ssh service gets BuildKit\'s "no SSH key" error for a required mount', async () => {
    const r = await solveDockerfile(d.socket, 'nossh1', Buffer.from('FROM busybox\nRUN --mount=type=ssh,id=deploy,required true\n'), []);
    assert.notEqual(r.status, '0');
    assert.match(r.message, /Dockerfile:2: no SSH key "deploy" forwarded from the client/);
  });

  test('the classic API has no session: a required ssh mount fails, an optional one is absent', async () => {
    const c = join(dir, 'classic');
    await writeContext(c, { Dockerfile: 'FROM busybox\nRUN --mount=type=ssh,required true\n' });
    const r = await apiBuild(d, c);
    assert.match(r.error ?? '', /no SSH key "default" forwarded from the client/);
    const c2 = join(dir, 'classic2');
    await writeContext(c2, { Dockerfile: 'FROM busybox\nRUN --mount=type=ssh,id=x,target=/a.sock test ! -e /a.sock && echo "NO-AGENT $SSH_AUTH_SOCK"\n' });
    const o = await apiBuild(d, c2);
    assert.equal(o.error, undefined, o.text);
    assert.match(o.text, /\nNO-AGENT \/a\.sock\n/);
  });

  test('a failing RUN removes its agent socket too', async () => {
    const c = await sshContext('fails', ['RUN --mount=type=ssh ssh-add -l && exit 7']);
    const r = await buildx(c, ['--ssh', `default=${agent.sock}`]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /exit code: 7|returned a non-zero code: 7/);
    await nothingLeft();
    assert.equal((await d.docker(['ps', '-aq'])).stdout.trim(), '');
  });
});
