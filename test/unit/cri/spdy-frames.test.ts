/**
 * SPDY framing for the CRI streaming server (src/cri/streaming/spdy-frames.ts):
 * the dictionary, header blocks, frames, and header compression that a
 * standard zlib reader (as Go's) understands in both directions.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import {
  decodeHeaderBlock, dictionaryDigest, encodeControl, encodeData, encodeHeaderBlock, FLAG_FIN, FrameType, HEADER_DICTIONARY,
  HeaderDeflater, HeaderInflater, readFrame, SpdyProtocolError,
} from '../../../src/cri/streaming/spdy-frames.js';

test('the header dictionary is SPDY/3\'s 1423 bytes', () => {
  assert.equal(HEADER_DICTIONARY.length, 1423);
  assert.equal(dictionaryDigest(), '51d27341373f923f3cd88e1eb7162aeaa3723d7585ff2399201dc06498407f02');
});

test('header blocks round-trip, names lower-cased; truncated and oversized blocks are refused', () => {
  const block = encodeHeaderBlock(new Map([['streamType', 'error'], ['port', '80']]));
  assert.deepEqual([...decodeHeaderBlock(block)], [['streamtype', 'error'], ['port', '80']]);
  assert.throws(() => decodeHeaderBlock(block.subarray(0, block.length - 1)), SpdyProtocolError);
  const many = Buffer.alloc(4);
  many.writeUInt32BE(100000);
  assert.throws(() => decodeHeaderBlock(many), /too many headers/);
});

test('frames: control and data frames parse back; partial input waits for more; other versions are refused', () => {
  const c = encodeControl(FrameType.PING, 0, Buffer.from([0, 0, 0, 1]));
  const d = encodeData(5, FLAG_FIN, Buffer.from('hi'));
  const both = Buffer.concat([c, d]);
  const first = readFrame(both)!;
  assert.deepEqual(first.frame, { kind: 'control', type: FrameType.PING, flags: 0, data: Buffer.from([0, 0, 0, 1]) });
  const second = readFrame(both.subarray(first.size))!;
  assert.deepEqual(second.frame, { kind: 'data', streamId: 5, flags: FLAG_FIN, data: Buffer.from('hi') });
  assert.equal(readFrame(d.subarray(0, d.length - 1)), null);
  const v2 = Buffer.from(c);
  v2.writeUInt16BE(0x8002, 0);
  assert.throws(() => readFrame(v2), /unsupported SPDY version 2/);
});

test('blocks the server compresses inflate with a standard zlib reader, one context across blocks', () => {
  const d = new HeaderDeflater();
  const blocks = [new Map(), new Map([['a', 'b']]), new Map([['x', 'y'.repeat(70000)]])].map((h) => encodeHeaderBlock(h));
  const wire = blocks.map((b) => d.compress(b));
  const out = zlib.inflateSync(Buffer.concat(wire), { finishFlush: zlib.constants.Z_SYNC_FLUSH });
  assert.deepEqual(out, Buffer.concat(blocks));
  // Each ends at a block boundary (Go's reader hands out a stored block's bytes only there).
  for (const w of wire) assert.deepEqual(w.subarray(-5), Buffer.from([0, 0, 0, 0xff, 0xff]));
});

test('the inflater reads a client\'s dictionary-primed, sync-flushed blocks in order, and refuses garbage and bombs', async () => {
  const deflate = zlib.createDeflate({ dictionary: HEADER_DICTIONARY, level: 9 });
  const compress = (b: Buffer) => new Promise<Buffer>((resolve) => {
    const parts: Buffer[] = [];
    const on = (c: Buffer) => parts.push(c);
    deflate.on('data', on);
    deflate.write(b);
    deflate.flush(zlib.constants.Z_SYNC_FLUSH, () => { deflate.off('data', on); resolve(Buffer.concat(parts)); });
  });
  const inf = new HeaderInflater();
  for (const h of [new Map([['streamtype', 'stdout']]), new Map([['streamtype', 'stderr'], ['requestid', '7']])]) {
    const block = encodeHeaderBlock(h);
    assert.deepEqual(decodeHeaderBlock(await inf.inflate(await compress(block))), h);
  }
  // 1 MiB of one header value compresses to a few KiB: more than a block may hold.
  await assert.rejects(inf.inflate(await compress(encodeHeaderBlock(new Map([['x', 'a'.repeat(1 << 20)]])))), /over 65536 bytes/);
  inf.close();
  const bad = new HeaderInflater();
  await assert.rejects(bad.inflate(Buffer.from('not zlib at all')), SpdyProtocolError);
  bad.close();
});
