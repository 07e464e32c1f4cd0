/**
 * `berth registry garbage-collect` on real storage roots: images pushed over
 * raw HTTP to berth's registry server, manifests deleted through the API, the
 * collection run as a user runs it (the CLI command line), and what is left
 * pulled back blob by blob. The lock tests run `berth registry serve` as a
 * process of its own, so that its pid is not ours and can die.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import { startRegistryServer } from '../../../src/registry/server/index.js';
import { runCli } from '../../../src/cli/run-cli.js';
import { berthBin } from '../../helpers/paths.js';
import { gzipLayer, indexOver, layeredImage, referrerOf, sha256, type LayeredImage } from './image-fixture.js';
import { run, tempDir } from './processes.js';

interface Reply {
  status: number;
  headers: Headers;
  body: Buffer;
}

async function request(base: string, method: string, p: string, body?: Buffer, headers: Record<string, string> = {}): Promise<Reply> {
  const res = await fetch(base + p, { method, body: body as RequestInit['body'], headers });
  return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
}

const errorCode = (r: Reply): string => (JSON.parse(r.body.toString()) as { errors: Array<{ code: string }> }).errors[0].code;

async function pushBlob(base: string, name: string, blob: Buffer): Promise<void> {
  const r = await request(base, 'POST', `/v2/${name}/blobs/uploads/?digest=${sha256(blob)}`, blob, { 'content-type': 'application/octet-stream' });
  assert.equal(r.status, 201, r.body.toString());
}

async function pushManifest(base: string, name: string, reference: string, m: { manifest: Buffer; mediaType: string }): Promise<void> {
  const r = await request(base, 'PUT', `/v2/${name}/manifests/${reference}`, m.manifest, { 'content-type': m.mediaType });
  assert.equal(r.status, 201, r.body.toString());
}

/** Blobs, then the manifest, by tag or (reference = its digest) untagged. */
async function pushImage(base: string, name: string, reference: string, img: LayeredImage): Promise<void> {
  for (const blob of [...img.layers, img.config]) await pushBlob(base, name, blob);
  await pushManifest(base, name, reference, img);
}

/** Pulls `reference` as a client would: the manifest, an index's manifests, and every blob, each checked against its digest. */
async function pullCompletely(base: string, name: string, reference: string): Promise<string[]> {
  const fetched: string[] = [];
  const r = await request(base, 'GET', `/v2/${name}/manifests/${reference}`, undefined, { accept: '*/*' });
  assert.equal(r.status, 200, `${name}:${reference}: ${r.body.toString()}`);
  const digest = r.headers.get('docker-content-digest')!;
  assert.equal(sha256(r.body), digest);
  fetched.push(digest);
  const doc = JSON.parse(r.body.toString()) as { manifests?: Array<{ digest: string }>; config?: { digest: string }; layers?: Array<{ digest: string }> };
  for (const child of doc.manifests ?? []) fetched.push(...await pullCompletely(base, name, child.digest));
  for (const desc of [...(doc.config ? [doc.config] : []), ...(doc.layers ?? [])]) {
    const blob = await request(base, 'GET', `/v2/${name}/blobs/${desc.digest}`);
    assert.equal(blob.status, 200, `${name} blob ${desc.digest}`);
    assert.equal(sha256(blob.body), desc.digest);
    fetched.push(desc.digest);
  }
  return fetched;
}

async function withServer<T>(root: string, fn: (base: string) => Promise<T>): Promise<T> {
  const reg = await startRegistryServer({ addr: '127.0.0.1:0', root });
  try {
    return await fn(reg.url);
  } finally {
    await reg.close();
  }
}

/** A berth command line run in this process, as `berth …` runs it. */
async function berth(args: string[]): Promise<{ status: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const sink = (append: (s: string) => void) => new Writable({
    write(chunk, _encoding, done) {
      append(String(chunk));
      done();
    },
  });
  const streams = { get in() { return process.stdin; }, out: sink((s) => { out += s; }), err: sink((s) => { err += s; }) };
  const status = await runCli(args, streams, {});
  return { status, out, err };
}

const eligibleBlobs = (out: string): string[] => [...out.matchAll(/^blob eligible for deletion: (sha256:[a-f0-9]{64})$/gm)].map((m) => m[1]);
const eligibleManifests = (out: string): string[] => [...out.matchAll(/^manifest eligible for deletion: (\S+)$/gm)].map((m) => m[1]);
const summary = (out: string): string => out.trimEnd().split('\n').at(-1)!;

const blobsDir = (root: string) => path.join(root, 'blobs', 'sha256');

async function storedBlobs(root: string): Promise<string[]> {
  return (await fs.readdir(blobsDir(root))).map((hex) => `sha256:${hex}`).sort();
}

async function links(root: string, name: string): Promise<string[]> {
  return (await fs.readdir(path.join(root, 'repositories', name, '_layers'))).map((hex) => `sha256:${hex}`).sort();
}

async function revisions(root: string, name: string): Promise<string[]> {
  return (await fs.readdir(path.join(root, 'repositories', name, '_manifests', 'revisions'))).map((hex) => `sha256:${hex}`).sort();
}

/** Every file and directory under `root` with its size: what "changes nothing" compares. */
async function snapshot(root: string): Promise<string[]> {
  const entries = await fs.readdir(root, { recursive: true });
  const out: string[] = [];
  for (const e of entries.sort()) {
    const st = await fs.stat(path.join(root, e));
    out.push(`${e} ${st.isDirectory() ? 'dir' : st.size}`);
  }
  return out;
}

/** `du -sb`: apparent bytes, what a user would check. */
async function duBytes(dir: string): Promise<number> {
  return Number((await run('du', ['-sb', dir])).stdout.split(/\s/)[0]);
}

const sizeOf = (...blobs: Buffer[]) => blobs.reduce((n, b) => n + b.length, 0);

describe('garbage-collect after a manifest DELETE', () => {
  const base = gzipLayer('base.txt', 'a base layer both images share\n');
  const a = layeredImage([base, gzipLayer('a.txt', 'only image a has this\n')], 'a');
  const b = layeredImage([base, gzipLayer('b.txt', 'only image b has this\n')], 'b', 'docker');
  const onlyA = [a.manifestDigest, sha256(a.config), sha256(a.layers[1])].sort();
  const onlyABytes = sizeOf(a.manifest, a.config, a.layers[1]);
  let root = '';
  let dryRunOut = '';

  before(async () => {
    root = await tempDir('registry-gc');
    await withServer(root, async (url) => {
      await pushImage(url, 'gc/app', 'a', a);
      await pushImage(url, 'gc/app', 'b', b);
      assert.equal((await request(url, 'DELETE', `/v2/gc/app/manifests/${a.manifestDigest}`)).status, 202);
    });
  });
  after(async () => {
    await fs.rm(root, { recursive: true, force: true });
  });

  test('--dry-run lists the blobs only the deleted image used and changes nothing', async () => {
    const before = await snapshot(root);
    const r = await berth(['registry', 'garbage-collect', '--root', root, '--dry-run']);
    assert.equal(r.status, 0, r.err);
    assert.deepEqual(eligibleBlobs(r.out), onlyA);
    assert.equal(summary(r.out), `4 blobs marked, 3 blobs eligible for deletion, ${onlyABytes} bytes would be freed`);
    assert.deepEqual(await snapshot(root), before);
    dryRunOut = r.out;
  });

  test('garbage-collect deletes exactly those blobs and their links, and du drops by the bytes it reports', async () => {
    const duBefore = await duBytes(blobsDir(root));
    const r = await berth(['registry', 'gc', '--storage', root]);
    assert.equal(r.status, 0, r.err);
    assert.deepEqual(eligibleBlobs(r.out), eligibleBlobs(dryRunOut), 'the same list as --dry-run');
    assert.equal(summary(r.out), `4 blobs marked, 3 blobs eligible for deletion, ${onlyABytes} bytes freed`);
    assert.equal(duBefore - (await duBytes(blobsDir(root))), onlyABytes);
    assert.deepEqual(await storedBlobs(root), [b.manifestDigest, sha256(b.config), sha256(base), sha256(b.layers[1])].sort());
    assert.deepEqual(await links(root, 'gc/app'), [sha256(b.config), sha256(base), sha256(b.layers[1])].sort());
    await assert.rejects(fs.stat(path.join(root, '_lock')), 'the lock is released');
  });

  test('the remaining image still pulls completely; the deleted one is gone', async () => {
    await withServer(root, async (url) => {
      const fetched = await pullCompletely(url, 'gc/app', 'b');
      assert.deepEqual(fetched.sort(), [b.manifestDigest, sha256(b.config), sha256(base), sha256(b.layers[1])].sort());
      const gone = await request(url, 'GET', `/v2/gc/app/blobs/${sha256(a.layers[1])}`);
      assert.equal(gone.status, 404);
      assert.equal(errorCode(gone), 'BLOB_UNKNOWN');
      assert.equal((await request(url, 'HEAD', `/v2/gc/app/manifests/${a.manifestDigest}`)).status, 404);
    });
  });

  test('a second collection finds nothing', async () => {
    const r = await berth(['registry', 'gc', '--root', root]);
    assert.equal(r.status, 0, r.err);
    assert.deepEqual(eligibleBlobs(r.out), []);
    assert.equal(summary(r.out), '4 blobs marked, 0 blobs eligible for deletion, 0 bytes freed');
  });
});

describe('garbage-collect --delete-untagged', () => {
  const base = gzipLayer('base.txt', 'shared by every image here\n');
  const x = layeredImage([base, gzipLayer('x.txt', 'x\n')], 'x');
  const y = layeredImage([base, gzipLayer('y.txt', 'y\n')], 'y');
  const index = indexOver([x, y]);
  const signature = referrerOf(x, 'signature of x');
  const dx = layeredImage([gzipLayer('dx.txt', 'docker child\n')], 'dx', 'docker');
  const list = indexOver([dx], 'docker');
  const untagged = layeredImage([gzipLayer('u.txt', 'pushed by digest only\n')], 'u');
  const untaggedSignature = referrerOf(untagged, 'signature of u');
  const detagged = layeredImage([base, gzipLayer('t.txt', 'its tag was deleted\n')], 't');
  const name = 'gc/multi';
  let root = '';

  before(async () => {
    root = await tempDir('registry-gc-untagged');
    await withServer(root, async (url) => {
      await pushImage(url, name, x.manifestDigest, x);
      await pushImage(url, name, y.manifestDigest, y);
      await pushManifest(url, name, 'multi', { manifest: index.index, mediaType: index.mediaType });
      for (const blob of [signature.config, signature.blob]) await pushBlob(url, name, blob);
      await pushManifest(url, name, signature.digest, signature);
      await pushImage(url, name, dx.manifestDigest, dx);
      await pushManifest(url, name, 'dlist', { manifest: list.index, mediaType: list.mediaType });
      await pushImage(url, name, untagged.manifestDigest, untagged);
      for (const blob of [untaggedSignature.config, untaggedSignature.blob]) await pushBlob(url, name, blob);
      await pushManifest(url, name, untaggedSignature.digest, untaggedSignature);
      await pushImage(url, name, 't', detagged);
      assert.equal((await request(url, 'DELETE', `/v2/${name}/manifests/t`)).status, 202);
    });
  });
  after(async () => {
    await fs.rm(root, { recursive: true, force: true });
  });

  test('without the flag every revision is live and nothing is deleted', async () => {
    const r = await berth(['registry', 'gc', '--root', root]);
    assert.equal(r.status, 0, r.err);
    assert.deepEqual(eligibleManifests(r.out), []);
    assert.match(summary(r.out), /^\d+ blobs marked, 0 blobs eligible for deletion, 0 bytes freed$/);
  });

  const dead = [untagged.manifestDigest, untaggedSignature.digest, detagged.manifestDigest];
  const deadBlobs = [
    untagged.manifestDigest, sha256(untagged.config), sha256(untagged.layers[0]),
    untaggedSignature.digest, sha256(untaggedSignature.blob),
    detagged.manifestDigest, sha256(detagged.config), sha256(detagged.layers[1]),
  ].sort();

  test('-m --dry-run names the untagged manifests and their blobs, and changes nothing', async () => {
    const before = await snapshot(root);
    const r = await berth(['registry', 'gc', '--root', root, '-m', '-d']);
    assert.equal(r.status, 0, r.err);
    assert.deepEqual(eligibleManifests(r.out), dead.map((d) => `${name}@${d}`).sort());
    assert.deepEqual(eligibleBlobs(r.out), deadBlobs);
    assert.match(summary(r.out), / 8 blobs eligible for deletion, \d+ bytes would be freed$/);
    assert.deepEqual(await snapshot(root), before);
  });

  test('--delete-untagged removes their revisions and blobs, and keeps an index\'s children and a live manifest\'s referrers', async () => {
    const r = await berth(['registry', 'gc', '--root', root, '--delete-untagged']);
    assert.equal(r.status, 0, r.err);
    assert.deepEqual(eligibleBlobs(r.out), deadBlobs);
    const expectedBytes = sizeOf(untagged.manifest, untagged.config, untagged.layers[0], untaggedSignature.manifest, untaggedSignature.blob,
      detagged.manifest, detagged.config, detagged.layers[1]);
    assert.match(summary(r.out), new RegExp(`, 8 blobs eligible for deletion, ${expectedBytes} bytes freed$`));
    assert.deepEqual(await revisions(root, name), [x.manifestDigest, y.manifestDigest, index.digest, signature.digest, dx.manifestDigest, list.digest].sort());
    for (const d of deadBlobs) assert.ok(!(await storedBlobs(root)).includes(d), `${d} deleted`);
    assert.ok((await storedBlobs(root)).includes(sha256(signature.config)), 'the empty config both signatures share stays');

    await withServer(root, async (url) => {
      const fetched = await pullCompletely(url, name, 'multi');
      for (const d of [index.digest, x.manifestDigest, y.manifestDigest, sha256(base), sha256(x.layers[1]), sha256(y.layers[1])]) assert.ok(fetched.includes(d), d);
      await pullCompletely(url, name, 'dlist');
      await pullCompletely(url, name, signature.digest);
      const referrers = await request(url, 'GET', `/v2/${name}/referrers/${x.manifestDigest}`);
      assert.deepEqual((JSON.parse(referrers.body.toString()) as { manifests: Array<{ digest: string }> }).manifests.map((m) => m.digest), [signature.digest]);
      for (const d of dead) {
        const head = await request(url, 'GET', `/v2/${name}/manifests/${d}`);
        assert.equal(head.status, 404, d);
        assert.equal(errorCode(head), 'MANIFEST_UNKNOWN');
      }
    });
  });
});

describe('garbage-collect never deletes on doubt', () => {
  let root = '';
  after(async () => {
    await fs.rm(root, { recursive: true, force: true });
  });

  test('an unreadable manifest keeps its whole repository; other repositories are still collected', async () => {
    root = await tempDir('registry-gc-doubt');
    const kept = layeredImage([gzipLayer('k.txt', 'kept\n')], 'k');
    const orphanKept = Buffer.from('uploaded to gc/kept, referenced by nothing');
    const missing = layeredImage([gzipLayer('m.txt', 'its manifest blob goes missing\n')], 'm');
    const orphanClean = Buffer.from('uploaded to gc/clean, referenced by nothing');
    await withServer(root, async (url) => {
      await pushImage(url, 'gc/kept', kept.manifestDigest, kept);
      await pushBlob(url, 'gc/kept', orphanKept);
      await pushImage(url, 'gc/missing', missing.manifestDigest, missing);
      await pushBlob(url, 'gc/clean', orphanClean);
    });
    // What no PUT would accept, planted the way a damaged disk or a foreign tool could leave it.
    const garbled = Buffer.from('{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json", "config": ');
    await fs.writeFile(path.join(blobsDir(root), sha256(garbled).slice(7)), garbled);
    await fs.writeFile(path.join(root, 'repositories', 'gc', 'kept', '_manifests', 'revisions', sha256(garbled).slice(7)),
      JSON.stringify({ digest: sha256(garbled), mediaType: 'application/vnd.oci.image.manifest.v1+json', size: garbled.length }));
    await fs.rm(path.join(blobsDir(root), missing.manifestDigest.slice(7)));

    const r = await berth(['registry', 'gc', '--root', root, '--delete-untagged']);
    assert.equal(r.status, 0, r.err);
    assert.match(r.err, new RegExp(`gc/kept@${sha256(garbled)} cannot be read \\(.*\\): keeping every manifest and blob of gc/kept`));
    assert.match(r.err, new RegExp(`gc/missing@${missing.manifestDigest} cannot be read \\(its blob is missing\\)`));
    assert.deepEqual(eligibleManifests(r.out), []);
    assert.deepEqual(eligibleBlobs(r.out), [sha256(orphanClean)]);
    for (const d of [kept.manifestDigest, sha256(kept.config), sha256(kept.layers[0]), sha256(orphanKept), sha256(garbled), sha256(missing.config), sha256(missing.layers[0])]) {
      assert.ok((await storedBlobs(root)).includes(d), `${d} kept`);
    }
    assert.deepEqual(await revisions(root, 'gc/kept'), [kept.manifestDigest, sha256(garbled)].sort());
    assert.deepEqual(await links(root, 'gc/clean'), []);
  });
});

describe('states an interrupted collection can leave are 404s, never a 200 without content', () => {
  let root = '';
  after(async () => {
    await fs.rm(root, { recursive: true, force: true });
  });

  test('a linked blob whose file is gone is BLOB_UNKNOWN; a revision whose manifest blob is gone is MANIFEST_UNKNOWN', async () => {
    root = await tempDir('registry-gc-states');
    const img = layeredImage([gzipLayer('s.txt', 'states\n')], 's');
    await withServer(root, async (url) => {
      await pushImage(url, 'gc/states', 'v1', img);
      await fs.rm(path.join(blobsDir(root), sha256(img.layers[0]).slice(7)));
      for (const method of ['GET', 'HEAD']) {
        const r = await request(url, method, `/v2/gc/states/blobs/${sha256(img.layers[0])}`);
        assert.equal(r.status, 404, method);
        if (method === 'GET') assert.equal(errorCode(r), 'BLOB_UNKNOWN');
      }
      await fs.rm(path.join(blobsDir(root), img.manifestDigest.slice(7)));
      for (const method of ['GET', 'HEAD']) {
        for (const ref of ['v1', img.manifestDigest]) {
          const r = await request(url, method, `/v2/gc/states/manifests/${ref}`);
          assert.equal(r.status, 404, `${method} ${ref}`);
          if (method === 'GET') assert.equal(errorCode(r), 'MANIFEST_UNKNOWN');
        }
      }
    });
  });
});

describe('an interrupted collection', () => {
  let root = '';
  let immutable = '';
  after(async () => {
    if (immutable) await run('chattr', ['-i', immutable]).catch(() => undefined);
    await fs.rm(root, { recursive: true, force: true });
  });

  test('leaves no link to missing content, and the next collection finishes the job', async (t) => {
    root = await tempDir('registry-gc-interrupted');
    const img = layeredImage([gzipLayer('i.txt', 'in two repositories\n')], 'i');
    await withServer(root, async (url) => {
      for (const name of ['gc/one', 'gc/two']) {
        await pushImage(url, name, 'v1', img);
        assert.equal((await request(url, 'DELETE', `/v2/${name}/manifests/${img.manifestDigest}`)).status, 202);
      }
    });
    // An unlink that fails (EPERM on an immutable file) stops the sweep the way a crash would, at a link.
    const link = path.join(root, 'repositories', 'gc', 'two', '_layers', sha256(img.layers[0]).slice(7));
    try {
      await run('chattr', ['+i', link]);
    } catch (err) {
      t.skip(`chattr +i does not work here: ${(err as Error).message}`);
      return;
    }
    immutable = link;
    const failed = await berth(['registry', 'gc', '--root', root]);
    assert.equal(failed.status, 1);
    assert.match(failed.err, /EPERM/);
    await assert.rejects(fs.stat(path.join(root, '_lock')), 'the lock is released on failure too');
    const stored = await storedBlobs(root);
    for (const name of ['gc/one', 'gc/two']) {
      for (const d of await links(root, name)) assert.ok(stored.includes(d), `${name} links ${d}, which must still be stored`);
    }

    await run('chattr', ['-i', link]);
    immutable = '';
    const done = await berth(['registry', 'gc', '--root', root]);
    assert.equal(done.status, 0, done.err);
    assert.deepEqual(await storedBlobs(root), []);
    assert.deepEqual([...await links(root, 'gc/one'), ...await links(root, 'gc/two')], []);
  });
});

/** `berth registry serve` as a process of its own, once it listens. */
async function serveProcess(root: string): Promise<{ child: ChildProcess; url: string; stderr: () => string }> {
  const child = spawn(berthBin, ['registry', 'serve', '--addr', '127.0.0.1:0', '--root', root], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (d) => { stderr += String(d); });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`registry serve did not start: ${stderr}`)), 30_000);
    child.stdout!.on('data', (d) => {
      stdout += String(d);
      const m = /listening on (\S+)/.exec(stdout);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`registry serve exited (${code}): ${stderr}`));
    });
  });
  return { child, url, stderr: () => stderr };
}

async function stop(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill(signal);
  await exited;
}

describe('one process per storage root', () => {
  let root = '';
  let server: ChildProcess | undefined;
  before(async () => {
    root = await tempDir('registry-gc-lock');
  });
  after(async () => {
    if (server) await stop(server, 'SIGKILL');
    await fs.rm(root, { recursive: true, force: true });
  });

  test('garbage-collect refuses while registry serve holds the root, naming its pid, and runs once it stops', async () => {
    const s = await serveProcess(root);
    server = s.child;
    const pid = s.child.pid!;
    assert.equal((await fs.readFile(path.join(root, '_lock'), 'utf8')).split('\n')[0], String(pid));

    const refused = await berth(['registry', 'gc', '--root', root]);
    assert.equal(refused.status, 1);
    assert.equal(refused.out, '');
    assert.match(refused.err, new RegExp(`registry storage .* is in use by berth registry serve \\(pid ${pid}\\)`));
    await assert.rejects(startRegistryServer({ addr: '127.0.0.1:0', root }), new RegExp(`in use by berth registry serve \\(pid ${pid}\\)`));

    await stop(s.child, 'SIGTERM');
    assert.equal(s.child.exitCode, 0, s.stderr());
    await assert.rejects(fs.stat(path.join(root, '_lock')), 'serve releases the lock when it stops');
    const ran = await berth(['registry', 'gc', '--root', root]);
    assert.equal(ran.status, 0, ran.err);
    assert.equal(summary(ran.out), '0 blobs marked, 0 blobs eligible for deletion, 0 bytes freed');
  });

  test('the lock of a killed server is stale and taken over', async () => {
    const s = await serveProcess(root);
    server = s.child;
    await stop(s.child, 'SIGKILL');
    assert.equal((await fs.readFile(path.join(root, '_lock'), 'utf8')).split('\n')[0], String(s.child.pid));

    const r = await berth(['registry', 'gc', '--root', root]);
    assert.equal(r.status, 0, r.err);
    assert.match(r.err, new RegExp(`took over the lock of berth registry serve \\(pid ${s.child.pid}\\), which is no longer running`));
    await assert.rejects(fs.stat(path.join(root, '_lock')));
  });

  test('a second server on the same root is refused until the first one closes', async () => {
    const first = await startRegistryServer({ addr: '127.0.0.1:0', root });
    try {
      await assert.rejects(startRegistryServer({ addr: '127.0.0.1:0', root }), new RegExp(`in use by berth registry serve \\(pid ${process.pid}\\)`));
    } finally {
      await first.close();
    }
    const second = await startRegistryServer({ addr: '127.0.0.1:0', root });
    await second.close();
  });

  test('a live pid with another start time is a reused pid: its lock is stale; a live pid without one is not', async () => {
    const lock = path.join(root, '_lock');
    await fs.writeFile(lock, `${process.pid}\nregistry serve\nstart-time=1\n`);
    const taken = await berth(['registry', 'gc', '--root', root]);
    assert.equal(taken.status, 0, taken.err);
    assert.match(taken.err, new RegExp(`took over the lock of berth registry serve \\(pid ${process.pid}\\)`));

    await fs.writeFile(lock, '1\nregistry serve\n');
    try {
      const refused = await berth(['registry', 'gc', '--root', root]);
      assert.equal(refused.status, 1);
      assert.match(refused.err, /in use by berth registry serve \(pid 1\)/);
      await fs.writeFile(lock, '4242\nregistry serve\npid-namespace=pid:[1]\n');
      const elsewhere = await berth(['registry', 'gc', '--root', root]);
      assert.equal(elsewhere.status, 1);
      assert.match(elsewhere.err, /pid 4242\) of another pid namespace; remove .*_lock if it no longer runs/);
    } finally {
      await fs.rm(lock, { force: true });
    }
  });

  test('garbage-collect of a directory that is no registry storage fails and creates nothing', async () => {
    const r = await berth(['registry', 'gc', '--root', path.join(root, 'nowhere')]);
    assert.equal(r.status, 1);
    assert.match(r.err, /no registry storage at .*nowhere/);
    await assert.rejects(fs.stat(path.join(root, 'nowhere')));
  });
});
