/**
 * The decisions behind remote access, without a daemon: which TCP
 * addresses berthd accepts without client authentication, what a TLS
 * set-up must hold, and how the CLI reads tcp:// and ssh:// addresses and
 * Docker's TLS flags and environment.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkUnauthenticatedTcp, parseTcpHost, planListeners } from '../../../src/daemon/listeners.js';
import { serverTls } from '../../../src/daemon/tls.js';
import { defaultTlsFlags, parseTlsFlag } from '../../../src/daemon/tls-flags.js';
import { clientTls, parseHost } from '../../../src/cli/host.js';
import { sshArgs, remoteDialCommand } from '../../../src/cli/transport.js';
import { parseDockerEndpointFlag } from '../../../src/cli/context/docker-endpoint.js';
import { contextDirName, validateContextName } from '../../../src/cli/context/store.js';
import { makePki } from './certs.js';

test('tcp:// bind addresses take dockerd defaults: 2375 plain, 2376 with TLS, every interface when the host is empty', () => {
  assert.deepEqual(parseTcpHost('tcp://127.0.0.1:2999', false), { host: '127.0.0.1', port: 2999 });
  assert.deepEqual(parseTcpHost('tcp://127.0.0.1', false), { host: '127.0.0.1', port: 2375 });
  assert.deepEqual(parseTcpHost('tcp://127.0.0.1', true), { host: '127.0.0.1', port: 2376 });
  assert.deepEqual(parseTcpHost('tcp://:2376', true), { host: '0.0.0.0', port: 2376 });
  assert.deepEqual(parseTcpHost('tcp://[::1]:2376', true), { host: '::1', port: 2376 });
  assert.throws(() => parseTcpHost('tcp://127.0.0.1:2375/path', false), /should not contain a path/);
});

test('unauthenticated TCP: loopback is warned about, anything else refused unless --tls=false or --tlsverify=false', async () => {
  const f = defaultTlsFlags({});
  const loop = await checkUnauthenticatedTcp('tcp://127.0.0.1:2375', { host: '127.0.0.1', port: 2375 }, f);
  assert.match(loop.join('\n'), /without --tlsverify is insecure/);
  assert.ok((await checkUnauthenticatedTcp('tcp://[::1]:2375', { host: '::1', port: 2375 }, f)).length > 0);
  assert.ok((await checkUnauthenticatedTcp('tcp://localhost:2375', { host: 'localhost', port: 2375 }, f)).length > 0);
  await assert.rejects(checkUnauthenticatedTcp('tcp://0.0.0.0:2375', { host: '0.0.0.0', port: 2375 }, f), /refusing to listen on tcp:\/\/0\.0\.0\.0:2375/);
  await assert.rejects(checkUnauthenticatedTcp('tcp://10.1.2.3:2375', { host: '10.1.2.3', port: 2375 }, f), /refusing/);
  // --tls alone authenticates the server only: as open as plain TCP.
  await assert.rejects(checkUnauthenticatedTcp('tcp://0.0.0.0:2376', { host: '0.0.0.0', port: 2376 }, { ...f, tls: true }), /refusing/);
  const forced = await checkUnauthenticatedTcp('tcp://0.0.0.0:2375', { host: '0.0.0.0', port: 2375 }, { ...f, tls: false });
  assert.match(forced.join('\n'), /WITHOUT AUTHENTICATION/);
  assert.ok((await checkUnauthenticatedTcp('tcp://0.0.0.0:2375', { host: '0.0.0.0', port: 2375 }, { ...f, tlsVerify: false })).length > 0);
});

test("dockerd's TLS flags parse as dockerd's, booleans with =false", () => {
  const f = defaultTlsFlags({ DOCKER_CERT_PATH: '/certs' });
  assert.equal(f.caFile, '/certs/ca.pem');
  let i = 0;
  const argv = ['/x/ca.pem'];
  assert.equal(parseTlsFlag(f, '--tlscacert', undefined, () => argv[i++]), true);
  assert.equal(f.caFile, '/x/ca.pem');
  parseTlsFlag(f, '--tlsverify', undefined, () => undefined);
  assert.equal(f.tlsVerify, true);
  parseTlsFlag(f, '--tls', 'false', () => undefined);
  assert.equal(f.tls, false);
  assert.throws(() => parseTlsFlag(f, '--tls', 'maybe', () => undefined), /invalid argument "maybe"/);
  assert.equal(parseTlsFlag(f, '--host', 'x', () => undefined), false);
});

test('a TLS set-up is refused at start-up when --tlsverify has no CA, the key does not match, or the CA file holds no certificate', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-tls-policy-'));
  try {
    const pki = await makePki(join(dir, 'pki'));
    const good = { caFile: pki.server.ca, certFile: pki.server.cert, keyFile: pki.server.key };
    const t = serverTls({ ...good, tlsVerify: true });
    assert.equal(t?.verifyClients, true);
    assert.equal(t?.options.requestCert, true);
    assert.equal(t?.options.rejectUnauthorized, true);
    assert.equal(serverTls({ ...good }), undefined);
    assert.throws(() => serverTls({ ...good, tlsVerify: true, caFile: join(dir, 'none.pem') }), /Could not read CA certificate ".*none\.pem": ENOENT/);
    assert.throws(() => serverTls({ ...good, tlsVerify: true, keyFile: join(pki.rogueDir, 'key.pem') }), /Could not load X509 key pair/);
    await writeFile(join(dir, 'empty.pem'), 'nothing here\n');
    assert.throws(() => serverTls({ ...good, tlsVerify: true, caFile: join(dir, 'empty.pem') }), /failed to append certificates/);
    // Errors name files, never their contents.
    try { serverTls({ ...good, tlsVerify: true, keyFile: join(pki.rogueDir, 'key.pem') }); } catch (e) { assert.doesNotMatch(String(e), /PRIVATE KEY|BEGIN/); }
    // A key others can read is warned about.
    await chmod(pki.server.key, 0o644);
    const plan = await planListeners(['tcp://127.0.0.1:0'], 'berth', { ...good, tlsVerify: true });
    assert.match(plan.warnings.join('\n'), /can be read by users other than its owner/);
    await chmod(pki.server.key, 0o600);
    assert.deepEqual((await planListeners(['tcp://127.0.0.1:0'], 'berth', { ...good, tlsVerify: true })).warnings, []);
    await assert.rejects(planListeners(['npipe:////./pipe/x'], 'berth', good), /unsupported host/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the CLI reads tcp:// and ssh:// addresses as the Docker CLI does, and never lets a host become an ssh option', () => {
  assert.deepEqual(parseHost('tcp://10.0.0.1'), { kind: 'tcp', host: 'tcp://10.0.0.1', socketPath: '', hostname: '10.0.0.1', port: 2375 });
  const tls = { verify: true };
  assert.equal((parseHost('tcp://10.0.0.1', tls) as { port: number }).port, 2376);
  const ssh = parseHost('ssh://me@example.com:2222/run/berth/berth.sock');
  assert.deepEqual(ssh, { kind: 'ssh', host: 'ssh://me@example.com:2222/run/berth/berth.sock', socketPath: '', hostname: 'example.com', user: 'me', port: 2222, remoteSocket: '/run/berth/berth.sock' });
  if (ssh.kind !== 'ssh') throw new Error('not ssh');
  assert.deepEqual(sshArgs(ssh, remoteDialCommand(ssh)),
    ['-o', 'ConnectTimeout=30', '-T', '-l', 'me', '-p', '2222', '--', 'example.com', 'berth', '--host', 'unix:///run/berth/berth.sock', 'system', 'dial-stdio']);
  assert.throws(() => parseHost('ssh://me:secret@example.com'), /plain-text password is not supported/);
  assert.throws(() => parseHost('ssh://-oProxyCommand=x@example.com'), /invalid ssh address/);
  assert.throws(() => parseHost('ssh://example.com?x=1'), /extra path/);
});

test("the CLI's TLS comes from --tls*/DOCKER_TLS_VERIFY/DOCKER_CERT_PATH; absent default files are left out, named ones must exist", async () => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-clienttls-'));
  try {
    assert.equal(clientTls({}, {}, dir), undefined);
    await writeFile(join(dir, 'ca.pem'), 'x');
    assert.deepEqual(clientTls({}, { DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: dir }, '/nonexistent'), { caFile: join(dir, 'ca.pem'), verify: true });
    assert.deepEqual(clientTls({ tls: true }, {}, dir), { caFile: join(dir, 'ca.pem'), verify: false });
    assert.throws(() => clientTls({ tlsVerify: true, certFile: join(dir, 'nope.pem') }, {}, dir), /could not read cert\.pem/);
    await writeFile(join(dir, 'cert.pem'), 'x');
    assert.throws(() => clientTls({ tlsVerify: true }, {}, dir), /both a certificate and a key/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("contexts: Docker's name rule, sha256 directory names, --docker's key=value list", () => {
  assert.throws(() => validateContextName('default'), /reserved context name/);
  assert.throws(() => validateContextName('../x'), /is invalid/);
  validateContextName('my-remote.1');
  assert.equal(contextDirName('foo'), '2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae');
  assert.deepEqual(parseDockerEndpointFlag('host=tcp://h:2376,ca=/a,skip-tls-verify=true'), { host: 'tcp://h:2376', ca: '/a', 'skip-tls-verify': 'true' });
  assert.throws(() => parseDockerEndpointFlag('hots=tcp://h'), /unrecognized config key: hots/);
});
