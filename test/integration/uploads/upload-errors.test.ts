/**
 * Issue 9, item 6 (uploads): an upload berthd refuses still gets its
 * answer. Before the response's headers an error is an HTTP status with a
 * JSON `{"message": …}`; after the headers of a progress stream it is an
 * `{"errorDetail":…,"error":…}` line, as dockerd does.
 *
 * - `POST /build` with a body that is no tar (text, random bytes, a gzip
 *   stream cut short) is a 400 whose message says the context could not be
 *   read — berth used to close the connection without a word. (dockerd
 *   20.10 answers `Error processing tar file(exit status 1): archive/tar:
 *   invalid tar header` there, as a 500; the sender's mistake is a 400 in
 *   berth.)
 * - A build refused before its context is read (an option berth does not
 *   implement) answers while the client is still sending a context of
 *   several MiB.
 * - `POST /images/create?fromSrc=-` with garbage or a cut-off gzip stream
 *   is a 400 with a message.
 * - `POST /images/load` of garbage is a 200 stream ending in an error
 *   message, as dockerd's load (its answer is always a stream).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { startDaemon, skipUnlessRoot, waitFor, type Daemon } from '../../helpers/daemon.js';
import { busyboxTar, importBusybox } from '../../helpers/busybox.js';
import { tarOf, writeContext } from '../build/build-helpers.js';

const TAR = { 'Content-Type': 'application/x-tar' };
const NOT_A_TAR = Buffer.from('this is a build context? no, just some text\n'.repeat(60));

describe('an upload berthd refuses gets its answer', { skip: skipUnlessRoot() }, () => {
  let d!: Daemon;
  let work = '';
  let context!: Buffer;
  let rootfs!: Buffer;

  const tmpEmpty = () => waitFor(async () => (await readdir(join(d.dataRoot, 'tmp')).catch(() => [])).length === 0, 10_000, 'tmp/ to be empty');

  /** The answer is an HTTP error with a JSON message matching `message`. */
  async function refused(method: string, path: string, body: Buffer, status: number, message: RegExp): Promise<void> {
    const r = await d.request(method, path, body, { headers: TAR });
    assert.equal(r.status, status, `${method} ${path}: ${r.text}`);
    assert.match(r.headers['content-type'] ?? '', /application\/json/);
    assert.match(r.json().message, message);
    await tmpEmpty();
  }

  before(async () => {
    d = await startDaemon();
    await importBusybox(d);
    work = await mkdtemp('/tmp/berth-test-upload-errors-');
    await writeContext(join(work, 'ctx'), { Dockerfile: 'FROM busybox\nCOPY big /big\n', big: randomBytes(4 << 20) });
    context = await tarOf(join(work, 'ctx'));
    rootfs = await readFile(await busyboxTar());
  }, { timeout: 120_000 });

  after(async () => {
    await d?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  test('POST /build with a text body: 400 "Error processing tar file: …"', async () => {
    await refused('POST', '/build', NOT_A_TAR, 400, /^Error processing tar file: invalid tar header/);
  });

  test('POST /build with random bytes: 400', async () => {
    await refused('POST', '/build', randomBytes(8192), 400, /^Error processing tar file: /);
  });

  test('POST /build with a gzip context cut in half: 400', async () => {
    const gz = gzipSync(context);
    await refused('POST', '/build', gz.subarray(0, gz.length >> 1), 400, /^Error processing tar file: (invalid gzip stream|unexpected end of tar archive)/);
  });

  test('POST /build refused before its context is read: the 501 arrives while the client still sends several MiB', async () => {
    await refused('POST', '/build?squash=1', context, 501, /--squash is not supported/);
  });

  test('after the refusals a build with a good context succeeds', async () => {
    const r = await d.request('POST', '/build?t=errors/ok:1', context, { headers: TAR, timeoutMs: 120_000 });
    assert.equal(r.status, 200, r.text);
    assert.doesNotMatch(r.text, /"error"/);
    assert.equal((await d.request('DELETE', '/images/errors/ok:1')).status, 200);
  });

  test('POST /images/create?fromSrc=- with garbage: 400 with a message', async () => {
    await refused('POST', '/images/create?fromSrc=-&repo=errors/import', NOT_A_TAR, 400, /invalid tar header/);
  });

  test('POST /images/create?fromSrc=- with a gzip stream cut in half: 400 with a message', async () => {
    const gz = gzipSync(rootfs);
    await refused('POST', '/images/create?fromSrc=-&repo=errors/import', gz.subarray(0, gz.length >> 1), 400, /invalid gzip stream|unexpected end of tar archive/);
    assert.equal((await d.request('GET', '/images/errors/import/json')).status, 404);
  });

  test('POST /images/create?fromSrc=- with an empty body answers (an empty layer, as dockerd imports it) instead of hanging', async () => {
    const r = await d.request('POST', '/images/create?fromSrc=-&repo=errors/empty', Buffer.alloc(0), { timeoutMs: 30_000 });
    assert.equal(r.status, 200, r.text);
    assert.match(r.text, /sha256:[0-9a-f]{64}/);
    assert.equal((await d.request('DELETE', '/images/errors/empty')).status, 200);
  });

  test('POST /images/load with garbage: a 200 stream whose last message is the error, as dockerd', async () => {
    const r = await d.request('POST', '/images/load', NOT_A_TAR, { headers: TAR });
    assert.equal(r.status, 200, r.text);
    const last = JSON.parse(r.text.trim().split(/\r?\n/).at(-1)!);
    assert.ok(last.errorDetail?.message, r.text);
    assert.equal(last.error, last.errorDetail.message);
    await tmpEmpty();
  });

  test('an attach refused on a kept-alive connection gets its 404, as on a fresh one', async () => {
    // docker-py sends its upgrades on pooled connections that carried earlier requests.
    const text = await new Promise<string>((resolve, reject) => {
      const sock = connect(d.socket);
      let got = '';
      let sentSecond = false;
      sock.on('data', (c: Buffer) => {
        got += c.toString('latin1');
        if (!sentSecond && got.includes('\r\n\r\nOK')) {
          sentSecond = true;
          sock.write('POST /containers/no-such-container/attach?stream=1&stdout=1 HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n');
        }
      });
      sock.on('close', () => resolve(got));
      sock.on('error', reject);
      sock.write('GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n');
      setTimeout(() => sock.destroy(), 10_000).unref();
    });
    assert.match(text, /HTTP\/1\.1 404[^]*No such container: no-such-container/);
  });

  test('berthd never reached its backstop', () => {
    assert.doesNotMatch(d.logs(), /Unhandled 'error' event|BUG: (uncaught exception|unhandled rejection)/);
  });
});
