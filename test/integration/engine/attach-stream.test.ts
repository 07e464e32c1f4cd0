/**
 * `POST /containers/{id}/attach` as dockerd's ContainerAttach has it: an
 * attach made before start gets the container's frames and ends when the
 * container exits; `logs=1` replays the log and then goes live without
 * losing what came between; a body sent with the request (dockerode sends
 * its options as JSON) is never stdin; the end of the client's stdin closes
 * the container's stdin only with `StdinOnce`, and otherwise ends the
 * attachment and leaves the container's stdin open for the next one.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { runCommand, startDaemon, skipUnlessRoot, withTimeout, type Daemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';
import { createContainer, inspect, remove, start, waitExit } from './api.js';
import { byStream, demux, hijack } from './hijack-client.js';

const OUT_ERR = ['sh', '-c', 'echo out; echo err >&2'];

/**
 * A real WebSocket client (Debian's python3-websocket, the one docker-py
 * uses) on the daemon's unix socket: sends `stdin` as one binary message,
 * then prints each message it gets as JSON `[opcode, text]` until the
 * server closes.
 */
const PYTHON = '/usr/bin/python3';
const WS_CLIENT = `
import json, socket, sys, websocket
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
ws = websocket.create_connection(sys.argv[2], socket=s, timeout=30)
ws.send_binary(sys.argv[3].encode())
while True:
    op, data = ws.recv_data(control_frame=False)
    if op == websocket.ABNF.OPCODE_CLOSE:
        break
    print(json.dumps([op, data.decode()]), flush=True)
`;
const noWebsocketClient: string | false = !existsSync(PYTHON)
  ? 'no /usr/bin/python3'
  : (await runCommand(PYTHON, ['-c', 'import websocket'])).code === 0 ? false : 'no python3-websocket';
const ALL = 'stdout=1&stderr=1';

describe('attach', { skip: skipUnlessRoot() }, () => {
  let d!: Daemon;
  before(async () => { d = await startDaemon(); await importBusybox(d); }, { timeout: 120_000 });
  after(async () => { await d?.stop(); });

  test('an upgraded attach made before start gets the frames and ends when the container exits', async () => {
    const id = await createContainer(d, { Cmd: OUT_ERR });
    try {
      const h = await hijack(d.socket, 'POST', `/containers/${id}/attach?stream=1&${ALL}`);
      assert.equal(h.status, 101);
      assert.equal(h.headers['content-type'], 'application/vnd.docker.multiplexed-stream');
      await start(d, id);
      assert.deepEqual(byStream(demux(await withTimeout(h.rest, 30_000, 'the attach to end with the container'))), { stdout: 'out\n', stderr: 'err\n' });
    } finally {
      await remove(d, id);
    }
  });

  test('a plain (not upgraded) attach made before start does the same', async () => {
    const id = await createContainer(d, { Cmd: OUT_ERR });
    try {
      const res = await d.requestStream('POST', `/containers/${id}/attach?stream=1&${ALL}`);
      assert.equal(res.statusCode, 200);
      const chunks: Buffer[] = [];
      const ended = new Promise<void>((resolve) => { res.on('data', (c: Buffer) => chunks.push(c)); res.on('end', resolve); });
      await start(d, id);
      await withTimeout(ended, 30_000, 'the attach to end with the container');
      assert.deepEqual(byStream(demux(Buffer.concat(chunks))), { stdout: 'out\n', stderr: 'err\n' });
    } finally {
      await remove(d, id);
    }
  });

  test('logs=1 with stream=1 made before start shows every line once', async () => {
    const id = await createContainer(d, { Cmd: ['sh', '-c', 'for i in 1 2 3 4 5; do echo line $i; done'] });
    try {
      const h = await hijack(d.socket, 'POST', `/containers/${id}/attach?logs=1&stream=1&stdout=1`);
      assert.equal(h.status, 101);
      await start(d, id);
      const out = byStream(demux(await withTimeout(h.rest, 30_000, 'the attach to end'))).stdout;
      assert.equal(out, 'line 1\nline 2\nline 3\nline 4\nline 5\n');
    } finally {
      await remove(d, id);
    }
  });

  test('a JSON body sent with the upgrade (as dockerode sends it) is not stdin', async () => {
    for (const chunked of [false, true]) {
      const id = await createContainer(d, { Cmd: ['cat'], OpenStdin: true, StdinOnce: true, AttachStdin: true });
      try {
        await start(d, id);
        const body = { stream: true, stdin: true, stdout: true, stderr: true, hijack: true };
        // What follows the body in the same write is stdin that came early.
        const h = await hijack(d.socket, 'POST', `/containers/${id}/attach?stream=1&stdin=1&${ALL}`, { body, chunked, after: 'early\n' });
        assert.equal(h.status, 101, `chunked=${chunked}`);
        h.socket.end('late\n');
        const out = byStream(demux(await withTimeout(h.rest, 30_000, 'cat to end with its stdin')));
        assert.deepEqual(out, { stdout: 'early\nlate\n', stderr: '' }, `chunked=${chunked}`);
        assert.equal(await waitExit(d, id), 0);
      } finally {
        await remove(d, id);
      }
    }
  });

  test("without StdinOnce the end of the client's stdin ends the attachment and the container's stdin stays open", async () => {
    const id = await createContainer(d, { Cmd: ['cat'], OpenStdin: true });
    try {
      await start(d, id);
      for (const word of ['one', 'two']) {
        const h = await hijack(d.socket, 'POST', `/containers/${id}/attach?stream=1&stdin=1&${ALL}`);
        assert.equal(h.status, 101);
        h.socket.write(`${word}\n`);
        let seen = '';
        await withTimeout(new Promise<void>((resolve) => {
          h.socket.on('data', (b: Buffer) => { seen += b.toString('latin1'); if (seen.includes(`${word}\n`)) resolve(); });
        }), 30_000, `cat to echo ${word}`);
        h.socket.end();
        await withTimeout(h.rest, 30_000, 'the attachment to end with its stdin');
        assert.equal((await inspect(d, id)).State.Running, true, 'cat still has its stdin');
      }
    } finally {
      await remove(d, id);
    }
  });

  test('with neither stream nor logs the answer is an empty stream, and the attach is an event', async () => {
    const id = await createContainer(d, { Cmd: OUT_ERR });
    try {
      const since = Math.floor(Date.now() / 1000) - 1;
      const h = await hijack(d.socket, 'POST', `/containers/${id}/attach?${ALL}`);
      assert.equal(h.status, 101);
      assert.equal((await withTimeout(h.rest, 30_000, 'the empty stream')).length, 0);
      const until = Math.ceil(Date.now() / 1000) + 1;
      const ev = await d.request('GET', `/events?since=${since}&until=${until}&filters=${encodeURIComponent(JSON.stringify({ event: ['attach'], container: [id] }))}`);
      assert.equal(ev.status, 200, ev.text);
      assert.equal(ev.text.trim().split('\n').filter(Boolean).length, 1, ev.text);
    } finally {
      await remove(d, id);
    }
  });

  test('a websocket attach (attach/ws): client messages are stdin, output comes unframed in binary messages', { skip: noWebsocketClient }, async () => {
    const id = await createContainer(d, { Cmd: ['sh', '-c', 'read line; echo "got $line"; echo err >&2'], OpenStdin: true });
    try {
      await start(d, id);
      const url = `ws://localhost/v1.50/containers/${id}/attach/ws?stream=1&stdin=1&stdout=1&stderr=1`;
      const r = await runCommand(PYTHON, ['-c', WS_CLIENT, d.socket, url, 'hi\n'], { timeoutMs: 60_000 });
      assert.equal(r.code, 0, r.stderr);
      const messages = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as [number, string]);
      assert.ok(messages.every(([op]) => op === 2), `binary messages: ${r.stdout}`);
      const text = messages.map(([, t]) => t).join('');
      assert.ok(text.includes('got hi\n') && text.includes('err\n') && text.length === 'got hi\nerr\n'.length, JSON.stringify(text));
    } finally {
      await remove(d, id);
    }
  });

  test('detach keys that are not Docker key names are refused before the upgrade', async () => {
    const id = await createContainer(d, { Cmd: OUT_ERR });
    try {
      const h = await hijack(d.socket, 'POST', `/containers/${id}/attach?stream=1&${ALL}&detachKeys=${encodeURIComponent('ctrl-P')}`);
      assert.equal(h.status, 400);
      assert.match((await h.rest).toString(), /Invalid detach keys \(ctrl-P\) provided/);
    } finally {
      await remove(d, id);
    }
  });

});
