#!/usr/bin/env node
// Runs critest (cri-tools v1.29.0, Kubernetes' CRI validation suite) against
// a private berthd, or with --containerd against a private containerd 1.6
// (Debian's package, the reference), and ends with critest's own summary
// line. scripts/critest.sh builds the Go clients first; this is its body.
//
//   node scripts/critest.mjs [--containerd] [--min-pass N] [--focus RE] [--skip RE]
//                            [--runtime runc|crun] [--keep] [-- CRITEST-ARGS...]
//
// critest pulls its images from registry.k8s.io and gcr.io. Offline, as a
// cluster without internet would do it, a local registry stands in for
// both: berth's own registry server (`berth registry serve`) on a free
// loopback port, filled with busybox-based images under critest's names
// (test/helpers/critest-images.ts), and the runtime has it as a mirror of
// both registries (berthd `--registry-mirror REGISTRY=URL`, containerd's
// `registry.mirrors`). The images keep their real names, which the Image
// Manager specs compare. Everything lives under a private temporary
// directory and is removed at the end (--keep leaves it).
//
// --min-pass N: exit 0 when at least N specs pass (critest's own exit code
// otherwise).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const CLIENTS = process.env.BERTH_GO_CLIENTS ?? '/var/cache/berth-go-clients';
const CRITEST = process.env.CRITEST ?? join(CLIENTS, 'critest');
const CRICTL = join(CLIENTS, 'crictl');
/** Where --containerd unpacks Debian's containerd and CNI plugins (downloaded, never installed). */
const CONTAINERD_CACHE = join(CLIENTS, 'containerd-1.6');

function fail(msg) {
  process.stderr.write(`critest.sh: ${msg}\n`);
  process.exit(2);
}
const log = (msg) => process.stdout.write(`critest.sh: ${msg}\n`);

const argv = process.argv.slice(2);
const opt = { containerd: false, minPass: 0, focus: '', skip: '', runtime: '', keep: false, extra: [] };
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  if (a === '--containerd') opt.containerd = true;
  else if (a === '--min-pass') opt.minPass = Number(argv[++i]);
  else if (a === '--focus') opt.focus = argv[++i];
  else if (a === '--skip') opt.skip = argv[++i];
  else if (a === '--runtime') opt.runtime = argv[++i];
  else if (a === '--keep') opt.keep = true;
  else if (a === '--') { opt.extra = argv.slice(i + 1); break; }
  else fail(`unknown argument ${a} (see the head of scripts/critest.mjs)`);
}
if (!Number.isInteger(opt.minPass) || opt.minPass < 0) fail('--min-pass needs a count');
if (opt.runtime && !['runc', 'crun'].includes(opt.runtime)) fail('--runtime is runc or crun');
if (process.getuid?.() !== 0) fail('must run as root (it starts a private berthd)');
if (!existsSync(CRITEST)) fail(`no critest at ${CRITEST}: run scripts/critest.sh (it builds it)`);
const helpers = join(root, 'dist', 'test', 'helpers');
if (!existsSync(join(helpers, 'critest-images.js')) || !existsSync(join(root, 'bin', 'berth'))) fail('no compiled tree: run `npm run build` first');

const { startDaemon } = await import(pathToFileURL(join(helpers, 'daemon.js')).href);
const { startBerthRegistry } = await import(pathToFileURL(join(helpers, 'berth-registry.js')).href);
const { fillCritestRegistry, CRITEST_REGISTRIES } = await import(pathToFileURL(join(helpers, 'critest-images.js')).href);

/** Runs a command; resolves with its exit code and output (echoed when `echo`). */
function run(file, args, opts = {}) {
  return new Promise((resolve) => {
    const child = spawn(file, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b) => { out += b; if (opts.echo) process.stdout.write(b); });
    child.stderr.on('data', (b) => { out += b; if (opts.echo) process.stderr.write(b); });
    child.on('error', (e) => resolve({ code: 127, out: String(e) }));
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), out }));
  });
}

function connects(path) {
  return new Promise((resolve) => {
    const s = net.connect(path);
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

/** Debian's containerd 1.6 and CNI plugins, downloaded with apt and unpacked into the cache once. */
async function containerdTree() {
  const bin = join(CONTAINERD_CACHE, 'root', 'usr', 'bin', 'containerd');
  if (existsSync(bin) && existsSync(join(CONTAINERD_CACHE, 'root', 'usr', 'lib', 'cni', 'bridge'))) return join(CONTAINERD_CACHE, 'root');
  await mkdir(CONTAINERD_CACHE, { recursive: true });
  const dl = await run('apt-get', ['download', 'containerd', 'containernetworking-plugins'], { cwd: CONTAINERD_CACHE });
  if (dl.code !== 0) throw new Error(`apt-get download containerd containernetworking-plugins: ${dl.out}`);
  for (const deb of ['containerd', 'containernetworking-plugins']) {
    const x = await run('sh', ['-c', `dpkg -x ${deb}_*.deb root`], { cwd: CONTAINERD_CACHE });
    if (x.code !== 0) throw new Error(`dpkg -x ${deb}: ${x.out}`);
  }
  return join(CONTAINERD_CACHE, 'root');
}

/** Splits an `iptables -S` line into its arguments (double quotes group, as iptables prints comments). */
function ruleArgs(line) {
  return [...line.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]);
}

/** What containerd's CNI plugins may leave on the host: network namespaces (cni-*) and the portmap plugin's nat rules. */
async function hostNetState() {
  const netns = (await run('ip', ['netns', 'list'])).out.split('\n').map((l) => l.split(' ')[0]).filter((n) => n.startsWith('cni-'));
  const nat = (await run('iptables', ['-t', 'nat', '-S'])).out.split('\n').filter(Boolean);
  return { netns: new Set(netns), nat: new Set(nat) };
}

/** Removes the namespaces, rules and chains that appeared since `before` (the portmap plugin never removes its chains). */
async function restoreHostNet(before) {
  const now = await hostNetState();
  for (const n of now.netns) if (!before.netns.has(n)) await run('ip', ['netns', 'del', n]);
  const added = [...now.nat].filter((l) => !before.nat.has(l) && /CNI-/.test(l));
  for (const l of added.filter((x) => x.startsWith('-A '))) await run('iptables', ['-t', 'nat', '-D', ...ruleArgs(l).slice(1)]);
  for (const l of added.filter((x) => x.startsWith('-N '))) await run('iptables', ['-t', 'nat', '-X', ruleArgs(l)[1]]);
}

/**
 * containerd on roots, state, sockets and CNI files of its own under
 * `dir` (nothing on /run/containerd or /var/lib/containerd), with runc and
 * the registry as mirror of critest's registries.
 */
async function startContainerd(dir, registryUrl) {
  const tree = await containerdTree();
  const sock = join(dir, 'containerd.sock');
  const mirrors = CRITEST_REGISTRIES.map((r) => `[plugins."io.containerd.grpc.v1.cri".registry.mirrors."${r}"]\n  endpoint = ["${registryUrl}"]`).join('\n');
  await mkdir(join(dir, 'net.d'), { recursive: true });
  await writeFile(join(dir, 'config.toml'), `version = 2
root = "${dir}/root"
state = "${dir}/state"
[grpc]
  address = "${sock}"
[ttrpc]
  address = "${sock}.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "${dir}/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "registry.k8s.io/pause:3.6"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  # This sandbox lacks CAP_SYS_RESOURCE: no oom_score_adj below containerd's own (the pause container's -998 would fail).
  restrict_oom_score_adj = true
[plugins."io.containerd.grpc.v1.cri".containerd]
  snapshotter = "overlayfs"
  default_runtime_name = "runc"
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
  BinaryName = "/usr/bin/runc"
  Root = "${dir}/runc"
[plugins."io.containerd.grpc.v1.cri".cni]
  bin_dir = "${tree}/usr/lib/cni"
  conf_dir = "${dir}/net.d"
${mirrors}
`);
  await writeFile(join(dir, 'net.d', '10-critest.conflist'), JSON.stringify({
    cniVersion: '0.4.0', name: 'critest',
    plugins: [
      {
        type: 'bridge', bridge: 'critest-ctrd0', isGateway: true, ipMasq: false,
        ipam: { type: 'host-local', ranges: [[{ subnet: '10.231.0.0/16' }]], routes: [{ dst: '0.0.0.0/0' }], dataDir: join(dir, 'ipam') },
      },
      { type: 'portmap', capabilities: { portMappings: true } },
    ],
  }, null, 2));
  const hostBefore = await hostNetState();
  const out = [];
  const child = spawn(join(tree, 'usr', 'bin', 'containerd'), ['--config', join(dir, 'config.toml')], {
    // The shims are found on PATH.
    env: { ...process.env, PATH: `${tree}/usr/bin:${process.env.PATH}` }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  for (const s of [child.stdout, child.stderr]) s.on('data', (b) => { out.push(b); if (out.length > 2000) out.shift(); });
  for (let i = 0; i < 300 && !(await connects(sock)); i++) {
    if (child.exitCode !== null) throw new Error(`containerd exited: ${Buffer.concat(out).toString().slice(-3000)}`);
    await sleep(100);
  }
  const endpoint = `unix://${sock}`;
  // containerd loads the CNI config on its own time; a pod made before would get no address.
  for (let i = 0; i < 300; i++) {
    const info = await run(CRICTL, ['--runtime-endpoint', endpoint, 'info']);
    const conditions = (() => { try { return JSON.parse(info.out).status.conditions; } catch { return []; } })();
    if (conditions.some((c) => c.type === 'NetworkReady' && c.status)) break;
    await sleep(100);
  }
  return {
    endpoint,
    logs: () => Buffer.concat(out).toString(),
    async stop() {
      // Pods first (their shims, netns and CNI rules go with them), then containerd.
      if (existsSync(CRICTL)) await run(CRICTL, ['--runtime-endpoint', endpoint, 'rmp', '--all', '--force']);
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => { const t = setTimeout(() => { child.kill('SIGKILL'); r(); }, 15_000); child.once('exit', () => { clearTimeout(t); r(); }); });
      }
      // Shims of containers crictl could not remove, by their -address (ours alone).
      const ps = await run('ps', ['-eo', 'pid=,args=']);
      for (const line of ps.out.split('\n')) {
        const m = /^\s*(\d+)\s+(.*)$/.exec(line);
        if (m && m[2].includes('containerd-shim') && m[2].includes(sock)) { try { process.kill(Number(m[1]), 'SIGKILL'); } catch { /* gone */ } }
      }
      const mounts = await run('sh', ['-c', `awk '{print $2}' /proc/self/mounts | grep '^${dir}/' | sort -r`]);
      for (const m of mounts.out.split('\n').filter(Boolean)) await run('umount', ['-l', m]);
      await run('ip', ['link', 'del', 'critest-ctrd0']);
      await restoreHostNet(hostBefore);
    },
  };
}

const started = Date.now();
const work = await mkdtemp('/tmp/berth-critest-');
const cleanups = [];
let critest = { code: 1, out: '' };
let code = 2;
const stopAll = async () => {
  while (cleanups.length) await cleanups.pop()().catch((e) => process.stderr.write(`critest.sh: cleanup: ${e.stack ?? e}\n`));
  if (!opt.keep) await rm(work, { recursive: true, force: true });
};
process.on('SIGINT', () => { void stopAll().then(() => process.exit(130)); });
try {
  const registry = await startBerthRegistry(join(work, 'registry'));
  cleanups.push(() => registry.stop());
  log(`registry standing in for ${CRITEST_REGISTRIES.join(' and ')} on ${registry.url}`);
  const mirrorArgs = CRITEST_REGISTRIES.flatMap((r) => ['--registry-mirror', `${r}=${registry.url}`]);
  // berthd makes and pushes the images; without --containerd it is also the runtime under test.
  const d = await startDaemon({ ...(opt.runtime ? { runtime: opt.runtime } : {}), args: mirrorArgs });
  let daemonStopped = false;
  const stopDaemon = async () => { if (!daemonStopped) { daemonStopped = true; await d.stop(); } };
  cleanups.push(stopDaemon);
  await fillCritestRegistry(d, registry.host, join(work, 'images'), log);
  let endpoint = `unix://${d.execRoot}/cri.sock`;
  let runtimeLogs = () => d.logs();
  if (opt.containerd) {
    await stopDaemon();
    const c = await startContainerd(join(work, 'containerd'), registry.url);
    cleanups.push(() => c.stop());
    endpoint = c.endpoint;
    runtimeLogs = c.logs;
    log(`containerd on ${endpoint}`);
  } else {
    log(`berthd on ${endpoint}`);
  }
  const args = [
    '--runtime-endpoint', endpoint, '--image-endpoint', endpoint, '-ginkgo.no-color', '-ginkgo.timeout', '60m',
    ...(opt.focus ? ['-ginkgo.focus', opt.focus] : []), ...(opt.skip ? ['-ginkgo.skip', opt.skip] : []), ...opt.extra,
  ];
  critest = await run(CRITEST, args, { cwd: work, echo: true });
  if (process.env.BERTH_CRITEST_LOG) await writeFile(process.env.BERTH_CRITEST_LOG, runtimeLogs());
  code = critest.code;
} catch (e) {
  process.stderr.write(`critest.sh: ${e.stack ?? e}\n`);
} finally {
  await stopAll();
}
// critest's summary: the [FAIL] lines of its report, "Ran N of M Specs …", and "FAIL! -- 58 Passed | …" last.
const lines = critest.out.split('\n');
const ranLine = lines.find((l) => /^Ran \d+ of \d+ Specs/.test(l));
const summary = lines.findLast((l) => /\d+ Passed \| \d+ Failed/.test(l));
const passed = Number(/(\d+) Passed/.exec(summary ?? '')?.[1] ?? 0);
const failed = lines.filter((l) => /^\s*\[FAIL\] /.test(l));
process.stdout.write(`\ncritest.sh: ${opt.containerd ? 'containerd 1.6' : 'berth'}, ${Math.round((Date.now() - started) / 1000)} s${opt.minPass ? `, at least ${opt.minPass} passes needed` : ''}\n`);
for (const l of [...new Set(failed)]) process.stdout.write(`${l.trim()}\n`);
if (ranLine) process.stdout.write(`${ranLine}\n`);
process.stdout.write(`${summary ?? 'critest gave no summary'}\n`);
if (summary && opt.minPass) code = passed >= opt.minPass ? 0 : 1;
process.exit(code);
