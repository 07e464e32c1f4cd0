/**
 * Issue 9, item 4: a client that goes away never takes berthd down, and
 * leaves nothing behind.
 *
 * Every upload (import, load, build context, archive PUT) is started over
 * the unix socket with a raw `http.request` and cut off: after the headers
 * only, after 64 KiB of a tar of a few MiB, in the middle of a gzip stream.
 * A build is also dropped while its RUN step runs, a push and a pull while
 * their progress streams, and every download (save, export, archive GET,
 * logs --follow, attach plain and hijacked, events, stats) while its body
 * flows and the client has stopped reading. `docker import` is interrupted
 * through the real docker CLI, killed mid-upload.
 *
 * After each: berthd answers `/_ping` with the same pid, its tmp/ empties,
 * no image is half listed, and the same operation then succeeds. At the end
 * berthd's log has no "uncaught exception" or "unhandled rejection" line:
 * the backstop in daemon/main.ts was never needed, the causes are fixed.
 *
 * Sync points, never sleeps: berthd logs each request at debug level, and
 * the uploads that stage data in tmp/ are cut once their directory is there.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import http, { type IncomingMessage } from 'node:http';
import net from 'node:net';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import {
  startDaemon, skipUnlessRoot, skipWithoutDocker, waitFor, withTimeout, type Daemon,
} from '../../helpers/daemon.js';
import { busyboxTar, importBusybox } from '../../helpers/busybox.js';
import { startDockerRegistry, type DockerRegistry } from '../../helpers/docker-registry.js';
import { startThrottlingProxy, type ThrottlingProxy } from '../../helpers/throttling-proxy.js';
import { formatLeftovers, subtractLeftovers } from '../../helpers/host.js';
import { tarOf, writeContext } from '../build/build-helpers.js';
import { createContainer, remove, start } from '../engine/api.js';

const PART = 64 << 10;

describe('a client that goes away mid-request', { skip: skipUnlessRoot() }, () => {
  let d!: Daemon;
  let pid = 0;
  let work = '';
  let rootfsTar!: Buffer;
  let contextTar!: Buffer;
  let baseline: string[] = [];
  /** How much of berthd's log survived() has checked. */
  let logChecked = 0;
  /** A running container (archive PUT and GET, logs, attach, stats). */
  let running = '';

  const tmpEntries = async () => (await readdir(join(d.dataRoot, 'tmp')).catch(() => [] as string[])).sort();
  const imageIds = async () => (await d.request('GET', '/images/json?all=1')).json<Array<{ Id: string }>>().map((i) => i.Id).sort();

  /** How many times berthd logged `METHOD path…` (debug level: one line as each request starts). */
  const seen = (method: string, path: string) => d.logs().split('\n').filter((l) => l.startsWith(`${method} ${path}`)).length;

  /** Waits for berthd to have started on the next `method path` request. */
  const requestStarted = (method: string, path: string) => {
    const n = seen(method, path);
    return () => waitFor(() => seen(method, path) > n, 10_000, `berthd to take ${method} ${path}`);
  };
  /** …and for its staging directory (`prefix-…`) to appear in tmp/. */
  const staged = (prefix: string) => () => waitFor(async () => (await tmpEntries()).some((e) => e.startsWith(prefix)), 10_000, `a ${prefix}* directory in tmp/`);

  /**
   * Starts an upload, sends the first `bytes` of `body` (0: the headers only),
   * waits for `ready`, then destroys the socket.
   */
  async function dropUpload(method: string, path: string, body: Buffer, bytes: number, ready: () => Promise<unknown>): Promise<void> {
    const started = requestStarted(method, path.split('?')[0]);
    const req = http.request({
      socketPath: d.socket, method, path, agent: false,
      headers: { Host: 'berth', 'Content-Type': 'application/x-tar', 'Transfer-Encoding': 'chunked' },
    });
    req.on('error', () => undefined);
    req.on('response', (res) => { res.on('error', () => undefined); res.resume(); });
    try {
      if (bytes === 0) req.flushHeaders();
      else await new Promise<void>((resolve, reject) => req.write(body.subarray(0, bytes), (e) => (e ? reject(e) : resolve())));
      await started();
      await ready();
    } finally {
      req.destroy();
    }
  }

  /** berthd is alive (same process, answering), its tmp/ empties, and no image appeared or went. */
  async function survived(what: string): Promise<void> {
    const ping = await d.request('GET', '/_ping');
    assert.equal(ping.status, 200, `${what}: /_ping`);
    await waitFor(async () => (await tmpEntries()).length === 0, 15_000, `${what}: tmp/ to be empty`)
      .catch(async (e: Error) => assert.deepEqual(await tmpEntries(), [], e.message));
    assert.deepEqual(await imageIds(), baseline, `${what}: no image half listed`);
    assert.equal(d.pid, pid, `${what}: berthd is the same process`);
    const log = d.logs();
    assert.doesNotMatch(log.slice(logChecked), /Unhandled 'error' event|BUG: (uncaught exception|unhandled rejection)/, `${what}: berthd's log`);
    logChecked = log.length;
  }

  /** The JSON messages of a progress stream; fails on an error message. */
  function progressOk(text: string, what: string): Record<string, any>[] {
    const msgs = text.split(/\r?\n/).filter(Boolean).map((l) => JSON.parse(l) as Record<string, any>);
    const err = msgs.find((m) => m.error || m.errorDetail);
    assert.equal(err, undefined, `${what}: ${text.slice(0, 1000)}`);
    return msgs;
  }

  before(async () => {
    d = await startDaemon({ logLevel: 'debug' });
    pid = d.pid!;
    await importBusybox(d);
    work = await mkdtemp('/tmp/berth-test-vanish-');
    rootfsTar = await readFile(await busyboxTar());
    // A context of a few MiB: the cut lands well inside it.
    await writeContext(join(work, 'ctx'), {
      Dockerfile: 'FROM busybox\nCOPY big /big\n',
      big: randomBytes(3 << 20),
    });
    contextTar = await tarOf(join(work, 'ctx'));
    running = await createContainer(d, { Cmd: ['sh', '-c', 'while true; do echo tick; sleep 0.2; done'] });
    await start(d, running);
    baseline = await imageIds();
  }, { timeout: 120_000 });

  after(async () => {
    await d?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  describe('import (POST /images/create?fromSrc=-)', () => {
    const path = '/images/create?fromSrc=-&repo=vanish/import&tag=1';
    const importOk = async () => {
      const r = await d.request('POST', path, rootfsTar, { headers: { 'Content-Type': 'application/x-tar' } });
      assert.equal(r.status, 200, r.text);
      progressOk(r.text, 'import');
      assert.equal((await d.request('DELETE', '/images/vanish/import:1')).status, 200);
    };

    test('cut after 64 KiB of the tar: berthd survives, removes its staging, and the same import then succeeds', async () => {
      await dropUpload('POST', path, rootfsTar, PART, staged('layer-'));
      await survived('import cut mid-tar');
      await importOk();
    });

    test('cut after the headers only', async () => {
      await dropUpload('POST', path, rootfsTar, 0, staged('layer-'));
      await survived('import cut after the headers');
      await importOk();
    });

    test('cut in the middle of a gzip stream', async () => {
      await dropUpload('POST', path, gzipSync(rootfsTar), PART, staged('layer-'));
      await survived('import cut mid-gzip');
      await importOk();
    });

    test('docker import killed mid-upload: berthd survives and the next docker import succeeds', { skip: skipWithoutDocker() }, async () => {
      const c = d.dockerCommand(['import', '-', 'vanish/cli:1']);
      const env: NodeJS.ProcessEnv = { ...process.env };
      for (const [k, v] of Object.entries(c.env)) { if (v === undefined) delete env[k]; else env[k] = v; }
      const started = requestStarted('POST', '/v1.');
      const cli = spawn(c.argv[0], c.argv.slice(1), { env, stdio: ['pipe', 'ignore', 'ignore'] });
      const exited = new Promise<void>((resolve) => cli.once('close', () => resolve()));
      cli.stdin.on('error', () => undefined);
      try {
        // stdin stays open: the CLI has sent what it had and waits for more, as with a slow pipe.
        cli.stdin.write(rootfsTar.subarray(0, PART));
        await started();
        await staged('layer-')();
        cli.kill('SIGKILL');
        await exited;
      } finally {
        if (cli.exitCode === null && cli.signalCode === null) cli.kill('SIGKILL');
        await exited;
      }
      await survived('docker import killed');
      const r = await d.docker(['import', '-', 'vanish/cli:1'], { input: rootfsTar });
      assert.equal(r.code, 0, r.stderr);
      assert.equal((await d.request('DELETE', '/images/vanish/cli:1')).status, 200);
    });
  });

  describe('load (POST /images/load)', () => {
    let saved!: Buffer;
    before(async () => {
      const r = await d.request('GET', '/images/get?names=busybox');
      assert.equal(r.status, 200);
      saved = r.body;
    });
    const loadOk = async () => {
      const r = await d.request('POST', '/images/load', saved, { headers: { 'Content-Type': 'application/x-tar' } });
      assert.equal(r.status, 200, r.text);
      assert.match(r.text, /Loaded image: busybox:latest/);
      progressOk(r.text, 'load');
    };

    test('cut after 64 KiB of the archive: berthd survives and the same load then succeeds', async () => {
      await dropUpload('POST', '/images/load', saved, PART, staged('load-'));
      await survived('load cut mid-archive');
      await loadOk();
    });

    test('cut after the headers only', async () => {
      await dropUpload('POST', '/images/load', saved, 0, staged('load-'));
      await survived('load cut after the headers');
      await loadOk();
    });
  });

  describe('build context (POST /build)', () => {
    const path = '/build?t=vanish/build:1';
    const buildOk = async (body: Buffer) => {
      const r = await d.request('POST', path, body, { headers: { 'Content-Type': 'application/x-tar' }, timeoutMs: 120_000 });
      assert.equal(r.status, 200, r.text);
      progressOk(r.text, 'build');
      assert.equal((await d.request('DELETE', '/images/vanish/build:1')).status, 200);
      assert.deepEqual(await imageIds(), baseline);
    };

    test('cut after 64 KiB of the context: berthd survives, removes the context, and the same build then succeeds', async () => {
      await dropUpload('POST', path, contextTar, PART, staged('build-'));
      await survived('build cut mid-context');
      await buildOk(contextTar);
    });

    test('cut after the headers only', async () => {
      await dropUpload('POST', path, contextTar, 0, staged('build-'));
      await survived('build cut after the headers');
      await buildOk(contextTar);
    });

    test('cut in the middle of a gzip context', async () => {
      const gz = gzipSync(contextTar);
      await dropUpload('POST', path, gz, PART, staged('build-'));
      await survived('build cut mid-gzip');
      await buildOk(gz);
    });

    /**
     * Starts a build whose RUN sleeps a minute, waits for `marker` in its
     * stream, drops the client; then its RUN container, mounts and
     * processes must go, no image be kept, and the build succeed after.
     */
    async function dropBuild(marker: string, what: string): Promise<void> {
      await writeContext(join(work, 'slow'), { Dockerfile: 'FROM busybox\nARG NAP=0\nRUN echo nap-started && sleep $NAP\n' });
      const tar = await tarOf(join(work, 'slow'));
      const before = await d.leftovers();
      const res = await d.requestStream('POST', `/build?t=vanish/slow:1&buildargs=${encodeURIComponent(JSON.stringify({ NAP: '60' }))}`, tar, {
        headers: { 'Content-Type': 'application/x-tar' },
      });
      res.on('error', () => undefined);
      try {
        assert.equal(res.statusCode, 200);
        let text = '';
        await withTimeout(new Promise<void>((resolve) => {
          res.on('data', (b: Buffer) => { text += b.toString(); if (text.includes(marker)) resolve(); });
        }), 60_000, `${marker} in the build's stream`);
      } finally {
        res.destroy();
      }
      const buildContainers = async () => (await d.request('GET', `/containers/json?all=1&filters=${encodeURIComponent(JSON.stringify({ label: ['io.berth.build.container'] }))}`)).json<unknown[]>();
      await waitFor(async () => (await buildContainers()).length === 0, 30_000, 'the RUN container to be removed')
        .catch(async (e: Error) => assert.deepEqual(await buildContainers(), [], e.message));
      await survived(what);
      // Nothing of the RUN container is left on the host: what is there now, the long-running
      // test container's own new processes (its loop's sleeps) aside, was there before the build.
      const mine = (s: string) => s.includes(running.slice(0, 12));
      const strays = async () => {
        const l = subtractLeftovers(await d.leftovers(), before);
        l.processes = l.processes.filter((p) => !mine(p.reason) && !mine(p.cmdline));
        return formatLeftovers(l);
      };
      await waitFor(async () => (await strays()) === '', 15_000, 'no mount, process or cgroup of the RUN container')
        .catch(async (e: Error) => assert.equal(await strays(), '', e.message));
      const r = await d.request('POST', '/build?t=vanish/slow:1', tar, { headers: { 'Content-Type': 'application/x-tar' }, timeoutMs: 120_000 });
      assert.equal(r.status, 200, r.text);
      progressOk(r.text, 'build');
      assert.equal((await d.request('DELETE', '/images/vanish/slow:1')).status, 200);
      assert.deepEqual(await imageIds(), baseline);
    }

    test('client gone while the RUN container is made: it never runs, nothing is kept, and the build then succeeds', async () => {
      await dropBuild('Step 3/3 : RUN', 'build dropped as RUN begins');
    });

    test('client gone while RUN runs: its container, mounts and processes go, no image is kept, and the build then succeeds', async () => {
      await dropBuild('{"stream":"nap-started\\n"}', 'build dropped while RUN runs');
    });
  });

  describe('archive PUT (PUT /containers/{id}/archive)', () => {
    const putOk = async (body: Buffer) => {
      const r = await d.request('PUT', `/containers/${running}/archive?path=/tmp`, body, { headers: { 'Content-Type': 'application/x-tar' } });
      assert.equal(r.status, 200, r.text);
      const st = await d.request('HEAD', `/containers/${running}/archive?path=/tmp/big`);
      assert.equal(st.status, 200);
    };

    test('cut after 64 KiB: berthd survives and the same copy then succeeds', async () => {
      const path = `/containers/${running}/archive?path=/tmp`;
      await dropUpload('PUT', path, contextTar, PART, async () => undefined);
      await survived('archive PUT cut mid-tar');
      await putOk(contextTar);
    });

    test('cut in the middle of a gzip stream', async () => {
      const gz = gzipSync(contextTar);
      await dropUpload('PUT', `/containers/${running}/archive?path=/tmp`, gz, PART, async () => undefined);
      await survived('archive PUT cut mid-gzip');
      await putOk(gz);
    });
  });

  describe('downloads the client abandons', () => {
    /**
     * Opens `path`, waits for the answer's headers and (unless `headersOnly`)
     * its first bytes, stops reading — so unread bytes sit in the client's
     * socket, and closing it resets the connection — then closes it.
     */
    async function abandon(method: string, path: string, o: { headersOnly?: boolean } = {}): Promise<void> {
      const res = await new Promise<IncomingMessage>((resolve, reject) => {
        const req = http.request({ socketPath: d.socket, method, path, agent: false, headers: { Host: 'berth' } }, resolve);
        req.on('error', reject);
        req.end();
      });
      res.on('error', () => undefined);
      try {
        assert.equal(res.statusCode, 200, `${method} ${path}`);
        if (!o.headersOnly) await withTimeout(new Promise((resolve) => res.once('data', resolve)), 30_000, `the first bytes of ${path}`);
        res.pause();
      } finally {
        res.destroy();
      }
      await survived(`${method} ${path} abandoned`);
    }

    test('save (GET /images/get)', async () => {
      await abandon('GET', '/images/get?names=busybox');
      assert.equal((await d.request('GET', '/images/get?names=busybox')).status, 200);
    });

    test('export of a stopped container: its root is unmounted again', async () => {
      const stopped = await createContainer(d, { Cmd: ['true'] });
      try {
        await abandon('GET', `/containers/${stopped}/export`);
        await waitFor(async () => !(await d.leftovers()).mounts.some((m) => m.includes(stopped)), 15_000, 'the export mount to go');
        const r = await d.request('GET', `/containers/${stopped}/export`);
        assert.equal(r.status, 200);
        assert.ok(r.body.length > 1 << 20);
      } finally {
        await remove(d, stopped);
      }
    });

    test('archive GET', async () => {
      await abandon('GET', `/containers/${running}/archive?path=/bin`);
    });

    test('logs --follow', async () => {
      await abandon('GET', `/containers/${running}/logs?follow=1&stdout=1&stderr=1`);
    });

    test('attach as a plain request', async () => {
      await abandon('POST', `/containers/${running}/attach?stream=1&stdout=1&stderr=1`);
    });

    test('attach hijacked (Upgrade: tcp)', async () => {
      const socket = net.connect(d.socket);
      socket.on('error', () => undefined);
      try {
        socket.write(`POST /containers/${running}/attach?stream=1&stdin=1&stdout=1&stderr=1 HTTP/1.1\r\nHost: berth\r\nUpgrade: tcp\r\nConnection: Upgrade\r\nContent-Length: 0\r\n\r\n`);
        let got = '';
        await withTimeout(new Promise<void>((resolve) => {
          socket.on('data', (b: Buffer) => { got += b.toString('latin1'); if (got.includes('101 UPGRADED') && got.includes('tick')) resolve(); });
        }), 30_000, 'the hijacked attach to stream');
        socket.pause();
      } finally {
        socket.destroy();
      }
      await survived('hijacked attach abandoned');
    });

    test('exec start hijacked, dropped before its body is whole', async () => {
      const ex = await d.request('POST', `/containers/${running}/exec`, { Cmd: ['true'], AttachStdout: true });
      assert.equal(ex.status, 201, ex.text);
      const socket = net.connect(d.socket);
      socket.on('error', () => undefined);
      const started = requestStarted('POST', `/exec/${ex.json().Id}/start`);
      try {
        socket.write(`POST /exec/${ex.json().Id}/start HTTP/1.1\r\nHost: berth\r\nUpgrade: tcp\r\nConnection: Upgrade\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"Detach":`);
        await started();
      } finally {
        socket.destroy();
      }
      await survived('exec start dropped mid-body');
    });

    test('events', async () => {
      await abandon('GET', '/events', { headersOnly: true });
    });

    test('stats', async () => {
      await abandon('GET', `/containers/${running}/stats`);
    });
  });

  describe('push and pull, dropped while their progress streams', { skip: existsSync('/usr/bin/docker-registry') ? false : 'needs docker-registry (Debian package docker-registry)' }, () => {
    let dir = '';
    let registry: DockerRegistry | undefined;
    let proxy: ThrottlingProxy | undefined;
    let ref = '';
    let configDigest = '';

    before(async () => {
      dir = await mkdtemp('/tmp/berth-test-vanish-reg-');
      registry = await startDockerRegistry(dir);
      proxy = await startThrottlingProxy(registry.url, { bytesPerSecond: 0 });
      ref = `${proxy.host}/vanish/pushed:1`;
      // An image of its own (busybox's layer, its own config), so a pull makes a new image.
      configDigest = await importBusybox(d, ref, ['CMD ["echo", "pushed"]']);
      baseline = await imageIds();
    });

    after(async () => {
      await d.request('DELETE', `/images/${ref}?force=1`).catch(() => undefined);
      baseline = await imageIds();
      await proxy?.close();
      await registry?.stop();
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    /** Starts `method path`, waits for `held` to reach the registry, drops the client; berthd must hang up on the registry. */
    async function dropWhileHeld(path: string, digest: string): Promise<void> {
      const held = proxy!.hold(digest);
      const res = await d.requestStream('POST', path, undefined, { timeoutMs: 60_000 });
      res.on('error', () => undefined);
      try {
        assert.equal(res.statusCode, 200);
        res.resume();
        await withTimeout(held.arrived, 30_000, `berthd to ask the registry for ${digest}`);
      } finally {
        res.destroy();
      }
      try {
        await withTimeout(held.abandoned, 15_000, 'berthd to drop its registry request');
      } finally {
        held.release();
      }
    }

    test('push: the client goes after the layer went up; berthd stops, and the push then succeeds', async () => {
      // The config blob's existence check comes after the layers: the stream has told of them by then.
      await dropWhileHeld(`/images/${ref.replace(/:1$/, '')}/push?tag=1`, configDigest);
      await survived('push dropped');
      const r = await d.request('POST', `/images/${ref.replace(/:1$/, '')}/push?tag=1`, undefined, { timeoutMs: 60_000 });
      assert.equal(r.status, 200);
      const msgs = progressOk(r.text, 'push');
      assert.ok(msgs.some((m) => m.aux?.Digest), r.text);
    });

    test('pull: the client goes while the config is fetched; nothing is kept, and the pull then succeeds', async () => {
      assert.equal((await d.request('DELETE', `/images/${ref}`)).status, 200);
      baseline = await imageIds();
      const path = `/images/create?fromImage=${encodeURIComponent(ref.replace(/:1$/, ''))}&tag=1`;
      await dropWhileHeld(path, configDigest);
      await survived('pull dropped');
      const r = await d.request('POST', path, undefined, { timeoutMs: 60_000 });
      assert.equal(r.status, 200);
      progressOk(r.text, 'pull');
      assert.equal((await d.request('GET', `/images/${ref}/json`)).status, 200);
    });
  });
});
