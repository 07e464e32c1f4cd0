/**
 * gRPC message framing as a trust boundary (grpc-frames.ts): a message is
 * copied once however it is cut into chunks, and the bytes of messages
 * being received are bounded by a budget taken when each length prefix
 * arrives.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { ByteBudget, frame, readMessages } from '../../../src/buildkit/grpc-frames.js';

/** `bytes` as a stream of `size`-byte chunks. */
function chunked(bytes: Buffer, size: number): Readable {
  const parts: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) parts.push(bytes.subarray(i, i + size));
  return Readable.from(parts, { objectMode: false });
}

/** Counts the bytes Buffer.concat and Buffer#copy write while `fn` runs. */
async function bytesCopied(fn: () => Promise<void>): Promise<number> {
  const concat = Buffer.concat;
  const copy = Buffer.prototype.copy;
  let n = 0;
  Buffer.concat = function (list: readonly Uint8Array[], total?: number) {
    const out = concat.call(Buffer, list, total);
    n += out.length;
    return out;
  } as typeof Buffer.concat;
  Buffer.prototype.copy = function (this: Buffer, ...args: Parameters<Buffer['copy']>) {
    const k = copy.apply(this, args);
    n += k;
    return k;
  };
  try {
    await fn();
  } finally {
    Buffer.concat = concat;
    Buffer.prototype.copy = copy;
  }
  return n;
}

test('a 4 MiB message in 4 KiB chunks is copied about once, not once per chunk', async () => {
  const msg = Buffer.alloc(4 << 20, 0x61);
  let got: Buffer[] = [];
  const copied = await bytesCopied(async () => {
    got = [];
    for await (const m of readMessages(chunked(frame(msg), 4096))) got.push(m);
  });
  assert.equal(got.length, 1);
  assert.ok(got[0].equals(msg));
  // Joining at every chunk copies ~n²/2: 2 GiB here.
  assert.ok(copied <= 2 * (msg.length + 5), `${copied} bytes copied for a ${msg.length}-byte message`);
});

test('messages that share a chunk, and empty ones, come out whole and in order', async () => {
  const msgs = [Buffer.from('one'), Buffer.alloc(0), Buffer.alloc(10_000, 2), Buffer.from('last')];
  const wire = Buffer.concat(msgs.map((m) => frame(m)));
  for (const size of [1, 3, 5, 4096, wire.length]) {
    const got: Buffer[] = [];
    for await (const m of readMessages(chunked(wire, size))) got.push(Buffer.from(m));
    assert.deepEqual(got, msgs, `chunks of ${size}`);
  }
});

test('a stream that ends inside a message or its prefix fails', async () => {
  for (const wire of [frame(Buffer.from('abc')).subarray(0, 6), Buffer.from([0, 0, 0])]) {
    await assert.rejects(async () => { for await (const _ of readMessages(chunked(wire, 2))) { /* read */ } }, /gRPC stream ended inside a message/);
  }
});

test('a message is refused when its length prefix would take more than the budget has; its bytes are given back at the end', async () => {
  const daemon = new ByteBudget('the daemon', 100);
  const conn = new ByteBudget('the connection', 60, daemon);
  // A prefix announcing 50 bytes, of which only 10 come: the budget holds the 50 meanwhile.
  const half = Buffer.concat([frame(Buffer.alloc(50)).subarray(0, 15)]);
  const stream = new Readable({ read() {} });
  stream.push(half);
  const it = readMessages(stream, 1 << 20, conn);
  const pending = it.next();
  await new Promise((r) => setImmediate(r));
  assert.equal(conn.inUse, 50);
  assert.equal(daemon.inUse, 50);
  // A second stream on the same connection announcing 20 bytes is over the connection's 60.
  await assert.rejects(async () => { for await (const _ of readMessages(Readable.from([frame(Buffer.alloc(20))]), 1 << 20, conn)) { /* read */ } },
    (e: Error & { kind?: string }) => e.kind === 'PayloadTooLarge' && /on the connection would be over its limit of 60 bytes/.test(e.message));
  // Another connection's 60 is over what the daemon has left.
  const other = new ByteBudget('another connection', 60, daemon);
  await assert.rejects(async () => { for await (const _ of readMessages(Readable.from([frame(Buffer.alloc(60))]), 1 << 20, other)) { /* read */ } },
    /on the daemon would be over its limit of 100 bytes/);
  assert.equal(other.inUse, 0);
  assert.equal(daemon.inUse, 50);
  // The first message completes: its bytes are given back.
  stream.push(Buffer.alloc(40));
  stream.push(null);
  const r = await pending;
  assert.equal((r.value as Buffer).length, 50);
  assert.equal((await it.next()).done, true);
  assert.equal(conn.inUse, 0);
  assert.equal(daemon.inUse, 0);
  // A stream cut inside a message gives its bytes back too.
  const cut = new Readable({ read() {} });
  cut.push(frame(Buffer.alloc(30)).subarray(0, 10));
  cut.push(null);
  await assert.rejects(async () => { for await (const _ of readMessages(cut, 1 << 20, conn)) { /* read */ } }, /ended inside a message/);
  assert.equal(daemon.inUse, 0);
});
