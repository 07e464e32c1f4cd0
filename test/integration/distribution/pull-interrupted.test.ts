/**
 * Issue 3, acceptance 3 (second half): a pull killed half way leaves no
 * image, layer, blob or temporary file behind.
 *
 * The image is busybox plus two layers of its own: a small one and an 8 MiB
 * one of random bytes. It is pushed to Debian's docker-registry and pulled
 * through a proxy that trickles large blobs out at 512 KiB/s, so the small
 * layer is already downloaded (its blob committed) when the big one is
 * reliably half way.
 *
 * - The client goes away (`berth pull` gets SIGINT, `docker pull` SIGKILL):
 *   dockerd cancels a pull when its client disconnects (the request's
 *   context), so berthd must stop downloading — the proxy sees it hang up
 *   long before the last byte — and undo the pull; also when the client
 *   goes while berthd still waits for the registry to answer.
 * - berthd itself is killed -9: the partial download stays in tmp/ until
 *   the restart sweeps it with every blob the half pull committed; then the
 *   same pull succeeds and the image runs.
 * - One layer fails verification while another is half way: the pull fails
 *   with the verification error and stops the other download before it
 *   cleans up, so nothing is committed after the clean-up.
 * - The connection breaks off mid-blob: the download is taken up from the
 *   byte it got to (Range), the image is whole; a blob that keeps breaking
 *   off fails the pull after four resumes, leaving nothing.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { startDaemon, skipUnlessRoot, skipWithoutDocker, waitFor, withTimeout, type CommandLine, type Daemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';
import { startDockerRegistry, type DockerRegistry } from '../../helpers/docker-registry.js';
import { startThrottlingProxy, type ThrottlingProxy, type Transfer } from '../../helpers/throttling-proxy.js';
import { createContainer, logs, remove, start, waitExit } from '../engine/api.js';

const BIG = 8 << 20;
const RATE = 512 << 10;
/** The kill lands once this much of the big layer went out: well inside it, however fast the machine. */
const HALF_WAY = 1 << 20;

interface DataRootState { images: string[]; layers: string[]; blobs: string[]; tmp: string[] }

/** What a pull can leave behind: images (`images -a`), layer dirs, blobs, temporary files. */
async function state(d: Daemon): Promise<DataRootState> {
  const list = async (p: string) => (await readdir(join(d.dataRoot, p)).catch(() => [] as string[])).sort();
  const images = (await d.request('GET', '/images/json?all=1')).json<Array<{ Id: string }>>().map((i) => i.Id).sort();
  return { images, layers: await list('layers'), blobs: await list('blobs/sha256'), tmp: await list('tmp') };
}

/** Starts a CLI process from a Daemon command line; its output is kept for failure messages. */
function spawnCli(c: CommandLine): { child: ChildProcess; output: () => string; exited: Promise<void> } {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const [k, v] of Object.entries(c.env)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  const child = spawn(c.argv[0], c.argv.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (b: Buffer) => { out += b.toString(); });
  child.stderr!.on('data', (b: Buffer) => { out += b.toString(); });
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  return { child, output: () => out, exited };
}

function skipWithoutRegistry(): string | false {
  return existsSync('/usr/bin/docker-registry') ? false : 'needs docker-registry (Debian package docker-registry)';
}

describe('a pull killed half way leaves nothing behind', { skip: skipUnlessRoot() || skipWithoutRegistry() }, () => {
  let d!: Daemon;
  let dir = '';
  let registry: DockerRegistry | undefined;
  let proxy: ThrottlingProxy | undefined;
  let ref = '';
  let baseline!: DataRootState;

  before(async () => {
    dir = await mkdtemp('/tmp/berth-test-pullkill-');
    registry = await startDockerRegistry(dir);
    proxy = await startThrottlingProxy(registry.url, { bytesPerSecond: RATE });
    d = await startDaemon();
    await importBusybox(d);

    // busybox + a small layer + a big one, pushed straight to the registry, then forgotten here.
    const pushed = `${registry.host}/slow/big`;
    const small = await createContainer(d, { Cmd: ['sh', '-c', 'echo small-$RANDOM > /small'] });
    await start(d, small);
    assert.equal(await waitExit(d, small), 0);
    const commit1 = await d.request('POST', `/commit?container=${small}`);
    assert.equal(commit1.status, 201, commit1.text);
    const middle = commit1.json().Id as string;
    await remove(d, small);
    const big = await createContainer(d, { Image: middle, Cmd: ['sh', '-c', `head -c ${BIG} /dev/urandom > /big`] });
    await start(d, big);
    assert.equal(await waitExit(d, big), 0);
    const commit2 = await d.request('POST', `/commit?container=${big}&repo=${pushed}&tag=1`);
    assert.equal(commit2.status, 201, commit2.text);
    await remove(d, big);
    const push = await d.request('POST', `/images/${pushed}/push?tag=1`, undefined, { timeoutMs: 120_000 });
    assert.ok(!push.text.includes('"error"'), push.text);
    // rmi takes the untagged parent (the first commit) with it, as dockerd's does.
    assert.equal((await d.request('DELETE', `/images/${pushed}:1`)).status, 200);
    assert.equal((await d.request('GET', `/images/${middle}/json`)).status, 404);

    ref = `${proxy.host}/slow/big:1`;
    baseline = await state(d);
    assert.equal(baseline.images.length, 1, 'only busybox before the pulls');
  }, { timeout: 180_000 });

  after(async () => {
    await d?.stop();
    await proxy?.close();
    await registry?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** The big layer's transfer that starts after `from` transfers, once `HALF_WAY` bytes of it went out. */
  const halfWay = (from: number): Promise<Transfer> =>
    waitFor(() => { const t = proxy!.transfers[from]; return t && t.sent >= HALF_WAY ? t : undefined; }, 60_000, 'the big layer to be half downloaded');

  /** busybox's, the small and the big layer's digests, as the registry has them. */
  const layerDigests = async (): Promise<string[]> => {
    const res = await fetch(`${registry!.url}/v2/slow/big/manifests/1`, {
      headers: { accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json' },
    });
    const layers = ((await res.json()) as { layers: Array<{ digest: string }> }).layers.map((l) => l.digest);
    assert.equal(layers.length, 3);
    return layers;
  };

  /** Forgets the image if a test got as far as pulling it, so the next test starts from the baseline. */
  const forget = async () => { await d.request('DELETE', `/images/${ref}?force=1`).catch(() => undefined); };

  async function killClientMidPull(command: CommandLine, signal: NodeJS.Signals): Promise<void> {
    const from = proxy!.transfers.length;
    const cli = spawnCli(command);
    try {
      const t = await halfWay(from).catch((e: Error) => { throw new Error(`${e.message}\n--- client output:\n${cli.output()}`); });
      cli.child.kill(signal);
      await cli.exited;
      // berthd hangs up on the registry: the rest of the layer is never fetched.
      await waitFor(() => t.abandoned, 10_000, 'berthd to stop downloading the big layer');
      assert.equal(t.finished, false);
      assert.ok(t.sent < t.total, `${t.sent} of ${t.total} bytes went out`);
      await waitFor(async () => JSON.stringify(await state(d)) === JSON.stringify(baseline), 10_000, 'berthd to undo the pull')
        .catch(async (e: Error) => { assert.deepEqual(await state(d), baseline, e.message); });
    } finally {
      if (cli.child.exitCode === null && cli.child.signalCode === null) cli.child.kill('SIGKILL');
      await cli.exited;
      await forget();
    }
  }

  test('berth pull interrupted with SIGINT: berthd aborts the pull and keeps no image, layer, blob or temp file', async () => {
    await killClientMidPull(d.berthCommand(['pull', ref]), 'SIGINT');
  });

  test('docker pull killed with SIGKILL: berthd aborts the pull and keeps no image, layer, blob or temp file', { skip: skipWithoutDocker() }, async () => {
    await killClientMidPull(d.dockerCommand(['pull', ref]), 'SIGKILL');
  });

  test('berth pull interrupted while berthd waits for the registry to answer: the request is dropped and nothing is kept', async () => {
    const big = (await layerDigests())[2];
    const held = proxy!.hold(big);
    const from = proxy!.transfers.length;
    const cli = spawnCli(d.berthCommand(['pull', ref]));
    try {
      await withTimeout(held.arrived, 30_000, `berthd to ask for the big layer; client output:\n${cli.output()}`);
      cli.child.kill('SIGINT');
      await cli.exited;
      await withTimeout(held.abandoned, 10_000, 'berthd to drop its request for the big layer');
      // The registry answers only now, to nobody: no download starts.
      held.release();
      await waitFor(async () => JSON.stringify(await state(d)) === JSON.stringify(baseline), 10_000, 'berthd to undo the pull')
        .catch(async (e: Error) => { assert.deepEqual(await state(d), baseline, e.message); });
      assert.equal(proxy!.transfers.length, from, 'no transfer of the big layer');
    } finally {
      held.release();
      if (cli.child.exitCode === null && cli.child.signalCode === null) cli.child.kill('SIGKILL');
      await cli.exited;
      await forget();
    }
  });

  test('a layer that fails verification stops the download still running and the pull leaves nothing', async () => {
    const small = (await layerDigests())[1];
    // The small layer arrives, corrupted, only once the big one is half way.
    proxy!.corrupt.add(small);
    const held = proxy!.hold(small);
    const from = proxy!.transfers.length;
    try {
      const pulling = d.request('POST', `/images/create?fromImage=${proxy!.host}/slow/big&tag=1`, undefined, { timeoutMs: 60_000 });
      const t = await halfWay(from);
      held.release();
      const pull = await pulling;
      const err = pull.text.split(/\r?\n/).filter(Boolean).map((l) => JSON.parse(l)).find((m) => m.error);
      assert.ok(err, pull.text);
      assert.match(err.error, new RegExp(`failed to verify layer ${small}: .*digest mismatch`));
      await waitFor(() => t.abandoned, 10_000, 'berthd to stop downloading the big layer');
      assert.equal(t.finished, false);
      await waitFor(async () => JSON.stringify(await state(d)) === JSON.stringify(baseline), 10_000, 'berthd to undo the pull')
        .catch(async (e: Error) => { assert.deepEqual(await state(d), baseline, e.message); });
    } finally {
      held.release();
      proxy!.corrupt.delete(small);
      await forget();
    }
  });

  test('a connection that breaks off half way is taken up from where it broke (Range) and the image is whole', async () => {
    const big = (await layerDigests())[2];
    const CUT = 3 << 20;
    proxy!.setRate(0);
    try {
      proxy!.cut(big, CUT, 2);
      const r = await d.berth(['pull', ref], { timeoutMs: 60_000 });
      assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
      assert.match(r.stdout, new RegExp(`${big.slice(7, 19)}: Retrying in \\d+ seconds?`));
      // Each resume asks from the byte berthd got to: at most what the proxy sent before the break
      // (bytes still in flight when a connection is reset are lost), never starting over.
      const [first, second, third] = (proxy!.ranges.get(big) ?? []).slice(-3);
      assert.equal(first, '');
      const offsets = [second, third].map((r) => Number(/^bytes=(\d+)-$/.exec(r ?? '')?.[1]));
      assert.ok(offsets[0] > 0 && offsets[0] <= CUT, `first resume at ${second}`);
      assert.ok(offsets[1] > offsets[0] && offsets[1] <= offsets[0] + CUT, `second resume at ${third}`);
      const id = await createContainer(d, { Image: ref, Cmd: ['sh', '-c', 'wc -c < /big; cat /small'] });
      try {
        await start(d, id);
        assert.equal(await waitExit(d, id), 0);
        assert.match(await logs(d, id), new RegExp(`^${BIG}\nsmall-\\d+\n$`));
      } finally {
        await remove(d, id);
      }
    } finally {
      proxy!.setRate(RATE);
      await forget();
    }
  });

  test('a blob that keeps breaking off fails the pull once the resumes are used up, and nothing is kept', async () => {
    const big = (await layerDigests())[2];
    proxy!.setRate(0);
    try {
      proxy!.cut(big, 1 << 20, 5); // the first request and four resumes
      const r = await d.berth(['pull', ref], { timeoutMs: 60_000 });
      assert.notEqual(r.code, 0, r.stdout);
      assert.match(r.stderr, /blobs\/sha256:[0-9a-f]{64}: aborted/);
      assert.equal((r.stdout.match(/Retrying in/g) ?? []).length, 4);
      await waitFor(async () => JSON.stringify(await state(d)) === JSON.stringify(baseline), 10_000, 'berthd to undo the pull')
        .catch(async (e: Error) => { assert.deepEqual(await state(d), baseline, e.message); });
    } finally {
      proxy!.setRate(RATE);
      await forget();
    }
  });

  test('berthd killed -9 mid-pull: the restart sweeps the partial state and the same pull then succeeds', async () => {
    const from = proxy!.transfers.length;
    const res = await d.requestStream('POST', `/images/create?fromImage=${proxy!.host}/slow/big&tag=1`, undefined, { timeoutMs: 120_000 });
    res.on('error', () => undefined);
    res.resume();
    let c: string | undefined;
    try {
      await halfWay(from);
      await d.kill9();
      const dead = await state(d).catch(() => undefined);
      assert.equal(dead, undefined, 'berthd is gone');
      const tmp = await readdir(join(d.dataRoot, 'tmp'));
      assert.ok(tmp.length > 0, 'the kill landed mid-download: a partial blob is in tmp/');

      await d.restart();
      assert.deepEqual(await state(d), baseline, 'no image, layer, blob or temp file of the half pull');

      proxy!.setRate(0);
      const pull = await d.request('POST', `/images/create?fromImage=${proxy!.host}/slow/big&tag=1`, undefined, { timeoutMs: 120_000 });
      assert.equal(pull.status, 200, pull.text);
      assert.ok(!pull.text.includes('"error"'), pull.text);
      assert.match(pull.text, /Downloaded newer image/);
      c = await createContainer(d, { Image: ref, Cmd: ['sh', '-c', 'cat /small; wc -c < /big'] });
      await start(d, c);
      assert.equal(await waitExit(d, c), 0);
      assert.match(await logs(d, c), new RegExp(`^small-\\d+\\n\\s*${BIG}\\n$`));
    } finally {
      proxy!.setRate(RATE);
      res.destroy();
      if (c) await remove(d, c);
      await forget();
    }
  });
});
