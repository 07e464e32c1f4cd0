/**
 * Issue 11, trust: secrets come from the client's session
 * (moby.buildkit.secrets.v1.Secrets/GetSecret) and what the session answers
 * is checked — a secret over BuildKit's size limit (500 KiB) fails the
 * build, as does a NOT_FOUND for a required one; a served secret is mounted
 * and never in the image. buildx refuses a big secret itself, so the
 * client here is hand-made (node:http2 over the daemon's socket, as in
 * grpc-input.test.ts) to send what buildx never would.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startDaemon, skipUnlessRoot, type Daemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';
import { waitFor } from '../../helpers/wait.js';
import { solveDockerfile, type CallResult, type SecretSource } from './hand-made-client.js';

let d!: Daemon;

before(async () => {
  if (skipUnlessRoot()) return;
  d = await startDaemon();
  await importBusybox(d);
}, { timeout: 120_000 });

after(async () => { await d?.stop(); });

/** Control.Solve of `dockerfile` against a fake session serving it and `secret`. */
const solveWith = (dockerfile: string, ref: string, secret: SecretSource): Promise<CallResult> =>
  solveDockerfile(d.socket, ref, Buffer.from(dockerfile), [], secret);

async function leftovers(): Promise<string[]> {
  const secrets = (await readdir(join(d.execRoot, 'build-secrets')).catch(() => [] as string[])).map((n) => `secret:${n}`);
  const tmp = (await readdir(join(d.dataRoot, 'tmp')).catch(() => [] as string[])).filter((n) => n.startsWith('build-'));
  return [...secrets, ...tmp];
}

describe('secrets from the session', { skip: skipUnlessRoot() }, () => {
  test('a served secret is mounted, and removed after the RUN', async () => {
    const r = await solveWith('FROM busybox\nRUN --mount=type=secret,id=tok,required cp /run/secrets/tok /copied && wc -c /run/secrets/tok\n', 'ok1', (id) => (id === 'tok' ? Buffer.from('fake-secret') : undefined));
    assert.equal(r.status, '0', r.message);
    const out = await d.docker(['run', '--rm', 'fake:ok1', 'sh', '-c', 'cat /copied; test ! -e /run/secrets && echo NO-MOUNTPOINT']);
    assert.equal(out.stdout, 'fake-secretNO-MOUNTPOINT\n');
    assert.deepEqual((await leftovers()).filter((n) => n.startsWith('secret:')), []);
  });

  test('a secret a killed berthd left on its tmpfs is gone when berthd starts again', async () => {
    const dir = join(d.execRoot, 'build-secrets');
    // A RUN that waits: its secret is on the tmpfs when berthd dies.
    const solving = solveWith('FROM busybox\nRUN --mount=type=secret,id=tok,required sleep 30\n', 'kill1', () => Buffer.from('left-behind'));
    await waitFor(async () => (await readdir(dir).catch(() => [])).length > 0, 60_000, 'the secret file');
    await d.kill9();
    await solving.catch(() => undefined);
    await d.restart();
    assert.deepEqual(await readdir(dir).catch(() => [] as string[]), []);
    const mounts = await readFile('/proc/self/mountinfo', 'utf8');
    assert.ok(!mounts.includes(` ${dir} `), 'the tmpfs of the killed berthd is unmounted');
  });

  test('a secret over 500 KiB fails the build', async () => {
    const r = await solveWith('FROM busybox\nRUN --mount=type=secret,id=big true\n', 'big1', () => Buffer.alloc(600 * 1024, 0x62));
    assert.notEqual(r.status, '0');
    assert.match(r.message, /secret big: larger than 512000 bytes/);
    assert.equal((await d.request('GET', '/_ping')).status, 200);
  });

  test('NOT_FOUND for a required secret fails the build; for an optional one the RUN goes on without it', async () => {
    const r = await solveWith('FROM busybox\nRUN --mount=type=secret,id=nope,required=true true\n', 'nf1', () => undefined);
    assert.notEqual(r.status, '0');
    assert.match(r.message, /secret nope: not found/);
    const o = await solveWith('FROM busybox\nRUN --mount=type=secret,id=nope test ! -e /run/secrets/nope\n', 'nf2', () => undefined);
    assert.equal(o.status, '0', o.message);
  });
});
