/**
 * gRPC message framing on the read side (grpc-frames.ts): messages come out
 * whole and in order however the bytes were cut into chunks, and the size
 * and compression checks hold wherever a chunk ends.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { frame, readMessages } from '../../../src/buildkit/grpc-frames.js';

async function readAll(chunks: Buffer[], maxBytes?: number): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const m of readMessages(Readable.from(chunks), maxBytes)) out.push(Buffer.from(m));
  return out;
}

/** `bytes` cut into pieces of `size` (the last one shorter). */
function cut(bytes: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) out.push(bytes.subarray(i, i + size));
  return out;
}

const small = [Buffer.from('first'), Buffer.alloc(0), Buffer.alloc(300, 7), Buffer.from('x')];
const large = [...small, Buffer.alloc(40_000, 8), Buffer.alloc(70_000, 9)];
const wire = (messages: Buffer[]) => Buffer.concat(messages.map(frame));

describe('readMessages', () => {
  for (const size of [1, 2, 3, 4, 5, 6, 7]) {
    test(`messages come out whole and in order from chunks of ${size} bytes`, async () => {
      assert.deepEqual(await readAll(cut(wire(small), size)), small);
    });
  }
  for (const size of [1000, 16 << 10, 40_005, wire(large).length]) {
    test(`large messages come out whole and in order from chunks of ${size} bytes`, async () => {
      assert.deepEqual(await readAll(cut(wire(large), size)), large);
    });
  }

  test('a message over the limit is refused from its prefix, before its bytes arrive', async () => {
    const head = frame(Buffer.alloc(1000)).subarray(0, 5);
    await assert.rejects(readAll([head.subarray(0, 3), head.subarray(3)], 999), /1000 bytes is over the limit of 999/);
  });

  test('a compressed message is refused', async () => {
    const f = frame(Buffer.from('abc'));
    f[0] = 1;
    await assert.rejects(readAll(cut(f, 2)), /compressed gRPC messages are not supported/);
  });

  test('a stream that ends inside a message, or inside a prefix, is refused after the whole messages before it', async () => {
    for (const tail of [frame(Buffer.from('cut short')).subarray(0, 9), Buffer.from([0, 0])]) {
      const got: Buffer[] = [];
      await assert.rejects((async () => {
        for await (const m of readMessages(Readable.from(cut(Buffer.concat([frame(Buffer.from('whole')), tail]), 3)))) got.push(Buffer.from(m));
      })(), /gRPC stream ended inside a message/);
      assert.deepEqual(got, [Buffer.from('whole')]);
    }
  });
});
