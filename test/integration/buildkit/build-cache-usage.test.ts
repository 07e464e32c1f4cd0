/**
 * Issue 11 (acceptance 4): `docker buildx du`, `GET /system/df`'s
 * BuildCache (`berth system df`, `docker system df`) and `builder prune`
 * count the same build cache — step results only the cache keeps and
 * `RUN --mount=type=cache` directories — and a prune empties all of them.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { skipUnlessRoot, skipWithoutDocker, type Daemon } from '../../helpers/daemon.js';
import { writeContext } from '../build/build-helpers.js';
import { humanSize } from '../../../src/cli/format/units.js';
import { skipWithoutBuildx, startBuildxDaemon } from './buildx.js';

let d!: Daemon;
let dir!: string;
let ctx!: string;

const skip = skipUnlessRoot() || skipWithoutDocker() || skipWithoutBuildx();

interface ApiRecord { ID: string; Parents: string[]; Type: string; Description: string; InUse: boolean; Shared: boolean; Size: number; CreatedAt: string; LastUsedAt: string | null; UsageCount: number }

async function apiRecords(): Promise<ApiRecord[]> {
  const r = await d.request('GET', '/system/df');
  assert.equal(r.status, 200, r.text);
  return (JSON.parse(r.text) as { BuildCache: ApiRecord[] }).BuildCache;
}

/** The record IDs of a buildx table (du, prune): first column, a mutable record's `*` dropped. */
function tableIds(stdout: string): string[] {
  return stdout.split('\n').map((l) => l.split(/\s+/)[0]).filter((id) => /^([0-9a-f]{64}|cachemount-[0-9a-f]{64})\*?$/.test(id)).map((id) => id.replace(/\*$/, '')).sort();
}

/** `docker buildx du`: the IDs it lists, its Total and its Private line (the total less what images share; Total when nothing is shared). */
async function buildxDu(): Promise<{ ids: string[]; total: string; private: string }> {
  const r = await d.docker(['buildx', 'du']);
  assert.equal(r.code, 0, r.stderr);
  const total = /^Total:\s+(\S+)/m.exec(r.stdout)?.[1] ?? '';
  return { ids: tableIds(r.stdout), total, private: /^Private:\s+(\S+)/m.exec(r.stdout)?.[1] ?? total };
}

/** The Build Cache row of `system df` (berth's or docker's CLI): count and size. */
async function dfRow(cli: 'berth' | 'docker'): Promise<{ total: number; size: string }> {
  const r = cli === 'berth' ? await d.berth(['system', 'df']) : await d.docker(['system', 'df']);
  assert.equal(r.code, 0, r.stderr);
  const m = /^Build Cache\s+(\d+)\s+\d+\s+(\S+)/m.exec(r.stdout);
  assert.ok(m, r.stdout);
  return { total: Number(m[1]), size: m[2] };
}

before(async () => {
  if (skip) return;
  dir = await mkdtemp('/tmp/berth-test-buildcache-usage-');
  ctx = join(dir, 'ctx');
  d = await startBuildxDaemon();
  await writeContext(ctx, {
    Dockerfile: [
      'FROM busybox AS build',
      'RUN --mount=type=cache,target=/cache,id=usage dd if=/dev/zero of=/cache/blob bs=1024 count=300 2>/dev/null && mkdir /out && echo made > /out/f',
      'RUN dd if=/dev/zero of=/big bs=1024 count=200 2>/dev/null',
      'FROM busybox',
      'COPY --from=build /out/ /opt/',
      'ENV X=1',
      '',
    ].join('\n'),
  });
}, { timeout: 120_000 });

after(async () => {
  await d?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('build cache usage: buildx du, system df and builder prune agree', { skip }, () => {
  test('after a build with a cache mount the three views count the same records and bytes', async () => {
    const b = await d.docker(['buildx', 'build', '--progress=plain', '-t', 'usage:1', '--load', '.'], { cwd: ctx });
    assert.equal(b.code, 0, b.stderr);
    const records = await apiRecords();
    // Four steps (two RUNs, COPY, ENV) and one cache mount.
    assert.equal(records.filter((r) => r.Type === 'regular').length, 4, JSON.stringify(records));
    const mount = records.find((r) => r.Type === 'exec.cachemount');
    assert.ok(mount && mount.Size >= 300 * 1024, JSON.stringify(records));
    assert.equal(mount.Description, 'cached mount usage');
    for (const r of records) {
      assert.ok(!Number.isNaN(Date.parse(r.CreatedAt)), r.CreatedAt);
      assert.equal(typeof r.InUse, 'boolean');
      assert.ok(Array.isArray(r.Parents));
    }
    // The build stage's layers are the cache's alone; the final image's are shared with the tagged image.
    const bigRun = records.find((r) => r.Description.startsWith('RUN dd if=/dev/zero of=/big'))!;
    assert.equal(bigRun.Shared, false);
    assert.ok(bigRun.Size >= 200 * 1024);
    assert.equal(records.find((r) => r.Description.startsWith('COPY --from=build'))!.Shared, true);
    const copy = records.find((r) => r.Description.startsWith('COPY --from=build'))!;
    assert.deepEqual(copy.Parents, [], 'the final stage starts from the base image, which is no cache record');
    assert.deepEqual(records.find((r) => r.Description === 'RUN dd if=/dev/zero of=/big bs=1024 count=200 2>/dev/null')!.Parents,
      [records.find((r) => r.Description.startsWith('RUN --mount'))!.ID]);

    // buildx du's Total counts every record; its Private line and system df's SIZE leave out what images share.
    const total = records.reduce((n, r) => n + r.Size, 0);
    const own = records.filter((r) => !r.Shared).reduce((n, r) => n + r.Size, 0);
    assert.ok(own < total);
    const du = await buildxDu();
    assert.deepEqual(du.ids, records.map((r) => r.ID).sort());
    assert.equal(du.total, humanSize(total));
    assert.equal(du.private, humanSize(own));
    for (const cli of ['berth', 'docker'] as const) {
      const row = await dfRow(cli);
      assert.equal(row.total, records.length, cli);
      assert.equal(row.size, humanSize(own), cli);
    }
  });

  test('GET /system/df?type=build-cache answers the build cache alone; an unknown type is refused', async () => {
    const r = await d.request('GET', '/v1.50/system/df?type=build-cache');
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(Object.keys(JSON.parse(r.text) as object), ['BuildCache']);
    const bad = await d.request('GET', '/v1.50/system/df?type=bogus');
    assert.equal(bad.status, 400, bad.text);
    assert.match(bad.text, /unknown object type: bogus/);
  });

  test('berth builder prune deletes exactly those records; then all three views are empty', async () => {
    const before = (await apiRecords()).map((r) => r.ID).sort();
    const p = await d.berth(['builder', 'prune', '-af']);
    assert.equal(p.code, 0, p.stderr);
    const deleted = p.stdout.split('\n').filter((l) => /^([0-9a-f]{64}|cachemount-[0-9a-f]{64})$/.test(l)).sort();
    assert.deepEqual(deleted, before);
    assert.match(p.stdout, /Total reclaimed space: /);
    assert.deepEqual(await apiRecords(), []);
    assert.deepEqual((await buildxDu()).ids, []);
    assert.equal((await dfRow('berth')).total, 0);
    assert.equal((await dfRow('docker')).total, 0);
    // The tagged image stays.
    assert.equal((await d.docker(['run', '--rm', 'usage:1', 'cat', '/opt/f'])).stdout, 'made\n');
  });

  test('docker builder prune (buildx\'s, with buildx installed) and the classic POST /build/prune report the records buildx du listed', async () => {
    const b = await d.docker(['buildx', 'build', '--progress=plain', '-t', 'usage:2', '--load', '.'], { cwd: ctx });
    assert.equal(b.code, 0, b.stderr);
    const listed = (await buildxDu()).ids;
    assert.ok(listed.length >= 5, listed.join('\n'));
    const p = await d.docker(['builder', 'prune', '-af']);
    assert.equal(p.code, 0, p.stderr);
    assert.deepEqual(tableIds(p.stdout), listed);
    assert.deepEqual((await buildxDu()).ids, []);
    const again = await d.docker(['buildx', 'build', '--progress=plain', '-t', 'usage:3', '--load', '.'], { cwd: ctx });
    assert.equal(again.code, 0, again.stderr);
    const listed2 = (await buildxDu()).ids;
    const api = await d.request('POST', '/build/prune?all=1');
    assert.equal(api.status, 200, api.text);
    assert.deepEqual((JSON.parse(api.text) as { CachesDeleted: string[] }).CachesDeleted.sort(), listed2);
    assert.deepEqual(await apiRecords(), []);
  });
});
