/**
 * Contexts and sources a build fetches: `remote=` with a Git URL (a local
 * `git daemon`, `#ref:subdir`), `remote=` with a tarball URL, and ADD of a
 * URL whose --checksum does not match.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { startDaemon, skipUnlessRoot, skipWithoutDocker, waitFor, type Daemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';
import { allImages, apiBuild, run, runIn, tarOf, writeContext } from './build-helpers.js';

let d!: Daemon;
let dir!: string;
let web!: http.Server;
let webPort = 0;
let gitd: ChildProcess | undefined;
let gitPort = 0;
let contextTar: Buffer = Buffer.alloc(0);

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    }).on('error', reject);
  });
}

before(async () => {
  dir = await mkdtemp('/tmp/berth-test-build-remote-');
  const repo = join(dir, 'git', 'repo');
  await writeContext(repo, {
    'sub/Dockerfile': 'FROM busybox\nCOPY msg.txt /msg.txt\nCMD ["cat", "/msg.txt"]\n',
    'sub/msg.txt': 'from git\n',
  });
  const git = (...args: string[]) => run('git', ['-C', repo, '-c', 'user.email=t@example.com', '-c', 'user.name=t', ...args]);
  await git('init', '-q', '-b', 'release');
  await git('add', '-A');
  await git('commit', '-qm', 'init');
  gitPort = await freePort();
  gitd = spawn('git', ['daemon', '--export-all', `--base-path=${join(dir, 'git')}`, `--port=${gitPort}`, '--listen=127.0.0.1', '--reuseaddr'], { stdio: 'ignore' });
  await waitFor(() => new Promise<boolean>((resolve) => {
    const s = net.connect(gitPort, '127.0.0.1', () => { s.destroy(); resolve(true); }).on('error', () => resolve(false));
  }), 10_000, 'git daemon');

  const tarCtx = join(dir, 'tarctx');
  await writeContext(tarCtx, { Dockerfile: 'FROM busybox\nCOPY hello.txt /\n', 'hello.txt': 'from a tarball\n' });
  contextTar = await tarOf(tarCtx);
  web = http.createServer((req, res) => {
    if (req.url === '/ctx.tar') { res.writeHead(200, { 'Content-Type': 'application/x-tar' }); res.end(contextTar); return; }
    if (req.url === '/file.txt') { res.writeHead(200); res.end('payload\n'); return; }
    res.writeHead(404);
    res.end();
  });
  await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', resolve));
  webPort = (web.address() as AddressInfo).port;
  d = await startDaemon();
  await importBusybox(d);
}, { timeout: 120_000 });

after(async () => {
  gitd?.kill();
  web?.close();
  await d?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function remoteBuild(q: Record<string, string>): Promise<{ status: number; text: string }> {
  const res = await d.request('POST', `/build?${new URLSearchParams(q)}`, undefined, { timeoutMs: 120_000 });
  return { status: res.status, text: res.text };
}

describe('remote contexts and sources', { skip: skipUnlessRoot() || skipWithoutDocker() }, () => {
  test('remote= clones a Git repository at a ref and uses a subdirectory', async () => {
    const r = await remoteBuild({ remote: `git://127.0.0.1:${gitPort}/repo#release:sub`, t: 'fromgit:1' });
    assert.equal(r.status, 200, r.text);
    assert.match(r.text, /Successfully tagged fromgit:1/);
    assert.equal(await runIn(d, 'fromgit:1', []), 'from git\n');
  });

  test('remote= with a tarball URL uses it as the context', async () => {
    const r = await remoteBuild({ remote: `http://127.0.0.1:${webPort}/ctx.tar`, t: 'fromtar:1' });
    assert.equal(r.status, 200, r.text);
    assert.equal(await runIn(d, 'fromtar:1', ['cat', '/hello.txt']), 'from a tarball\n');
  });

  test('ADD with a wrong --checksum fails with the line and leaves nothing', async () => {
    const ctx = join(dir, 'checksum');
    await writeContext(ctx, { Dockerfile: `FROM busybox\nADD --checksum=sha256:${'0'.repeat(64)} http://127.0.0.1:${webPort}/file.txt /file.txt\n` });
    const before = await allImages(d);
    const b = await apiBuild(d, ctx);
    assert.match(b.error ?? '', /^Dockerfile:2: digest mismatch for http:\/\/127\.0\.0\.1:\d+\/file\.txt: expected sha256:0{64}, got sha256:[0-9a-f]{64}$/);
    assert.deepEqual(await allImages(d), before);
  });
});
