/**
 * `berth context update|export|import` against the real Docker CLI and a
 * private berthd on TCP with mutual TLS: a context berth exports is one the
 * Docker CLI imports and reaches berthd with, and the other way round;
 * `update` changes what the Docker CLI's does; a hostile archive is refused
 * and leaves the store (and everything around it) as it was. Each CLI has a
 * DOCKER_CONFIG of its own in a temporary directory.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { dockerCliPath, runCommand, skipUnlessRoot, skipWithoutDocker, startDaemon, type Daemon, type RunOptions } from '../../helpers/daemon.js';
import { berthBin } from '../../helpers/paths.js';
import { encodeHeader, END_OF_ARCHIVE, newHeader, padding, type TarHeader } from '../../../src/image/tar-format.js';
import { freePort, makePki, type Pki } from './certs.js';

const skip = skipUnlessRoot() || skipWithoutDocker();
let tmp = '';
let pki: Pki;
let d: Daemon | undefined;
let host = '';

before(async () => {
  if (skip) return;
  tmp = await mkdtemp(join(tmpdir(), 'berth-ctx-archive-'));
  pki = await makePki(join(tmp, 'pki'));
  const port = await freePort();
  host = `tcp://127.0.0.1:${port}`;
  d = await startDaemon({
    args: ['-H', host, '--tlsverify', '--tlscacert', pki.server.ca, '--tlscert', pki.server.cert, '--tlskey', pki.server.key],
  });
});

after(async () => {
  await d?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

/** Nothing in the environment picks an endpoint but the context. */
const CLEAN = { DOCKER_HOST: undefined, BERTH_HOST: undefined, DOCKER_TLS_VERIFY: undefined, DOCKER_CERT_PATH: undefined, DOCKER_CONTEXT: undefined };

/** A fresh DOCKER_CONFIG (and working directory) under the test's temporary directory. */
async function configDir(name: string): Promise<string> {
  const dir = await mkdtemp(join(tmp, `${name}-`));
  return dir;
}

function berth(config: string, args: string[], opts: RunOptions = {}) {
  return runCommand(process.execPath, [berthBin, ...args], { cwd: config, ...opts, env: { ...CLEAN, DOCKER_CONFIG: config, BERTH_NO_AUTOSTART: '1', ...opts.env } });
}

function docker(config: string, args: string[], opts: RunOptions = {}) {
  return runCommand(dockerCliPath()!, args, { cwd: config, ...opts, env: { ...CLEAN, DOCKER_CONFIG: config, ...opts.env } });
}

const tlsKeys = () => `ca=${join(pki.clientDir, 'ca.pem')},cert=${join(pki.clientDir, 'cert.pem')},key=${join(pki.clientDir, 'key.pem')}`;
const tlsDir = (config: string, name: string) => join(config, 'contexts', 'tls', createHash('sha256').update(name).digest('hex'), 'docker');

/** Every path under dir with its bytes (a file) or null (a directory): the whole state, to compare before and after. */
async function snapshot(dir: string): Promise<Map<string, string | null>> {
  const out = new Map<string, string | null>();
  const walk = async (p: string, rel: string): Promise<void> => {
    for (const e of await readdir(p, { withFileTypes: true })) {
      const r = `${rel}/${e.name}`;
      if (e.isDirectory()) { out.set(r, null); await walk(join(p, e.name), r); } else out.set(r, (await readFile(join(p, e.name))).toString('base64'));
    }
  };
  await walk(dir, '');
  return out;
}

test('berth exports a context (file and stdout) that the Docker CLI imports and reaches berthd with over TLS', { skip }, async () => {
  const b = await configDir('berth');
  const dk = await configDir('docker');
  const created = await berth(b, ['context', 'create', 'remote', '--description', 'berthd over TLS', '--docker', `host=${host},${tlsKeys()}`]);
  assert.equal(created.code, 0, created.stderr);

  const exp = await berth(b, ['context', 'export', 'remote']);
  assert.equal(exp.code, 0, exp.stderr);
  assert.equal(exp.stderr, 'Written file "remote.dockercontext"\n');
  // It holds the private key: only its owner may read it, and an existing file is never replaced.
  assert.equal((await stat(join(b, 'remote.dockercontext'))).mode & 0o777, 0o600);
  const again = await berth(b, ['context', 'export', 'remote']);
  assert.equal(again.code, 1);
  assert.equal(again.stderr, 'open remote.dockercontext: file exists\n');

  const imp = await docker(dk, ['context', 'import', 'from-berth', join(b, 'remote.dockercontext')]);
  assert.equal(imp.code, 0, imp.stderr);
  assert.equal(imp.stderr, 'Successfully imported context "from-berth"\n');
  const info = JSON.parse((await docker(dk, ['context', 'inspect', 'from-berth'])).stdout)[0];
  assert.equal(info.Metadata.Description, 'berthd over TLS');
  assert.deepEqual(info.Endpoints.docker, { Host: host, SkipTLSVerify: false });
  assert.deepEqual(info.TLSMaterial, { docker: ['ca.pem', 'cert.pem', 'key.pem'] });
  const version = await docker(dk, ['--context', 'from-berth', 'version', '--format', '{{.Server.Os}}']);
  assert.equal(version.code, 0, version.stderr);
  assert.equal(version.stdout.trim(), 'linux');

  // `-` is a tar on stdout, which the Docker CLI reads from its stdin.
  const piped = await berth(b, ['context', 'export', 'remote', '-']);
  assert.equal(piped.code, 0, piped.stderr);
  const imp2 = await docker(dk, ['context', 'import', 'piped', '-'], { input: Buffer.from(piped.stdout, 'latin1') });
  assert.equal(imp2.code, 0, imp2.stderr);
  const ps = await docker(dk, ['--context', 'piped', 'ps', '-q']);
  assert.equal(ps.code, 0, ps.stderr);

  const kube = await berth(b, ['context', 'export', '--kubeconfig', 'remote', 'k.yaml']);
  assert.equal(kube.code, 125);
  assert.match(kube.stderr, /--kubeconfig is not supported by berth: berth contexts have no Kubernetes endpoint/);
  await assert.rejects(stat(join(b, 'k.yaml')));
});

test('the Docker CLI exports a context that berth imports, byte for byte, and reaches berthd with', { skip }, async () => {
  const b = await configDir('berth');
  const dk = await configDir('docker');
  const created = await docker(dk, ['context', 'create', 'docker-made', '--description', 'made by docker', '--docker', `host=${host},${tlsKeys()}`]);
  assert.equal(created.code, 0, created.stderr);
  const exp = await docker(dk, ['context', 'export', 'docker-made', join(dk, 'docker-made.tar')]);
  assert.equal(exp.code, 0, exp.stderr);

  const imp = await berth(b, ['context', 'import', 'from-docker', join(dk, 'docker-made.tar')]);
  assert.equal(imp.code, 0, imp.stderr);
  assert.equal(imp.stdout, 'from-docker\n');
  assert.equal(imp.stderr, 'Successfully imported context "from-docker"\n');
  for (const f of ['ca.pem', 'cert.pem', 'key.pem']) {
    assert.deepEqual(await readFile(join(tlsDir(b, 'from-docker'), f)), await readFile(join(pki.clientDir, f)));
    assert.equal((await stat(join(tlsDir(b, 'from-docker'), f))).mode & 0o777, 0o600);
  }
  const info = JSON.parse((await berth(b, ['context', 'inspect', 'from-docker'])).stdout)[0];
  assert.equal(info.Name, 'from-docker');
  assert.equal(info.Metadata.Description, 'made by docker');
  const version = await berth(b, ['--context', 'from-docker', 'version', '--format', '{{.Server.Os}}']);
  assert.equal(version.code, 0, version.stderr);
  assert.equal(version.stdout.trim(), 'linux');

  // From the Docker CLI's stdout to berth's stdin.
  const piped = await docker(dk, ['context', 'export', 'docker-made', '-']);
  assert.equal(piped.code, 0, piped.stderr);
  const imp2 = await berth(b, ['context', 'import', 'piped', '-'], { input: Buffer.from(piped.stdout, 'latin1') });
  assert.equal(imp2.code, 0, imp2.stderr);
  const ps = await berth(b, ['--context', 'piped', 'ps', '-q']);
  assert.equal(ps.code, 0, ps.stderr);

  const taken = await berth(b, ['context', 'import', 'piped', join(dk, 'docker-made.tar')]);
  assert.equal(taken.code, 1);
  assert.equal(taken.stderr, 'context "piped" already exists\n');
  const missing = await berth(b, ['context', 'import', 'other', join(dk, 'nope.tar')]);
  assert.equal(missing.code, 1);
  assert.equal(missing.stderr, `open ${join(dk, 'nope.tar')}: no such file or directory\n`);
});

test('update changes what its flags name, as the Docker CLI\'s does, in the store both read', { skip }, async () => {
  const b = await configDir('berth');
  const created = await berth(b, ['context', 'create', 'upd', '--description', 'first', '--docker', `host=${host},${tlsKeys()}`]);
  assert.equal(created.code, 0, created.stderr);
  /** What the Docker CLI sees of a context in a store: description, endpoints, TLS files. */
  const seen = async (config: string) => {
    const r = await docker(config, ['context', 'inspect', 'upd']);
    assert.equal(r.code, 0, r.stderr);
    const [c] = JSON.parse(r.stdout);
    return `${c.Metadata.Description} ${JSON.stringify(c.Endpoints)} ${JSON.stringify(c.TLSMaterial)}`;
  };
  const shown = () => seen(b);

  // --description alone keeps the endpoint and its TLS files: the context still reaches berthd.
  const desc = await berth(b, ['context', 'update', 'upd', '--description', 'second']);
  assert.equal(desc.code, 0, desc.stderr);
  assert.equal(desc.stdout, 'upd\n');
  assert.equal(desc.stderr, 'Successfully updated context "upd"\n');
  assert.equal(await shown(), `second {"docker":{"Host":"${host}","SkipTLSVerify":false}} {"docker":["ca.pem","cert.pem","key.pem"]}`);
  assert.equal((await berth(b, ['--context', 'upd', 'ps', '-q'])).code, 0);

  // --docker replaces the endpoint with what its keys say, exactly as `docker context update` does on a copy.
  const viaDocker = await configDir('docker');
  for (const [cli, config] of [[berth, b], [docker, viaDocker]] as const) {
    if (cli === docker) assert.equal((await docker(config, ['context', 'create', 'upd', '--description', 'second', '--docker', `host=${host},${tlsKeys()}`])).code, 0);
    const r = await cli(config, ['context', 'update', 'upd', '--docker', `host=${host},ca=${join(pki.clientDir, 'ca.pem')},skip-tls-verify=true`]);
    assert.equal(r.code, 0, r.stderr);
  }
  assert.equal(await seen(b), await seen(viaDocker));
  assert.equal(await shown(), `second {"docker":{"Host":"${host}","SkipTLSVerify":true}} {"docker":["ca.pem"]}`);
  // Without a client certificate berthd (--tlsverify) refuses the connection: the old files are gone.
  const refused = await berth(b, ['--context', 'upd', 'ps', '-q']);
  assert.notEqual(refused.code, 0);

  const bad = await berth(b, ['context', 'update', 'upd', '--docker', 'host=tcp://h:1,skip-tls-verify=maybe']);
  assert.equal(bad.code, 1);
  assert.equal(bad.stderr, 'unable to create docker endpoint config: skip-tls-verify: parsing "maybe": invalid syntax\n');
  const missing = await berth(b, ['context', 'update', 'nope', '--description', 'x']);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /^context "nope": context not found/);
  const reserved = await berth(b, ['context', 'update', 'default', '--description', 'x']);
  assert.equal(reserved.stderr, '"default" is a reserved context name\n');
  // Refusals changed nothing.
  assert.equal(await shown(), `second {"docker":{"Host":"${host}","SkipTLSVerify":true}} {"docker":["ca.pem"]}`);
});

type Entry = { h: Partial<TarHeader> & Pick<TarHeader, 'name' | 'type'>; data?: Buffer };

function tarOf(entries: Entry[]): Buffer {
  const parts: Buffer[] = [];
  for (const { h, data } of entries) {
    parts.push(encodeHeader(newHeader({ ...h, size: data?.length ?? 0 })));
    if (data) parts.push(data, Buffer.alloc(padding(data.length)));
  }
  return Buffer.concat([...parts, END_OF_ARCHIVE]);
}

test('hostile archives are refused with a clear error and write nothing: ../ entries, a symlink, an oversized meta.json, a bad name', { skip }, async () => {
  const base = await configDir('hostile');
  const b = join(base, 'config');
  await mkdir(b);
  const work = join(base, 'work');
  await mkdir(work);
  // One real context, so "nothing written" also means "nothing changed".
  assert.equal((await berth(b, ['context', 'create', 'keep', '--docker', `host=${host},${tlsKeys()}`])).code, 0);
  const meta = Buffer.from(JSON.stringify({ Name: 'evil', Metadata: {}, Endpoints: { docker: { Host: host, SkipTLSVerify: false } } }));
  const pem = await readFile(join(pki.clientDir, 'ca.pem'));
  const cases: [string, Buffer, RegExp][] = [
    ['dotdot', tarOf([{ h: { name: 'meta.json', type: 'file' }, data: meta }, { h: { name: '../../escaped.pem', type: 'file' }, data: pem }]),
      /^invalid context archive: unexpected file "\.\.\/\.\.\/escaped\.pem"/],
    ['dotdot-tls', tarOf([{ h: { name: 'meta.json', type: 'file' }, data: meta }, { h: { name: 'tls/docker/../../../../escaped.pem', type: 'file' }, data: pem }]),
      /^invalid context archive: unexpected file/],
    ['symlink', tarOf([{ h: { name: 'meta.json', type: 'file' }, data: meta }, { h: { name: 'tls/docker/key.pem', type: 'symlink', linkname: '/etc/shadow' } }]),
      /^invalid context archive: "tls\/docker\/key\.pem" is a symlink/],
    ['big-meta', tarOf([{ h: { name: 'meta.json', type: 'file' }, data: Buffer.concat([meta.subarray(0, -1), Buffer.from(`,"Pad":"${'x'.repeat(300 << 10)}"}`)]) }]),
      /^invalid context archive: meta\.json is \d+ bytes, more than the 262144/],
  ];
  const before = await snapshot(base);
  for (const [name, archive, message] of cases) {
    const file = join(work, `${name}.tar`);
    await writeFile(file, archive);
    const before2 = await snapshot(base);
    const r = await berth(b, ['context', 'import', `ctx-${name}`, file], { cwd: work });
    assert.equal(r.code, 1, `${name}: ${r.stderr}`);
    assert.match(r.stderr, message, name);
    assert.deepEqual(await snapshot(base), before2, `${name} changed files`);
    await rm(file);
  }
  // Names: Docker's rule, checked before the archive is read (one that would be accepted is used).
  const good = join(work, 'good.tar');
  await writeFile(good, tarOf([{ h: { name: 'meta.json', type: 'file' }, data: meta }]));
  for (const [name, message] of [
    ['../x', /^context name "\.\.\/x" is invalid, names are validated against regexp/],
    ['_under', /is invalid/],
    ['a', /is invalid/],
    ['default', /^"default" is a reserved context name/],
    ['keep', /^context "keep" already exists/],
  ] as const) {
    const r = await berth(b, ['context', 'import', name, good], { cwd: work });
    assert.equal(r.code, 1, `${name}: ${r.stderr}`);
    assert.match(r.stderr, message, name);
  }
  await rm(good);
  assert.deepEqual(await snapshot(base), before);
  // The archive that was not hostile imports, so the refusals above were the archives' doing.
  await writeFile(good, tarOf([{ h: { name: 'meta.json', type: 'file' }, data: meta }]));
  const ok = await berth(b, ['context', 'import', 'fine', good], { cwd: work });
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal((await berth(b, ['--context', 'fine', 'context', 'show'])).stdout, 'fine\n');
});
