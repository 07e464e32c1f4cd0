/**
 * Rootless berthd (src/rootless/): a throw-away user with its own
 * /etc/subuid and /etc/subgid range starts berthd, and the real Docker CLI,
 * run as that user against $XDG_RUNTIME_DIR/berth.sock, runs `run --rm`,
 * publishes a port reached from the host's loopback, keeps data in a named
 * volume, and writes in a bind mount. Container root is not root on the
 * host, nor the user: its processes and its files belong to the user's
 * first subordinate ID. Resource limits, which this cgroup v1 host cannot
 * give an ordinary user, are refused with a clear error. berthd lives in a
 * PID namespace of its own, names its launcher in its pid file, and refuses
 * a second rootless berthd on its roots. Stopping berthd, or a crash of
 * the inner berthd, leaves no process of its namespaces behind, and only
 * those: another user namespace of the same user and subordinate IDs (as
 * podman's, or another berthd's) is left alone.
 *
 * Clean-up (even on failure): the daemon and everything of the user and its
 * IDs are stopped, then the user (userdel -r: its home, hence its data
 * root), its subordinate ranges, its runtime directory and the bind
 * directory go. Every mount the daemon made lived in its private mount
 * namespace, which ends with its processes.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { dockerCliPath, runCommand, type RunResult } from '../../helpers/daemon.js';
import { busyboxTar } from '../../helpers/busybox.js';
import { berthdBin } from '../../helpers/paths.js';
import { lockHostUsers } from '../../helpers/host-users-lock.js';
import { parseSubordinateFile } from '../../../src/runtime/id-map.js';
import { findExecutable } from '../../../src/executable.js';

const BIN_DIRS = ['/usr/bin', '/usr/sbin', '/bin', '/sbin', '/usr/local/bin'];
const RANGE = 65536;

/** Why this machine cannot run the test, or false. */
function skipReason(): string | false {
  if (process.getuid?.() !== 0) return 'needs root (creates a user)';
  for (const [bin, pkg] of [['newuidmap', 'uidmap'], ['newgidmap', 'uidmap'], ['slirp4netns', 'slirp4netns'], ['unshare', 'util-linux'], ['useradd', 'passwd']]) {
    if (!findExecutable(bin, BIN_DIRS)) return `no ${bin} (Debian package ${pkg}; scripts/install.sh installs it)`;
  }
  if (!dockerCliPath()) return 'no docker CLI';
  try {
    if ((statSync('/dev/net/tun').mode & 0o006) !== 0o006) return '/dev/net/tun is not usable by ordinary users (mode 0666 as udev makes it; scripts/install.sh sets it)';
  } catch {
    return 'no /dev/net/tun (slirp4netns needs it)';
  }
  return false;
}
const skip = skipReason();

const user = `brl${randomBytes(4).toString('hex')}`;
let uid = -1;
let subStart = -1;
let runtimeDir = '';
let bindDir = '';
let socket = '';
let daemon: ChildProcess | undefined;
let daemonExit: Promise<void> = Promise.resolve();
let log = '';

/** Runs `argv` as the test user with `env` only (plus PATH). */
function asUser(argv: string[], env: Record<string, string>, opts: { inputFile?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  const vars = Object.entries({ PATH: '/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin', HOME: `/home/${user}`, ...env }).map(([k, v]) => `${k}=${v}`);
  return runCommand('runuser', ['-u', user, '--', 'env', '-i', ...vars, ...argv], { timeoutMs: opts.timeoutMs ?? 60_000, ...(opts.inputFile ? { inputFile: opts.inputFile } : {}) });
}

function docker(args: string[], opts: { inputFile?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  return asUser([dockerCliPath()!, ...args], { DOCKER_HOST: `unix://${socket}`, DOCKER_CONFIG: join(runtimeDir, 'docker-config') }, opts);
}

async function dockerOk(args: string[], opts: { inputFile?: string; timeoutMs?: number } = {}): Promise<string> {
  const r = await docker(args, opts);
  assert.equal(r.code, 0, `docker ${args.join(' ')} failed:\n${r.stderr}\n--- berthd:\n${log.slice(-3000)}`);
  return r.stdout;
}

function ping(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get({ socketPath: path, path: '/_ping', timeout: 2000 }, (res) => { res.resume(); resolve(res.statusCode === 200); });
    req.on('error', () => resolve(false));
    req.on('timeout', () => { req.destroy(); resolve(false); });
  });
}

/** Pids of processes run by `uid` or by one of its subordinate IDs. */
function processesOfUser(): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const u = Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${d}/status`, 'utf8'))?.[1]);
      if (u === uid || (u >= subStart && u < subStart + RANGE)) out.push(Number(d));
    } catch { /* gone */ }
  }
  return out;
}

function statusField(pid: number, field: string): string | undefined {
  try {
    return new RegExp(`^${field}:\\s+(.*)$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  } catch {
    return undefined;
  }
}

function childrenOf(ppid: number): number[] {
  return readdirSync('/proc').filter((d) => /^\d+$/.test(d) && Number(statusField(Number(d), 'PPid')) === ppid).map(Number);
}

function describe(pids: number[]): string {
  return pids.map((p) => { try { return `${p} ${readFileSync(`/proc/${p}/cmdline`, 'utf8').replace(/\0/g, ' ')}`; } catch { return String(p); } }).join('; ');
}

/** The launcher, from berthd's pid file. */
function launcherPid(): number {
  return Number(readFileSync(join(runtimeDir, 'berth', 'berthd.pid'), 'utf8'));
}

/** The host pid of the init of berthd's PID namespace: the launcher runs unshare, whose child is that init. */
function namespaceInit(): number {
  const own = readlinkSync('/proc/self/ns/pid');
  const init = childrenOf(launcherPid()).flatMap(childrenOf).find((p) => readlinkSync(`/proc/${p}/ns/pid`) !== own);
  assert.ok(init, `no namespace init below the launcher ${launcherPid()}`);
  return init;
}

/** The host pid of the inner berthd: the child tini started first, pid 2 of the namespace (conmons it adopts come later). */
function innerBerthd(): number {
  const init = namespaceInit();
  const inner = childrenOf(init).find((p) => statusField(p, 'NSpid')?.split(/\s+/)[1] === '2');
  assert.ok(inner, `no pid 2 below the namespace's init ${init}: ${describe(childrenOf(init))}`);
  return inner;
}

/** /proc as berthd's namespace sees it (its init's root, in its mount namespace): pids there are berthd's. */
function namespaceProc(): string {
  return `/proc/${namespaceInit()}/root/proc`;
}

/**
 * A process of the test user in a user namespace of its own, mapped to the
 * same subordinate IDs as berthd's (what a rootless podman's containers
 * are), running as the first of them: sleep, as `unshare` (no --fork) and
 * setpriv exec it in the pid the shell printed.
 */
async function startBystander(): Promise<{ pid: number; stop: () => void }> {
  const map = `${subStart},1,${RANGE}`;
  const runner = spawn('runuser', ['-u', user, '--', 'env', '-i', 'PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin', 'sh', '-c',
    `echo $$; exec unshare --map-user=0 --map-group=0 --map-users=${map} --map-groups=${map} -- setpriv --reuid=1 --regid=1 --clear-groups sleep 600`],
  { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  runner.stdout!.on('data', (b: Buffer) => { out += b.toString('utf8'); });
  runner.stderr!.on('data', (b: Buffer) => { out += b.toString('utf8'); });
  const pid = await new Promise<number>((resolve) => runner.stdout!.once('data', () => resolve(Number(out.split('\n')[0]))));
  const stop = () => { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } runner.kill('SIGKILL'); };
  for (let i = 0; i < 40 && Number(statusField(pid, 'Uid')?.split(/\s+/)[0]) !== subStart; i++) await sleep(100);
  assert.equal(Number(statusField(pid, 'Uid')?.split(/\s+/)[0]), subStart, `bystander ${pid} runs as the first subordinate ID: ${out}`);
  return { pid, stop };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const p = (s.address() as net.AddressInfo).port; s.close(() => resolve(p)); });
  });
}

function httpGet(port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, timeout: 5000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (b: Buffer) => chunks.push(b));
      res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
  });
}

async function stopDaemon(sig: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (!daemon) return;
  // berthd's pid file names its launcher: SIGTERM there stops berthd cleanly, then its namespaces end.
  const pidFile = join(runtimeDir, 'berth', 'berthd.pid');
  const launcher = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8')) : 0;
  if (launcher > 0) { try { process.kill(launcher, sig); } catch { /* gone */ } }
  else daemon.kill(sig);
  const done = await Promise.race([daemonExit.then(() => true), sleep(30_000).then(() => false)]);
  if (!done) daemon.kill('SIGKILL');
  daemon = undefined;
}

before(async () => {
  if (skip) return;
  // An unused range of our own, so the test never shares IDs with a real user, nor with a test
  // running at the same time that allocates from 100000 up (berthd --userns-remap default): far above.
  const taken = [...parseSubordinateFile(readFileSync('/etc/subuid', 'utf8')), ...parseSubordinateFile(readFileSync('/etc/subgid', 'utf8'))];
  let start = 1_000_000_000 + RANGE * (randomBytes(2).readUInt16BE(0) % 1000);
  while (taken.some((r) => r.start < start + RANGE && start < r.start + r.count)) start += RANGE;
  // Adding (and, in `after`, removing) the user changes /etc/passwd and friends, which the fuzzers fingerprint.
  const release = await lockHostUsers();
  try {
    execFileSync('useradd', ['-m', '-s', '/bin/sh', '-K', 'SUB_UID_COUNT=0', '-K', 'SUB_GID_COUNT=0', user], { stdio: 'pipe' });
    execFileSync('usermod', ['--add-subuids', `${start}-${start + RANGE - 1}`, '--add-subgids', `${start}-${start + RANGE - 1}`, user], { stdio: 'pipe' });
  } finally {
    await release();
  }
  subStart = start;
  uid = Number(execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim());
  runtimeDir = mkdtempSync('/tmp/berth-rootless-run-');
  chownSync(runtimeDir, uid, uid);
  chmodSync(runtimeDir, 0o700);
  bindDir = mkdtempSync('/tmp/berth-rootless-bind-');
  chownSync(bindDir, uid, uid);
  // Container root is a subordinate ID, not the user: it may write here only because anyone may.
  chmodSync(bindDir, 0o777);
  socket = join(runtimeDir, 'berth.sock');
  await startDaemon();
  await dockerOk(['import', '--change', 'CMD ["sh"]', '-', 'busybox:latest'], { inputFile: await busyboxTar(), timeoutMs: 120_000 });
});

/** Starts rootless berthd as the test user and waits for its API. */
async function startDaemon(): Promise<void> {
  daemon = spawn('runuser', ['-u', user, '--', 'env', '-i', 'PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin', `HOME=/home/${user}`,
    `XDG_RUNTIME_DIR=${runtimeDir}`, process.execPath, berthdBin], { stdio: ['ignore', 'pipe', 'pipe'] });
  daemon.stdout!.on('data', (b: Buffer) => { log += b.toString('utf8'); });
  daemon.stderr!.on('data', (b: Buffer) => { log += b.toString('utf8'); });
  daemonExit = new Promise((resolve) => daemon!.once('exit', () => resolve()));
  for (let i = 0; i < 120 && !(await ping(socket)); i++) {
    if (daemon.exitCode !== null) break;
    await sleep(250);
  }
  assert.ok(await ping(socket), `rootless berthd did not answer on ${socket}:\n${log}`);
}

after(async () => {
  if (skip) return;
  try {
    await stopDaemon();
  } finally {
    for (const pid of processesOfUser()) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
    await sleep(200);
    const release = await lockHostUsers();
    try { execFileSync('usermod', ['--del-subuids', `${subStart}-${subStart + RANGE - 1}`, '--del-subgids', `${subStart}-${subStart + RANGE - 1}`, user], { stdio: 'pipe' }); } catch { /* user never made */ }
    try { execFileSync('userdel', ['-r', user], { stdio: 'pipe' }); } catch { /* user never made */ }
    await release();
    for (const d of [runtimeDir, bindDir]) if (d) rmSync(d, { recursive: true, force: true });
    if (process.env.BERTH_TEST_KEEP_LOGS) console.error(log);
  }
});

test('the daemon runs as the user, with its socket and exec root in XDG_RUNTIME_DIR and its data under ~/.local/share/berth', { skip }, async () => {
  const st = statSync(socket);
  assert.equal(st.uid, uid);
  assert.ok(existsSync(join(runtimeDir, 'berth')), 'exec root $XDG_RUNTIME_DIR/berth');
  assert.ok(existsSync(`/home/${user}/.local/share/berth/berth.db`), 'data root ~/.local/share/berth');
  const info = JSON.parse(await dockerOk(['info', '--format', '{{json .SecurityOptions}}'])) as string[];
  assert.ok(info.includes('name=rootless'), `docker info shows rootless: ${JSON.stringify(info)}`);
});

test('run --rm runs a container and removes it', { skip }, async () => {
  const out = await dockerOk(['run', '--rm', '--name', 'once', 'busybox', 'sh', '-c', 'echo hello from $(id -u)']);
  assert.equal(out.trim(), 'hello from 0');
  assert.equal((await dockerOk(['ps', '-a', '--filter', 'name=once', '-q'])).trim(), '');
});

test('berthd runs in a PID namespace of its own under tini, with its own /proc, and its pid file names the launcher', { skip }, async () => {
  const launcher = launcherPid();
  assert.equal(readlinkSync(`/proc/${launcher}/ns/user`), readlinkSync('/proc/self/ns/user'), 'the launcher stays in the host\'s user namespace');
  assert.match(readFileSync(`/proc/${launcher}/cmdline`, 'utf8'), /berthd/);
  const init = namespaceInit();
  assert.match(readFileSync(`/proc/${init}/cmdline`, 'utf8').split('\0')[0], /tini/);
  assert.equal(statusField(init, 'NSpid')?.split(/\s+/)[1], '1', 'tini is the namespace\'s pid 1');
  assert.match(readFileSync(`/proc/${innerBerthd()}/cmdline`, 'utf8'), /berthd/);
  // The /proc berthd sees is its namespace's: pid 1 there is tini, pid 2 berthd.
  assert.match(readFileSync(`${namespaceProc()}/1/cmdline`, 'utf8'), /tini/);
  assert.match(readFileSync(`${namespaceProc()}/2/cmdline`, 'utf8'), /berthd/);
});

test('a second rootless berthd on the same roots is refused, naming the first, which keeps working', { skip }, async () => {
  const r = await asUser([process.execPath, berthdBin], { XDG_RUNTIME_DIR: runtimeDir }, { timeoutMs: 60_000 });
  assert.notEqual(r.code, 0, `second berthd started:\n${r.stdout}${r.stderr}`);
  assert.match(r.stderr, new RegExp(`another berthd \\(pid ${launcherPid()}\\) holds ${runtimeDir}/berth`));
  assert.ok(await ping(socket), 'the first still answers');
  // Its network, the slirp4netns API socket included, is still its own.
  const port = await freePort();
  await dockerOk(['run', '-d', '--name', 'web-after-second', '-p', `127.0.0.1:${port}:8080`, 'busybox', 'sh', '-c',
    'echo still-mine > /tmp/index.html && exec httpd -f -p 8080 -h /tmp']);
  try {
    let body = '';
    for (let i = 0; i < 40 && !body; i++) {
      body = await httpGet(port, '/index.html').catch(() => '');
      if (!body) await sleep(250);
    }
    assert.equal(body.trim(), 'still-mine');
  } finally {
    await docker(['rm', '-f', 'web-after-second']);
  }
});

test('container root runs on the host as the user\'s first subordinate ID, not as root nor as the user', { skip }, async () => {
  await dockerOk(['run', '-d', '--name', 'sleeper', 'busybox', 'sleep', '300']);
  try {
    // State.Pid is a pid of berthd's PID namespace: read it in that namespace's /proc (Uid shows as the host's).
    const pid = Number((await dockerOk(['inspect', '-f', '{{.State.Pid}}', 'sleeper'])).trim());
    assert.ok(pid > 0);
    const status = readFileSync(`${namespaceProc()}/${pid}/status`, 'utf8');
    assert.match(status, /^Name:\s+sleep$/m);
    assert.equal(Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]), subStart, status);
    assert.equal(Number(/^Gid:\s+(\d+)/m.exec(status)?.[1]), subStart, status);
  } finally {
    await docker(['rm', '-f', 'sleeper']);
  }
});

test('-p publishes a container port on the host\'s loopback', { skip }, async () => {
  const port = await freePort();
  await dockerOk(['run', '-d', '--name', 'web', '-p', `127.0.0.1:${port}:8080`, 'busybox', 'sh', '-c',
    'echo hello-rootless > /tmp/index.html && exec httpd -f -p 8080 -h /tmp']);
  try {
    assert.equal((await dockerOk(['port', 'web', '8080/tcp'])).trim(), `127.0.0.1:${port}`);
    let body = '';
    for (let i = 0; i < 40 && !body; i++) {
      body = await httpGet(port, '/index.html').catch(() => '');
      if (!body) await sleep(250);
    }
    assert.equal(body.trim(), 'hello-rootless');
  } finally {
    await docker(['rm', '-f', 'web']);
  }
  // The host port is given back with the container.
  await new Promise<void>((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(port, '127.0.0.1', () => s.close(() => resolve()));
  });
});

test('-p without an address publishes on every host address, the loopback included', { skip }, async () => {
  const port = await freePort();
  await dockerOk(['run', '-d', '--name', 'web-all', '-p', `${port}:8080`, 'busybox', 'sh', '-c',
    'echo everywhere > /tmp/index.html && exec httpd -f -p 8080 -h /tmp']);
  try {
    let body = '';
    for (let i = 0; i < 40 && !body; i++) {
      body = await httpGet(port, '/index.html').catch(() => '');
      if (!body) await sleep(250);
    }
    assert.equal(body.trim(), 'everywhere');
  } finally {
    await docker(['rm', '-f', 'web-all']);
  }
});

test('exec runs in a running container, as its root', { skip }, async () => {
  await dockerOk(['run', '-d', '--name', 'ex', 'busybox', 'sleep', '300']);
  try {
    assert.equal((await dockerOk(['exec', 'ex', 'sh', '-c', 'echo $(id -u) > /tmp/x && cat /tmp/x'])).trim(), '0');
  } finally {
    await docker(['rm', '-f', 'ex']);
  }
});

test('a named volume keeps data between containers; its files belong to the first subordinate ID', { skip }, async () => {
  await dockerOk(['volume', 'create', 'keep']);
  await dockerOk(['run', '--rm', '-v', 'keep:/data', 'busybox', 'sh', '-c', 'echo kept > /data/f']);
  assert.equal((await dockerOk(['run', '--rm', '-v', 'keep:/data', 'busybox', 'cat', '/data/f'])).trim(), 'kept');
  const mountpoint = `/home/${user}/.local/share/berth/volumes/keep/_data`;
  assert.equal(statSync(join(mountpoint, 'f')).uid, subStart);
  await dockerOk(['volume', 'rm', 'keep']);
});

test('a file container root writes in a bind mount belongs to the user\'s first subordinate ID on the host', { skip }, async () => {
  await dockerOk(['run', '--rm', '-v', `${bindDir}:/b`, 'busybox', 'touch', '/b/made-by-root']);
  const st = statSync(join(bindDir, 'made-by-root'));
  assert.equal(st.uid, subStart);
  assert.equal(st.gid, subStart);
  assert.notEqual(st.uid, 0);
  assert.notEqual(st.uid, uid);
});

test('a resource limit fails with a clear error where the user\'s cgroups are not delegated (cgroup v1)', {
  skip: skip || (existsSync('/sys/fs/cgroup/cgroup.controllers') ? 'cgroup v2 host: limits depend on delegation' : false),
}, async () => {
  const r = await docker(['run', '--rm', '--memory', '64m', 'busybox', 'true']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /resource limits are not supported in rootless mode on this host \(--memory\)/);
  assert.match(r.stderr, /cgroup v1/);
  assert.equal((await dockerOk(['ps', '-a', '-q'])).trim(), '', 'nothing was created');
  await dockerOk(['create', '--name', 'upd', 'busybox', 'true']);
  try {
    const u = await docker(['update', '--cpus', '0.5', 'upd']);
    assert.notEqual(u.code, 0);
    assert.match(u.stderr, /resource limits are not supported in rootless mode on this host \(--cpus\)/);
  } finally {
    await docker(['rm', '-f', 'upd']);
  }
});

test('stopping berthd ends every process of its namespaces and none of another user namespace of the same subordinate IDs', { skip }, async () => {
  await dockerOk(['run', '-d', 'busybox', 'sleep', '300']);
  const bystander = await startBystander();
  try {
    await stopDaemon();
    let left = processesOfUser().filter((p) => p !== bystander.pid);
    for (let i = 0; i < 20 && left.length; i++) {
      await sleep(250);
      left = processesOfUser().filter((p) => p !== bystander.pid);
    }
    assert.deepEqual(left, [], `left behind: ${describe(left)}`);
    // SIGTERM to the launcher reached berthd first: a clean stop, which removes its pid file.
    assert.match(log, /berthd: SIGTERM, shutting down/);
    assert.ok(!existsSync(join(runtimeDir, 'berth', 'berthd.pid')), 'pid file removed');
    assert.equal(Number(statusField(bystander.pid, 'Uid')?.split(/\s+/)[0]), subStart, 'the other namespace\'s process, of the same subordinate ID, still runs');
    assert.ok(!existsSync(join(runtimeDir, 'berth', 'slirp4netns.sock')) || !(await ping(socket)), 'daemon gone');
  } finally {
    bystander.stop();
  }
});

test('SIGINT to the launcher stops berthd cleanly too, and then its namespaces', { skip }, async () => {
  await startDaemon();
  await dockerOk(['run', '-d', 'busybox', 'sleep', '300']);
  await stopDaemon('SIGINT');
  let left = processesOfUser();
  for (let i = 0; i < 20 && left.length; i++) {
    await sleep(250);
    left = processesOfUser();
  }
  assert.deepEqual(left, [], `left behind: ${describe(left)}`);
  assert.match(log, /berthd: SIGINT, shutting down/);
});

test('a crash of the inner berthd ends its namespaces, containers included, and its launcher', { skip }, async () => {
  await startDaemon();
  await dockerOk(['run', '-d', 'busybox', 'sleep', '300']);
  process.kill(innerBerthd(), 'SIGKILL');
  const exited = await Promise.race([daemonExit.then(() => true), sleep(30_000).then(() => false)]);
  assert.ok(exited, `the launcher did not exit:\n${log.slice(-2000)}`);
  daemon = undefined;
  let left = processesOfUser();
  for (let i = 0; i < 20 && left.length; i++) {
    await sleep(250);
    left = processesOfUser();
  }
  assert.deepEqual(left, [], `left behind: ${describe(left)}`);
});
