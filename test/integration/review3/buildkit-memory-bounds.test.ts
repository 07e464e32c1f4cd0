/**
 * Review 3, trust: a BuildKit client cannot make berthd hold unbounded
 * memory (past its heap or the host's RAM, which ends berthd).
 *
 * - gRPC messages being received are bounded per connection and for the
 *   daemon: a stream whose length prefix announces a message that does
 *   not fit is refused with RESOURCE_EXHAUSTED at once, before any of its
 *   bytes are kept. Before, 128 streams a connection each announcing
 *   16 MiB were 2 GiB of buffers a connection, with no bound on
 *   connections.
 * - answers queued for a client that does not read them are bounded per
 *   connection and for the daemon: before, each call could queue 64 MiB,
 *   so 128 Status calls a connection that never read a build's log made
 *   berthd hold 8 GiB a connection.
 * - a filesync walk's names are bounded in all (the walk is held until its
 *   end): before, 500,000 entries of 4 KiB names were accepted.
 *
 * The client is hand-made (../buildkit/hand-made-client.ts) to send what
 * buildx never would.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { startDaemon, skipUnlessRoot, waitFor, type Daemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';
import { encode } from '../../../src/buildkit/messages.js';
import { frame } from '../../../src/buildkit/grpc-frames.js';
import { solveDockerfile, upgradeH2c, type Entry } from '../buildkit/hand-made-client.js';

let d!: Daemon;

before(async () => {
  if (skipUnlessRoot()) return;
  d = await startDaemon();
  await importBusybox(d);
}, { timeout: 120_000 });

after(async () => { await d?.stop(); });

const SOLVE = '/moby.buildkit.v1.Control/Solve';
/** gRPC's 5-byte prefix announcing an uncompressed message of `n` bytes. */
const prefix = (n: number) => { const b = Buffer.alloc(5); b.writeUInt32BE(n, 1); return b; };

interface OpenConnection { client: http2.ClientHttp2Session; statuses: { code: string; message: string }[]; close(): void }

/** A /grpc connection with `streams` Solve calls, each sending only a prefix announcing 16 MiB and then nothing. */
async function announce(streams: number): Promise<OpenConnection> {
  const socket = await upgradeH2c(d.socket, '/grpc');
  const client = http2.connect('http://berth', { createConnection: () => socket });
  client.on('error', () => undefined);
  const statuses: OpenConnection['statuses'] = [];
  for (let i = 0; i < streams; i++) {
    const req = client.request({ ':method': 'POST', ':path': SOLVE, 'content-type': 'application/grpc', te: 'trailers' });
    req.on('error', () => undefined);
    const take = (h: http2.IncomingHttpHeaders) => {
      if (h['grpc-status'] !== undefined) statuses.push({ code: String(h['grpc-status']), message: decodeURIComponent(String(h['grpc-message'] ?? '')) });
    };
    req.on('response', take);
    req.on('trailers', take);
    req.resume();
    req.write(prefix(16 << 20));
  }
  return { client, statuses, close: () => { client.destroy(); socket.destroy(); } };
}

async function alive(): Promise<void> {
  assert.equal((await d.request('GET', '/_ping')).status, 200);
}

describe('BuildKit memory bounds', { skip: skipUnlessRoot() }, () => {
  test('streams announcing more message bytes than a connection may hold are refused with RESOURCE_EXHAUSTED', async () => {
    const c = await announce(8);
    try {
      // 4 x 16 MiB fit the connection's 64 MiB; the other 4 are refused as their prefixes arrive.
      await waitFor(() => c.statuses.length >= 4, 30_000, 'four refusals');
      for (const s of c.statuses) {
        assert.equal(s.code, '8', s.message);
        assert.match(s.message, /gRPC message of 16777216 bytes refused: the messages in flight on this connection would be over its limit of 67108864 bytes/);
      }
      await alive();
    } finally {
      c.close();
    }
  });

  test('connections together cannot hold more than the daemon\'s bound', async () => {
    const conns: OpenConnection[] = [];
    try {
      // 5 connections x 4 fitting streams of 16 MiB = 320 MiB announced. Each connection's first
      // 4 MiB is its own (so one client cannot shut the others out); the rest, 60 MiB a connection,
      // is drawn from the daemon's 256 MiB: four connections take 240, the fifth's first stream
      // fits (252), its other three are refused.
      for (let i = 0; i < 5; i++) conns.push(await announce(4));
      await waitFor(() => conns.reduce((n, c) => n + c.statuses.length, 0) >= 3, 30_000, 'three refusals');
      const refused = conns.flatMap((c) => c.statuses);
      assert.equal(refused.length, 3);
      for (const s of refused) {
        assert.equal(s.code, '8', s.message);
        assert.match(s.message, /on berthd's gRPC connections would be over its limit of 268435456 bytes/);
      }
      await alive();
    } finally {
      for (const c of conns) c.close();
    }
    // What the closed connections held is given back: a new one takes its 4 x 16 MiB again.
    const again = await waitFor(async () => {
      const c = await announce(5);
      const ok = await waitFor(() => c.statuses.length >= 1, 30_000, 'the fifth stream refused').then(() => c.statuses.every((s) => /on this connection/.test(s.message)));
      c.close();
      return ok;
    }, 30_000, 'the budget given back');
    assert.equal(again, true);
  });

  test('Status calls that never read a build\'s log are cut while their connection holds more than 64 MiB for them', async () => {
    const ref = 'unread1';
    const socket = await upgradeH2c(d.socket, '/grpc');
    const client = http2.connect('http://berth', { createConnection: () => socket });
    client.on('error', () => undefined);
    const cut: number[] = [];
    try {
      for (let i = 0; i < 8; i++) {
        const req = client.request({ ':method': 'POST', ':path': '/moby.buildkit.v1.Control/Status', 'content-type': 'application/grpc', te: 'trailers' });
        req.on('error', () => undefined);
        // Never read: HTTP/2 flow control leaves what berthd sends queued on its side.
        req.on('close', () => cut.push(req.rstCode ?? -1));
        req.end(frame(encode('StatusRequest', { Ref: ref })));
      }
      // 24 MB of log, sent to each of the 8 calls: 192 MB for this connection, under the 64 MiB each call could queue before.
      const build = solveDockerfile(d.socket, ref, Buffer.from('FROM busybox\nRUN yes 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde | head -c 24000000\n'), []);
      const r = await build;
      assert.equal(r.status, '0', r.message);
      // Each call cut gives its bytes back to the others: calls are cut until those left fit, 2 x 24 MB in 64 MiB.
      await waitFor(() => cut.length >= 6, 60_000, 'the unread Status calls cut');
      assert.deepEqual(cut, Array(cut.length).fill(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM));
      await alive();
    } finally {
      client.destroy();
      socket.destroy();
    }
  });

  test('a filesync walk whose names are over 128 MiB in all fails the build; berthd serves on', async () => {
    // 34,000 names of 4,000 bytes: 136 MB of names, each one within the 4 KiB a name may have.
    const entries: Entry[] = [];
    for (let i = 0; i < 34_000; i++) entries.push({ path: `${String(i).padStart(6, '0')}${'n'.repeat(3994)}`, mode: 0o644, content: Buffer.alloc(0) });
    const r = await solveDockerfile(d.socket, 'names1', Buffer.from('FROM busybox\nCOPY . /ctx/\n'), entries);
    assert.notEqual(r.status, '0');
    assert.match(r.message, /filesync: the names in context are more than 134217728 bytes in all/);
    await alive();
    const tmp = (await readdir(join(d.dataRoot, 'tmp')).catch(() => [] as string[])).filter((n) => n.startsWith('build-'));
    assert.deepEqual(tmp, []);
  });
});
