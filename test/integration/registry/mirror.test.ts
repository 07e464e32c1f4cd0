/**
 * `berthd --registry-mirror URL` (repeatable), as dockerd's flag: pulls of
 * Docker Hub images (docker.io/library/…) ask the mirrors first, in order,
 * passing over one that fails, then Docker Hub; `docker info` shows them in
 * RegistryConfig.Mirrors; `GET /distribution/{name}/json` looks through them
 * too. berth's `--registry-mirror REGISTRY=URL` mirrors another registry
 * the same way. The mirror is Debian's docker-registry holding busybox stand-ins, as
 * a Docker user on an offline network would set one up.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { startDaemon, skipUnlessRoot, type Daemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';
import { freePort, startDockerRegistry, type DockerRegistry } from '../../helpers/docker-registry.js';
import { berthdBin } from '../../helpers/paths.js';

function messages(text: string): Record<string, any>[] {
  return text.split(/\r?\n/).filter(Boolean).map((l) => JSON.parse(l));
}

describe('registry mirrors', { skip: skipUnlessRoot() || (existsSync('/usr/bin/docker-registry') ? false : 'docker-registry is needed') }, () => {
  let d!: Daemon;
  let dir!: string;
  let registry: DockerRegistry | undefined;
  let busyboxId!: string;
  let deadMirror!: string;
  const pushed = new Map<string, string>();

  before(async () => {
    dir = await mkdtemp('/tmp/berth-test-mirror-');
    registry = await startDockerRegistry(dir);
    // A mirror nobody listens on comes first: the pull must pass over it.
    deadMirror = `http://127.0.0.1:${await freePort()}`;
    d = await startDaemon({
      args: [
        '--registry-mirror', deadMirror, '--registry-mirror', registry.url, '--insecure-registry', '10.99.0.0/16', '--insecure-registry', 'reg.example:5000',
        // berth's own form: a mirror of another registry (a name nobody resolves: only the mirror can answer).
        '--registry-mirror', `k8s-images.invalid=${registry.url}`,
      ],
    });
    busyboxId = await importBusybox(d);
    // The stand-ins, pushed under the mirror's own name, then forgotten locally.
    for (const [repo, tag] of [['library/busybox', 'latest'], ['library/alpine', '3.10']] as const) {
      const target: string = `${registry.host}/${repo}`;
      assert.equal((await d.request('POST', `/images/busybox/tag?repo=${target}&tag=${tag}`)).status, 201);
      const push = await d.request('POST', `/images/${target}/push?tag=${tag}`, undefined, { timeoutMs: 60_000 });
      const msgs = messages(push.text);
      assert.ok(!msgs.some((m) => m.error), push.text);
      pushed.set(`${repo}:${tag}`, msgs.find((m) => m.aux?.Digest)!.aux.Digest);
      assert.equal((await d.request('DELETE', `/images/${target}:${tag}`)).status, 200);
    }
  }, { timeout: 120_000 });

  after(async () => {
    await d?.stop();
    await registry?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('info shows the mirrors, in order, with a trailing slash, and the insecure registries', async () => {
    const info = (await d.request('GET', '/info')).json();
    assert.deepEqual(info.RegistryConfig.Mirrors, [`${deadMirror}/`, `${registry!.url}/`]);
    assert.deepEqual(info.RegistryConfig.IndexConfigs['docker.io'].Mirrors, [`${deadMirror}/`, `${registry!.url}/`]);
    assert.deepEqual(info.RegistryConfig.InsecureRegistryCIDRs, ['127.0.0.0/8', '10.99.0.0/16']);
    assert.deepEqual(info.RegistryConfig.IndexConfigs['reg.example:5000'], { Name: 'reg.example:5000', Mirrors: [], Secure: false, Official: false });
    assert.deepEqual(info.RegistryConfig.IndexConfigs['k8s-images.invalid'].Mirrors, [`${registry!.url}/`]);
    const cli = await d.docker(['info']);
    assert.equal(cli.code, 0, cli.stderr);
    assert.match(cli.stdout, new RegExp(`Registry Mirrors:\\n  ${deadMirror}/\\n  ${registry!.url}/\\n`));
    assert.match(cli.stdout, /Insecure Registries:\n  reg\.example:5000\n  127\.0\.0\.0\/8\n  10\.99\.0\.0\/16\n/);
  });

  test('a pull of a Docker Hub image comes from the first mirror that answers', async () => {
    const pull = await d.request('POST', '/images/create?fromImage=alpine&tag=3.10', undefined, { timeoutMs: 120_000 });
    assert.equal(pull.status, 200, pull.text);
    const msgs = messages(pull.text);
    assert.ok(!msgs.some((m) => m.error), pull.text);
    assert.ok(msgs.some((m) => m.status === `Digest: ${pushed.get('library/alpine:3.10')}`), pull.text);
    assert.ok(msgs.some((m) => m.status === 'Status: Downloaded newer image for alpine:3.10'), pull.text);
    const img = (await d.request('GET', '/images/alpine:3.10/json')).json();
    assert.equal(img.Id, busyboxId);
    assert.deepEqual(img.RepoTags.filter((t: string) => t.startsWith('alpine')), ['alpine:3.10']);
    assert.ok(img.RepoDigests.includes(`alpine@${pushed.get('library/alpine:3.10')}`), JSON.stringify(img.RepoDigests));
    assert.match(d.logs(), new RegExp(`mirror http://${deadMirror.slice(7).replace(/\./g, '\\.')} failed`));
  });

  test('REGISTRY=URL: a pull of that registry\'s image comes from its mirror, under the registry\'s name', async () => {
    const pull = await d.request('POST', '/images/create?fromImage=k8s-images.invalid/library/alpine&tag=3.10', undefined, { timeoutMs: 120_000 });
    assert.equal(pull.status, 200, pull.text);
    assert.ok(!messages(pull.text).some((m) => m.error), pull.text);
    const img = (await d.request('GET', '/images/k8s-images.invalid/library/alpine:3.10/json')).json();
    assert.equal(img.Id, busyboxId);
    assert.ok(img.RepoDigests.includes(`k8s-images.invalid/library/alpine@${pushed.get('library/alpine:3.10')}`), JSON.stringify(img.RepoDigests));
  });

  test('images of other registries never come from a mirror', async () => {
    // The mirror holds library/alpine:3.10, but this name is another registry's (nobody listens there).
    const other = `127.0.0.1:${await freePort()}`;
    const pull = await d.request('POST', `/images/create?fromImage=${other}/library/alpine&tag=3.10`, undefined, { timeoutMs: 120_000 });
    assert.ok(pull.status >= 400 || /"error"/.test(pull.text), pull.text);
    assert.equal((await d.request('GET', `/images/${other}/library/alpine:3.10/json`)).status, 404);
  });

  test('the distribution endpoint looks through the mirror: descriptor and platform', async () => {
    const r = await d.request('GET', '/distribution/busybox:latest/json', undefined, { timeoutMs: 120_000 });
    assert.equal(r.status, 200, r.text);
    const info = r.json();
    assert.equal(info.Descriptor.digest, pushed.get('library/busybox:latest'));
    assert.equal(typeof info.Descriptor.size, 'number');
    assert.match(info.Descriptor.mediaType, /manifest/);
    const arch = { x64: 'amd64', arm64: 'arm64' }[process.arch as 'x64' | 'arm64'] ?? process.arch;
    assert.deepEqual(info.Platforms, [{ architecture: arch, os: 'linux' }]);
    const byId = await d.request('GET', `/distribution/${busyboxId}/json`);
    assert.equal(byId.status, 400);
    assert.match(byId.json().message, /no manifest found for full image ID/);
  });

  test('berthd refuses a mirror that is not an http(s) URL without query, credentials or path', async () => {
    const refuse = (url: string) => new Promise<string>((resolve) => {
      execFile(berthdBin, ['--registry-mirror', url], { timeout: 20_000 }, (err, _out, stderr) => {
        assert.ok(err, `berthd accepted ${url}`);
        resolve(stderr);
      });
    });
    assert.match(await refuse('ftp://mirror.example'), /invalid mirror: unsupported scheme "ftp"/);
    assert.match(await refuse('https://mirror.example/?x=1'), /invalid mirror: query or fragment/);
    assert.match(await refuse('https://u:secret@mirror.example'), /username\/password not allowed/);
    assert.doesNotMatch(await refuse('https://u:secret@mirror.example'), /secret/);
    assert.match(await refuse('https://mirror.example/some/path'), /has a path/);
    assert.match(await refuse('not a host=https://mirror.example'), /is not a registry host/);
  });
});
