/**
 * ssh:// access: the Docker CLI's `-H ssh://root@127.0.0.1:PORT/<socket>`
 * runs `docker --host unix://<socket> system dial-stdio` on the far side —
 * here berth's (sshd.ts) — through Debian's openssh-server on loopback with
 * a generated key; and berth's own CLI does the same with
 * `berth system dial-stdio`. Covers plain requests, a container run with
 * its output, and an attach whose stdin's end (the half-close) must cross
 * ssh and dial-stdio to end `cat`.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dockerCliPath, runCommand, skipUnlessRoot, skipWithoutDocker, startDaemon, type Daemon, type RunOptions } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';
import { berthBin } from '../../helpers/paths.js';
import { skipWithoutSshd, startSshd, type Sshd } from './sshd.js';

const skip = skipUnlessRoot() || skipWithoutSshd();
let tmp = '';
let d: Daemon | undefined;
let sshd: Sshd | undefined;

before(async () => {
  if (skip) return;
  tmp = await mkdtemp(join(tmpdir(), 'berth-ssh-'));
  d = await startDaemon();
  await importBusybox(d);
  sshd = await startSshd(join(tmp, 'sshd'));
});

after(async () => {
  await sshd?.stop();
  await d?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

function sshHost(): string {
  return `ssh://root@127.0.0.1:${sshd!.port}${d!.socket}`;
}

function clientEnv(extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return {
    PATH: `${sshd!.clientBin}:${process.env.PATH}`, DOCKER_HOST: sshHost(), BERTH_HOST: undefined, DOCKER_CONTEXT: undefined,
    DOCKER_TLS_VERIFY: undefined, DOCKER_CONFIG: join(tmp, 'docker-config'), BERTH_NO_AUTOSTART: '1', ...extra,
  };
}

async function docker(args: string[], opts: RunOptions = {}) {
  const r = await runCommand(dockerCliPath()!, args, { ...opts, env: clientEnv(opts.env) });
  if (r.code !== 0) process.stdout.write(`# sshd log:\n${sshd!.log().split('\n').map((l) => `# ${l}`).join('\n')}\n`);
  return r;
}

function berth(args: string[], opts: RunOptions = {}) {
  return runCommand(process.execPath, [berthBin, ...args], { ...opts, env: clientEnv({ DOCKER_HOST: undefined, ...opts.env }) });
}

test('docker -H ssh:// reaches berthd through sshd and berth system dial-stdio', { skip: skip || skipWithoutDocker() }, async () => {
  const v = await docker(['version', '--format', '{{.Server.Os}}']);
  assert.equal(v.code, 0, v.stderr);
  assert.equal(v.stdout.trim(), 'linux');
  const r = await docker(['run', '--rm', 'busybox', 'echo', 'hello over ssh']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'hello over ssh\n');
  // The end of stdin reaches cat only through dial-stdio's half-close.
  const cat = await docker(['run', '-i', '--rm', 'busybox', 'sh', '-c', 'cat; echo end'], { input: 'abc\n' });
  assert.equal(cat.code, 0, cat.stderr);
  assert.equal(cat.stdout, 'abc\nend\n');
  const ps = await docker(['ps', '-a', '--format', '{{.Names}}']);
  assert.equal(ps.code, 0, ps.stderr);
});

test("berth's own CLI with -H ssh:// runs containers through the same path", { skip }, async () => {
  const r = await berth(['-H', sshHost(), 'run', '--rm', 'busybox', 'echo', 'berth over ssh']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'berth over ssh\n');
  const cat = await berth(['-H', sshHost(), 'run', '-i', '--rm', 'busybox', 'sh', '-c', 'cat; echo end'], { input: 'xyz\n' });
  assert.equal(cat.code, 0, cat.stderr);
  assert.equal(cat.stdout, 'xyz\nend\n');
  const ps = await berth(['-H', sshHost(), 'ps', '-a']);
  assert.equal(ps.code, 0, ps.stderr);
  assert.match(ps.stdout, /^CONTAINER ID/);
});

test('an ssh:// host that refuses the key is a clean connection error', { skip }, async () => {
  const r = await berth(['-H', `ssh://nobody-here@127.0.0.1:${sshd!.port}`, 'ps']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /ssh exited with status 255: .*Permission denied/);
});

test('berth system dial-stdio proxies stdin to the daemon and its answer to stdout', { skip }, async () => {
  const r = await runCommand(process.execPath, [berthBin, '-H', d!.host, 'system', 'dial-stdio'], {
    input: 'GET /_ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', env: { BERTH_NO_AUTOSTART: '1' },
  });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^HTTP\/1\.1 200 OK\r\n/);
  assert.match(r.stdout, /\r\n\r\nOK$/);
});
