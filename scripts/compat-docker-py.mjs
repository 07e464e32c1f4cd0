#!/usr/bin/env node
// Runs docker-py's own integration suite (docker/docker-py at afc6d1ee, the
// tree in ../shared/tools/) against a private berthd: `npm run compat`.
//
//   node scripts/compat-docker-py.mjs [--tarball PATH] [--keep] [PYTEST-ARGS]...
//
// The client is the tree's own (PYTHONPATH=<tree>), run by Debian's pytest.
// berthd gets busybox stand-ins for the images the suite expects from Docker
// Hub: busybox:latest from Debian's busybox-static, and alpine:3.10 and
// alpine:latest built on it with alpine's directories, users and groups
// (test/compat/alpine-stand-in). As a Docker user on an offline network
// would set it up, a registry mirror serves them too: berth's own registry
// server (`berth registry serve`) on a free loopback port holds them as
// library/busybox and library/alpine, with library/hello-world (a one-file
// image of its own, so pruning it frees space), and berthd runs with
// `--registry-mirror` pointing at it, so the suite's pulls of Docker Hub
// images succeed. The swarm, plugin,
// secret, config, service, node and credential-helper files are left out
// (berth is not a swarm manager and has no plugins); the tests that cannot
// pass on any daemon on a machine without Docker Hub are deselected from
// test/compat/docker-py-unpassable.txt, each with its reason (the README
// lists them). Nothing else is skipped.
//
// The last line is the summary, e.g. `docker-py suite: 247 passed, 3 failed
// in 240 s`; `--min-pass N` (or BERTH_COMPAT_MIN_PASS) makes fewer passes
// than N a failing exit.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const started = Date.now();

const LEFT_OUT = [
  'api_swarm_test.py', 'api_plugin_test.py', 'api_secret_test.py', 'api_config_test.py', 'api_service_test.py',
  'models_nodes_test.py', 'models_services_test.py', 'models_swarm_test.py', 'credentials',
];
/** test/compat/alpine-stand-in: busybox with alpine's layout and stock users. */
const ALPINE_CONTEXT = join(root, 'test', 'compat', 'alpine-stand-in');
/**
 * What the mirror serves: Docker Hub repository:tag → the local stand-in
 * pushed there (hello-world is imported for the mirror alone).
 */
const MIRRORED = {
  'library/busybox:latest': 'busybox:latest', 'library/alpine:3.10': 'alpine:3.10', 'library/alpine:latest': 'alpine:latest',
  'library/hello-world:latest': undefined,
};
const PYTHON_DEPS = ['pytest', 'pytest_timeout', 'requests', 'urllib3', 'websocket', 'paramiko'];

function fail(msg) {
  process.stderr.write(`compat-docker-py: ${msg}\n`);
  process.exit(2);
}

const argv = process.argv.slice(2);
let tarball = join(root, '..', 'shared', 'tools', 'docker-py-afc6d1ee.tar.gz');
let keep = false;
let minPass = Number(process.env.BERTH_COMPAT_MIN_PASS ?? 0) || 0;
const pytestArgs = [];
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '--tarball') tarball = argv[++i];
  else if (argv[i] === '--keep') keep = true;
  else if (argv[i] === '--min-pass') minPass = Number(argv[++i]);
  else pytestArgs.push(argv[i]);
}
if (process.getuid?.() !== 0) fail('must run as root (it starts a private berthd)');
if (!existsSync(tarball)) fail(`no docker-py tree at ${tarball}`);
const dist = join(root, 'dist', 'test', 'helpers');
if (!existsSync(join(dist, 'daemon.js'))) fail('no compiled helpers: run `npm run build` first');
if (!existsSync(join(root, 'bin', 'berth'))) fail('no bin/berth (it serves the registry mirror): run `npm run build` first');

/** Runs a command, streaming or collecting its output; resolves with its exit code and output. */
/** Children still running: an interrupted run ends them before it stops berthd. */
const running = new Set();

function run(file, args, opts = {}) {
  return new Promise((resolve) => {
    const child = spawn(file, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(child);
    child.on('exit', () => running.delete(child));
    let out = '';
    child.stdout.on('data', (b) => { out += b; if (opts.echo) process.stdout.write(b); });
    child.stderr.on('data', (b) => { out += b; if (opts.echo) process.stderr.write(b); });
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), out }));
  });
}

const missing = [];
for (const mod of PYTHON_DEPS) {
  const r = await run('/usr/bin/python3', ['-c', `import ${mod}`]);
  if (r.code !== 0) missing.push(mod);
}
if (missing.length) {
  fail(`python modules missing: ${missing.join(', ')}; apt-get install -y python3-pytest python3-pytest-timeout python3-requests python3-urllib3 python3-websocket python3-paramiko`);
}

/** `file::test  reason` lines → pytest node ids. */
function unpassable() {
  const file = join(root, 'test', 'compat', 'docker-py-unpassable.txt');
  return readFileSync(file, 'utf8').split('\n')
    .map((l) => l.trim()).filter((l) => l && !l.startsWith('#'))
    .map((l) => l.split(/\s+/)[0]);
}

const { startDaemon } = await import(pathToFileURL(join(dist, 'daemon.js')).href);
const { importBusybox } = await import(pathToFileURL(join(dist, 'busybox.js')).href);

/**
 * `berth registry serve` on 127.0.0.1 and a free port, storage under `dir`;
 * resolves with its URL and a stop function once it prints that it listens.
 */
function startRegistry(dir) {
  return new Promise((resolve, reject) => {
    const child = spawn(join(root, 'bin', 'berth'), ['registry', 'serve', '--addr', '127.0.0.1:0', '--root', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const stopRegistry = () => new Promise((done) => {
      if (child.exitCode !== null || child.signalCode !== null) { done(); return; }
      child.once('exit', () => done());
      child.kill('SIGTERM');
    });
    child.stdout.on('data', (b) => {
      out += b;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve({ url: m[1], stop: stopRegistry });
    });
    child.stderr.on('data', (b) => { err = (err + b).slice(-4000); });
    child.on('exit', (c) => reject(new Error(`berth registry serve exited (${c}): ${err}`)));
  });
}

/**
 * Fills the mirror: each local stand-in pushed under its MIRRORED name, and
 * hello-world, imported from a tar with one file of its own. The mirror's
 * names are removed from berthd again, so the suite's pulls fetch them.
 */
async function fillMirror(daemon, registryUrl) {
  const host = new URL(registryUrl).host;
  const hello = join(work, 'hello-world');
  await mkdir(hello, { recursive: true });
  await writeFile(join(hello, 'hello'), 'Hello from a berth stand-in for Docker Hub\'s hello-world.\n', { mode: 0o755 });
  const tar = await run('tar', ['-C', hello, '-cf', join(work, 'hello-world.tar'), 'hello']);
  if (tar.code !== 0) throw new Error(`tar: ${tar.out}`);
  const { createReadStream } = await import('node:fs');
  const imported = await daemon.request('POST', `/images/create?fromSrc=-&repo=${host}/library/hello-world&tag=latest&changes=${encodeURIComponent('CMD ["/hello"]')}`,
    createReadStream(join(work, 'hello-world.tar')), { headers: { 'Content-Type': 'application/x-tar' } });
  if (imported.status !== 200 || /"error"/.test(imported.text)) throw new Error(`import hello-world: ${imported.status} ${imported.text}`);
  for (const [name, local] of Object.entries(MIRRORED)) {
    const [repo, tag] = name.split(':');
    const target = `${host}/${repo}`;
    if (local) {
      const t = await daemon.request('POST', `/images/${local}/tag?repo=${encodeURIComponent(target)}&tag=${tag}`);
      if (t.status !== 201) throw new Error(`tag ${target}:${tag}: ${t.status} ${t.text}`);
    }
    const push = await daemon.request('POST', `/images/${target}/push?tag=${tag}`, undefined, { timeoutMs: 120_000 });
    if (push.status !== 200 || /"error"/.test(push.text)) throw new Error(`push ${target}:${tag}: ${push.status} ${push.text}`);
    const rmi = await daemon.request('DELETE', `/images/${target}:${tag}`);
    if (rmi.status !== 200) throw new Error(`rmi ${target}:${tag}: ${rmi.status} ${rmi.text}`);
  }
}

const work = await mkdtemp('/tmp/berth-compat-');
let d;
let registry;
let summary = { passed: 0, failed: 0, errors: 0, skipped: 0 };
let code = 1;
const stop = async () => {
  if (d) { const x = d; d = undefined; await x.stop(); }
  if (registry) { const r = registry; registry = undefined; await r.stop(); }
  if (!keep) await rm(work, { recursive: true, force: true });
};
// Interrupted (a test's time limit, ^C): pytest first, then berthd and the registry, so nothing stays on the host.
for (const [sig, code] of [['SIGINT', 130], ['SIGTERM', 143]]) {
  process.on(sig, () => {
    for (const c of running) c.kill('SIGKILL');
    void stop().then(() => process.exit(code), () => process.exit(code));
  });
}
try {
  process.stdout.write(`compat-docker-py: unpacking ${tarball}\n`);
  const untar = await run('tar', ['-xzf', tarball, '-C', work]);
  if (untar.code !== 0) throw new Error(`tar: ${untar.out}`);
  const tree = join(work, 'docker-py-afc6d1ee');
  if (!existsSync(join(tree, 'tests', 'integration'))) throw new Error(`no tests/integration in ${tree}`);

  registry = await startRegistry(join(work, 'registry'));
  process.stdout.write(`compat-docker-py: registry mirror on ${registry.url}\n`);
  const extra = process.env.BERTH_COMPAT_ARGS ? process.env.BERTH_COMPAT_ARGS.split(' ') : [];
  // runc, dockerd's default runtime: docker-py's create_container(runtime=…)
  // sends `Runtime` outside HostConfig, where dockerd (and berth) ignore it,
  // and test_create_with_runtime then reads the daemon's default back.
  d = await startDaemon({ runtime: 'runc', args: ['--registry-mirror', registry.url, ...extra] });
  process.stdout.write(`compat-docker-py: berthd on ${d.host}\n`);
  await importBusybox(d, 'busybox:latest');
  const built = await d.berth(['build', '-q', '-t', 'alpine:3.10', '-t', 'alpine:latest', ALPINE_CONTEXT], { timeoutMs: 120_000 });
  if (built.code !== 0) throw new Error(`building the alpine stand-in: ${built.stderr}`);
  await fillMirror(d, registry.url);

  const args = [
    '-m', 'pytest', 'tests/integration', '-p', 'no:cacheprovider', '--timeout=180', '-rfEs', '--tb=short', '-q',
    ...LEFT_OUT.map((f) => `--ignore=tests/integration/${f}`),
    ...unpassable().map((id) => `--deselect=${id}`),
    ...pytestArgs,
  ];
  const env = {
    ...process.env, DOCKER_HOST: d.host, PYTHONPATH: tree, DOCKER_CONFIG: join(work, 'docker-config'),
  };
  delete env.DOCKER_TLS_VERIFY; delete env.DOCKER_CERT_PATH; delete env.DOCKER_API_VERSION; delete env.NODE_EXTRA_CA_CERTS;
  const r = await run('/usr/bin/python3', args, { cwd: tree, env, echo: true });
  // pytest's last line: "== 3 failed, 247 passed, 2 deselected in 240.12s (0:04:00) =="
  const last = r.out.trim().split('\n').reverse().find((l) => /\d+ (passed|failed)/.test(l)) ?? '';
  for (const [, n, what] of last.matchAll(/(\d+) (passed|failed|errors?|skipped)/g)) {
    summary[what.startsWith('error') ? 'errors' : what] = Number(n);
  }
  code = r.code === 0 || r.code === 1 ? 0 : r.code;
  if (process.env.BERTH_COMPAT_LOG) {
    const { writeFile } = await import('node:fs/promises');
    await writeFile(process.env.BERTH_COMPAT_LOG, d.logs());
  }
} catch (e) {
  process.stderr.write(`compat-docker-py: ${e.stack ?? e}\n`);
  code = 2;
} finally {
  await stop();
}
if (code === 0 && minPass && summary.passed < minPass) code = 1;
const secs = Math.round((Date.now() - started) / 1000);
process.stdout.write(`\ndocker-py suite: ${summary.passed} passed, ${summary.failed} failed, ${summary.errors} errors, `
  + `${summary.skipped} skipped in ${secs} s${minPass ? ` (at least ${minPass} needed)` : ''}\n`);
process.exit(code);
