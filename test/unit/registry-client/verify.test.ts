import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { VerificationError, verifyingStream } from '../../../src/registry/client/verify.js';
import { InvalidParameterError } from '../../../src/errors.js';

const sha = (b: Buffer) => `sha256:${crypto.createHash('sha256').update(b).digest('hex')}`;

async function run(data: Buffer[], digest: string, size?: number): Promise<{ out: Buffer; stream: ReturnType<typeof verifyingStream> }> {
  const chunks: Buffer[] = [];
  const stream = verifyingStream(digest, size);
  await pipeline(Readable.from(data), stream, new Writable({ write(c: Buffer, _e, cb) { chunks.push(c); cb(); } }));
  return { out: Buffer.concat(chunks), stream };
}

test('matching bytes pass through unchanged and the digest is reported', async () => {
  const blob = crypto.randomBytes(100_000);
  const parts = [blob.subarray(0, 1), blob.subarray(1, 50_000), blob.subarray(50_000)];
  const { out, stream } = await run(parts, sha(blob), blob.length);
  assert.deepEqual(out, blob);
  assert.equal(stream.digest, sha(blob));
  assert.equal(stream.bytes, blob.length);
  await run([], sha(Buffer.alloc(0)), 0);
});

test('different bytes: digest mismatch names expected and actual', async () => {
  const good = Buffer.from('good bytes');
  const bad = Buffer.from('evil bytes');
  await assert.rejects(run([bad], sha(good), good.length), (e: unknown) => {
    assert.ok(e instanceof VerificationError);
    assert.equal(e.kind, 'System');
    assert.equal(e.message, `failed to verify blob: digest mismatch: expected ${sha(good)}, got ${sha(bad)}`);
    return true;
  });
});

test('short and long bodies fail on size; a long one as soon as it overflows', async () => {
  const blob = Buffer.from('0123456789');
  await assert.rejects(run([blob.subarray(0, 5)], sha(blob), 10), /size mismatch: expected 10 bytes, got 5 bytes/);
  let pulled = 0;
  const endless = new Readable({ read() { pulled++; this.push(Buffer.alloc(1024)); } });
  const stream = verifyingStream(sha(blob), 10);
  await assert.rejects(pipeline(endless, stream, new Writable({ write(_c, _e, cb) { cb(); } })), /size mismatch: expected 10 bytes, got at least 1024 bytes/);
  assert.ok(pulled < 64, `stopped reading right away (${pulled} reads)`);
});

test('without a size only the digest is checked; sha512 digests work; malformed digests throw at once', async () => {
  const blob = Buffer.from('x');
  await run([blob], sha(blob));
  const d512 = `sha512:${crypto.createHash('sha512').update(blob).digest('hex')}`;
  await run([blob], d512, 1);
  assert.throws(() => verifyingStream('sha256:abc'), InvalidParameterError);
  assert.throws(() => verifyingStream('md5:d41d8cd98f00b204e9800998ecf8427e'), InvalidParameterError);
});
