/**
 * Tests of the test helpers themselves (no berthd needed): the busybox root
 * filesystem and its cached tar, the pty driver, waits, and leftover
 * detection. Run by scripts/run-tests.mjs with the integration tests (root).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import net from 'node:net';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { promisify } from 'node:util';
import { busyboxTar, importBusybox, makeBusyboxRootfs } from './busybox.js';
import { spawnPty, shellQuote, stripAnsi } from './pty.js';
import { TimeoutError, waitFor, withTimeout } from './wait.js';
import { emptyLeftovers, formatLeftovers, isClean, leftoversUnder, hostLeftovers, subtractLeftovers } from './host.js';
import { runCommand, skipUnlessRoot, startDaemon, unixRequest } from './daemon.js';

const run = promisify(execFile);
const asRoot = { skip: skipUnlessRoot() };

test('the busybox root filesystem runs sh in a chroot with root, app and nobody users', asRoot, async (t) => {
  const dir = await mkdtemp('/tmp/berth-helpers-');
  t.after(() => rm(dir, { recursive: true, force: true }));
  await makeBusyboxRootfs(dir);
  const { stdout } = await run('chroot', [dir, '/bin/sh', '-c', 'echo ok; echo $((6*7)); id -u app; id -u nobody; ls -ld /tmp /root /home/app']);
  const lines = stdout.split('\n');
  assert.deepEqual(lines.slice(0, 4), ['ok', '42', '1000', '65534']);
  assert.match(stdout, /^drwxrwxrwt .* \/tmp$/m);
  assert.match(stdout, /^drwx------ .* \/root$/m);
  assert.match(stdout, /^drwxr-xr-x +\d+ app +app .* \/home\/app$/m);
  assert.equal((await readFile(`${dir}/bin/busybox`)).equals(await readFile('/bin/busybox')), true);
});

test('making the busybox root filesystem twice in the same directory succeeds', asRoot, async (t) => {
  const dir = await mkdtemp('/tmp/berth-helpers-');
  t.after(() => rm(dir, { recursive: true, force: true }));
  await makeBusyboxRootfs(dir);
  await makeBusyboxRootfs(dir);
  const { stdout } = await run('chroot', [dir, '/bin/sh', '-c', 'echo ok']);
  assert.equal(stdout, 'ok\n');
});

test('make-busybox-rootfs.sh without a directory prints its usage and exits 2', async () => {
  const r = await runCommand('bash', [new URL('../../../scripts/make-busybox-rootfs.sh', import.meta.url).pathname]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /usage: .* DIR/);
});

test('the busybox tar is built once and reused, with numeric owners and busybox links', asRoot, async () => {
  const first = await busyboxTar();
  const before = await stat(first);
  const second = await busyboxTar();
  assert.equal(second, first);
  assert.equal((await stat(second)).mtimeMs, before.mtimeMs);
  const { stdout } = await run('tar', ['-tvf', first, '--numeric-owner'], { maxBuffer: 8 << 20 });
  assert.match(stdout, /^-rwxr-xr-x 0\/0 .* \.\/bin\/busybox$/m);
  assert.match(stdout, /^lrwxrwxrwx 0\/0 .* \.\/bin\/sh -> \/bin\/busybox$/m);
  assert.match(stdout, /^drwxr-xr-x 1000\/1000 .* \.\/home\/app\/$/m);
  assert.match(stdout, /^drwxrwxrwt 0\/0 .* \.\/tmp\/$/m);
  assert.match(stdout, /\.\/etc\/passwd$/m);
});

test('a pty session runs an interactive shell, passes the exit code and sets the terminal size', async () => {
  const p = spawnPty(['sh'], { rows: 33, cols: 101, env: { PS1: 'prompt> ' } });
  try {
    await p.expect('prompt> ');
    p.write('echo $((6*7)); stty size\r');
    assert.equal(await p.expect(/^42$/m), '42');
    assert.equal(await p.expect(/^33 101$/m), '33 101');
    p.write('exit 3\r');
    assert.deepEqual(await p.exit(), { code: 3, signal: null });
  } finally {
    p.kill();
  }
});

test('a pty expectation that never appears times out with what the terminal showed', async () => {
  const p = spawnPty(['sh', '-c', 'echo something else; sleep 30']);
  try {
    await assert.rejects(p.expect('never', 300), (e: Error) => e instanceof TimeoutError && /something else/.test(e.message));
  } finally {
    p.kill();
  }
});

test('pty expectations consume output in order', async () => {
  const p = spawnPty(['sh', '-c', 'echo a1; echo b; echo a2']);
  try {
    assert.equal(await p.expect(/a\d/), 'a1');
    assert.equal(await p.expect(/a\d/), 'a2');
    assert.equal((await p.exit()).code, 0);
  } finally {
    p.kill();
  }
});

test('shell quoting and ANSI stripping round-trip awkward strings', async () => {
  const awkward = `it's "quoted" $HOME \\ *`;
  const r = await runCommand('sh', ['-c', `printf %s ${shellQuote(awkward)}`]);
  assert.equal(r.stdout, awkward);
  assert.equal(stripAnsi('\x1b[1;32mgreen\x1b[0m\r\n\x1b]0;title\x07x'), 'green\nx');
});

test('waitFor returns the first truthy value and reports what it waited for on timeout', async () => {
  let n = 0;
  assert.equal(await waitFor(() => (++n >= 3 ? n : 0), 2000, 'n to reach 3', 1), 3);
  await assert.rejects(waitFor(() => { throw new Error('not yet'); }, 100, 'nothing', 10), /waited 100 ms for nothing: last error: not yet/);
  await assert.rejects(withTimeout(new Promise(() => {}), 50, 'a promise that never settles'), /a promise that never settles did not finish within 50 ms/);
  assert.equal(await withTimeout(Promise.resolve(7), 50), 7);
});

test('a command that outlives its timeout is killed and reported with its output', async () => {
  await assert.rejects(runCommand('sh', ['-c', 'echo partial; sleep 30'], { timeoutMs: 300 }), /did not finish within 300 ms[\s\S]*partial/);
});

test('commands get their input on stdin and report output and exit code', async () => {
  const r = await runCommand('sh', ['-c', 'cat; echo err >&2; exit 4'], { input: 'hi\n' });
  assert.deepEqual(r, { code: 4, signal: null, stdout: 'hi\n', stderr: 'err\n' });
});

test('leftover detection finds mounts and processes under a root and forgets them once gone', asRoot, async (t) => {
  const before = await hostLeftovers();
  const root = await mkdtemp('/tmp/berth-test-leak-');
  t.after(async () => {
    await run('umount', ['-l', `${root}/m`]).catch(() => {});
    await rm(root, { recursive: true, force: true });
  });
  await run('mkdir', ['-p', `${root}/m`]);
  await run('mount', ['-t', 'tmpfs', 'tmpfs', `${root}/m`]);
  const sleeper = spawn('sh', ['-c', 'sleep 30', root], { stdio: 'ignore' });
  t.after(() => sleeper.kill('SIGKILL'));
  await waitFor(async () => (await readFile(`/proc/${sleeper.pid}/cmdline`, 'utf8')).includes(root), 2000, 'the sleeper to start');

  const found = await leftoversUnder([root], [], { rootsShouldBeGone: true });
  assert.ok(found.mounts.some((m) => m.startsWith(`${root}/m tmpfs`)), `mounts: ${found.mounts.join('\n')}`);
  assert.ok(found.processes.some((p) => p.pid === sleeper.pid), 'the sleeper is reported');
  assert.deepEqual(found.paths, [root]);
  const added = subtractLeftovers(await hostLeftovers(), before);
  assert.ok(added.mounts.some((m) => m.startsWith(`${root}/m `)), 'the host scan sees a mount mentioning berth');
  assert.ok(added.paths.includes(root), 'the host scan sees the /tmp/berth-test-* directory');

  sleeper.kill('SIGKILL');
  await run('umount', [`${root}/m`]);
  await rm(root, { recursive: true, force: true });
  await waitFor(async () => isClean(await leftoversUnder([root], [], { rootsShouldBeGone: true })), 2000, 'the leftovers to go');
});

test('a berthd that cannot start is reported with its log and leaves no directories behind', asRoot, async () => {
  let message = '';
  await assert.rejects(startDaemon({ args: ['--no-such-flag-for-berthd'], startTimeoutMs: 15_000 }), (e: Error) => {
    message = e.message;
    return true;
  });
  assert.match(message, /berthd did not start[\s\S]*berthd\.log/);
  // Other test files start daemons meanwhile: check only the directories this one named.
  const dataRoot = /--data-root (\S+)/.exec(message)?.[1];
  const execRoot = /--exec-root (\S+)/.exec(message)?.[1];
  assert.ok(dataRoot && execRoot, `roots named in: ${message}`);
  for (const p of [dataRoot, dataRoot.replace(/\/data$/, ''), execRoot]) {
    assert.equal(await stat(p).then(() => true, () => false), false, `${p} was removed`);
  }
});

test('an API request to a daemon that never answers times out and closes its connection', async (t) => {
  const dir = await mkdtemp('/tmp/berth-helpers-');
  const sock = `${dir}/hang.sock`;
  const open = new Set<net.Socket>();
  const server = net.createServer((c) => { open.add(c); c.on('close', () => open.delete(c)); c.resume(); });
  await new Promise<void>((resolve) => server.listen(sock, resolve));
  t.after(async () => {
    for (const c of open) c.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await rm(dir, { recursive: true, force: true });
  });
  await assert.rejects(unixRequest(sock, 'GET', '/_ping', undefined, { timeoutMs: 200 }), /GET \/_ping: no response within 200 ms/);
  await waitFor(() => open.size === 0, 2000, 'the client to close its connection');
});

test('API requests send JSON bodies and parse JSON answers', async (t) => {
  const dir = await mkdtemp('/tmp/berth-helpers-');
  const sock = `${dir}/echo.sock`;
  const { createServer } = await import('node:http');
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      res.writeHead(201, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ method: req.method, url: req.url, type: req.headers['content-type'], body: JSON.parse(body) }));
    });
  });
  await new Promise<void>((resolve) => server.listen(sock, resolve));
  t.after(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await rm(dir, { recursive: true, force: true });
  });
  const r = await unixRequest(sock, 'POST', '/containers/create?name=x', { Image: 'busybox' });
  assert.equal(r.status, 201);
  assert.deepEqual(r.json(), { method: 'POST', url: '/containers/create?name=x', type: 'application/json', body: { Image: 'busybox' } });
});

test('a test daemon survives kill9 and restart, and stop() removes what tests left running', asRoot, async (t) => {
  const d = await startDaemon();
  t.after(() => d.stop());
  await importBusybox(d);
  const created = await d.request('POST', '/containers/create?name=left-running', { Image: 'busybox', Cmd: ['sleep', '1000'] });
  assert.equal(created.status, 201, created.text);
  const id: string = created.json().Id;
  const started = await d.request('POST', `/containers/${id}/start`);
  assert.equal(started.status, 204, started.text);
  assert.ok((await d.leftovers()).processes.some((p) => p.cmdline === 'sleep 1000'), 'the container process is seen');

  await d.kill9();
  assert.equal(d.pid, undefined);
  await d.restart();
  assert.equal((await d.request('GET', `/containers/${id}/json`)).json().State.Running, true);

  const left = await d.stop();
  assert.ok(isClean(left), `stop() found:\n${formatLeftovers(left)}`);
  const after = await leftoversUnder([d.tmpDir, d.execRoot], [id], { rootsShouldBeGone: true });
  assert.ok(isClean(after), `after stop():\n${formatLeftovers(after)}`);
  assert.deepEqual(await d.stop(), emptyLeftovers(), 'a second stop() does nothing');
});

test('stop() finds and removes a daemon\'s network leftovers: its bridge and netavark rules for its subnets', asRoot, async (t) => {
  const d = await startDaemon();
  const subnet = d.net.userSubnet(7);
  const chain = `NETAVARK-${'0123456789ABC'}`;
  const undo = async () => {
    await run('iptables', ['-w', '-t', 'nat', '-D', 'POSTROUTING', '-s', subnet, '-j', chain]).catch(() => undefined);
    await run('iptables', ['-w', '-t', 'nat', '-X', chain]).catch(() => undefined);
    await run('ip', ['link', 'delete', d.net.bridge]).catch(() => undefined);
  };
  t.after(async () => { await d.stop(); await undo(); });
  // What a netavark setup that was never torn down leaves: a bridge and a per-network NAT chain.
  await run('ip', ['link', 'add', d.net.bridge, 'type', 'bridge']);
  await run('iptables', ['-w', '-t', 'nat', '-N', chain]);
  await run('iptables', ['-w', '-t', 'nat', '-A', 'POSTROUTING', '-s', subnet, '-j', chain]);
  assert.ok((await hostLeftovers()).iptables.includes(`nat: -N ${chain}`));

  const left = await d.stop();
  assert.deepEqual(left.links, [`bridge ${d.net.bridge}`]);
  assert.deepEqual(left.iptables, [`nat: -A POSTROUTING -s ${subnet} -j ${chain}`]);
  const nat = (await run('iptables', ['-w', '-t', 'nat', '-S'])).stdout;
  assert.ok(!nat.includes(chain), `swept:\n${nat}`);
  await assert.rejects(run('ip', ['link', 'show', d.net.bridge]));
});
