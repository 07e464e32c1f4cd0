import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { resumableBlob } from '../../../src/registry/client/resumable-blob.js';
import { NetworkError } from '../../../src/registry/client/transport.js';

const DATA = Buffer.from('0123456789abcdefghij');
const url = new URL('http://registry.test/v2/x/blobs/sha256:0');

/** A body that sends DATA from `offset`, then fails with `err` after `upTo` bytes (all of it when undefined). */
function body(offset: number, upTo: number | undefined, err: unknown): Readable {
  const part = DATA.subarray(offset, upTo === undefined ? undefined : Math.min(DATA.length, upTo));
  return Readable.from((async function* () {
    if (part.length) yield part;
    if (upTo !== undefined && upTo < DATA.length) throw err;
  })());
}

async function collect(r: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of r) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

const reset = () => new NetworkError('GET', url, Object.assign(new Error('aborted'), { code: 'ECONNRESET' }));

test('a body broken by a transient error is taken up from the byte reached, with the pauses told', async () => {
  const opened: number[] = [];
  const told: [number, number, number][] = [];
  const breaks = [7, 15];
  const open = async (offset: number) => { opened.push(offset); return body(offset, breaks.shift(), reset()); };
  const r = resumableBlob(await open(0), open, {
    resumes: 4, delayMs: (n) => n, onResume: (n, delay, offset) => told.push([n, delay, offset]),
  });
  assert.deepEqual(await collect(r), DATA);
  assert.deepEqual(opened, [0, 7, 15]);
  assert.deepEqual(told, [[1, 1, 7], [2, 2, 15]]);
});

test('resumes are limited; errors that are not transient are not retried; an abort stops the pause', async () => {
  let opens = 0;
  const twoBytes = async (offset: number) => { opens++; return body(offset, offset + 2, reset()); };
  const always = resumableBlob(await twoBytes(0), twoBytes, { resumes: 3, delayMs: () => 1 });
  await assert.rejects(collect(always), /aborted/);
  assert.equal(opens, 4, 'the first request and three resumes');

  opens = 0;
  const digestError = new Error('digest mismatch');
  const broken = async (offset: number) => { opens++; return body(offset, 5, digestError); };
  const final = resumableBlob(await broken(0), broken, { resumes: 3, delayMs: () => 1 });
  await assert.rejects(collect(final), /digest mismatch/);
  assert.equal(opens, 1);

  const ac = new AbortController();
  const waiting = resumableBlob(body(0, 3, reset()), async (offset) => body(offset, 3, reset()), {
    resumes: 3, delayMs: () => 60_000, signal: ac.signal, onResume: () => setImmediate(() => ac.abort(new Error('pull cancelled'))),
  });
  const t0 = Date.now();
  await assert.rejects(collect(waiting));
  assert.ok(Date.now() - t0 < 5_000, 'the abort ended the pause');
});
