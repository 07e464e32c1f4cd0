import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  INDEX_SERVER, credentialKey, dockerConfigDir, getCredentials, readDockerConfig, removeCredentials, storeCredentials,
} from '../../../src/registry/auth/docker-config.js';
import { SystemError } from '../../../src/errors.js';

let root = '';
before(async () => { root = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-test-regclient-config-')); });
after(async () => { await fs.rm(root, { recursive: true, force: true }); });

async function dir(name: string, config?: unknown): Promise<string> {
  const d = path.join(root, name);
  await fs.mkdir(d, { recursive: true });
  if (config !== undefined) await fs.writeFile(path.join(d, 'config.json'), typeof config === 'string' ? config : JSON.stringify(config));
  return d;
}

test('DOCKER_CONFIG overrides ~/.docker', () => {
  assert.equal(dockerConfigDir({ DOCKER_CONFIG: '/x/y', HOME: '/home/u' }), '/x/y');
  assert.equal(dockerConfigDir({ HOME: '/home/u' }), '/home/u/.docker');
});

test('keys: Docker Hub aliases are the index server, others host[:port]', () => {
  for (const d of ['docker.io', 'index.docker.io', 'registry-1.docker.io', INDEX_SERVER]) assert.equal(credentialKey(d), INDEX_SERVER);
  assert.equal(credentialKey('127.0.0.1:5000'), '127.0.0.1:5000');
  assert.equal(credentialKey('https://reg.example.com/v2/'), 'reg.example.com');
});

test('login then logout round trip keeps unknown keys, key order and other registries', async () => {
  const original = {
    psFormat: 'table {{.ID}}',
    auths: { 'other.example.com': { auth: Buffer.from('o:p').toString('base64'), email: 'o@x' } },
    proxies: { default: { httpProxy: 'http://proxy:3128' } },
    'x-unknown': [1, 2, { deep: true }],
  };
  const d = await dir('roundtrip', original);
  const loc = { dir: d, env: {} };
  await storeCredentials('127.0.0.1:5000', { username: 'alice', password: 'pa:ss' }, loc);
  await storeCredentials('docker.io', { username: 'bob', password: 'hub' }, loc);

  const text = await fs.readFile(path.join(d, 'config.json'), 'utf8');
  assert.match(text, /^\{\n\t"psFormat"/, 'tab-indented like the docker CLI, order kept');
  const data = JSON.parse(text);
  assert.deepEqual(Object.keys(data), ['psFormat', 'auths', 'proxies', 'x-unknown']);
  assert.deepEqual(data.proxies, original.proxies);
  assert.deepEqual(data['x-unknown'], original['x-unknown']);
  assert.deepEqual(data.auths['other.example.com'], original.auths['other.example.com']);
  assert.equal(data.auths['127.0.0.1:5000'].auth, Buffer.from('alice:pa:ss').toString('base64'));
  assert.ok(data.auths[INDEX_SERVER]);
  assert.equal((await fs.stat(path.join(d, 'config.json'))).mode & 0o777, 0o600);
  assert.deepEqual((await fs.readdir(d)).sort(), ['config.json'], 'no temp files left');

  assert.deepEqual(await getCredentials('127.0.0.1:5000', loc), { username: 'alice', password: 'pa:ss' });
  assert.deepEqual(await getCredentials('docker.io', loc), { username: 'bob', password: 'hub' });
  assert.deepEqual(await getCredentials('other.example.com', loc), { username: 'o', password: 'p' });
  assert.equal(await getCredentials('nowhere.example.com', loc), undefined);

  assert.equal(await removeCredentials('127.0.0.1:5000', loc), true);
  assert.equal(await removeCredentials('127.0.0.1:5000', loc), false);
  const after = await readDockerConfig(loc);
  assert.deepEqual(Object.keys(after.auths ?? {}).sort(), [INDEX_SERVER, 'other.example.com'].sort());
  assert.deepEqual(after.proxies, original.proxies);
});

test('identity tokens are stored as identitytoken and read back', async () => {
  const d = await dir('identity');
  const loc = { dir: d, env: {} };
  await storeCredentials('reg.example.com', { username: 'u', identityToken: 'refresh-1' }, loc);
  const data = await readDockerConfig(loc);
  assert.equal(data.auths?.['reg.example.com'].identitytoken, 'refresh-1');
  assert.deepEqual(await getCredentials('reg.example.com', loc), { username: 'u', password: '', identityToken: 'refresh-1' });
});

test('legacy entries: scheme/path keys and username/password fields are found by host', async () => {
  const d = await dir('legacy', { auths: {
    'https://reg.example.com/v1/': { auth: Buffer.from('l:p').toString('base64') },
    'http://old.example.com': { username: 'x', password: 'y' },
    'https://index.docker.io/v1/': { auth: '', identitytoken: 'hubtoken' },
    'tok.example.com': { registrytoken: 'RT' },
  } });
  const loc = { dir: d, env: {} };
  assert.deepEqual(await getCredentials('reg.example.com', loc), { username: 'l', password: 'p' });
  assert.deepEqual(await getCredentials('old.example.com', loc), { username: 'x', password: 'y' });
  assert.deepEqual(await getCredentials('docker.io', loc), { identityToken: 'hubtoken' });
  assert.deepEqual(await getCredentials('tok.example.com', loc), { registryToken: 'RT' });
  assert.equal(await removeCredentials('reg.example.com', loc), true);
  assert.equal((await readDockerConfig(loc)).auths?.['https://reg.example.com/v1/'], undefined);
});

test('absent, empty and broken files', async () => {
  assert.deepEqual(await readDockerConfig({ dir: await dir('absent') }), {});
  assert.deepEqual(await readDockerConfig({ dir: await dir('empty', '') }), {});
  await assert.rejects(readDockerConfig({ dir: await dir('broken', '{nope') }), (e: unknown) => e instanceof SystemError && /loading config file/.test(e.message));
  await assert.rejects(getCredentials('r', { dir: await dir('badauth', { auths: { r: { auth: Buffer.from('nocolon').toString('base64') } } }) }), /invalid auth configuration file/);
});

test('a symlinked config.json is written through to its target', async () => {
  const d = await dir('symlink');
  const target = path.join(await dir('symlink-target', { keep: 1 }), 'config.json');
  await fs.symlink(target, path.join(d, 'config.json'));
  await storeCredentials('r.example.com', { username: 'u', password: 'p' }, { dir: d });
  assert.ok((await fs.lstat(path.join(d, 'config.json'))).isSymbolicLink());
  const data = JSON.parse(await fs.readFile(target, 'utf8'));
  assert.equal(data.keep, 1);
  assert.ok(data.auths['r.example.com']);
});

test('credential helpers: credHelpers per registry, credsStore otherwise; get/store/erase over stdin', async () => {
  const bin = await dir('bin');
  const store = path.join(bin, 'store.json');
  // A tiny helper implementing the docker-credential-helpers protocol with a JSON file.
  const helper = `#!/usr/bin/env node
const fs = require('fs');
const file = ${JSON.stringify(store)};
const db = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : {};
let input = '';
process.stdin.on('data', (d) => input += d).on('end', () => {
  const action = process.argv[2];
  if (action === 'get') {
    const c = db[input.trim()];
    if (!c) { process.stdout.write('credentials not found in native keychain\\n'); process.exit(1); }
    process.stdout.write(JSON.stringify({ ServerURL: input.trim(), Username: c.Username, Secret: c.Secret }));
  } else if (action === 'store') {
    const c = JSON.parse(input); db[c.ServerURL] = c; fs.writeFileSync(file, JSON.stringify(db));
  } else if (action === 'erase') {
    delete db[input.trim()]; fs.writeFileSync(file, JSON.stringify(db));
  }
});
`;
  await fs.writeFile(path.join(bin, 'docker-credential-testhelper'), helper, { mode: 0o755 });
  const env = { ...process.env, PATH: `${bin}:${process.env.PATH}` };
  const d = await dir('helpers', { credsStore: 'testhelper', credHelpers: { 'special.example.com': 'missinghelper' } });
  const loc = { dir: d, env };

  assert.equal(await getCredentials('reg.example.com', loc), undefined, '"not found" from the helper is no credentials');
  await storeCredentials('reg.example.com', { username: 'u', password: 's3cret' }, loc);
  await storeCredentials('docker.io', { identityToken: 'tok' }, loc);
  const data = await readDockerConfig(loc);
  assert.deepEqual(data.auths, { 'reg.example.com': {}, [INDEX_SERVER]: {} }, 'secrets stay in the helper');
  assert.deepEqual(await getCredentials('reg.example.com', loc), { username: 'u', password: 's3cret' });
  assert.deepEqual(await getCredentials('docker.io', loc), { identityToken: 'tok' });
  assert.equal(JSON.parse(await fs.readFile(store, 'utf8'))[INDEX_SERVER].Username, '<token>');

  await assert.rejects(getCredentials('special.example.com', loc), (e: unknown) =>
    e instanceof SystemError && e.message.includes('exec: "docker-credential-missinghelper": executable file not found in $PATH'));

  assert.equal(await removeCredentials('reg.example.com', loc), true);
  assert.equal(await getCredentials('reg.example.com', loc), undefined);
});
