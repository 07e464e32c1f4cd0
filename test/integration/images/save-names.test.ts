/**
 * What `GET /images/{name}/get` and `GET /images/get?names=` put in
 * manifest.json's RepoTags, as dockerd's tarexport does: nothing for an
 * image ID (a save by ID loads back untagged), the one tag for `name:tag`,
 * every tag of the repository for a bare name; one entry per image however
 * many names point at it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import tarStream from 'tar-stream';
import { Readable } from 'node:stream';
import { startDaemon, skipUnlessRoot, type Daemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';

/** manifest.json of a save archive. */
async function manifestOf(tar: Buffer): Promise<{ Config: string; RepoTags: string[] | null }[]> {
  const extract = tarStream.extract();
  let found: Buffer | undefined;
  extract.on('entry', (h, stream, next) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c) => chunks.push(c as Buffer));
    stream.on('end', () => { if (h.name === 'manifest.json') found = Buffer.concat(chunks); next(); });
  });
  await new Promise<void>((resolve, reject) => {
    extract.on('finish', resolve);
    extract.on('error', reject);
    Readable.from([tar]).pipe(extract);
  });
  assert.ok(found, 'the archive has a manifest.json');
  return JSON.parse(found.toString('utf8'));
}

describe('image save: RepoTags by the names given', { skip: skipUnlessRoot() }, () => {
  let d!: Daemon;
  let id!: string;
  before(async () => {
    d = await startDaemon();
    id = await importBusybox(d);
    for (const t of ['busybox:other', 'mine:1']) {
      const [repo, tag] = t.split(':');
      const r = await d.request('POST', `/images/busybox/tag?repo=${repo}&tag=${tag}`);
      assert.equal(r.status, 201, r.text);
    }
  }, { timeout: 120_000 });
  after(async () => { await d?.stop(); });

  const save = async (path: string) => {
    const r = await d.request('GET', path);
    assert.equal(r.status, 200, r.text);
    return manifestOf(r.body);
  };

  test('a save by full or short image ID records no RepoTags', async () => {
    for (const path of [`/images/${id}/get`, `/images/${id.slice(7)}/get`, `/images/${id.slice(7, 19)}/get`, `/images/get?names=${id}`]) {
      const m = await save(path);
      assert.equal(m.length, 1, path);
      assert.deepEqual(m[0].RepoTags ?? [], [], path);
    }
  });

  test('a save by name:tag records that tag only', async () => {
    const m = await save('/images/mine:1/get');
    assert.deepEqual(m.map((e) => e.RepoTags), [['mine:1']]);
  });

  test('a save by a bare repository name records every tag of it, in one entry per image', async () => {
    const m = await save('/images/busybox/get');
    assert.equal(m.length, 1);
    assert.deepEqual([...(m[0].RepoTags ?? [])].sort(), ['busybox:latest', 'busybox:other']);
  });

  test('names that mean the same image share one manifest entry', async () => {
    const m = await save(`/images/get?names=mine:1&names=${id}&names=busybox:latest`);
    assert.equal(m.length, 1);
    assert.deepEqual([...(m[0].RepoTags ?? [])].sort(), ['busybox:latest', 'mine:1']);
  });

  test('the image a save by ID wrote loads back untagged, with its ID', async () => {
    const r = await d.request('GET', `/images/${id}/get`);
    const rm = await d.request('DELETE', `/images/${id}?force=1`);
    assert.equal(rm.status, 200, rm.text);
    const load = await d.request('POST', '/images/load', r.body, { headers: { 'Content-Type': 'application/x-tar' } });
    assert.equal(load.status, 200, load.text);
    assert.match(load.text, new RegExp(`Loaded image ID: ${id}`));
    const inspect = await d.request('GET', `/images/${id}/json`);
    assert.deepEqual(inspect.json().RepoTags, []);
  });
});
