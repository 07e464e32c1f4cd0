/**
 * Issue 12: the CRI streaming server (src/cri/streaming) driven by the
 * real crictl (cri-tools v1.29.0, SPDY/3.1 clients from client-go):
 * `exec -it` in a terminal with its size, `exec -i` with stdin, exit
 * codes, `attach`, and `port-forward` to a busybox httpd in a pod (and
 * over WebSocket, kubelet's v4 channels, from a client of the test's); and
 * hostile clients: bad and reused tokens, unknown containers, oversized
 * frames and garbage, and clients that vanish mid-stream, none of which
 * may end berthd or leave exec processes or port helpers behind.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { join } from 'node:path';
import grpc from '@grpc/grpc-js';
import { runCommand, skipUnlessRoot, startDaemon, waitFor, type Daemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';
import { spawnPty } from '../../helpers/pty.js';
import { CriClient } from './cri-client.js';

const CRICTL = process.env.CRICTL ?? '/var/cache/berth-go-clients/crictl';
const skip = skipUnlessRoot() || (existsSync(CRICTL) ? false : `no crictl at ${CRICTL}: run shared/tools/build-go-clients.sh`);

/** Host processes whose command line contains `needle` (berthd's exec processes are visible from the host). */
function processesWith(needle: string): number[] {
  const out: number[] = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      if (readFileSync(`/proc/${p}/cmdline`, 'utf8').replace(/\0/g, ' ').includes(needle)) out.push(Number(p));
    } catch { /* gone */ }
  }
  return out;
}

/** berthd's port-forward helpers (perl, named by their script's error text) that are running now. */
function helpers(): number[] {
  return processesWith('dial tcp localhost:');
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const port = (s.address() as net.AddressInfo).port; s.close(() => resolve(port)); });
    s.once('error', reject);
  });
}

/** Opens a raw connection to a streaming URL and upgrades it to SPDY; resolves with the socket and the response head. */
function upgrade(url: string, protocols: string[]): Promise<{ socket: net.Socket; head: string }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(u.port), u.hostname);
    let buf = '';
    socket.once('error', reject);
    socket.on('data', function onData(d: Buffer) {
      buf += d.toString('latin1');
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      resolve({ socket, head: buf.slice(0, end) });
    });
    socket.write(`POST ${u.pathname} HTTP/1.1\r\nHost: ${u.host}\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n` +
      protocols.map((p) => `X-Stream-Protocol-Version: ${p}\r\n`).join('') + '\r\n');
  });
}

/** A masked client frame (RFC 6455 §5.3). */
function wsFrame(opcode: number, payload: Buffer): Buffer {
  const mask = Buffer.from([1, 2, 3, 4]);
  const n = payload.length;
  const head = n < 126 ? Buffer.from([0x80 | opcode, 0x80 | n]) : Buffer.from([0x80 | opcode, 0x80 | 126, n >> 8, n & 0xff]);
  const body = Buffer.from(payload);
  for (let i = 0; i < body.length; i++) body[i] ^= mask[i & 3];
  return Buffer.concat([head, mask, body]);
}

/**
 * Runs a WebSocket session against a streaming URL (the path and query of
 * `url`): sends `send` (channel, bytes) in order, collects messages until
 * the close. A refused upgrade resolves with its head and body. No
 * `protocol` sends no Sec-WebSocket-Protocol.
 */
function websocketSession(url: string, protocol: string, send: Buffer[]): Promise<{ head: string; messages: Buffer[]; body: string }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(u.port), u.hostname);
    let buf = Buffer.alloc(0);
    let head = '';
    let refused = false;
    const messages: Buffer[] = [];
    socket.once('error', reject);
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (refused) return;
      if (!head) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        head = buf.subarray(0, end).toString('latin1');
        buf = buf.subarray(end + 4);
        if (!/^HTTP\/1\.1 101/.test(head)) { refused = true; return; }
        // base64 protocols take text messages (the channel digit and base64), the others binary.
        for (const m of send) socket.write(wsFrame(protocol.includes('base64') ? 0x1 : 0x2, m));
      }
      while (buf.length >= 2) {
        let len = buf[1] & 0x7f;
        let at = 2;
        if (len === 126) { if (buf.length < 4) return; len = buf.readUInt16BE(2); at = 4; }
        if (len === 127) { if (buf.length < 10) return; len = Number(buf.readBigUInt64BE(2)); at = 10; }
        if (buf.length < at + len) return;
        const op = buf[0] & 0x0f;
        const payload = buf.subarray(at, at + len);
        buf = buf.subarray(at + len);
        if (op === 0x8) { socket.end(wsFrame(0x8, payload)); continue; }
        messages.push(Buffer.from(payload));
      }
    });
    socket.once('close', () => resolve({ head, messages, body: refused ? buf.toString() : '' }));
    const key = Buffer.from('0123456789abcdef').toString('base64');
    socket.write(`GET ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
      `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${key}\r\n${protocol ? `Sec-WebSocket-Protocol: ${protocol}\r\n` : ''}\r\n`);
  });
}

function closed(socket: net.Socket): Promise<void> {
  return new Promise((resolve) => { if (socket.destroyed) resolve(); else socket.once('close', () => resolve()); socket.resume(); });
}

describe('CRI streaming (exec, attach, port-forward) with crictl', { skip }, () => {
  let d: Daemon;
  let dir: string;
  let sock: string;
  let cri: CriClient;
  let streamPort: number;
  const pods: string[] = [];

  const base = () => ['--runtime-endpoint', `unix://${sock}`, '--image-endpoint', `unix://${sock}`, '--timeout', '60s'];

  async function crictl(...args: string[]): Promise<string> {
    const r = await runCommand(CRICTL, [...base(), ...args], { timeoutMs: 90_000 });
    assert.equal(r.code, 0, `crictl ${args.join(' ')} failed:\n${r.stdout}${r.stderr}\n--- berthd:\n${d.logs().slice(-2000)}`);
    return r.stdout;
  }

  /** runp + create + start of one container; the pod goes in after() even when a test fails. */
  async function runPod(name: string, command: string[], extra: Record<string, unknown> = {}): Promise<{ pod: string; ctr: string }> {
    const podFile = join(dir, `${name}.pod.json`);
    await writeFile(podFile, JSON.stringify({ metadata: { name, namespace: 'default', uid: `${name}-uid`, attempt: 0 }, hostname: name, linux: {} }));
    const pod = (await crictl('runp', podFile)).trim();
    pods.push(pod);
    const ctrFile = join(dir, `${name}.ctr.json`);
    await writeFile(ctrFile, JSON.stringify({ metadata: { name: `${name}-main` }, image: { image: 'busybox' }, command, linux: {}, ...extra }));
    const ctr = (await crictl('create', pod, ctrFile, podFile)).trim();
    await crictl('start', ctr);
    return { pod, ctr };
  }

  before(async () => {
    // The streaming server on a port of the test's choosing (--cri-stream-address); its URLs name it.
    streamPort = await freePort();
    d = await startDaemon({ args: ['--cri-stream-address', `127.0.0.1:${streamPort}`] });
    dir = join(d.tmpDir, 'cri-streaming');
    await mkdir(dir, { recursive: true });
    sock = `${d.execRoot}/cri.sock`;
    await importBusybox(d);
    cri = new CriClient(sock);
  });

  after(async () => {
    cri?.close();
    for (const p of pods) await runCommand(CRICTL, [...base(), 'rmp', '-f', p]).catch(() => undefined);
    const left = await d?.stop();
    if (left) assert.deepEqual(left.processes, [], 'berthd left processes behind');
  });

  test('exec -it: a shell in a terminal of the client\'s size, resized, its exit code', async () => {
    const { ctr } = await runPod('tty', ['sleep', '1000']);
    const p = spawnPty([CRICTL, ...base(), 'exec', '-it', ctr, 'sh'], { rows: 31, cols: 101 });
    try {
      await p.expect('# ', 20_000);
      p.write('stty size; tty\r');
      await p.expect(/^31 101$/m);
      await p.expect(/^\/dev\/pts\/\d+$/m);
      p.write('echo $((6*7))\r');
      await p.expect(/^42$/m);
      p.write('exit\r');
      assert.equal((await p.exit(20_000)).code, 0, p.text());
    } finally {
      p.kill();
    }
    // Non-interactive, no tty: stdout and stderr apart, the exit code reported (crictl exits 1 and says it).
    const r = await runCommand(CRICTL, [...base(), 'exec', ctr, 'sh', '-c', 'echo to-out; echo to-err >&2; exit 3'], { timeoutMs: 60_000 });
    assert.equal(r.stdout, 'to-out\n');
    assert.match(r.stderr, /to-err\n/);
    assert.match(r.stderr, /command terminated with exit code 3/);
    assert.equal(r.code, 1);
    const missing = await runCommand(CRICTL, [...base(), 'exec', ctr, '/no/such/binary'], { timeoutMs: 60_000 });
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /no\/such\/binary/);
  });

  test('exec -i: stdin reaches the command and its end closes the command\'s stdin', async () => {
    const { ctr } = await runPod('stdin', ['sleep', '1000']);
    const input = Buffer.concat([Buffer.from('first line\n'), Buffer.alloc(200_000, 'x'), Buffer.from('\nlast\n')]);
    const r = await runCommand(CRICTL, [...base(), 'exec', '-i', ctr, 'sh', '-c', 'wc -c; echo done >&2'], { input, timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), String(input.length));
    assert.match(r.stderr, /done/);
  });

  test('attach: the container\'s stdin and stdout; closing stdin ends a StdinOnce container', async () => {
    const { ctr } = await runPod('attach', ['sh'], { stdin: true, stdin_once: true });
    const r = await runCommand(CRICTL, [...base(), 'attach', '-i', ctr], { input: 'echo attached-$((40+2))\n', timeoutMs: 60_000 });
    assert.equal(r.code, 0, `${r.stderr}\n--- berthd:\n${d.logs().slice(-2000)}`);
    assert.equal(r.stdout, 'attached-42\n');
    await waitFor(async () => /Exited/.test(await crictl('ps', '-a', '--id', ctr)), 20_000, 'the shell to exit after its stdin closed');
  });

  test('port-forward: curl through crictl reaches busybox httpd in the pod, connection after connection; no helper stays', async () => {
    const { pod } = await runPod('web', ['sh', '-c', 'mkdir -p /www && echo forwarded-page > /www/index.html && exec httpd -f -p 8080 -h /www']);
    const local = await freePort();
    const pf = spawn(CRICTL, [...base(), 'port-forward', pod, `${local}:8080`], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    pf.stdout.on('data', (c: Buffer) => { out += c.toString(); });
    pf.stderr.on('data', (c: Buffer) => { out += c.toString(); });
    try {
      await waitFor(async () => out.includes('Forwarding from'), 20_000, 'crictl port-forward to listen');
      for (let i = 0; i < 3; i++) {
        // httpd may still be starting: the first answer can be an error from the pod side.
        await waitFor(async () => {
          const r = await runCommand('curl', ['-sS', '--max-time', '10', `http://127.0.0.1:${local}/`], { timeoutMs: 20_000 });
          return r.code === 0 && r.stdout === 'forwarded-page\n';
        }, 20_000, `page ${i} through the forward`);
      }
      await waitFor(async () => helpers().length === 0, 10_000, 'port-forward helpers to end after their connections');
      // A connection left open (httpd waits for its request) holds a helper, until the client vanishes.
      const idle = net.connect(local, '127.0.0.1');
      idle.on('error', () => undefined);
      await waitFor(async () => helpers().length === 1, 10_000, 'the idle connection\'s helper');
      pf.kill('SIGKILL');
      await waitFor(async () => helpers().length === 0, 10_000, 'the helper to go with its client');
      idle.destroy();
    } finally {
      pf.kill('SIGKILL');
    }
    await waitFor(async () => helpers().length === 0, 10_000, 'no port-forward helper after the client went');

    // kill -9 of berthd does not leave a helper holding an idle connection.
    const pf2 = spawn(CRICTL, [...base(), 'port-forward', pod, `${local}:8080`], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out2 = '';
    pf2.stdout.on('data', (c: Buffer) => { out2 += c.toString(); });
    let idle: net.Socket | undefined;
    try {
      await waitFor(async () => out2.includes('Forwarding from'), 20_000, 'the second port-forward');
      idle = net.connect(local, '127.0.0.1');
      idle.on('error', () => undefined);
      await waitFor(async () => helpers().length === 1, 10_000, 'the idle connection\'s helper');
      await d.kill9();
      await waitFor(async () => helpers().length === 0, 10_000, 'the helper to end with berthd');
    } finally {
      idle?.destroy();
      pf2.kill('SIGKILL');
      if (!d.pid) await d.restart();
    }
  });

  test('exec over WebSocket (v5.channel.k8s.io): channels for stdin, stdout, stderr, the close signal, the exit status', async () => {
    const { ctr } = await runPod('ws', ['sleep', '1000']);
    const { url } = await cri.call('Exec', { containerId: ctr, cmd: ['sh', '-c', 'cat; echo to-err >&2; exit 3'], stdin: true, stdout: true, stderr: true });
    const r = await websocketSession(url, 'v5.channel.k8s.io', [Buffer.from('\x00from-stdin\n'), Buffer.from([255, 0])]);
    assert.match(r.head, /^HTTP\/1\.1 101[\s\S]*Sec-WebSocket-Protocol: v5\.channel\.k8s\.io/);
    const on = (ch: number) => Buffer.concat(r.messages.filter((m) => m[0] === ch).map((m) => m.subarray(1))).toString();
    assert.equal(on(1), 'from-stdin\n');
    assert.equal(on(2), 'to-err\n');
    const status = JSON.parse(on(3));
    assert.equal(status.reason, 'NonZeroExitCode');
    assert.deepEqual(status.details.causes, [{ reason: 'ExitCode', message: '3' }]);
    // The base64 variant: text messages, a channel digit and base64.
    const b64 = await cri.call('Exec', { containerId: ctr, cmd: ['echo', 'in-base64'], stdout: true });
    const r2 = await websocketSession(b64.url, 'v4.base64.channel.k8s.io', []);
    const texts = r2.messages.map((m) => m.toString());
    assert.equal(Buffer.from(texts.filter((t) => t[0] === '1').map((t) => t.slice(1)).join(''), 'base64').toString(), 'in-base64\n');
    assert.deepEqual(JSON.parse(Buffer.from(texts.find((t) => t[0] === '3')!.slice(1), 'base64').toString()), { metadata: {}, status: 'Success' });
  });

  test('port-forward over WebSocket (kubelet\'s v4 channels): a page from busybox httpd, ports from the request or ?port=, errors per port, bad ports refused as kubelet refuses them', async () => {
    const { pod } = await runPod('wsweb', ['sh', '-c', 'mkdir -p /www && echo ws-forwarded > /www/index.html && exec httpd -f -p 8080 -h /www']);
    const request = Buffer.from('\x00GET / HTTP/1.0\r\n\r\n');
    const portBytes = (p: number) => { const b = Buffer.alloc(2); b.writeUInt16LE(p); return b; };
    const on = (messages: Buffer[], ch: number) => messages.filter((m) => m[0] === ch).map((m) => m.subarray(1));
    // The port from the PortForward request, binary framing: each channel opens with the port (LE), then the page.
    let page: { head: string; messages: Buffer[] } | undefined;
    await waitFor(async () => {
      const { url } = await cri.call('PortForward', { podSandboxId: pod, port: [8080] });
      page = await websocketSession(url, 'v4.channel.k8s.io', [request]);
      return Buffer.concat(on(page.messages, 0).slice(1)).toString().includes('ws-forwarded');
    }, 20_000, 'httpd to answer through the WebSocket forward');
    assert.match(page!.head, /^HTTP\/1\.1 101[\s\S]*Sec-WebSocket-Protocol: v4\.channel\.k8s\.io/);
    assert.deepEqual(on(page!.messages, 0)[0], portBytes(8080));
    assert.deepEqual(on(page!.messages, 1), [portBytes(8080)], 'nothing on the error channel but the port');
    assert.match(Buffer.concat(on(page!.messages, 0).slice(1)).toString(), /^HTTP\/1\.[01] 200 OK[\s\S]*\r\n\r\nws-forwarded\n$/);

    // Ports from ?port= (kubelet's /portForward form), two in one connection, base64 framing: port 9 has no listener.
    const { url: any } = await cri.call('PortForward', { podSandboxId: pod });
    const two = await websocketSession(`${any}?port=8080,9`, 'v4.base64.channel.k8s.io', [Buffer.from(`0${Buffer.from('GET / HTTP/1.0\r\n\r\n').toString('base64')}`)]);
    const texts = two.messages.map((m) => m.toString());
    const text = (ch: number) => texts.filter((t) => t[0] === String(ch)).map((t) => Buffer.from(t.slice(1), 'base64'));
    assert.deepEqual(text(0)[0], portBytes(8080));
    assert.match(Buffer.concat(text(0).slice(1)).toString(), /ws-forwarded\n$/);
    assert.deepEqual(text(2)[0], portBytes(9));
    assert.deepEqual(text(3)[0], portBytes(9));
    assert.match(Buffer.concat(text(3).slice(1)).toString(), new RegExp(`^error forwarding port 9 to pod ${pod}: .*refused`, 'i'));
    // No subprotocol asked for: binary framing, answered without one.
    const { url: plain } = await cri.call('PortForward', { podSandboxId: pod, port: [8080] });
    const r3 = await websocketSession(plain, '', [request]);
    assert.match(r3.head, /^HTTP\/1\.1 101/);
    assert.doesNotMatch(r3.head, /Sec-WebSocket-Protocol/i);

    // Bad ports: 400 with kubelet's messages (NewV4Options), or berth's for a port the request did not name.
    const refused = async (query: string, ports: number[] = []) => {
      const { url } = await cri.call('PortForward', { podSandboxId: pod, port: ports });
      const r = await websocketSession(`${url}${query}`, 'v4.channel.k8s.io', []);
      assert.match(r.head, /^HTTP\/1\.1 400/, query);
      return r.body.trim();
    };
    assert.equal(await refused(''), 'query parameter "port" is required');
    assert.equal(await refused('?port='), 'query parameter "port" cannot be empty');
    assert.equal(await refused('?port=0'), 'port "0" must be > 0');
    assert.equal(await refused('?port=http'), 'unable to parse "http" as a port: strconv.ParseUint: parsing "http": invalid syntax');
    assert.equal(await refused('?port=80,-1'), 'unable to parse "80,-1" as a port: strconv.ParseUint: parsing "-1": invalid syntax');
    assert.equal(await refused('?port=70000'), 'unable to parse "70000" as a port: strconv.ParseUint: parsing "70000": value out of range');
    assert.equal(await refused('?port=8081', [8080]), `port 8081 was not asked for in the PortForward request of pod ${pod}`);
    const { url: badProto } = await cri.call('PortForward', { podSandboxId: pod, port: [8080] });
    assert.match((await websocketSession(badProto, 'v5.channel.k8s.io', [])).head, /^HTTP\/1\.1 400/);

    // A client that vanishes with its connection open takes the helper with it.
    const { url: idleUrl } = await cri.call('PortForward', { podSandboxId: pod, port: [8080] });
    const u = new URL(idleUrl);
    const idle = net.connect(Number(u.port), u.hostname);
    idle.on('error', () => undefined);
    idle.write(`GET ${u.pathname} HTTP/1.1\r\nHost: ${u.host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
      `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${Buffer.from('0123456789abcdef').toString('base64')}\r\nSec-WebSocket-Protocol: v4.channel.k8s.io\r\n\r\n`);
    try {
      await waitFor(async () => helpers().length === 1, 10_000, 'the idle WebSocket forward\'s helper');
    } finally {
      idle.destroy();
    }
    await waitFor(async () => helpers().length === 0, 10_000, 'the helper to go with its WebSocket client');
  });

  test('hostile clients: bad and reused tokens, unknown containers, bad requests, oversized frames, garbage, vanishing clients', async () => {
    const { ctr, pod } = await runPod('hostile', ['sleep', '1000']);
    const { url } = await cri.call('Exec', { containerId: ctr, cmd: ['true'], stdout: true });
    assert.match(url, new RegExp(`^http://127\\.0\\.0\\.1:${streamPort}/exec/[A-Za-z0-9_-]+$`));
    const u = new URL(url);
    // Unknown tokens are 404, a plain request with a good token 400 (and the token is spent).
    const bad = await upgrade(`${u.origin}/exec/not-a-token`, ['v4.channel.k8s.io']);
    assert.match(bad.head, /^HTTP\/1\.1 404/);
    bad.socket.destroy();
    assert.equal((await fetch(url, { method: 'POST' })).status, 400);
    const reused = await upgrade(url, ['v4.channel.k8s.io']);
    assert.match(reused.head, /^HTTP\/1\.1 404/, 'a token works once');
    reused.socket.destroy();
    // No common protocol: 403 with the ones berth accepts.
    const url2 = (await cri.call('Exec', { containerId: ctr, cmd: ['true'], stdout: true })).url;
    const noProto = await upgrade(url2, ['v9.channel.k8s.io']);
    assert.match(noProto.head, /^HTTP\/1\.1 403[\s\S]*X-Accepted-Stream-Protocol-Versions: v4\.channel\.k8s\.io/);
    noProto.socket.destroy();

    // The RPCs check what kubelet's streaming server checks.
    assert.equal((await cri.fails('Exec', { containerId: 'f'.repeat(64), cmd: ['true'], stdout: true })).code, grpc.status.NOT_FOUND);
    assert.equal((await cri.fails('Exec', { containerId: ctr, cmd: ['sh'], tty: true, stderr: true })).code, grpc.status.INVALID_ARGUMENT);
    assert.equal((await cri.fails('Exec', { containerId: ctr, cmd: [], stdout: true })).code, grpc.status.INVALID_ARGUMENT);
    assert.equal((await cri.fails('Attach', { containerId: ctr })).code, grpc.status.INVALID_ARGUMENT);
    assert.equal((await cri.fails('PortForward', { podSandboxId: 'f'.repeat(64) })).code, grpc.status.NOT_FOUND);

    // An oversized frame and plain garbage end that connection only.
    for (const payload of [Buffer.from([0x80, 0x03, 0x00, 0x01, 0x00, 0xff, 0xff, 0xff]), Buffer.from('GET / HTTP/1.1\r\n\r\nthis is not spdy at all')]) {
      const { url: u3 } = await cri.call('Exec', { containerId: ctr, cmd: ['true'], stdout: true });
      const c = await upgrade(u3, ['v4.channel.k8s.io']);
      assert.match(c.head, /^HTTP\/1\.1 101[\s\S]*X-Stream-Protocol-Version: v4\.channel\.k8s\.io/);
      c.socket.write(payload);
      await closed(c.socket);
    }
    const pf = await cri.call('PortForward', { podSandboxId: pod });
    const c = await upgrade(pf.url, ['portforward.k8s.io']);
    assert.match(c.head, /^HTTP\/1\.1 101/);
    c.socket.write(Buffer.alloc(64 * 1024, 0xff));
    await closed(c.socket);

    // A client that vanishes mid-exec takes the exec's process with it.
    const marker = 'sleep 4242';
    const vanishing = spawn(CRICTL, [...base(), 'exec', ctr, 'sh', '-c', `exec ${marker}`], { stdio: 'ignore' });
    try {
      await waitFor(async () => processesWith(marker).length > 0, 20_000, 'the exec to start');
    } finally {
      vanishing.kill('SIGKILL');
    }
    await waitFor(async () => processesWith(marker).length === 0, 20_000, 'the exec process to be killed when its client vanished');
    // A client that vanishes mid-attach leaves the container running.
    const attaching = spawn(CRICTL, [...base(), 'attach', ctr], { stdio: 'ignore' });
    await waitFor(async () => /Running/.test(await crictl('ps', '--id', ctr)), 5000, 'the container');
    attaching.kill('SIGKILL');
    assert.equal((await crictl('exec', ctr, 'echo', 'still-here')).trim(), 'still-here');
    assert.match(await crictl('version'), /RuntimeName:\s+berth/);
  });
});
