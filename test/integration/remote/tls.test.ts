/**
 * berthd on TCP with mutual TLS (`-H tcp://… --tlsverify --tlscacert
 * --tlscert --tlskey`), driven by the real Docker CLI with its own TLS
 * settings (DOCKER_TLS_VERIFY + DOCKER_CERT_PATH, or the flags): run, ps,
 * attach and exec streams over TLS, and the refusal of a client whose
 * certificate another CA signed. Also berthd's refusal of plain TCP on a
 * non-loopback address.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { readFileSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { dockerCliPath, runCommand, skipUnlessRoot, skipWithoutDocker, startDaemon, type Daemon, type RunOptions } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';
import { berthBin, berthdBin } from '../../helpers/paths.js';
import { freePort, makePki, type Pki } from './certs.js';

const skip = skipUnlessRoot() || skipWithoutDocker();
let tmp = '';
let pki: Pki;
let d: Daemon | undefined;
let port = 0;

before(async () => {
  if (skip) return;
  tmp = await mkdtemp(join(tmpdir(), 'berth-tls-'));
  pki = await makePki(join(tmp, 'pki'));
  port = await freePort();
  d = await startDaemon({
    args: ['-H', `tcp://127.0.0.1:${port}`, '--tlsverify', '--tlscacert', pki.server.ca, '--tlscert', pki.server.cert, '--tlskey', pki.server.key],
  });
  await importBusybox(d);
});

after(async () => {
  await d?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

/** The Docker CLI against the TCP listener with the given DOCKER_CERT_PATH (through the environment). */
function dockerTls(certDir: string, args: string[], opts: RunOptions = {}) {
  return runCommand(dockerCliPath()!, args, {
    ...opts,
    env: {
      DOCKER_HOST: `tcp://127.0.0.1:${port}`, DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: certDir,
      DOCKER_CONFIG: join(tmp, 'docker-config'), DOCKER_CONTEXT: undefined, ...opts.env,
    },
  });
}

test('the Docker CLI with DOCKER_TLS_VERIFY runs a container and lists containers over mutual TLS', { skip }, async () => {
  const r = await dockerTls(pki.clientDir, ['run', '--rm', 'busybox', 'echo', 'hello over tls']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'hello over tls\n');
  const bg = await dockerTls(pki.clientDir, ['run', '-d', '--name', 'tls-sleeper', 'busybox', 'sleep', '300']);
  assert.equal(bg.code, 0, bg.stderr);
  const ps = await dockerTls(pki.clientDir, ['ps', '--format', '{{.Names}} {{.Status}}']);
  assert.equal(ps.code, 0, ps.stderr);
  assert.match(ps.stdout, /^tls-sleeper Up/m);
  const rm = await dockerTls(pki.clientDir, ['rm', '-f', 'tls-sleeper']);
  assert.equal(rm.code, 0, rm.stderr);
});

test('attach and exec streams (hijacked connections) carry stdin and its end over TLS', { skip }, async () => {
  // `run -i` attaches before start; cat ends only when the half-close of stdin reaches it through TLS.
  const r = await dockerTls(pki.clientDir, ['run', '-i', '--rm', 'busybox', 'sh', '-c', 'cat; echo done'], { input: 'line one\nline two\n' });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'line one\nline two\ndone\n');
  const bg = await dockerTls(pki.clientDir, ['run', '-d', '--name', 'tls-exec', 'busybox', 'sleep', '300']);
  assert.equal(bg.code, 0, bg.stderr);
  try {
    const ex = await dockerTls(pki.clientDir, ['exec', '-i', 'tls-exec', 'wc', '-c'], { input: 'x'.repeat(100_000) });
    assert.equal(ex.code, 0, ex.stderr);
    assert.equal(ex.stdout.trim(), '100000');
    const logs = await dockerTls(pki.clientDir, ['logs', 'tls-exec']);
    assert.equal(logs.code, 0, logs.stderr);
  } finally {
    await dockerTls(pki.clientDir, ['rm', '-f', 'tls-exec']);
  }
});

test("the Docker CLI's --tlsverify/--tlscacert/--tlscert/--tlskey flags work too", { skip }, async () => {
  const c = pki.clientDir;
  const r = await runCommand(dockerCliPath()!, ['-H', `tcp://127.0.0.1:${port}`, '--tlsverify', '--tlscacert', join(c, 'ca.pem'),
    '--tlscert', join(c, 'cert.pem'), '--tlskey', join(c, 'key.pem'), 'version', '--format', '{{.Server.Os}}'], {
    env: { DOCKER_HOST: undefined, DOCKER_TLS_VERIFY: undefined, DOCKER_CERT_PATH: undefined, DOCKER_CONFIG: join(tmp, 'docker-config') },
  });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'linux');
});

test('a client certificate signed by another CA is refused at the TLS handshake', { skip }, async () => {
  const r = await dockerTls(pki.rogueDir, ['ps']);
  assert.notEqual(r.code, 0);
  process.stdout.write(`# the Docker CLI with a rogue certificate: ${r.stderr.trim()}\n`);
  assert.match(r.stderr, /certificate|tls/i);
  // Below the CLI: the handshake itself fails, before any HTTP is read.
  const refused = await new Promise<string>((resolve) => {
    const s = tls.connect({
      host: '127.0.0.1', port, ca: readFileSync(join(pki.rogueDir, 'ca.pem')),
      cert: readFileSync(join(pki.rogueDir, 'cert.pem')), key: readFileSync(join(pki.rogueDir, 'key.pem')),
    }, () => s.write('GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n'));
    s.on('data', (b) => resolve(`answered: ${b}`));
    s.on('error', (e) => resolve(`error: ${e.message}`));
    s.on('close', () => resolve('closed without an answer'));
  });
  // TLS 1.3 ends the client's half of the handshake before the server has checked its certificate,
  // so the refusal is either the server's alert or the connection closing: never an HTTP answer.
  assert.doesNotMatch(refused, /^answered/, refused);
  // And a client with no certificate at all (a DOCKER_CERT_PATH with only the CA).
  const caOnly = join(tmp, 'ca-only');
  await mkdir(caOnly, { recursive: true });
  await copyFile(join(pki.clientDir, 'ca.pem'), join(caOnly, 'ca.pem'));
  const none = await dockerTls(caOnly, ['ps']);
  assert.notEqual(none.code, 0);
  assert.match(none.stderr, /certificate|tls/i);
});

test('berthd refuses plain TCP on a non-loopback address unless --tls=false is given, and refuses --tlsverify without a CA', { skip: skipUnlessRoot() }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-tls-refuse-'));
  try {
    const common = ['--data-root', join(dir, 'data'), '--exec-root', join(dir, 'exec')];
    const plain = await runCommand(process.execPath, [berthdBin, '-H', 'tcp://0.0.0.0:0', ...common], { timeoutMs: 30_000 });
    assert.equal(plain.code, 1);
    assert.match(plain.stderr, /refusing to listen on tcp:\/\/0\.0\.0\.0:0 without --tlsverify/);
    assert.match(plain.stderr, /'--tls=false' or '--tlsverify=false'/);
    const noCa = await runCommand(process.execPath, [berthdBin, '-H', 'tcp://127.0.0.1:0', '--tlsverify', '--tlscacert', join(dir, 'absent.pem'),
      '--tlscert', pki?.server.cert ?? join(dir, 'c.pem'), '--tlskey', pki?.server.key ?? join(dir, 'k.pem'), ...common], { timeoutMs: 30_000 });
    assert.equal(noCa.code, 1);
    assert.match(noCa.stderr, /absent\.pem/);
    // The key's contents never reach the log, whatever failed.
    assert.doesNotMatch(plain.stderr + noCa.stderr, /PRIVATE KEY/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

/** berth's CLI against the TCP listener, without the test daemon's own -H. */
function berthTls(args: string[], opts: RunOptions = {}) {
  return runCommand(process.execPath, [berthBin, ...args], {
    ...opts,
    env: {
      DOCKER_HOST: undefined, BERTH_HOST: undefined, DOCKER_TLS_VERIFY: undefined, DOCKER_CERT_PATH: undefined, DOCKER_CONTEXT: undefined,
      DOCKER_CONFIG: join(tmp, 'docker-config'), BERTH_NO_AUTOSTART: '1', ...opts.env,
    },
  });
}

test("berth's CLI speaks mutual TLS with --tlsverify and the files, or DOCKER_TLS_VERIFY and DOCKER_CERT_PATH", { skip }, async () => {
  const c = pki.clientDir;
  const flags = await berthTls(['-H', `tcp://127.0.0.1:${port}`, '--tlsverify', '--tlscacert', join(c, 'ca.pem'), '--tlscert', join(c, 'cert.pem'),
    '--tlskey', join(c, 'key.pem'), 'run', '-i', '--rm', 'busybox', 'sh', '-c', 'cat; echo end'], { input: 'tls stdin\n' });
  assert.equal(flags.code, 0, flags.stderr);
  assert.equal(flags.stdout, 'tls stdin\nend\n');
  const env = await berthTls(['ps', '-a'], { env: { DOCKER_HOST: `tcp://127.0.0.1:${port}`, DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: c } });
  assert.equal(env.code, 0, env.stderr);
  assert.match(env.stdout, /^CONTAINER ID/);
  const rogue = await berthTls(['ps'], { env: { DOCKER_HOST: `tcp://127.0.0.1:${port}`, DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: pki.rogueDir } });
  assert.equal(rogue.code, 1);
  assert.match(rogue.stderr, /error during connect/);
});

test('bin/berth run as a command trusts the CAs of NODE_EXTRA_CA_CERTS though its shell keeps them out of Node, and passes the variable on', { skip }, async () => {
  // No --tlscacert and no ca.pem in the config directory: the server's CA is trusted only through NODE_EXTRA_CA_CERTS.
  const c = pki.clientDir;
  const args = ['-H', `tcp://127.0.0.1:${port}`, '--tlsverify', '--tlscert', join(c, 'cert.pem'), '--tlskey', join(c, 'key.pem')];
  const asCommand = (env: Record<string, string | undefined>, rest: string[]) => runCommand(berthBin, [...args, ...rest], {
    env: {
      DOCKER_HOST: undefined, BERTH_HOST: undefined, DOCKER_TLS_VERIFY: undefined, DOCKER_CERT_PATH: undefined, DOCKER_CONTEXT: undefined,
      DOCKER_CONFIG: join(tmp, 'no-ca-config'), BERTH_NO_AUTOSTART: '1', BERTH_DEFERRED_EXTRA_CA_CERTS: undefined, ...env,
    },
  });
  const trusted = await asCommand({ NODE_EXTRA_CA_CERTS: join(c, 'ca.pem') },
    ['run', '--rm', '-e', 'NODE_EXTRA_CA_CERTS', 'busybox', 'sh', '-c', 'echo "$NODE_EXTRA_CA_CERTS"']);
  assert.equal(trusted.code, 0, trusted.stderr);
  // `-e NAME` takes the value from berth's own environment: the variable is back, under its own name only.
  assert.equal(trusted.stdout, `${join(c, 'ca.pem')}\n`);
  const leaked = await asCommand({ NODE_EXTRA_CA_CERTS: join(c, 'ca.pem') },
    ['run', '--rm', '-e', 'BERTH_DEFERRED_EXTRA_CA_CERTS', 'busybox', 'sh', '-c', 'echo "[${BERTH_DEFERRED_EXTRA_CA_CERTS-unset}]"']);
  assert.equal(leaked.code, 0, leaked.stderr);
  assert.equal(leaked.stdout, '[unset]\n');
  const untrusted = await asCommand({ NODE_EXTRA_CA_CERTS: undefined }, ['ps']);
  assert.equal(untrusted.code, 1);
  assert.match(untrusted.stderr, /error during connect/);
});

test('contexts are shared with the Docker CLI: create, use, ls --format json, inspect, rm, DOCKER_CONTEXT and --context', { skip }, async () => {
  const c = pki.clientDir;
  const config = join(tmp, 'ctx-config');
  const env = { DOCKER_CONFIG: config };
  const host = `tcp://127.0.0.1:${port}`;
  const created = await berthTls(['context', 'create', 'remote-tls', '--description', 'berthd over TLS',
    '--docker', `host=${host},ca=${join(c, 'ca.pem')},cert=${join(c, 'cert.pem')},key=${join(c, 'key.pem')}`], { env });
  assert.equal(created.code, 0, created.stderr);
  assert.equal(created.stdout, 'remote-tls\n');
  assert.equal(created.stderr, 'Successfully created context "remote-tls"\n');
  // Stored in Docker's layout; the key only readable by its owner.
  const dir = createHash('sha256').update('remote-tls').digest('hex');
  const meta = JSON.parse(readFileSync(join(config, 'contexts', 'meta', dir, 'meta.json'), 'utf8'));
  assert.deepEqual(meta.Endpoints.docker, { Host: host, SkipTLSVerify: false });
  assert.equal(statSync(join(config, 'contexts', 'tls', dir, 'docker', 'key.pem')).mode & 0o777, 0o600);

  // The Docker CLI uses berth's context, with its TLS material…
  const viaDocker = await runCommand(dockerCliPath()!, ['--context', 'remote-tls', 'run', '--rm', 'busybox', 'echo', 'ctx'], {
    env: { ...env, DOCKER_HOST: undefined, DOCKER_TLS_VERIFY: undefined, DOCKER_CERT_PATH: undefined, DOCKER_CONTEXT: undefined },
  });
  assert.equal(viaDocker.code, 0, viaDocker.stderr);
  assert.equal(viaDocker.stdout, 'ctx\n');
  // …and berth one the Docker CLI made.
  const dc = await runCommand(dockerCliPath()!, ['context', 'create', 'docker-made', '--docker', `host=${host},ca=${join(c, 'ca.pem')},cert=${join(c, 'cert.pem')},key=${join(c, 'key.pem')}`], {
    env: { ...env, DOCKER_HOST: undefined, DOCKER_CONTEXT: undefined },
  });
  assert.equal(dc.code, 0, dc.stderr);
  const viaEnv = await berthTls(['ps'], { env: { ...env, DOCKER_CONTEXT: 'docker-made' } });
  assert.equal(viaEnv.code, 0, viaEnv.stderr);
  const conflict = await berthTls(['--context', 'docker-made', '-H', host, 'ps'], { env });
  assert.equal(conflict.code, 1);
  assert.match(conflict.stderr, /conflicting options: cannot specify both --host and --context/);

  // `use` is config.json's currentContext, which both CLIs follow.
  const use = await berthTls(['context', 'use', 'remote-tls'], { env });
  assert.equal(use.code, 0, use.stderr);
  assert.equal(JSON.parse(readFileSync(join(config, 'config.json'), 'utf8')).currentContext, 'remote-tls');
  const show = await runCommand(dockerCliPath()!, ['context', 'show'], { env: { ...env, DOCKER_HOST: undefined, DOCKER_CONTEXT: undefined } });
  assert.equal(show.stdout, 'remote-tls\n');
  const version = await berthTls(['version', '--format', '{{.Server.Os}}'], { env });
  assert.equal(version.code, 0, version.stderr);
  assert.equal(version.stdout.trim(), 'linux');

  // `ls --format json` is the Docker CLI's, line for line (but for the default endpoint, which is each engine's own socket).
  const norm = (s: string) => s.replace(/"DockerEndpoint":"unix:\/\/[^"]*"/, '"DockerEndpoint":"<default>"');
  const lsBerth = await berthTls(['context', 'ls', '--format', 'json'], { env });
  const lsDocker = await runCommand(dockerCliPath()!, ['context', 'ls', '--format', 'json'], { env: { ...env, DOCKER_HOST: undefined, DOCKER_CONTEXT: undefined } });
  assert.equal(lsBerth.code, 0, lsBerth.stderr);
  assert.equal(norm(lsBerth.stdout), norm(lsDocker.stdout));
  const inspect = await berthTls(['context', 'inspect', 'remote-tls'], { env });
  assert.equal(inspect.code, 0, inspect.stderr);
  const [info] = JSON.parse(inspect.stdout);
  assert.deepEqual(info.TLSMaterial, { docker: ['ca.pem', 'cert.pem', 'key.pem'] });
  assert.doesNotMatch(inspect.stdout, /PRIVATE KEY/);

  // The context in use is removed only with -f.
  const rmInUse = await berthTls(['context', 'rm', 'remote-tls'], { env });
  assert.equal(rmInUse.code, 1);
  assert.match(rmInUse.stderr, /context "remote-tls" is in use, set -f flag to force remove/);
  const rm = await berthTls(['context', 'rm', '-f', 'remote-tls', 'docker-made'], { env });
  assert.equal(rm.code, 0, rm.stderr);
  assert.equal(rm.stdout, 'remote-tls\ndocker-made\n');
  const after = await runCommand(dockerCliPath()!, ['context', 'ls', '-q'], { env: { ...env, DOCKER_HOST: undefined, DOCKER_CONTEXT: undefined } });
  assert.equal(after.stdout, 'default\n');
});

test('plain TCP on loopback is served, with dockerd\'s loud warning in the log', { skip }, async () => {
  const plainPort = await freePort();
  const plain = await startDaemon({ args: ['-H', `tcp://127.0.0.1:${plainPort}`] });
  try {
    assert.match(plain.logs(), /binding to tcp:\/\/127\.0\.0\.1:\d+ without --tlsverify is insecure/);
    const r = await runCommand(dockerCliPath()!, ['version', '--format', '{{.Server.Os}}'], {
      env: { DOCKER_HOST: `tcp://127.0.0.1:${plainPort}`, DOCKER_TLS_VERIFY: undefined, DOCKER_CERT_PATH: undefined, DOCKER_CONTEXT: undefined, DOCKER_CONFIG: join(tmp, 'docker-config') },
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'linux');
  } finally {
    await plain.stop();
  }
});
