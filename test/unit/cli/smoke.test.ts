/**
 * Whole command lines against the scripted fake daemon: the request
 * sequences of Docker 28 (interfaces.md §5.2), stream handling, exit codes
 * and error reporting — everything short of a real berthd.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { runCli } from '../../../src/cli/run-cli.js';
import { startDaemon } from '../../../src/cli/daemon-autostart.js';
import { ApiClient } from '../../../src/cli/client.js';
import { FakeDaemon } from './fake-daemon.js';

const dir = mkdtempSync(join(tmpdir(), 'berth-cli-smoke-'));
const sock = join(dir, 'api.sock');
let daemon: FakeDaemon;

before(async () => {
  daemon = new FakeDaemon();
  await daemon.listen(sock);
});

after(async () => {
  await daemon.close();
  rmSync(dir, { recursive: true, force: true });
});

class Collect extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.text += chunk.toString();
    cb();
  }
}

interface Result { code: number; out: string; err: string }

async function berth(args: string[], stdin?: string, host = `unix://${sock}`): Promise<Result> {
  const input = new PassThrough();
  if (stdin !== undefined) input.end(stdin);
  const out = new Collect();
  const err = new Collect();
  const code = await runCli(['-H', host, ...args], { in: input, out, err }, { HOME: dir, BERTH_NO_AUTOSTART: '1' });
  return { code, out: out.text, err: err.text };
}

function since(mark: number): string[] {
  return daemon.lines().slice(mark).map((l) => l.replace(/[0-9a-f]{64}/g, 'ID'));
}

test('run: create → attach (upgrade) → wait?condition=removed → start, output and status', async () => {
  const mark = daemon.lines().length;
  const r = await berth(['run', '--rm', 'busybox', 'echo', 'hello', 'world']);
  assert.equal(r.code, 0);
  assert.equal(r.out, 'hello world\n');
  assert.deepEqual(since(mark), [
    'POST /containers/create',
    'POST /containers/ID/attach?stderr=1&stdout=1&stream=1 (upgrade)',
    'POST /containers/ID/wait?condition=removed',
    'POST /containers/ID/start',
  ]);
});

test('run exits with the container status and splits stderr', async () => {
  assert.equal((await berth(['run', 'busybox', 'exit', '3'])).code, 3);
  const r = await berth(['run', 'busybox', 'err', 'oops']);
  assert.equal(r.err, 'oops\n');
  assert.equal(r.out, '');
});

test('run -d prints the full ID and does not attach', async () => {
  const mark = daemon.lines().length;
  const r = await berth(['run', '-d', '--name', 'bg', 'busybox', 'echo', 'x']);
  assert.equal(r.code, 0);
  assert.match(r.out, /^[0-9a-f]{64}\n$/);
  assert.deepEqual(since(mark), ['POST /containers/create?name=bg', 'POST /containers/ID/wait?condition=next-exit', 'POST /containers/ID/start']);
});

test('run -i sends stdin before start and half-closes', async () => {
  const mark = daemon.lines().length;
  const r = await berth(['run', '--rm', '-i', 'busybox', 'cat'], 'piped-in\n');
  assert.equal(r.out, 'piped-in\n');
  assert.equal(r.code, 0);
  assert.equal(since(mark)[1], 'POST /containers/ID/attach?stderr=1&stdin=1&stdout=1&stream=1 (upgrade)');
  const body = JSON.parse(daemon.requests.filter((q) => q.url.includes('/containers/create')).at(-1)!.body) as Record<string, unknown>;
  assert.equal(body.OpenStdin, true);
  assert.equal(body.StdinOnce, true);
});

test('a missing image is pulled, then created again', async () => {
  const mark = daemon.lines().length;
  const r = await berth(['run', '--rm', 'alpine', 'echo', 'pulled']);
  assert.equal(r.code, 0);
  assert.equal(r.out, 'pulled\n');
  assert.match(r.err, /^Unable to find image 'alpine:latest' locally\nlatest: Pulling from library\/busybox\n/);
  assert.deepEqual(since(mark).slice(0, 3), ['POST /containers/create', 'POST /images/create?fromImage=docker.io%2Flibrary%2Falpine&tag=latest', 'POST /containers/create']);
});

test('a command that cannot be found exits 127 with the daemon message and help hint', async () => {
  const r = await berth(['run', 'busybox', 'notfound']);
  assert.equal(r.code, 127);
  assert.match(r.err, /^berth: Error response from daemon: .*executable file not found in \$PATH: unknown\n\nRun 'berth run --help' for more information\n$/);
});

test('--pull never does not pull, and create errors keep exit status 1', async () => {
  const r = await berth(['create', '--pull', 'never', 'neverpulled']);
  assert.equal(r.code, 1);
  assert.equal(r.err, 'Error response from daemon: No such image: neverpulled\n');
});

test('create --cidfile writes the ID, and refuses an existing file', async () => {
  const cid = join(dir, 'cid');
  const r = await berth(['create', '--cidfile', cid, 'busybox']);
  assert.equal(r.code, 0);
  assert.equal(readFileSync(cid, 'utf8'), r.out.trim());
  const again = await berth(['create', '--cidfile', cid, 'busybox']);
  assert.equal(again.code, 1);
  assert.match(again.err, /container ID file found/);
});

test('exec: inspect → create → start (upgrade) → inspect exit code', async () => {
  await berth(['create', '--name', 'ex1', 'busybox']);
  const mark = daemon.lines().length;
  const r = await berth(['exec', 'ex1', 'exit', '5']);
  assert.equal(r.code, 5);
  assert.deepEqual(since(mark), ['GET /containers/ex1/json', 'POST /containers/ex1/exec', 'POST /exec/ID/start (upgrade)', 'GET /exec/ID/json']);
  const i = await berth(['exec', '-i', 'ex1', 'cat'], 'to-exec\n');
  assert.equal(i.out, 'to-exec\n');
  const d = await berth(['exec', '-d', 'ex1', 'echo', 'x']);
  assert.equal(d.code, 0);
  assert.equal(d.out, '');
  const missing = await berth(['exec', 'nosuch', 'echo']);
  assert.equal(missing.code, 1);
  assert.equal(missing.err, 'Error response from daemon: No such container: nosuch\n');
});

test('a command\'s first request goes on the ping\'s connection, not a second one', async () => {
  const before = daemon.connections;
  const r = await berth(['create', 'busybox']);
  assert.equal(r.code, 0, r.err);
  assert.equal(daemon.connections - before, 1);
});

test('logs demultiplexes stdout and stderr', async () => {
  await berth(['create', '--name', 'lg', 'busybox']);
  const r = await berth(['logs', '--tail', '1', 'lg']);
  assert.equal(r.out, 'log-out\n');
  assert.equal(r.err, 'log-err\n');
  assert.match(daemon.lines().at(-1)!, /\/logs\?stderr=1&stdout=1&tail=1$/);
});

test('start -a attaches, waits and starts', async () => {
  await berth(['create', '--name', 'sa', 'busybox', 'echo', 'started']);
  const mark = daemon.lines().length;
  const r = await berth(['start', '-a', 'sa']);
  assert.equal(r.out, 'started\n');
  assert.deepEqual(since(mark), ['GET /containers/sa/json', 'POST /containers/ID/attach?stderr=1&stdout=1&stream=1 (upgrade)', 'POST /containers/ID/wait?condition=next-exit', 'POST /containers/ID/start']);
});

test('inspect -f and port read the inspect data', async () => {
  await berth(['create', '--name', 'insp', 'busybox', 'echo', 'a']);
  const r = await berth(['inspect', '-f', '{{.Name}} {{json .Config.Cmd}} {{.State.Running}}', 'insp']);
  assert.equal(r.out, '/insp ["echo","a"] false\n');
  const p = await berth(['port', 'insp']);
  assert.equal(p.out, '80/tcp -> 0.0.0.0:8080\n');
  const none = await berth(['inspect', 'nosuch']);
  assert.equal(none.code, 1);
  assert.equal(none.out, '[]\n');
  assert.equal(none.err, 'Error: No such object: nosuch\n');
});

test('commands over several containers report each and fail at the end', async () => {
  await berth(['create', '--name', 'k1', 'busybox']);
  const r = await berth(['kill', '-s', 'HUP', 'k1', 'nosuch']);
  assert.equal(r.code, 1);
  assert.equal(r.out, 'k1\n');
  assert.equal(r.err, 'Error response from daemon: No such container: nosuch\n');
});

test('CLI errors: unknown flag (125), missing arguments (1), unknown command (1)', async () => {
  const f = await berth(['run', '--foo', 'busybox']);
  assert.equal(f.code, 125);
  assert.equal(f.err, "unknown flag: --foo\n\nUsage:  berth run [OPTIONS] IMAGE [COMMAND] [ARG...]\n\nRun 'berth run --help' for more information\n");
  const a = await berth(['rm']);
  assert.equal(a.code, 1);
  assert.equal(a.err, "berth: 'berth rm' requires at least 1 argument\n\nUsage:  berth rm [OPTIONS] CONTAINER [CONTAINER...]\n\nSee 'berth rm --help' for more information\n");
  const u = await berth(['frobnicate']);
  assert.equal(u.code, 1);
  assert.match(u.err, /^berth: unknown command: berth frobnicate/);
  const v = await berth(['run', '-p', 'abc', 'busybox']);
  assert.equal(v.code, 125);
  assert.equal(v.err, "berth: invalid containerPort: abc\n\nRun 'berth run --help' for more information\n");
  const g = await berth(['run', '--gpus', 'all', 'busybox']);
  assert.equal(g.code, 125);
  assert.match(g.err, /--gpus is not supported by berth/);
});

test('help goes to stdout with the command flags', async () => {
  const r = await berth(['ps', '--help']);
  assert.equal(r.code, 0);
  assert.match(r.out, /^Usage:  berth ps \[OPTIONS\]\n\nList containers\n\nAliases:\n  berth container ls, berth container list, berth container ps, berth ps\n\nOptions:\n  -a, --all /);
  const run = await berth(['run', '--help']);
  assert.match(run.out, /  -h, --hostname string +Container host name/);
});

test('no daemon: Docker\'s message with berth\'s names, exit 1', async () => {
  const r = await berth(['ps'], undefined, `unix://${join(dir, 'absent.sock')}`);
  assert.equal(r.code, 1);
  assert.equal(r.err, `Cannot connect to the berth daemon at unix://${join(dir, 'absent.sock')}. Is the berth daemon running?\n`);
  const npipe = await berth(['ps'], undefined, 'npipe:////./pipe/docker_engine');
  assert.equal(npipe.code, 1);
  assert.match(npipe.err, /connects to unix:\/\/, tcp:\/\/ and ssh:\/\/ addresses/);
});

test('the daemon is started on demand and waited for', async () => {
  const fakeSock = join(dir, 'auto.sock');
  const fake = join(dir, 'fake-berthd.mjs');
  const daemonModule = new URL('./fake-daemon.js', import.meta.url).href;
  writeFileSync(fake, `import { FakeDaemon } from ${JSON.stringify(daemonModule)};\n` +
    `const host = process.argv[process.argv.indexOf('-H') + 1];\nconst d = new FakeDaemon();\n` +
    `setTimeout(() => d.listen(host.slice('unix://'.length)), 200);\nsetTimeout(() => process.exit(0), 5000);\n`);
  const addr = { kind: 'unix' as const, host: `unix://${fakeSock}`, socketPath: fakeSock };
  const probe = new ApiClient(addr);
  await startDaemon(addr, () => probe.ping().then(() => true, () => false), { bin: fake, logFile: join(dir, 'berthd.log'), waitMs: 4000 });
  const info = await probe.ping();
  probe.close();
  assert.equal(info.apiVersion, '1.50');
});

test('a daemon that dies at once is reported with its log', async () => {
  const bad = join(dir, 'bad-berthd.mjs');
  writeFileSync(bad, 'console.error("berthd: cannot open data root"); process.exit(3);\n');
  const addr = { kind: 'unix' as const, host: `unix://${join(dir, 'never.sock')}`, socketPath: join(dir, 'never.sock') };
  await assert.rejects(startDaemon(addr, async () => false, { bin: bad, logFile: join(dir, 'bad.log'), waitMs: 3000 }),
    /berthd exited with status 3 .*\nberthd: cannot open data root/s);
});
