/**
 * Issue 9, item 9: one name, one removal. Names that read as an image ID or a
 * digest are refused as tags (dockerd's wording); `rmi` of a tag removes that
 * tag alone unless it is the image's last name; a name like `sha256:sometag`
 * is a tag, never an ID, so even forced it removes nothing else; removing by
 * ID an image with several names needs force; a running container's image
 * cannot be deleted even then.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { mkdtemp, rm } from 'node:fs/promises';
import Database from 'better-sqlite3';
import { startDaemon, skipUnlessRoot, skipWithoutDocker, type Daemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';
import { startDockerRegistry, type DockerRegistry } from '../../helpers/docker-registry.js';

describe('tag and rmi', { skip: skipUnlessRoot() || skipWithoutDocker() }, () => {
  let d!: Daemon;
  let busybox!: string;
  /** The 15 names of busybox, as in the report. */
  const names = ['busybox:latest', ...Array.from({ length: 14 }, (_, i) => `many${i}:latest`)];
  before(async () => {
    d = await startDaemon();
    busybox = await importBusybox(d);
    for (const n of names.slice(1)) {
      const [repo, tag] = n.split(':');
      const r = await d.request('POST', `/images/busybox/tag?repo=${repo}&tag=${tag}`);
      assert.equal(r.status, 201, r.text);
    }
  }, { timeout: 120_000 });
  after(async () => { await d?.stop(); });

  const repoTags = async (name: string): Promise<string[]> => {
    const r = await d.request('GET', `/images/${encodeURIComponent(name)}/json`);
    assert.equal(r.status, 200, r.text);
    return (r.json().RepoTags as string[]).slice().sort();
  };
  const assertBusyboxWhole = async () => assert.deepEqual(await repoTags(busybox), names.slice().sort());

  /** A fresh image of its own (a commit of a busybox container), tagged `repo:tag`. */
  async function ownImage(repo: string, tag: string): Promise<string> {
    const c = await d.request('POST', '/containers/create', { Image: 'busybox', Cmd: ['true'] });
    assert.equal(c.status, 201, c.text);
    const id = c.json().Id as string;
    try {
      const r = await d.request('POST', `/commit?container=${id}&repo=${repo}&tag=${tag}`, {});
      assert.equal(r.status, 201, r.text);
      return r.json().Id as string;
    } finally {
      await d.request('DELETE', `/containers/${id}?force=1`);
    }
  }

  test('names that read as a digest or an image ID are refused as tags, with dockerd\'s words', async () => {
    for (const q of ['repo=sha256&tag=sometag', 'repo=sha256%3Asometag', 'repo=sha256']) {
      const r = await d.request('POST', `/images/busybox/tag?${q}`);
      assert.equal(r.status, 400, `${q}: ${r.text}`);
      assert.match(r.json().message, /^refusing to create an ambiguous tag using digest algorithm as name$/);
    }
    const hex = 'a'.repeat(64);
    const r = await d.request('POST', `/images/busybox/tag?repo=${hex}&tag=x`);
    assert.equal(r.status, 400, r.text);
    assert.equal(r.json().message, `invalid repository name (${hex}), cannot specify 64-byte hexadecimal strings`);
    // The docker CLI sends repo=sha256&tag=sometag; berth's CLI the full name.
    const docker = await d.docker(['tag', 'busybox', 'sha256:sometag']);
    assert.notEqual(docker.code, 0);
    assert.match(docker.stderr, /refusing to create an ambiguous tag using digest algorithm as name/);
    const berth = await d.berth(['tag', 'busybox', 'sha256:sometag']);
    assert.notEqual(berth.code, 0);
    assert.match(berth.stderr, /refusing to create an ambiguous tag using digest algorithm as name/);
    // Only the bare name is ambiguous: under a namespace it is an ordinary repository.
    const ok = await d.request('POST', '/images/busybox/tag?repo=team/sha256&tag=abcd');
    assert.equal(ok.status, 201, ok.text);
    assert.deepEqual((await d.request('DELETE', '/images/team/sha256:abcd')).json(), [{ Untagged: 'team/sha256:abcd' }]);

    // commit checks its repo and tag before it makes an image.
    const c = await d.request('POST', '/containers/create', { Image: 'busybox', Cmd: ['true'] });
    const ctr = c.json().Id as string;
    try {
      const before = (await d.request('GET', '/images/json?all=1')).json().length as number;
      for (const q of ['repo=sha256&tag=sometag', `repo=${hex}&tag=x`]) {
        const commit = await d.request('POST', `/commit?container=${ctr}&${q}`, {});
        assert.equal(commit.status, 400, `${q}: ${commit.text}`);
      }
      assert.equal((await d.request('GET', '/images/json?all=1')).json().length, before, 'no image was made');
    } finally {
      await d.request('DELETE', `/containers/${ctr}?force=1`);
    }

    const del = await d.request('DELETE', '/images/sha256:sometag?force=1');
    assert.equal(del.status, 404, del.text);
    assert.equal(del.json().message, 'No such image: sha256:sometag');
    await assertBusyboxWhole();
  });

  test('a tag sha256:sometag left by an older berth: forced removal removes that tag only', async () => {
    // Written as the old code stored it, while berthd is down.
    await d.kill9();
    const db = new Database(join(d.dataRoot, 'berth.db'));
    try {
      db.prepare('INSERT INTO tags (ref, image_id) VALUES (?, ?)').run('docker.io/library/sha256:sometag', busybox);
    } finally {
      db.close();
    }
    await d.restart();
    assert.ok((await repoTags(busybox)).includes('sha256:sometag'));

    const r = await d.request('DELETE', '/images/sha256:sometag?force=1');
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json(), [{ Untagged: 'sha256:sometag' }]);
    await assertBusyboxWhole();
  });

  test('rmi of one of several tags untags only that one, and the last one deletes the image', async () => {
    const id = await ownImage('multi', 'one');
    for (const t of ['two', 'three']) assert.equal((await d.request('POST', `/images/${id}/tag?repo=multi&tag=${t}`)).status, 201);
    assert.equal((await d.request('POST', `/images/${id}/tag?repo=other`)).status, 201);

    const viaDocker = await d.docker(['rmi', 'multi:one']);
    assert.equal(viaDocker.code, 0, viaDocker.stderr);
    assert.equal(viaDocker.stdout, 'Untagged: multi:one\n');
    const viaBerth = await d.berth(['rmi', 'multi:two']);
    assert.equal(viaBerth.code, 0, viaBerth.stderr);
    assert.equal(viaBerth.stdout, 'Untagged: multi:two\n');
    const forced = await d.request('DELETE', '/images/multi:three?force=1');
    assert.deepEqual(forced.json(), [{ Untagged: 'multi:three' }], 'force does not widen a removal by name');
    assert.deepEqual(await repoTags(id), ['other:latest']);

    const last = await d.request('DELETE', '/images/other');
    assert.equal(last.status, 200, last.text);
    assert.deepEqual(last.json(), [{ Untagged: 'other:latest' }, { Deleted: id }]);
    assert.equal((await d.request('GET', `/images/${id}/json`)).status, 404);
    await assertBusyboxWhole();
  });

  test('a digest reference is looked up and removed as one; the last tag of a repository takes its digests along', { timeout: 120_000 }, async () => {
    const dir = await mkdtemp('/tmp/berth-test-tag-rmi-');
    let registry: DockerRegistry | undefined;
    const id = await ownImage('digested', '1');
    try {
      registry = await startDockerRegistry(dir);
      const remote = `${registry.host}/dg/app`;
      assert.equal((await d.request('POST', `/images/${id}/tag?repo=${remote}&tag=1`)).status, 201);
      const push = async () => {
        const r = await d.berth(['push', `${remote}:1`], { timeoutMs: 60_000 });
        assert.equal(r.code, 0, r.stderr);
        const digests = (await d.request('GET', `/images/${id}/json`)).json().RepoDigests as string[];
        assert.equal(digests.length >= 1, true, JSON.stringify(digests));
        return digests;
      };
      const [byDigest] = await push();
      assert.equal((await d.request('GET', `/images/${byDigest}/json`)).json().Id, id, 'found by its digest reference');

      const r = await d.request('DELETE', `/images/${byDigest}`);
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(r.json(), [{ Untagged: byDigest }]);
      assert.deepEqual((await d.request('GET', `/images/${id}/json`)).json().RepoDigests, []);
      assert.deepEqual(await repoTags(id), [`${remote}:1`, 'digested:1']);

      const digests = await push();
      const last = await d.request('DELETE', `/images/${remote}:1`);
      assert.deepEqual(last.json(), [{ Untagged: `${remote}:1` }, ...digests.map((dg) => ({ Untagged: dg }))]);
      assert.deepEqual(await repoTags(id), ['digested:1'], 'the image stays under its other name');
    } finally {
      await d.request('DELETE', `/images/${id}?force=1`);
      await registry?.stop();
      await rm(dir, { recursive: true, force: true });
    }
    await assertBusyboxWhole();
  });

  test('rmi by ID of an image with several names needs force', async () => {
    const id = await ownImage('byid', 'a');
    assert.equal((await d.request('POST', `/images/${id}/tag?repo=byid2&tag=b`)).status, 201);
    const short = id.slice(7, 19);
    const refused = await d.request('DELETE', `/images/${short}`);
    assert.equal(refused.status, 409, refused.text);
    assert.equal(refused.json().message, `conflict: unable to delete ${short} (must be forced) - image is referenced in multiple repositories`);
    const cli = await d.docker(['rmi', short]);
    assert.notEqual(cli.code, 0);
    assert.match(cli.stderr, /image is referenced in multiple repositories/);
    assert.deepEqual(await repoTags(id), ['byid2:b', 'byid:a']);

    const r = await d.request('DELETE', `/images/${id}?force=1`);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json(), [{ Untagged: 'byid2:b' }, { Untagged: 'byid:a' }, { Deleted: id }]);
    await assertBusyboxWhole();
  });

  test('a running container\'s image: its only name needs force, and the image cannot be deleted', async () => {
    const id = await ownImage('inuse', '1');
    const c = await d.request('POST', '/containers/create', { Image: 'inuse:1', Cmd: ['sleep', '600'] });
    assert.equal(c.status, 201, c.text);
    const ctr = c.json().Id as string;
    try {
      assert.equal((await d.request('POST', `/containers/${ctr}/start`)).status, 204);
      const byName = await d.request('DELETE', '/images/inuse:1');
      assert.equal(byName.status, 409, byName.text);
      assert.equal(byName.json().message,
        `conflict: unable to remove repository reference "inuse:1" (must force) - container ${ctr.slice(0, 12)} is using its referenced image ${id.slice(7, 19)}`);
      const byId = await d.request('DELETE', `/images/${id}?force=1`);
      assert.equal(byId.status, 409, byId.text);
      assert.equal(byId.json().message,
        `conflict: unable to delete ${id.slice(7, 19)} (cannot be forced) - image is being used by running container ${ctr.slice(0, 12)}`);
      assert.deepEqual(await repoTags(id), ['inuse:1']);
      // Forced by name: the name goes, the image stays for its container.
      assert.deepEqual((await d.request('DELETE', '/images/inuse:1?force=1')).json(), [{ Untagged: 'inuse:1' }]);
      assert.equal((await d.request('GET', `/images/${id}/json`)).status, 200);
    } finally {
      await d.request('DELETE', `/containers/${ctr}?force=1`);
      await d.request('DELETE', `/images/${id}`);
    }
  });
});
