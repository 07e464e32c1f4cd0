/**
 * Review 4, trust: a container writing as fast as it can to an attached
 * client that stopped reading (a suspended `docker attach`, a stuck
 * program) grew berthd by everything the container wrote: conmon's attach
 * socket is read as fast as it delivers and each chunk was queued for the
 * client unbounded, until berthd ran out of memory (measured: about 20 MB
 * a second for `cat /dev/zero`). Now a client may be MAX_ATTACH_BACKLOG
 * behind; past that it is told so and its attachment ends, and the
 * container runs on. Both ways output leaves berthd: attach and exec start.
 *
 * The container counts the MiB it wrote in a file of its writable layer;
 * the client reads nothing until the container has written several times
 * the bound, then reads what it was sent: a bounded stream that ends with
 * the notice (before: an endless one, read here up to a cut-off).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startDaemon, skipUnlessRoot, waitFor, type Daemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';
import { createContainer, remove, start } from '../engine/api.js';
import { backlogNotice, MAX_ATTACH_BACKLOG } from '../../../src/api/attach-output.js';

/** Writes zeros for ever, 1 MiB at a time, counting them in /tmp/mib. */
const SPEW = 'i=0; while :; do head -c 1048576 /dev/zero; i=$((i+1)); echo $i > /tmp/mib; done';
/** How far past the bound the container must have written before the client reads. */
const WRITTEN_MIB = 3 * (MAX_ATTACH_BACKLOG >> 20);
/** What a client that was cut off can have been sent at most: the bound, the socket buffers, one chunk, the notice. */
const CUT_OFF = 2 * MAX_ATTACH_BACKLOG;

describe('review4: an attached client that stops reading', { skip: skipUnlessRoot() }, () => {
  let d!: Daemon;
  const ids: string[] = [];
  before(async () => {
    d = await startDaemon();
    await importBusybox(d);
  }, { timeout: 120_000 });
  after(async () => {
    for (const id of ids) await remove(d, id).catch(() => undefined);
    await d?.stop();
  });

  const mibWritten = async (id: string) => Number((await readFile(join(d.dataRoot, 'containers', id, 'upper/tmp/mib'), 'utf8').catch(() => '0')).trim());

  /** Opens `path` as a stream, reads nothing until the container wrote WRITTEN_MIB more, then reads: how much came and how it ended. */
  const stallThenRead = async (id: string, path: string, body?: Record<string, unknown>) => {
    const res = await d.requestStream('POST', path, body);
    assert.equal(res.statusCode, 200);
    res.pause();
    const from = await mibWritten(id);
    await waitFor(async () => (await mibWritten(id)) - from >= WRITTEN_MIB, 300_000, `the container writing ${WRITTEN_MIB} MiB`, 200);
    let got = 0;
    let tail = Buffer.alloc(0);
    let ended = false;
    for await (const chunk of res as AsyncIterable<Buffer>) {
      got += chunk.length;
      tail = Buffer.concat([tail, chunk]).subarray(-1024);
      if (got > CUT_OFF) break;
    }
    ended = got <= CUT_OFF;
    res.destroy();
    return { got, ended, tail: tail.toString('latin1') };
  };

  test('attach: the client is cut off with a notice past the bound, the container runs on', async () => {
    const id = await createContainer(d, { Image: 'busybox', Cmd: ['sh', '-c', SPEW] });
    ids.push(id);
    await start(d, id);
    const r = await stallThenRead(id, `/containers/${id}/attach?stream=1&stdout=1&stderr=1`);
    assert.ok(r.ended, `the stream went on past ${CUT_OFF} bytes: berthd queued everything for the client`);
    assert.ok(r.tail.endsWith(backlogNotice()), 'the last output is the notice');
    assert.equal((await d.request('GET', `/containers/${id}/json`)).json().State.Running, true);
    assert.equal((await d.request('GET', '/_ping')).status, 200);
  });

  test('exec start: the same bound for an exec\'s output', async () => {
    const id = await createContainer(d, { Image: 'busybox', Cmd: ['sleep', '3600'] });
    ids.push(id);
    await start(d, id);
    const ex = await d.request('POST', `/containers/${id}/exec`, { Cmd: ['sh', '-c', SPEW], AttachStdout: true, AttachStderr: true });
    assert.equal(ex.status, 201, ex.text);
    const r = await stallThenRead(id, `/exec/${ex.json().Id}/start`, { Detach: false });
    assert.ok(r.ended, `the stream went on past ${CUT_OFF} bytes: berthd queued everything for the client`);
    assert.ok(r.tail.endsWith(backlogNotice()), 'the last output is the notice');
    assert.equal((await d.request('GET', '/_ping')).status, 200);
  });
});
