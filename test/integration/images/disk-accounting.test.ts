/**
 * Issue 3, acceptance 7: after pulling, building and removing a mix of
 * images, `system df` (reclaimable), `image prune -a --dry-run` and the
 * bytes `image prune -a` reports freeing all agree, within 1%, with how
 * much `du -sb` of the data root shrinks. Also: what stays (images in use,
 * their bases) still runs, and `images --tree` draws the layer tree.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { startDaemon, skipUnlessRoot, type Daemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';
import { startDockerRegistry, type DockerRegistry } from '../../helpers/docker-registry.js';

const UNITS: Record<string, number> = { B: 1, kB: 1e3, MB: 1e6, GB: 1e9 };

/** Bytes from Docker's human size (`12.35MB`, `(30%)` suffix ignored). */
function bytesOf(text: string): number {
  const m = /([\d.]+)\s*(B|kB|MB|GB)\b/.exec(text);
  assert.ok(m, `no size in ${JSON.stringify(text)}`);
  return Number(m[1]) * UNITS[m[2]];
}

function duBytes(dir: string): number {
  return Number(execFileSync('du', ['-sb', dir], { encoding: 'utf8' }).split('\t')[0]);
}

function within1pct(actual: number, expected: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= expected * 0.01, `${what}: ${actual} bytes, du says ${expected} (off by ${(((actual - expected) / expected) * 100).toFixed(2)}%)`);
}

describe('disk accounting: system df, prune --dry-run, prune and du agree', { skip: skipUnlessRoot() }, () => {
  let d!: Daemon;
  let dir!: string;
  let registry: DockerRegistry | undefined;

  async function berth(args: string[]): Promise<string> {
    const r = await d.berth(args, { timeoutMs: 120_000 });
    assert.equal(r.code, 0, `berth ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  }

  async function build(tag: string, dockerfile: string, files: Record<string, Buffer> = {}): Promise<void> {
    const ctx = join(dir, tag.replace(/[/:]/g, '_'));
    await mkdir(ctx, { recursive: true });
    await writeFile(join(ctx, 'Dockerfile'), dockerfile);
    for (const [name, bytes] of Object.entries(files)) await writeFile(join(ctx, name), bytes);
    await berth(['build', '-q', '-t', tag, ctx]);
  }

  before(async () => {
    dir = await mkdtemp('/tmp/berth-test-du-');
    await mkdir(join(dir, 'registry'));
    registry = await startDockerRegistry(join(dir, 'registry'));
    d = await startDaemon();
    await importBusybox(d);
  }, { timeout: 120_000 });

  after(async () => {
    await registry?.stop();
    await d?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('a mix of pulled, built and removed images: df, dry run, prune and du agree within 1%', { timeout: 300_000 }, async () => {
    // Built: app1 (kept: a container uses it), app3 on top of app1 (removed: its layers become garbage).
    await build('app1', 'FROM busybox\nRUN head -c 6000000 /dev/urandom > /big1\nCOPY data1 /data1\n', { data1: randomBytes(400_000) });
    await build('app3', 'FROM app1\nRUN head -c 4000000 /dev/urandom > /big3 && mkdir -p /d/e/f && echo x > /d/e/f/g\nENV X=1\n');
    // Pulled: app2 goes to the registry and comes back, so it has a manifest and a pulled blob.
    await build('app2', 'FROM busybox\nRUN head -c 4000000 /dev/urandom > /big2\n');
    const remote = `${registry!.host}/acct/app2:1`;
    await berth(['tag', 'app2', remote]);
    await berth(['push', remote]);
    await berth(['rmi', 'app2', remote]);
    await berth(['pull', remote]);
    // Removed: app3's tag goes; its image and the intermediate ones under it are now unused.
    await berth(['rmi', 'app3']);
    // A tagged image nothing uses, sharing busybox's layer: its own layer is reclaimable, the base is not.
    await build('app4', 'FROM busybox\nRUN echo four > /four\n');
    const ctr = (await berth(['create', 'app1', 'sh', '-c', 'wc -c < /data1'])).trim();

    const before = duBytes(d.dataRoot);
    const dfOut = await berth(['system', 'df']);
    const imagesLine = dfOut.split('\n').find((l) => l.startsWith('Images'));
    assert.ok(imagesLine, dfOut);
    const dfReclaimable = bytesOf(imagesLine.split(/\s{2,}/)[4]);
    const dryOut = await berth(['image', 'prune', '-a', '--dry-run']);
    assert.match(dryOut, /Images that would be deleted:/);
    assert.match(dryOut, /untagged: app4:latest/);
    const dryRun = bytesOf(/Total space that would be reclaimed: (.*)/.exec(dryOut)![1]);
    const dryApi = (await d.request('GET', '/images/prune?filters=' + encodeURIComponent('{"dangling":["false"]}'))).json() as { SpaceReclaimed: number };
    assert.equal(duBytes(d.dataRoot), before, 'a dry run changes nothing on disk');

    const pruneOut = await berth(['image', 'prune', '-a', '-f']);
    const freed = bytesOf(/Total reclaimed space: (.*)/.exec(pruneOut)![1]);
    const after = duBytes(d.dataRoot);
    const duFreed = before - after;
    assert.ok(duFreed > 3_000_000, `prune should free the removed images' layers (du shrank by ${duFreed})`);
    within1pct(dryApi.SpaceReclaimed, duFreed, 'GET /images/prune (dry run)');
    within1pct(dryRun, duFreed, 'image prune -a --dry-run');
    within1pct(dfReclaimable, duFreed, 'system df reclaimable');
    within1pct(freed, duFreed, 'image prune -a (reclaimed)');

    // What a container uses stays and runs; nothing else is left to prune.
    const images = await berth(['images', '--format', '{{.Repository}}']);
    assert.deepEqual(images.trim().split('\n').sort(), ['app1', 'busybox']);
    assert.equal((await berth(['start', '-a', ctr])).trim(), '400000');
    const again = await berth(['image', 'prune', '-a', '--dry-run']);
    assert.match(again, /Total space that would be reclaimed: 0B/);
    await berth(['rm', ctr]);
  });

  test('images --tree draws layers under their parents with the images on them', async () => {
    await build('tree-a', 'FROM busybox\nRUN echo a > /a\n');
    await build('tree-b', 'FROM tree-a\nRUN echo b > /b\n');
    await build('tree-c', 'FROM busybox\nRUN echo c > /c\n');
    const out = await berth(['images', '--tree']);
    const lines = out.trimEnd().split('\n');
    const at = (tag: string) => lines.findIndex((l) => l.includes(`Tags: ${tag}`) || l.includes(`, ${tag}`));
    const depth = (i: number) => lines[i].indexOf('─') >> 1;
    const base = at('busybox:latest');
    assert.ok(base >= 0, out);
    assert.equal(depth(at('tree-a:latest')), depth(base) + 1, out);
    assert.equal(depth(at('tree-b:latest')), depth(base) + 2, out);
    assert.equal(depth(at('tree-c:latest')), depth(base) + 1, out);
    assert.ok(at('tree-a:latest') < at('tree-b:latest'), out);
    assert.match(lines[base], /^└─[0-9a-f]{12} Size: \S+ Virtual Size: \S+ Tags: busybox:latest$/);
    // A filter keeps only the branches that lead to what it selects.
    const only = await berth(['images', '--tree', 'tree-b']);
    assert.doesNotMatch(only, /tree-c/);
    assert.match(only, /Tags: tree-b:latest/);
    assert.equal(only.trimEnd().split('\n').length, 3, only);
    const json = JSON.parse(await berth(['images', '--tree', '--format', 'json'])) as { Layers: { ChainID: string; Parent: string }[] };
    assert.ok(json.Layers.some((l) => l.Parent === ''));
    for (const t of ['tree-a', 'tree-b', 'tree-c']) await berth(['rmi', t]);
  });
});
