/** Stream framing (stdcopy), JSON progress rendering, the detach-key scanner, and flowing reads of a download. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { encodeFrame, StdcopyDemuxer, writeFrame, writeFrames } from '../../../src/cli/stream/stdcopy.js';
import { Writable } from 'node:stream';
import { displayJsonMessages, JsonStreamError, JsonValueSplitter, progressString } from '../../../src/cli/stream/jsonmessage.js';
import { DetachScanner, parseDetachKeys } from '../../../src/cli/terminal/detach-keys.js';
import type { OutStream } from '../../../src/cli/context.js';
import { FlowingChunks } from '../../../src/cli/stream/flowing-chunks.js';

function sink(isTTY = false): OutStream & { text: string } {
  const s = { text: '', isTTY, write(c: string | Buffer) { s.text += c.toString(); return true; } };
  return s as unknown as OutStream & { text: string };
}

test('stdcopy frames are split per stream, across chunk boundaries', () => {
  const wire = Buffer.concat([encodeFrame(2, 'oops\n'), encodeFrame(1, 'hello\n')]);
  assert.deepEqual([...wire.subarray(0, 8)], [2, 0, 0, 0, 0, 0, 0, 5]);
  const d = new StdcopyDemuxer();
  const frames = [...d.push(wire.subarray(0, 3)), ...d.push(wire.subarray(3, 17)), ...d.push(wire.subarray(17))];
  assert.deepEqual(frames.map((f) => [f.stream, f.payload.toString()]), [[2, 'oops\n'], [1, 'hello\n']]);
  assert.equal(d.pending, 0);
  const out = sink();
  const err = sink();
  for (const f of frames) writeFrame(f, out, err);
  assert.equal(out.text, 'hello\n');
  assert.equal(err.text, 'oops\n');
  assert.match(String(writeFrame({ stream: 3, payload: Buffer.from('boom') }, out, err)), /boom/);
  assert.throws(() => new StdcopyDemuxer().push(Buffer.from([9, 0, 0, 0, 0, 0, 0, 0])), /Unrecognized input header: 9/);
});

test('a chunk of frames is written as one write per run of one stream, and says which output is full', () => {
  const writes: string[] = [];
  // An output is full once it holds 8 bytes or more, as a Writable with highWaterMark 8 says.
  const output = (name: string) => ({ write(c: Buffer) { writes.push(`${name}:${c}`); return c.length < 8; } }) as unknown as Writable;
  const out = output('out');
  const err = output('err');
  const frames = [encodeFrame(1, 'a\n'), encodeFrame(1, 'b\n'), encodeFrame(2, 'e\n'), encodeFrame(1, 'c\n'), encodeFrame(1, 'long line\n')];
  const r = writeFrames(new StdcopyDemuxer().push(Buffer.concat(frames)), out, err);
  assert.equal(r.error, undefined);
  assert.deepEqual(writes, ['out:a\nb\n', 'err:e\n', 'out:c\nlong line\n']);
  assert.deepEqual(r.full, [out]);
  const stopped = writeFrames(new StdcopyDemuxer().push(Buffer.concat([encodeFrame(1, 'x'), encodeFrame(3, 'boom'), encodeFrame(1, 'y')])), out, err);
  assert.match(String(stopped.error), /boom/);
  assert.equal(writes.at(-1), 'out:x');
});

test('JSON values are split however the daemon chunks them', () => {
  const s = new JsonValueSplitter();
  assert.deepEqual(s.push('{"a":1}\r\n{"b":"x}'), [{ a: 1 }]);
  assert.deepEqual(s.push('y"}{"c":[1,{"d":2}]}'), [{ b: 'x}y' }, { c: [1, { d: 2 }] }]);
  s.end();
});

test('off a terminal, progress updates are dropped and statuses printed as lines', async () => {
  const out = sink(false);
  const msgs = [
    { status: 'Pulling from library/busybox', id: 'latest' },
    { status: 'Pulling fs layer', progressDetail: {}, id: 'aaaa' },
    { status: 'Downloading', progressDetail: { current: 50, total: 100 }, progress: '[=>  ]', id: 'aaaa' },
    { status: 'Pull complete', progressDetail: {}, id: 'aaaa' },
    { status: 'Digest: sha256:ff' },
    { stream: 'Step 1/2 : FROM busybox\n' },
  ];
  await displayJsonMessages(Readable.from(msgs.map((m) => `${JSON.stringify(m)}\r\n`)), out, { isTerminal: false });
  assert.equal(out.text, 'latest: Pulling from library/busybox\naaaa: Pulling fs layer\naaaa: Pull complete\nDigest: sha256:ff\nStep 1/2 : FROM busybox\n');
});

test('on a terminal each layer keeps its line', async () => {
  const out = sink(true);
  const msgs = [
    { status: 'Downloading', progressDetail: { current: 1, total: 2 }, id: 'a' },
    { status: 'Downloading', progressDetail: { current: 1, total: 2 }, id: 'b' },
    { status: 'Download complete', progressDetail: {}, id: 'a' },
  ];
  await displayJsonMessages(Readable.from(msgs.map((m) => JSON.stringify(m))), out, { isTerminal: true, width: 80 });
  // a new id opens a line; updating "a" moves up two lines, rewrites, and comes back down
  assert.match(out.text, /\x1b\[2A\x1b\[2K\ra: Download complete \r\x1b\[2B$/);
});

test('an error message ends the stream with its code', async () => {
  const out = sink(false);
  await assert.rejects(
    displayJsonMessages(Readable.from([JSON.stringify({ stream: 'Step 1/1 : RUN exit 7\n' }), JSON.stringify({ errorDetail: { code: 7, message: "The command '/bin/sh -c exit 7' returned a non-zero code: 7" }, error: 'x' })]), out, { isTerminal: false }),
    (e) => e instanceof JsonStreamError && e.code === 7 && /returned a non-zero code: 7/.test(e.message),
  );
});

test('aux messages go to the callback (build image ID)', async () => {
  let id = '';
  await displayJsonMessages(Readable.from([JSON.stringify({ aux: { ID: 'sha256:abc' } })]), sink(), { isTerminal: false, onAux: (m) => { id = (m.aux as { ID: string }).ID; } });
  assert.equal(id, 'sha256:abc');
});

test('progress bar text like JSONProgress.String', () => {
  assert.equal(progressString({ current: 50, total: 100 }, 200), `[${'='.repeat(25)}>${' '.repeat(25)}]      50B/100B`);
  assert.equal(progressString({ current: 50, total: 100 }, 80), '     50B/100B');
  assert.equal(progressString({ current: 2048 }, 200), ' 2.048kB');
  assert.equal(progressString({}, 200), '');
});

test('detach keys: ctrl-p ctrl-q by default, partial matches passed through', () => {
  assert.deepEqual(parseDetachKeys('ctrl-p,ctrl-q'), [16, 17]);
  assert.deepEqual(parseDetachKeys('ctrl-a,x,ctrl-@,ctrl-['), [1, 120, 0, 27]);
  assert.throws(() => parseDetachKeys('ctrl-1'), /Unknown character/);
  const s = new DetachScanner([16, 17]);
  assert.deepEqual(s.push(Buffer.from([104, 16])), { forward: Buffer.from([104]), detached: false });
  assert.deepEqual(s.push(Buffer.from([105])), { forward: Buffer.from([16, 105]), detached: false });
  assert.deepEqual(s.push(Buffer.from([16, 17, 106])), { forward: Buffer.from([]), detached: true });
});

test('a download read flowing: every byte in order and counted, the source paused only past its mark', async () => {
  const chunks = Array.from({ length: 40 }, (_, i) => Buffer.alloc(64 << 10, i));
  const src = new Readable({ read() {} });
  let pauses = 0;
  src.on('pause', () => { pauses++; });
  const flowing = new FlowingChunks(src, 1 << 20);
  for (const c of chunks) src.push(c);
  src.push(null);
  const got: Buffer[] = [];
  for await (const c of flowing) got.push(c);
  assert.deepEqual(Buffer.concat(got), Buffer.concat(chunks));
  assert.equal(flowing.bytes, 40 * (64 << 10));
  assert.ok(pauses <= 3, `paused ${pauses} times`);
});

test('a download that fails or is cut short fails its reader', async () => {
  const failing = new Readable({ read() {} });
  const flowing = new FlowingChunks(failing);
  failing.push(Buffer.from('abc'));
  setImmediate(() => failing.destroy(new Error('socket hang up')));
  await assert.rejects((async () => { for await (const c of flowing) void c; })(), /socket hang up/);
  const cut = new Readable({ read() {} });
  const cutFlowing = new FlowingChunks(cut);
  setImmediate(() => cut.destroy());
  await assert.rejects((async () => { for await (const c of cutFlowing) void c; })(), /closed before its end/);
});
