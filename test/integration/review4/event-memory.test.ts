/**
 * Review 4, trust: events are held in berthd's memory three ways, and each
 * had a count for a bound but no size, while an event carries an exec's
 * whole command line (`exec_create: …`) and a container's labels, each up
 * to megabytes. A health check's command is the image's (or the client's),
 * and a probe every millisecond makes two such events a run:
 *
 * - the history kept for `since` held its last 1000 events, gigabytes
 *   of them; now at most 16 MiB of them;
 * - a probe's exec session stayed inspectable for 5 minutes (its command
 *   with it, its ID in the container's ExecIDs); now it goes when the
 *   probe ends, as dockerd unregisters it;
 * - a `GET /events` client that stopped reading had every later event
 *   queued for it; now its stream ends once MAX_EVENTS_BACKLOG behind.
 *
 * With no client at all, berthd grew about 8 MB a second for such a
 * container before.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startDaemon, skipUnlessRoot, waitFor, type Daemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';
import { createContainer, inspect, remove, start } from '../engine/api.js';
import { MAX_EVENTS_BACKLOG } from '../../../src/api/system.js';

/** A failing probe (so that FailingStreak counts its runs) whose command is 1.5 MB, run every millisecond. */
const HEALTHCHECK = {
  Test: ['CMD', 'false', ...Array<string>(15).fill('x'.repeat(100_000))],
  Interval: 1_000_000, Timeout: 30_000_000_000, Retries: 1_000_000,
};
/** Probe runs to wait for: 80 events of 1.5 MB, several times every bound. */
const RUNS = 40;

describe('review4: events of a health probe with a huge command', { skip: skipUnlessRoot() }, () => {
  let d!: Daemon;
  let id!: string;
  before(async () => {
    d = await startDaemon();
    await importBusybox(d);
  }, { timeout: 120_000 });
  after(async () => {
    if (id) await remove(d, id).catch(() => undefined);
    await d?.stop();
  });

  test('history, exec sessions and a stalled subscriber stay bounded; berthd serves on', { timeout: 600_000 }, async () => {
    id = await createContainer(d, { Image: 'busybox', Cmd: ['sleep', '3600'], Healthcheck: HEALTHCHECK });
    const stalled = await d.requestStream('GET', '/events');
    stalled.pause();
    await start(d, id);
    await waitFor(async () => ((await inspect(d, id)).State.Health?.FailingStreak ?? 0) >= RUNS, 300_000, `${RUNS} probe runs`, 500);

    const c = await inspect(d, id);
    assert.ok(c.ExecIDs === null || c.ExecIDs.length <= 2, `finished probe sessions are kept: ${c.ExecIDs?.length} ExecIDs`);

    const history = await d.request('GET', `/events?since=0&until=${(Date.now() / 1000).toFixed(3)}`, undefined, { timeoutMs: 120_000 });
    assert.equal(history.status, 200);
    // 16 MiB of events, twice over in JSON: a container event repeats its Action as status.
    assert.ok(history.body.length <= 33 << 20, `the history holds ${history.body.length} bytes`);
    assert.ok(history.text.includes('exec_die'), 'recent events are in it');

    let got = 0;
    const cutOff = 4 * MAX_EVENTS_BACKLOG;
    for await (const chunk of stalled as AsyncIterable<Buffer>) {
      got += chunk.length;
      if (got > cutOff) break;
    }
    stalled.destroy();
    assert.ok(got <= cutOff, `the stalled subscriber's stream went on past ${cutOff} bytes: every event was queued for it`);
    assert.equal((await d.request('GET', '/_ping')).status, 200);
  });
});
